"""Raising an incident to P1 pages the leads as filing a P1 does (PagerDuty, incident.io), and
being made an incident's owner reaches people who chose "P1 and P2 incidents only".

Found by a team lead: INC-16 went P2 -> P1 and no lead heard of it (the webhook sent
incident.updated, nobody got mail); and with "P1 and P2 incidents only" on /profile, a P3
assigned to someone never told them it was theirs. End to end from the domain services and
the real routes: each change writes its outbox message, the fan-out creates deliveries and a
real SMTP server (aiosmtpd) receives the mail. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from notification_helpers import BASE_URL, fan_out_pending, mailed_to, notification_settings, run_pipeline
from sqlalchemy import func, select

from shared.accounts import service as accounts
from shared.accounts import tokens
from shared.accounts.models import User
from shared.incidents import service as incidents
from shared.notifications import service
from shared.notifications.email import thread_root_id
from shared.notifications.models import EmailDelivery
from shared.notifications.rules import EmailPreference, EventKind, recipients_for
from web.app import create_app

TITLE = "Disk full on log shipper"
SECOND_LEAD = "lena@example.com"


@pytest.fixture
def setup(db, users, database_url, session_factory, inbox):
    """Settings that mail the test SMTP server, and a second lead: "every lead" is more than the one who raises it."""
    accounts.create_user(
        session=db, actor=None, email=SECOND_LEAD, name="Lena Lead", role="lead", password="lantern-otter-gravel"
    )
    db.commit()
    return notification_settings(database_url, inbox=inbox), session_factory


def _file(db, users, *, priority, reporter="member", owner=None):
    incident = incidents.create_incident(
        session=db,
        actor=users[reporter],
        title=TITLE,
        priority=priority,
        owner_id=users[owner].id if owner else None,
    )
    db.commit()
    return incident


def _reprioritise(db, users, incident, priority, *, by="lead"):
    incidents.change_priority(session=db, incident_id=incident.id, actor=users[by], priority=priority)
    db.commit()


def _settled(factory, settings, inbox) -> None:
    """Send what earlier changes queued (a new P1's mail, an assignment), then start a clean inbox."""
    run_pipeline(factory, settings)
    inbox.messages.clear()


def _plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def _html(message) -> str:
    return message.get_body(("html",)).get_content()


def test_raised_to_p1_mails_every_lead_and_the_people_on_it_once(db, users, setup, inbox):
    settings, factory = setup
    incident = _file(db, users, priority="P2", reporter="member")  # the reporter watches
    incidents.assign(session=db, incident_id=incident.id, actor=users["admin"], owner_id=users["other"].id)
    db.commit()
    run_pipeline(factory, settings)
    (assigned_mail,) = inbox.messages  # "Assigned to you", to the owner
    inbox.messages.clear()

    _reprioritise(db, users, incident, "P1", by="lead")
    run_pipeline(factory, settings)

    # The other lead (the one who raised it is not told of their own action), the owner and the watcher.
    assert sorted(mailed_to(inbox)) == [SECOND_LEAD, "member@example.com", "other@example.com"]
    for delivered in inbox.messages:
        message = delivered.message
        assert message["Subject"] == f"[INC-1] Raised to P1: {TITLE}"
        assert "Lee Lead raised INC-1 from P2 to P1." in _plain(message)
        assert "Lee Lead raised INC-1 from P2 to P1." in _html(message)
        assert "INC-1 · P1 · Open" in _plain(message)
        # In the incident's thread, with the assignment mail before it.
        root = thread_root_id(incident_id=incident.id, base_url=BASE_URL)
        assert message["In-Reply-To"] == message["References"] == root
        assert message["In-Reply-To"] == assigned_mail.message["In-Reply-To"]
        assert message["Auto-Submitted"] == "auto-generated"
    assert len({delivered.message["Message-ID"] for delivered in inbox.messages}) == 3


def test_only_a_raise_to_p1_is_mailed_not_a_lowering_a_repeat_or_a_raise_to_p2(db, users, setup, inbox):
    settings, factory = setup
    incident = _file(db, users, priority="P3", reporter="lead", owner="other")
    _settled(factory, settings, inbox)

    _reprioritise(db, users, incident, "P2")  # raised, but not to P1: not a page
    _reprioritise(db, users, incident, "P2")  # unchanged: no event at all
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == []

    _reprioritise(db, users, incident, "P1")
    run_pipeline(factory, settings)
    assert sorted(mailed_to(inbox)) == [SECOND_LEAD, "other@example.com"]
    inbox.messages.clear()

    _reprioritise(db, users, incident, "P1")  # P1 -> P1: nothing changed, nothing new
    _reprioritise(db, users, incident, "P3")  # lowered
    _reprioritise(db, users, incident, "P4")
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == []


def test_a_raise_to_p1_from_any_lower_priority_names_where_it_came_from(db, users, setup, inbox):
    settings, factory = setup
    for before in ("P2", "P3", "P4"):
        incident = _file(db, users, priority=before)
        _settled(factory, settings, inbox)
        _reprioritise(db, users, incident, "P1")
        run_pipeline(factory, settings)
        to_other_lead = [m.message for m in inbox.messages if m.rcpt_tos == [SECOND_LEAD]]
        assert [m["Subject"] for m in to_other_lead] == [f"[{incident.key}] Raised to P1: {TITLE}"]
        assert f"Lee Lead raised {incident.key} from {before} to P1." in _plain(to_other_lead[0])


def test_a_replayed_fan_out_sends_no_second_mail(db, users, setup, inbox):
    settings, factory = setup
    incident = _file(db, users, priority="P2")
    _settled(factory, settings, inbox)
    _reprioritise(db, users, incident, "P1")

    # The fan-out task runs twice for one message (a redelivery after a lost ack), and once more later.
    created = fan_out_pending(factory, settings, runs=2)
    for delivery_id in created.email_ids:
        service.send_email(factory=factory, settings=settings, delivery_id=delivery_id)
    for delivery_id in created.email_ids:  # a send task that runs again sends nothing again
        service.send_email(factory=factory, settings=settings, delivery_id=delivery_id)

    assert sorted(mailed_to(inbox)) == [SECOND_LEAD, "member@example.com"]
    db.expire_all()
    kinds = db.scalars(select(EmailDelivery.kind).where(EmailDelivery.incident_id == incident.id)).all()
    assert sorted(kinds) == [EventKind.PRIORITY_CHANGED.value] * 2


def test_an_assignment_reaches_a_p1_p2_only_user_but_other_p3_mail_still_does_not(db, users, setup, inbox):
    settings, factory = setup
    service.set_email_preference(session=db, user=users["other"], preference=EmailPreference.P1_P2)
    db.commit()
    incident = _file(db, users, priority="P3", reporter="lead")

    incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users["other"].id)
    db.commit()
    run_pipeline(factory, settings)
    (mail,) = inbox.messages
    assert mail.rcpt_tos == ["other@example.com"]
    assert mail.message["Subject"] == f"[INC-1] Assigned to you: {TITLE}"
    assert "Lee Lead assigned INC-1 to you." in _plain(mail.message)
    inbox.messages.clear()

    # As the owner (and so a watcher) of a P3: a move, a comment, a raise to P2 are not mailed to them.
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="Rotating logs now")
    db.commit()
    _reprioritise(db, users, incident, "P2")
    run_pipeline(factory, settings)
    assert "other@example.com" not in mailed_to(inbox)


