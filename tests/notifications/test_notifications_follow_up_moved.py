"""A follow-up moved to someone else: the owner it was taken from hears to whom ("[INC-1] Follow-up
moved to Oti Other: …"), unless they moved it themselves; given back to nobody, they read
"Follow-up unassigned". The new owner's mail says when the follow-up was already overdue as it
reached them. Being taken off a follow-up is not an assignment: "P1 and P2 incidents only" hears
of it about P1 and P2 incidents only, "Nothing" never.

End to end from the follow-up service: its outbox message, the fan-out, and a real SMTP server
(aiosmtpd). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notification_helpers import BASE_URL, deliver_all, fan_out_pending, mailed_to, notification_settings, run_pipeline
from sqlalchemy import update

from shared.db import utcnow
from shared.incidents import follow_ups
from shared.incidents import service as incidents
from shared.incidents.models import FollowUp
from shared.notifications import service

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


def _given_to_member(db, users, incident, settings, factory, inbox, *, due=None):
    """A follow-up the lead gave Mo Member (that mail already sent)."""
    item = follow_ups.add_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, title=TITLE, owner_id=users["member"].id, due_date=due
    )
    db.commit()
    run_pipeline(factory, settings)
    inbox.messages.clear()
    return item


def _move(db, users, incident, item, *, by, to):
    follow_ups.update_follow_up(
        session=db,
        actor=users[by],
        incident_id=incident.id,
        follow_up_id=item.id,
        owner_id=users[to].id if to else None,
    )
    db.commit()


def _mail_to(inbox, address):
    [message] = [m.message for m in inbox.messages if address in m.rcpt_tos]
    return message


def _plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_the_previous_owner_is_told_to_whom_it_moved_once(db, users, setup, inbox):
    settings, factory, incident = setup
    item = _given_to_member(db, users, incident, settings, factory, inbox)

    _move(db, users, incident, item, by="lead", to="other")
    created = fan_out_pending(factory, settings, runs=2)  # a redelivered message makes no second mail
    deliver_all(factory, settings, created)

    assert sorted(mailed_to(inbox)) == ["member@example.com", "other@example.com"]
    moved = _mail_to(inbox, "member@example.com")
    assert str(moved["Subject"]) == f"[{incident.key}] Follow-up moved to Oti Other: {TITLE}"
    text = _plain(moved)
    assert f"Lee Lead moved your follow-up on {incident.key} to Oti Other." in text
    assert f"{BASE_URL}/incidents/{incident.key}#follow-up-{item.id}" in text
    assert "you owned this follow-up until now" in text
    assert "you own it now" not in text
    # The new owner's mail is the one they always had.
    assert str(_mail_to(inbox, "other@example.com")["Subject"]) == f"[{incident.key}] Follow-up for you: {TITLE}"


def test_moving_your_own_follow_up_mails_only_the_new_owner(db, users, setup, inbox):
    settings, factory, incident = setup
    item = _given_to_member(db, users, incident, settings, factory, inbox)
    _move(db, users, incident, item, by="member", to="other")
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["other@example.com"]


def test_taking_someones_follow_up_tells_them_and_not_you(db, users, setup, inbox):
    settings, factory, incident = setup
    item = _given_to_member(db, users, incident, settings, factory, inbox)
    _move(db, users, incident, item, by="other", to="other")
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["member@example.com"]
    assert "Oti Other moved your follow-up" in _plain(inbox.messages[0].message)


def test_given_back_to_nobody_the_previous_owner_reads_it_is_unassigned(db, users, setup, inbox):
    settings, factory, incident = setup
    item = _given_to_member(db, users, incident, settings, factory, inbox)
    _move(db, users, incident, item, by="lead", to=None)
    run_pipeline(factory, settings)
    assert mailed_to(inbox) == ["member@example.com"]
    mail = inbox.messages[0].message
    assert str(mail["Subject"]) == f"[{incident.key}] Follow-up unassigned: {TITLE}"
    assert f"Lee Lead took you off a follow-up on {incident.key}; nobody owns it now." in _plain(mail)


@pytest.mark.parametrize(
    ("preference", "priority", "mailed"),
    [
        ("all", "P3", True),
        ("p1_p2", "P3", False),  # not an assignment to them: only about P1 and P2 incidents
        ("p1_p2", "P2", True),
        ("off", "P1", False),
    ],
)
def test_the_previous_owners_email_preference_is_honoured(db, users, setup, inbox, preference, priority, mailed):
    settings, factory, incident = setup
    if priority != incident.priority:
        incidents.change_priority(session=db, actor=users["lead"], incident_id=incident.id, priority=priority)
        db.commit()
        run_pipeline(factory, settings)
    item = _given_to_member(db, users, incident, settings, factory, inbox)
    service.set_email_preference(session=db, user=users["member"], preference=preference)
    db.commit()
    _move(db, users, incident, item, by="lead", to="other")
    run_pipeline(factory, settings)
    assert ("member@example.com" in mailed_to(inbox)) is mailed
    assert "other@example.com" in mailed_to(inbox)  # the new owner hears whatever the old one chose


def test_the_new_owner_reads_that_it_is_already_overdue(db, users, setup, inbox):
    settings, factory, incident = setup
    today = utcnow().date()
    item = _given_to_member(db, users, incident, settings, factory, inbox, due=today)
    # Due three days ago (the form no longer takes such a date; time made it so).
    due = today - timedelta(days=3)
    db.execute(update(FollowUp).where(FollowUp.id == item.id).values(due_date=due))
    db.commit()
    _move(db, users, incident, item, by="lead", to="other")
    run_pipeline(factory, settings)
    mail = _mail_to(inbox, "other@example.com")
    expected = f"Due: {due.isoformat()} (overdue since {(due + timedelta(days=1)).isoformat()})"
    assert expected in _plain(mail)
    assert expected in mail.get_body(("html",)).get_content()
    # The owner it was taken from needs no reminder of it.
    assert "overdue" not in _plain(_mail_to(inbox, "member@example.com"))


def test_a_follow_up_due_today_or_later_is_not_called_overdue(db, users, setup, inbox):
    settings, factory, incident = setup
    today = utcnow().date()
    follow_ups.add_follow_up(
        session=db,
        actor=users["lead"],
        incident_id=incident.id,
        title=TITLE,
        owner_id=users["other"].id,
        due_date=today,
    )
    db.commit()
    run_pipeline(factory, settings)
    text = _plain(_mail_to(inbox, "other@example.com"))
    assert f"Due: {today.isoformat()}" in text
    assert "overdue" not in text
