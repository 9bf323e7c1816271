"""Who is emailed about what, end to end from the domain services: each change writes its outbox
message, the fan-out creates deliveries and the real SMTP server (aiosmtpd) receives the mail.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notification_helpers import BASE_URL, fan_out_pending, mailed_to, notification_settings, run_pipeline
from sqlalchemy import func, select, update

from shared.accounts import reset
from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.db import utcnow
from shared.evidence.models import Evidence
from shared.incidents import service as incidents
from shared.notifications import service
from shared.notifications.models import EmailDelivery
from shared.outbox import service as outbox
from shared.permissions import SYSTEM

PASSWORD = "correct-horse-battery"  # the root `users` fixture's password
NEW_PASSWORD = "lantern-otter-gravel"


@pytest.fixture
def setup(db, users, database_url, session_factory, inbox):
    settings = notification_settings(database_url, inbox=inbox)
    return settings, session_factory


def _file(db, users, *, reporter="member", priority="P3", title="Disk full on log shipper", **fields):
    incident = incidents.create_incident(session=db, actor=users[reporter], title=title, priority=priority, **fields)
    db.commit()
    return incident


def test_a_new_p1_mails_every_lead_but_not_the_reporter_or_anyone_else(db, users, setup, inbox):
    settings, factory = setup
    _file(db, users, reporter="member", priority="P1")
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["lead@example.com"]
    assert inbox.messages[0].message["Subject"].startswith("[INC-1] New P1: Disk full on log shipper")


def test_a_new_p2_mails_nobody_and_a_lead_filing_a_p1_is_not_told_about_it(db, users, setup, inbox):
    settings, factory = setup
    _file(db, users, reporter="member", priority="P2")
    _file(db, users, reporter="lead", priority="P1")
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == []


def test_assignment_mails_the_new_owner_only(db, users, setup, inbox):
    settings, factory = setup
    incident = _file(db, users, reporter="member")
    run_pipeline(factory, settings)
    incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users["other"].id)
    db.commit()
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["other@example.com"]
    assert "Assigned to you" in inbox.messages[0].message["Subject"]


def test_a_status_change_mails_owner_and_watchers_but_not_the_one_who_made_it(db, users, setup, inbox):
    settings, factory = setup
    incident = _file(db, users, reporter="member")  # the reporter watches
    incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users["other"].id)
    incidents.set_watching(session=db, incident_id=incident.id, actor=users["admin"], watching=True)
    db.commit()
    run_pipeline(factory, settings)
    inbox.messages.clear()

    incidents.transition(session=db, incident_id=incident.id, actor=users["other"], to="in_progress")
    incidents.transition(session=db, incident_id=incident.id, actor=users["other"], to="blocked", reason="AWS ticket")
    db.commit()
    run_pipeline(factory, settings)
    # Two moves by the owner: the reporter and the admin (watchers) hear of each, the owner of neither.
    assert sorted(mailed_to(inbox)) == sorted(["member@example.com", "admin@example.com"] * 2)
    subjects = {m.message["Subject"] for m in inbox.messages}
    assert "[INC-1] Blocked: Disk full on log shipper" in subjects


def test_a_comment_mails_owner_and_watchers_except_its_author(db, users, setup, inbox):
    settings, factory = setup
    incident = _file(db, users, reporter="member")
    incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users["lead"].id)
    db.commit()
    run_pipeline(factory, settings)
    inbox.messages.clear()
    incidents.add_comment(
        session=db, incident_id=incident.id, actor=users["member"], body="Log volume doubled at 14:00"
    )
    db.commit()
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["lead@example.com"]
    text = inbox.messages[0].message.get_body(("plain",)).get_content()
    assert "Log volume doubled" in text
    # "Open INC-1" lands on the comment itself (its anchor in the timeline), in both bodies.
    (comment,) = incidents.comments_by_id(session=db, incident_id=incident.id).values()
    link = f"{settings.base_url.rstrip('/')}/incidents/INC-1#comment-{comment.id}"
    assert f"Open INC-1: {link}" in text
    assert f'href="{link}"' in inbox.messages[0].message.get_body(("html",)).get_content()


@pytest.mark.parametrize(
    # An assignment reaches a "P1 and P2 only" user at any priority (it is theirs to act on).
    ("preference", "priority", "mailed"),
    [("off", "P1", False), ("p1_p2", "P3", True), ("p1_p2", "P2", True)],
)
def test_a_users_email_preference_is_honoured(db, users, setup, inbox, preference, priority, mailed):
    settings, factory = setup
    incident = _file(db, users, reporter="lead", priority=priority)
    service.set_email_preference(session=db, user=users["other"], preference=preference)
    incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users["other"].id)
    db.commit()
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == (["other@example.com"] if mailed else [])


def _evidence(db, users, incident, *, state, reason=None, uploader="member") -> Evidence:
    evidence = Evidence(
        incident_id=incident.id,
        uploader_id=users[uploader].id,
        display_name="shipper.log",
        storage_key=f"incoming/{state}",
        size=10,
        sha256="0" * 64,
        state=state,
        reason=reason,
    )
    db.add(evidence)
    db.flush()
    outbox.enqueue(
        session=db,
        topic="evidence.processed",
        payload={"evidence_id": evidence.id, "incident_id": incident.id, "state": state},
    )
    db.commit()
    return evidence


def test_a_file_there_to_download_mails_nobody(db, users, setup, inbox):
    """Found by QA: every upload mailed its uploader "Your upload is clean" (or "… is not
    scanned" with scanning off): a script attaching logs, or a phone attaching photos, got a
    mail per file for what the incident page already showed."""
    settings, factory = setup
    incident = _file(db, users, reporter="member")
    run_pipeline(factory, settings)
    inbox.messages.clear()
    _evidence(db, users, incident, state="clean", uploader="other")
    _evidence(db, users, incident, state="not_scanned", uploader="other")
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == []


def test_an_infected_file_mails_its_uploader_and_every_lead(db, users, setup, inbox):
    settings, factory = setup
    incident = _file(db, users, reporter="member")
    run_pipeline(factory, settings)
    inbox.messages.clear()
    _evidence(db, users, incident, state="infected", reason="Eicar-Test-Signature", uploader="member")
    run_pipeline(factory, settings)
    assert sorted(mailed_to(inbox)) == ["lead@example.com", "member@example.com"]
    by_rcpt = {m.rcpt_tos[0]: m.message["Subject"] for m in inbox.messages}
    assert by_rcpt["lead@example.com"].startswith("[INC-1] Infected upload")
    assert "infected" in by_rcpt["member@example.com"]


def test_a_file_that_could_not_be_checked_is_mailed_in_words(db, users, setup, inbox):
    """Not "Your upload is error (…)"."""
    settings, factory = setup
    incident = _file(db, users, reporter="member")
    run_pipeline(factory, settings)
    _evidence(db, users, incident, state="error", reason="the scanner did not answer", uploader="other")
    run_pipeline(factory, settings)
    (mail,) = inbox.messages
    assert mail.message["Subject"] == f"[{incident.key}] shipper.log could not be checked: the scanner did not answer"
    assert f"Your file on {incident.key} could not be checked (the scanner did not answer)." in _body(mail.message)


def test_a_refused_file_is_named_with_its_reason_without_nested_brackets(db, users, setup, inbox):
    """Found by QA: "File: fake.png (rejected (file is unrecognised binary data, not a PNG))"."""
    settings, factory = setup
    incident = _file(db, users, reporter="member")
    run_pipeline(factory, settings)
    _evidence(db, users, incident, state="rejected", reason="not a PNG", uploader="other")
    run_pipeline(factory, settings)
    (mail,) = inbox.messages
    assert mail.message["Subject"] == f"[{incident.key}] shipper.log was rejected: not a PNG"
    assert "File: shipper.log — rejected (not a PNG)" in _body(mail.message)


def test_a_crlf_in_a_title_or_name_adds_no_header(db, users, setup, inbox):
    settings, factory = setup
    # The forms refuse control characters; rows written before that rule (or by an import) may
    # still hold them, and the mail must not trust them either.
    incident = _file(db, users, reporter="member", priority="P1")
    incident.title = "Disk full\r\nBcc: attacker@evil.example"
    users["member"].name = "Mo\r\nX-Injected: yes"
    db.commit()
    run_pipeline(factory, settings)
    (delivered,) = inbox.messages
    assert delivered.rcpt_tos == ["lead@example.com"]
    assert delivered.message["Bcc"] is None
    assert delivered.message["X-Injected"] is None
    assert delivered.message["Subject"] == "[INC-1] New P1: Disk full Bcc: attacker@evil.example"
    header_block = delivered.raw.split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc:") for line in header_block.split(b"\r\n"))


def test_a_fan_out_and_a_send_that_run_twice_mail_once(db, users, setup, inbox):
    settings, factory = setup
    _file(db, users, reporter="member", priority="P1")
    message = db.scalars(select(outbox.OutboxMessage).where(outbox.OutboxMessage.topic == "incident.created")).one()
    created = fan_out_pending(factory, settings)
    with factory.begin() as session:
        again = service.fan_out(
            session=session, settings=settings, topic=message.topic, payload=message.payload, message_id=message.id
        )
    assert len(created.email_ids) == 1
    assert again.email_ids == ()
    for _ in range(2):
        assert service.send_email(factory=factory, settings=settings, delivery_id=created.email_ids[0]) == "sent"
    assert mailed_to(inbox) == ["lead@example.com"]
    assert db.scalar(select(func.count(EmailDelivery.id))) == 1


def test_without_an_smtp_host_or_mail_folder_email_is_off_and_nothing_is_queued(
    db, users, database_url, session_factory
):
    settings = notification_settings(database_url)
    assert service.email_status(settings) == "Email notifications are switched off: SMTP_HOST is not set."
    _file(db, users, reporter="member", priority="P1")
    assert fan_out_pending(session_factory, settings).email_ids == ()


def test_with_a_mail_folder_mail_becomes_eml_files_there(db, users, database_url, session_factory, tmp_path):
    settings = notification_settings(database_url, mail_dir=str(tmp_path / "mail"))
    _file(db, users, reporter="member", priority="P1")
    run_pipeline(session_factory, settings)
    (written,) = (tmp_path / "mail").glob("*.eml")
    assert b"To: Lee Lead <lead@example.com>" in written.read_bytes()
    assert str(tmp_path / "mail") in service.email_status(settings)


def test_an_unreachable_smtp_server_is_retried_later_and_a_refused_recipient_is_not(
    db, users, database_url, session_factory, smtp_server_factory
):
    from notification_servers import free_port

    down = notification_settings(database_url, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none")
    _file(db, users, reporter="member", priority="P1")
    (delivery_id,) = fan_out_pending(session_factory, down).email_ids
    assert service.send_email(factory=session_factory, settings=down, delivery_id=delivery_id) == "pending"
    db.expire_all()
    row = db.get(EmailDelivery, delivery_id)
    assert "Could not reach the SMTP server" in row.last_error
    wait = (row.next_attempt_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)).total_seconds()
    assert 20 < wait <= 30  # the first backoff step, kept in the row for the beat's dispatch

    refusing = smtp_server_factory(refuse=frozenset({"lead@example.com"}))
    up = notification_settings(database_url, inbox=refusing)
    later = lambda: utcnow() + timedelta(seconds=31)  # noqa: E731
    assert service.send_email(factory=session_factory, settings=up, delivery_id=delivery_id, now=later) == "failed"
    assert refusing.messages == []


def test_production_refuses_plain_http_webhooks_and_any_setting_refuses_a_wildcard_exemption():
    from shared.config import Settings, SettingsError

    production = {
        "app_env": "production",
        "secret_key": "fanout-tests-only-secret-key-0123456789abcdef",
        "database_url": "postgresql://db/x",
        "redis_url": "redis://r",
    }
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOW_HTTP"):
        Settings(**production, webhook_allow_http=True)
    with pytest.raises(SettingsError, match="not an explicit host:port"):
        Settings(**production, webhook_allow_private_hosts="*:443")
    assert Settings(**production, webhook_allow_private_hosts="hooks.internal:8443").webhook_allow_private_hosts


def _body(message) -> str:
    return message.get_content() if not message.is_multipart() else message.get_body(("plain",)).get_content()


def test_changing_your_password_mails_you_even_with_email_off(db, users, setup, inbox):
    """A security notice: how someone learns their password changed when it was not them."""
    settings, factory = setup
    service.set_email_preference(session=db, user=users["member"], preference="off")
    accounts.change_own_password(
        session=db,
        user=users["member"],
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        repeated=NEW_PASSWORD,
    )
    db.commit()
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["member@example.com"]
    mail = inbox.messages[0].message
    assert mail["Subject"] == "[Incident Tracker] Your password was changed"
    body = _body(mail)
    assert "The password of your Incident Tracker account member@example.com was changed at " in body
    assert "If this was not you, ask an admin to set a new password for you now" in body
    # As the profile page says it: the browser it was changed in stays signed in (found in QA).
    assert "Every other browser signed in as you was signed out; the one it was changed in stays" in " ".join(
        body.split()
    )
    assert f"revoke any API token you do not recognise on {BASE_URL}/profile" in body
    assert NEW_PASSWORD not in body
    assert PASSWORD not in body


@pytest.mark.parametrize("by", ["admin", "command line"])
def test_a_password_set_by_an_admin_mails_its_owner_saying_who(db, users, setup, inbox, by):
    settings, factory = setup
    actor = users["admin"] if by == "admin" else SYSTEM
    accounts.set_password(session=db, actor=actor, user_id=users["member"].id, password=NEW_PASSWORD)
    db.commit()
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["member@example.com"]  # not the admin who did it
    mail = inbox.messages[0].message
    assert mail["Subject"] == "[Incident Tracker] An admin set a new password for you"
    who = "Ada Admin (admin@example.com)" if by == "admin" else "An admin, at the command line,"
    assert f"{who} set a new password for your Incident Tracker account member@example.com" in _body(mail)
    assert NEW_PASSWORD not in _body(mail)


def test_a_reset_link_is_mailed_made_at_sending_and_never_stored(db, users, setup, inbox):
    settings, factory = setup
    service.set_email_preference(session=db, user=users["member"], preference="off")  # asked for: sent anyway
    accounts.request_password_reset(session=db, email="member@example.com")
    db.commit()
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["member@example.com"]
    mail = inbox.messages[0].message
    assert mail["Subject"] == "[Incident Tracker] Choose a new password"
    body = _body(mail)
    assert "If you did not ask, ignore this mail: your password stays as it is." in body
    token = body.split(f"{BASE_URL}/password/reset?token=")[1].split()[0]
    link = reset.read_token(session=db, secret_key=settings.effective_secret_key, token=token)
    assert link.user == users["member"]
    stored = db.scalars(select(EmailDelivery)).one()
    assert token not in str(stored.context)
    assert stored.kind == "password_reset"


def test_a_reset_link_goes_only_to_an_active_account_and_is_recorded_once(db, users, setup, inbox):
    settings, factory = setup
    accounts.set_active(session=db, actor=users["admin"], user_id=users["other"].id, active=False)
    for email in ("nobody@example.com", "other@example.com", "Member@Example.com"):
        accounts.request_password_reset(session=db, email=email)
    db.commit()
    run_pipeline(factory, settings)
    run_pipeline(factory, settings)  # a second run of the same messages records nothing more
    assert mailed_to(inbox) == ["member@example.com"]
    asked = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_reset_requested")).all()
    assert [(event.actor_id, event.entity_id) for event in asked] == [(None, users["member"].id)]


def test_an_inbox_gets_at_most_one_reset_mail_every_few_minutes(db, users, setup, inbox):
    """Found by QA: asked from several addresses, one inbox got ten reset mails in seconds."""
    settings, factory = setup
    for _ in range(4):
        accounts.request_password_reset(session=db, email="member@example.com")
        db.commit()
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["member@example.com"]  # the first link works for an hour

    # Once the interval has passed, a new request gets a new mail.
    db.execute(
        update(User)
        .where(User.id == users["member"].id)
        .values(password_reset_mailed_at=utcnow() - reset.RESET_MAIL_INTERVAL - timedelta(seconds=1))
    )
    accounts.request_password_reset(session=db, email="member@example.com")
    db.commit()
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["member@example.com", "member@example.com"]


def test_an_invited_user_is_mailed_a_link_to_choose_a_password(db, users, setup, inbox):
    settings, factory = setup
    invited = accounts.create_invited_user(
        session=db, actor=users["admin"], email="nia@example.com", name="Nia Newcomer", role="lead"
    )
    db.commit()
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["nia@example.com"]
    mail = inbox.messages[0].message
    assert mail["Subject"] == "[Incident Tracker] Your new account: choose a password"
    body = _body(mail)
    assert "Ada Admin (admin@example.com) made you an account on Incident Tracker: nia@example.com (lead)." in body
    assert "the link works for 72 hours and only once" in body
    token = body.split(f"{BASE_URL}/password/reset?token=")[1].split()[0]
    assert reset.read_token(session=db, secret_key=settings.effective_secret_key, token=token).user == invited


def test_an_incident_filed_for_someone_mails_them_that_it_is_theirs(db, users, setup, inbox):
    """Found by QA (integrator walk): an alert bridge files with owner_email = the on-call
    person, and the on-call person was not told; only a later assignment mailed them."""
    settings, factory = setup
    _file(db, users, reporter="lead", priority="P3", owner_id=users["member"].id)
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["member@example.com"]  # not the lead who filed it; a P3 goes to no lead
    assert "Lee Lead filed a new P3 incident, INC-" in _body(inbox.messages[0].message)
    assert "and made you its owner." in _body(inbox.messages[0].message)