def test_an_incident_filed_for_a_p1_p2_only_user_tells_them_it_is_theirs(db, users, setup, inbox):
    """Filed with an owner is an assignment too (it sends incident.assigned): the owner's one
    mail, the new incident's, reaches them."""
    settings, factory = setup
    service.set_email_preference(session=db, user=users["other"], preference=EmailPreference.P1_P2)
    db.commit()
    _file(db, users, priority="P3", reporter="lead", owner="other")
    _file(db, users, priority="P3", reporter="lead")  # not theirs: nothing
    run_pipeline(factory, settings)
    (mail,) = inbox.messages
    assert mail.rcpt_tos == ["other@example.com"]
    assert mail.message["Subject"] == f"[INC-1] New P3: {TITLE}"
    assert "Lee Lead filed a new P3 incident, INC-1, and made you its owner." in _plain(mail.message)


@pytest.mark.parametrize(
    ("before", "after", "reached"),
    [
        ("P2", "P1", True),
        ("P3", "P1", True),
        ("P4", "P1", True),
        ("", "P1", True),  # an event whose "from" is not known: a recorded change is never P1 -> P1
        ("P1", "P1", False),
        ("P1", "P2", False),
        ("P3", "P2", False),
        ("P2", "P4", False),
    ],
)
def test_the_rule_pages_leads_and_people_on_it_only_for_a_raise_to_p1(before, after, reached):
    got = recipients_for(
        kind=EventKind.PRIORITY_CHANGED,
        priority=after,
        previous_priority=before,
        actor_id=1,
        owner_id=2,
        watcher_ids=(3, 1),
        lead_ids=(1, 4, 5),
        uploader_id=6,
        preferences={5: EmailPreference.OFF},
    )
    assert got == ({2, 3, 4} if reached else set())


