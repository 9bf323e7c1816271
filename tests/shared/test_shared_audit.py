"""Every change leaves exactly the audit events (and outbox messages) a reader of the timeline
expects, in the same transaction; the chain detects tampering and names the first broken event."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.incidents import service as incidents
from shared.incidents.models import Incident
from shared.outbox.models import OutboxMessage

PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class Expected:
    action: str
    entity_type: str
    entity_id: int
    actor_id: int | None
    data: dict[str, Any]
    payload: dict[str, Any]
    incident_id: int | None = None


def _incident_event(users, incident, actor, action, data, ids=None) -> Expected:
    # The outbox message carries ids only: no title, reason, comment body or diff.
    payload = {"incident_id": incident.id, "actor_id": users[actor].id, **(ids or {})}
    return Expected(action, "incident", incident.id, users[actor].id, data, payload, incident.id)


def op_create_user(db, users, incident):
    user = accounts.create_user(
        session=db, actor=users["admin"], email="New@Example.com", name="Nia New", role="lead", password=PASSWORD
    )
    data = {"email": "new@example.com", "role": "lead"}
    return Expected("user.created", "user", user.id, users["admin"].id, data, {"user_id": user.id})


def op_change_role(db, users, incident):
    target = users["other"]
    accounts.change_role(session=db, actor=users["admin"], user_id=target.id, role="lead")
    data = {"email": target.email, "from": "member", "to": "lead"}
    return Expected("user.role_changed", "user", target.id, users["admin"].id, data, {"user_id": target.id})


def op_disable_user(db, users, incident):
    target = users["other"]
    accounts.set_active(session=db, actor=users["admin"], user_id=target.id, active=False)
    data = {"email": target.email, "tokens_revoked": 0}  # how many API tokens disabling revoked
    return Expected("user.disabled", "user", target.id, users["admin"].id, data, {"user_id": target.id})


def op_create_incident(db, users, _incident):
    created = incidents.create_incident(
        session=db,
        actor=users["member"],
        title="Disk full on log shipper",
        priority="p2",
        component="Logging",
        environment="prod",
        owner_id=users["member"].id,
    )
    data = {
        "title": "Disk full on log shipper",
        "priority": "P2",
        "component": "logging",
        "environment": "prod",
        "owner_id": users["member"].id,
    }
    return _incident_event(users, created, "member", "incident.created", data)


def op_transition(db, users, incident):
    incidents.transition(session=db, incident_id=incident.id, actor=users["member"], to="in_progress")
    return _incident_event(users, incident, "member", "incident.status_changed", {"from": "open", "to": "in_progress"})


def op_close_with_reason(db, users, incident):
    incidents.transition(
        session=db, incident_id=incident.id, actor=users["lead"], to="closed", reason="Duplicate of INC-9"
    )
    data = {"from": "open", "to": "closed", "reason": "Duplicate of INC-9"}
    return _incident_event(users, incident, "lead", "incident.status_changed", data)


def op_assign(db, users, incident):
    incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users["other"].id)
    data = {"from": "member@example.com", "to": "other@example.com", "owner_id": users["other"].id}
    return _incident_event(users, incident, "lead", "incident.assigned", data, {"owner_id": users["other"].id})


def op_unassign(db, users, incident):
    incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=None)
    data = {"from": "member@example.com", "to": None, "owner_id": None}
    return _incident_event(users, incident, "lead", "incident.assigned", data, {"owner_id": None})


def op_change_priority(db, users, incident):
    incidents.change_priority(session=db, incident_id=incident.id, actor=users["lead"], priority="p1")
    return _incident_event(users, incident, "lead", "incident.priority_changed", {"from": "P3", "to": "P1"})


def op_edit(db, users, incident):
    incidents.update_details(
        session=db,
        incident_id=incident.id,
        actor=users["member"],
        title="RDS primary CPU pinned at 100%",
        description="p99 latency x8",
        component="rds",
        environment="staging",
    )
    changes = {
        "description": {"from": "", "to": "p99 latency x8"},
        "component": {"from": "", "to": "rds"},
        "environment": {"from": "prod", "to": "staging"},
    }
    return _incident_event(users, incident, "member", "incident.edited", {"changes": changes})


def op_comment(db, users, incident):
    comment = incidents.add_comment(session=db, incident_id=incident.id, actor=users["other"], body="  Seeing it too ")
    # The body lives in incident_comments (redactable); the chain keeps the hash of the body as
    # stored: trailing whitespace trimmed, the first line's indent kept (it can make a code block).
    data = {"comment_id": comment.id, "body_sha256": hashlib.sha256(b"  Seeing it too").hexdigest()}
    return _incident_event(users, incident, "other", "incident.commented", data, {"comment_id": comment.id})


def op_watch(db, users, incident):
    incidents.set_watching(session=db, incident_id=incident.id, actor=users["other"], watching=True)
    return _incident_event(users, incident, "other", "incident.watched", {})


def op_unwatch(db, users, incident):
    # The reporter watches from the start.
    incidents.set_watching(session=db, incident_id=incident.id, actor=users["member"], watching=False)
    return _incident_event(users, incident, "member", "incident.unwatched", {})


OPERATIONS = [
    op_create_user,
    op_change_role,
    op_disable_user,
    op_create_incident,
    op_transition,
    op_close_with_reason,
    op_assign,
    op_unassign,
    op_change_priority,
    op_edit,
    op_comment,
    op_watch,
    op_unwatch,
]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda f: f.__name__.removeprefix("op_"))
def test_each_operation_appends_exactly_its_event_and_message(db, users, make_incident, counts, operation):
    incident = make_incident("open")
    audit_before, outbox_before = counts()
    expected = operation(db, users, incident)
    db.commit()

    events = list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))[audit_before:]
    assert [e.action for e in events] == [expected.action]
    event = events[0]
    assert (event.entity_type, event.entity_id, event.actor_id, event.incident_id) == (
        expected.entity_type,
        expected.entity_id,
        expected.actor_id,
        expected.incident_id,
    )
    assert event.data == expected.data

    messages = db.scalars(select(OutboxMessage)).all()
    assert len(messages) == outbox_before + 1
    # The message names its audit event (filled in at COMMIT, when the event gets its id).
    expected_payload = {**expected.payload, "event_id": event.id}
    # An incident's message also carries its state as this change left it (checked in
    # tests/notifications: what the mail and the webhook of each event say).
    fresh = [
        m
        for m in messages
        if m.topic == expected.action and {k: v for k, v in m.payload.items() if k != "as_of"} == expected_payload
    ]
    assert len(fresh) == 1, [(m.topic, m.payload) for m in messages]
    if expected.incident_id is not None:
        assert fresh[0].payload["as_of"]["version"] == db.get(Incident, expected.incident_id).version
    assert fresh[0].published_at is None
    assert fresh[0].attempts == 0
    assert audit.verify_chain(session=db).ok


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda f: f.__name__.removeprefix("op_"))
def test_a_rolled_back_operation_leaves_no_event_and_no_message(db, users, make_incident, counts, operation):
    incident = make_incident("open")
    before = counts()
    operation(db, users, incident)
    db.rollback()
    assert counts() == before


@pytest.mark.parametrize(
    "noop",
    [
        lambda db, u, i: incidents.assign(session=db, incident_id=i.id, actor=u["lead"], owner_id=u["member"].id),
        lambda db, u, i: incidents.change_priority(session=db, incident_id=i.id, actor=u["lead"], priority="P3"),
        lambda db, u, i: incidents.update_details(
            session=db,
            incident_id=i.id,
            actor=u["lead"],
            title=i.title,
            description="",
            component="",
            environment="prod",
        ),
        lambda db, u, i: incidents.set_watching(session=db, incident_id=i.id, actor=u["member"], watching=True),
        lambda db, u, i: accounts.change_role(session=db, actor=u["admin"], user_id=u["lead"].id, role="lead"),
        lambda db, u, i: accounts.set_active(session=db, actor=u["admin"], user_id=u["lead"].id, active=True),
    ],
    ids=["same-owner", "same-priority", "same-details", "already-watching", "same-role", "already-active"],
)
def test_a_change_to_the_same_value_records_nothing(db, users, make_incident, counts, noop):
    incident = make_incident("open")
    version, before = incident.version, counts()
    noop(db, users, incident)
    db.commit()
    assert counts() == before
    db.refresh(incident)
    assert incident.version == version


def test_the_timeline_lists_an_incidents_events_in_order(db, users, make_incident):
    incident = make_incident("resolved")
    make_incident("open", reporter="other")  # another incident's events stay off this timeline
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["other"], body="Thanks")
    db.commit()
    timeline = audit.incident_events(session=db, incident_id=incident.id)
    assert [e.action for e in timeline] == [
        "incident.created",
        "incident.assigned",
        "incident.status_changed",
        "incident.status_changed",
        "incident.commented",
    ]
    assert [e.data.get("to") for e in timeline[2:4]] == ["in_progress", "resolved"]
    assert timeline[3].data["reason"] == "Restarted the writer"
    assert timeline[-1].actor.email == "other@example.com"


def test_the_chain_verifies_after_many_operations(db, users, make_incident):
    for status in ("open", "in_progress", "blocked", "resolved", "closed"):
        incident = make_incident(status)
        incidents.add_comment(session=db, incident_id=incident.id, actor=users["other"], body=f"Note on {status}")
        incidents.change_priority(session=db, incident_id=incident.id, actor=users["lead"], priority="P2")
    accounts.change_role(session=db, actor=users["admin"], user_id=users["other"].id, role="lead")
    db.commit()
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert events[0].prev_hash == audit.GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    report = audit.verify_chain(session=db, batch_size=7)  # several batches
    assert report.ok
    assert report.checked == len(events) > 30


def test_an_empty_trail_verifies(db):
    assert audit.verify_chain(session=db) == audit.ChainReport(ok=True, checked=0)


def _tamper(db, sql: str, params: dict) -> None:
    """Change the audit table behind the application's back (on PostgreSQL past the trigger)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET LOCAL session_replication_role = replica"))
    db.execute(text(sql), params)
    db.commit()
    db.expire_all()


