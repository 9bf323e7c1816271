"""Whoever is given a follow-up hears of it by email: added with them as its owner, or reassigned
to them, unless they did it themselves. A follow-up given to you is an assignment, so "P1 and P2
incidents only" still mails it (as an incident assigned to you); "Nothing" mails nothing.

End to end from the follow-up service: its outbox message, the fan-out, and a real SMTP server
(aiosmtpd) receiving the mail. A second run of the fan-out (a redelivered message) sends nothing
again. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notification_helpers import BASE_URL, deliver_all, fan_out_pending, mailed_to, notification_settings, run_pipeline

from shared.db import utcnow
from shared.incidents import follow_ups
from shared.incidents import service as incidents
from shared.notifications import service
from shared.notifications.email import thread_root_id

TITLE = "Rotate the leaked key"


@pytest.fixture
def setup(db, users, database_url, session_factory, inbox):
    """Settings that mail the test SMTP server, and a P3 incident filed by the lead (its mail sent)."""
    settings = notification_settings(database_url, inbox=inbox)
    incident = incidents.create_incident(session=db, actor=users["lead"], title="Key pushed to a public repo")
    db.commit()
    run_pipeline(session_factory, settings)
    inbox.messages.clear()
    return settings, session_factory, incident


def _add(db, users, incident, *, by="lead", owner="member", due=None):
    follow_up = follow_ups.add_follow_up(
        session=db,
        actor=users[by],
        incident_id=incident.id,
        title=TITLE,
        owner_id=users[owner].id if owner else None,
        due_date=due,
    )
    db.commit()
    return follow_up


def _plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_the_owner_of_a_new_follow_up_is_mailed_once_with_who_gave_it_the_due_date_and_a_link(db, users, setup, inbox):
    settings, factory, incident = setup
    due = utcnow().date() + timedelta(days=7)
    follow_up = _add(db, users, incident, due=due)

    created = fan_out_pending(factory, settings, runs=2)  # a redelivered message makes no second mail
    deliver_all(factory, settings, created)

    assert mailed_to(inbox) == ["member@example.com"]
    mail = inbox.messages[0].message
    assert str(mail["Subject"]) == f"[{incident.key}] Follow-up for you: {TITLE}"
    text = _plain(mail)
    assert f"Lee Lead gave you a follow-up on {incident.key}." in text
    assert f"Follow-up: {TITLE}" in text
    assert f"Due: {due.isoformat()}" in text
    link = f"{BASE_URL}/incidents/{incident.key}#follow-up-{follow_up.id}"
    assert link in text
    assert link in mail.get_body(("html",)).get_content()
    # In the incident's thread, as every other mail about it.
    root = thread_root_id(incident_id=incident.id, base_url=BASE_URL)
    assert (mail["In-Reply-To"], mail["References"]) == (root, root)


def test_reassigning_mails_the_new_owner_and_nothing_else_does(db, users, setup, inbox):
    settings, factory, incident = setup
    follow_up = _add(db, users, incident, owner=None)  # nobody's yet
    run_pipeline(factory, settings)
    assert inbox.messages == []

    follow_ups.update_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=follow_up.id, owner_id=users["other"].id
    )
    db.commit()
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["other@example.com"]
    assert "Due: no due date" in _plain(inbox.messages[0].message)
    inbox.messages.clear()

    # A new title or due date, done and reopened: none of it is news to an owner.
    follow_ups.update_follow_up(
        session=db,
        actor=users["lead"],
        incident_id=incident.id,
        follow_up_id=follow_up.id,
        title="Rotate the leaked key and the backup key",
        due_date=utcnow().date() + timedelta(days=3),
    )
    follow_ups.set_done(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=follow_up.id, done=True)
    follow_ups.set_done(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=follow_up.id, done=False)
    db.commit()
    run_pipeline(factory, settings)
    assert inbox.messages == []

    # Given back to nobody: only the owner it was taken from hears (test_notifications_follow_up_moved.py).
    follow_ups.update_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=follow_up.id, owner_id=None
    )
    db.commit()
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["other@example.com"]


def test_taking_a_follow_up_yourself_mails_nobody(db, users, setup, inbox):
    settings, factory, incident = setup
    _add(db, users, incident, by="member", owner="member")
    other = _add(db, users, incident, by="lead", owner=None)
    follow_ups.update_follow_up(
        session=db, actor=users["other"], incident_id=incident.id, follow_up_id=other.id, owner_id=users["other"].id
    )
    db.commit()
    run_pipeline(factory, settings)
    assert inbox.messages == []


@pytest.mark.parametrize(("preference", "mailed"), [("all", True), ("p1_p2", True), ("off", False)])
def test_the_owners_email_preference_is_honoured(db, users, setup, inbox, preference, mailed):
    settings, factory, incident = setup
    assert incident.priority == "P3"  # "P1 and P2 only" still hears of an assignment to them
    service.set_email_preference(session=db, user=users["member"], preference=preference)
    db.commit()
    _add(db, users, incident)
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == (["member@example.com"] if mailed else [])


def test_a_follow_up_deleted_before_its_mail_went_out_is_not_mailed(db, users, setup, inbox):
    settings, factory, incident = setup
    follow_up = _add(db, users, incident)
    follow_ups.delete_follow_up(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=follow_up.id)
    db.commit()
    run_pipeline(factory, settings)
    assert inbox.messages == []