@pytest.fixture
def client_as(database_url, users, session_factory, reused_apps, inbox):
    """A test client of the web app (CSRF off, as the other route tests), signed in as a role (None: not signed in)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    settings = notification_settings(database_url, inbox=inbox)

    def build():
        app = create_app(settings)
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        return app

    app = reused_apps.get(settings, csrf=False, build=build)

    def make(role: str | None):
        client = app.test_client()
        if role is None:
            return client
        with session_factory() as session:
            token = accounts.start_session(
                session=session, user=session.get(User, users[role].id), lifetime=timedelta(hours=1)
            )
            session.commit()
        with client.session_transaction() as cookie:
            cookie["_user_id"] = token
            cookie["_fresh"] = True
        return client

    yield make
    app.extensions["db_engine"].dispose()
    root.handlers[:], root.level = handlers, level


def test_change_priority_on_the_incident_page_mails_the_leads(db, users, setup, inbox, client_as):
    settings, factory = setup
    incident = _file(db, users, priority="P2")
    _settled(factory, settings, inbox)

    lead = client_as("lead")
    page = lead.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert f'action="/incidents/{incident.key}/priority"' in page
    posted = lead.post(f"/incidents/{incident.key}/priority", data={"priority": "P1", "version": incident.version})
    assert posted.status_code == 302
    run_pipeline(factory, settings)

    assert sorted(mailed_to(inbox)) == [SECOND_LEAD, "member@example.com"]
    assert {m.message["Subject"] for m in inbox.messages} == {f"[INC-1] Raised to P1: {TITLE}"}


def test_the_api_priority_change_mails_the_leads(db, users, setup, inbox, client_as):
    settings, factory = setup
    incident = _file(db, users, priority="P4")
    _settled(factory, settings, inbox)
    _, token = tokens.create_token(session=db, user=users["admin"], name="pager-bridge", scope="write")
    db.commit()

    answer = client_as(None).post(
        f"/api/v1/incidents/{incident.key}/priority",
        json={"priority": "P1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200
    assert answer.get_json()["priority"] == "P1"
    run_pipeline(factory, settings)

    # An admin raised it: both leads are paged, and the reporter (a watcher) is told.
    assert sorted(mailed_to(inbox)) == ["lead@example.com", SECOND_LEAD, "member@example.com"]
    text = _plain(inbox.messages[0].message)
    assert "Ada Admin raised INC-1 from P4 to P1." in text
    db.expire_all()
    assert db.scalar(select(func.count(EmailDelivery.id))) == 3


def test_the_profile_says_assignments_are_always_mailed(client_as):
    page = client_as("member").get("/profile").get_data(as_text=True)
    assert '<option value="p1_p2">P1 and P2 incidents only (assignments to you always)</option>' in page
    lead_page = client_as("lead").get("/profile").get_data(as_text=True)
    assert "when a P1 is filed or any incident is raised to P1" in lead_page