@pytest.fixture
def trail(db, users, make_incident):
    for status in ("resolved", "blocked"):
        make_incident(status)
    return db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_editing_an_events_data_is_detected_at_that_event(db, trail):
    victim = trail[len(trail) // 2]
    _tamper(db, "UPDATE audit_events SET data = :data WHERE id = :id", {"data": '{"from": "open"}', "id": victim.id})
    report = audit.verify_chain(session=db)
    assert not report.ok
    assert report.broken_event_id == victim.id
    assert report.checked == trail.index(victim)
    assert "content" in report.problem


def test_rewriting_an_events_actor_is_detected(db, users, trail):
    victim = trail[3]
    _tamper(
        db, "UPDATE audit_events SET actor_id = :actor WHERE id = :id", {"actor": users["admin"].id, "id": victim.id}
    )
    assert audit.verify_chain(session=db).broken_event_id == victim.id


def test_deleting_an_event_is_detected_at_the_next_one(db, trail):
    victim, follower = trail[4], trail[5]
    _tamper(db, "DELETE FROM audit_events WHERE id = :id", {"id": victim.id})
    report = audit.verify_chain(session=db)
    assert report.broken_event_id == follower.id
    assert "previous-hash" in report.problem


def test_rehashing_a_forged_event_still_breaks_the_next_link(db, trail):
    """A forger who recomputes the edited event's own hash is caught by the event after it."""
    victim, follower = trail[2], trail[3]
    forged = AuditEvent(
        occurred_at=victim.occurred_at,
        actor_id=victim.actor_id,
        action=victim.action,
        entity_type=victim.entity_type,
        entity_id=victim.entity_id,
        incident_id=victim.incident_id,
        data={"forged": True},
    )
    new_hash = audit.compute_hash(victim.prev_hash, forged)
    _tamper(
        db,
        "UPDATE audit_events SET data = :data, hash = :hash WHERE id = :id",
        {"data": '{"forged": true}', "hash": new_hash, "id": victim.id},
    )
    assert audit.verify_chain(session=db).broken_event_id == follower.id


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'x' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
        "TRUNCATE audit_events CASCADE",
    ],
    ids=["update", "delete", "truncate"],
)
def test_postgresql_refuses_to_change_or_remove_events(db, trail, statement):
    with pytest.raises(DBAPIError, match="audit_events is append-only"):
        db.execute(text(statement), {"id": trail[0].id})
    db.rollback()
    assert len(db.scalars(select(AuditEvent)).all()) == len(trail)
    assert audit.verify_chain(session=db).ok


def test_concurrent_writers_keep_one_unbroken_chain(db, users, session_factory):
    """Three people filing at once: every event links to the one before it, none forks the chain."""
    failures: list[BaseException] = []

    def file_incidents(who: str) -> None:
        try:
            for n in range(6):
                with session_factory() as session:
                    actor = session.get(User, users[who].id)
                    incidents.create_incident(session=session, actor=actor, title=f"{who} report {n}")
                    session.commit()
        except BaseException as error:  # reported below; a thread cannot fail the test itself
            failures.append(error)

    threads = [threading.Thread(target=file_incidents, args=(who,)) for who in ("member", "other", "lead")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert len({e.prev_hash for e in events}) == len(events)  # no two events claim the same predecessor
    report = audit.verify_chain(session=db)
    assert report.ok, report
    assert report.checked == 4 + 18  # the fixture's users, then every filing


@pytest.mark.postgres_only
def test_an_open_transaction_does_not_hold_up_other_writers(db, users, session_factory):
    """The chain lock is taken at COMMIT, not when the event is appended: while Alice's filing is
    still open, Bob files and commits at once; Alice's event then chains after Bob's."""
    with session_factory() as alice, session_factory() as bob:
        alice_incident = incidents.create_incident(
            session=alice, actor=alice.get(User, users["member"].id), title="Alice's disk alarm"
        )
        # Would wait for Alice's transaction if the lock were taken at append time. (The titles
        # share no word: a new word's row in incident_title_words is locked until its COMMIT.)
        bob.execute(text("SET LOCAL lock_timeout = '2s'"))
        incidents.create_incident(session=bob, actor=bob.get(User, users["other"].id), title="Bob's queue backlog")
        bob.commit()
        alice.commit()
        assert alice_incident.key  # committed normally
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.data.get("title") for e in events[-2:]] == ["Bob's queue backlog", "Alice's disk alarm"]
    assert events[-1].prev_hash == events[-2].hash
    assert audit.verify_chain(session=db).ok


def test_a_pending_event_is_sealed_by_the_commit_and_gone_after_a_rollback(db, users):
    kept = audit.append(session=db, actor_id=None, action="test.kept", entity_type="test", entity_id=1)
    assert kept.hash is None  # linked at commit, not before
    db.commit()
    assert kept.hash
    assert kept.prev_hash
    audit.append(session=db, actor_id=None, action="test.dropped", entity_type="test", entity_id=2)
    db.rollback()
    db.commit()
    actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert "test.kept" in actions
    assert "test.dropped" not in actions
    assert audit.verify_chain(session=db).ok
