"""The transactional outbox: a message is written with the change and shares its fate."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

from sqlalchemy import select

from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.db import make_session_factory, utcnow
from shared.events import Route
from shared.incidents import service as incidents
from shared.outbox import service as outbox
from shared.outbox.models import OutboxMessage
from shared.timeutil import as_utc


def test_filing_an_incident_writes_one_message_the_worker_can_act_on(db, users):
    created = incidents.create_incident(
        session=db, actor=users["member"], title="DNS failures", priority="P1", component="network"
    )
    db.commit()
    (message,) = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "incident.created")).all()
    # Ids, and the incident's state fields as filed (no title is copied out of the database).
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "incident.created")).one()
    as_of = message.payload.pop("as_of")
    assert message.payload == {"incident_id": created.id, "actor_id": users["member"].id, "event_id": event.id}
    assert (as_of["status"], as_of["priority"], as_of["version"]) == ("open", "P1", created.version)
    assert "DNS failures" not in str(as_of)
    assert len(message.id) == 32
    assert message.published_at is None


def test_a_failed_operation_leaves_no_message(db, users, counts):
    before = counts()
    incidents.create_incident(session=db, actor=users["member"], title="Will be rolled back")
    db.rollback()
    assert counts() == before
    assert {m.topic for m in outbox.pending(session=db)} == {"user.created"}  # only the fixture's users


def test_pending_lists_unpublished_messages_oldest_first(db):
    now = utcnow()
    for minutes, topic in ((3, "b"), (5, "a"), (1, "c")):
        db.add(OutboxMessage(topic=topic, payload={}, created_at=now - timedelta(minutes=minutes)))
    db.add(OutboxMessage(topic="done", payload={}, created_at=now - timedelta(minutes=9), published_at=now))
    db.commit()
    assert [m.topic for m in outbox.pending(session=db)] == ["a", "b", "c"]
    assert [m.topic for m in outbox.pending(session=db, limit=2)] == ["a", "b"]


def test_payloads_are_stored_as_plain_json(db):
    message = outbox.enqueue(session=db, topic="x", payload={"due": date(2026, 12, 1), "ids": (1, 2)})
    db.commit()
    db.expire_all()
    assert db.get(OutboxMessage, message.id).payload == {"due": "2026-12-01", "ids": [1, 2]}


# -- the relay -------------------------------------------------------------------------------------

ROUTES = {"incident.created": ("incident_tracker.test.record",), "fanout": ("task.a", "task.b")}


class Recorder:
    """A publish callable that remembers what it sent, or fails like a broker that is down."""

    def __init__(self, *, fail: bool = False, delay: float = 0.0) -> None:
        self.sent: list[tuple[str, dict, str]] = []
        self.fail, self.delay = fail, delay

    def __call__(self, task_name: str, kwargs: dict, message_id: str) -> None:
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
        self.sent.append((task_name, kwargs, message_id))


def _message(db, topic="incident.created", **payload):
    message = outbox.enqueue(session=db, topic=topic, payload=payload or {"incident_id": 1})
    db.commit()
    return message


def test_relay_publishes_each_due_message_to_its_tasks_with_its_id_and_marks_it(db):
    routed = _message(db, "fanout", incident_id=4)
    unrouted = _message(db, "user.created", user_id=2)
    recorder = Recorder()
    result = outbox.relay(session=db, publish=recorder, routes=ROUTES)
    db.commit()
    assert (result.published, result.failed) == (2, 0)
    expected_kwargs = {"incident_id": 4, "message_id": routed.id}
    assert recorder.sent == [("task.a", expected_kwargs, routed.id), ("task.b", expected_kwargs, routed.id)]
    db.expire_all()
    for message in (routed, unrouted):  # a type no task listens to needs no publishing
        assert db.get(OutboxMessage, message.id).published_at is not None
    assert outbox.pending(session=db) == []
    assert outbox.relay(session=db, publish=recorder, routes=ROUTES).published == 0  # nothing twice


def test_a_route_with_keys_passes_only_those_payload_entries(db):
    message = _message(db, "evidence.uploaded", evidence_id=5, incident_id=2)
    recorder = Recorder()
    routes = {"evidence.uploaded": (Route("incident_tracker.evidence.process", ("evidence_id",)),)}
    outbox.relay(session=db, publish=recorder, routes=routes)
    assert recorder.sent == [("incident_tracker.evidence.process", {"evidence_id": 5}, message.id)]


def test_a_failed_publish_keeps_the_message_counts_it_and_backs_off(db):
    first, second = _message(db), _message(db)
    result = outbox.relay(session=db, publish=Recorder(fail=True), routes=ROUTES)
    db.commit()
    # The broker is down: the first failure stops the run instead of waiting out every timeout.
    assert (result.published, result.failed) == (0, 1)
    assert "Connection refused" in result.error
    db.expire_all()
    failed, untouched = db.get(OutboxMessage, first.id), db.get(OutboxMessage, second.id)
    assert failed.published_at is None
    assert failed.attempts == 1
    assert "Connection refused" in failed.last_error
    assert as_utc(failed.available_at) > utcnow() + timedelta(seconds=3)
    assert untouched.attempts == 0
    assert untouched.last_error is None
    # Not due yet: the next run publishes only the untouched one; after the backoff, both.
    recorder = Recorder()
    outbox.relay(session=db, publish=recorder, routes=ROUTES)
    assert [m for _, _, m in recorder.sent] == [second.id]
    outbox.relay(session=db, publish=recorder, routes=ROUTES, now=utcnow() + timedelta(minutes=1))
    db.commit()
    assert [m for _, _, m in recorder.sent] == [second.id, first.id]
    db.expire_all()
    assert db.get(OutboxMessage, first.id).last_error is None


def test_backoff_grows_and_is_capped():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert outbox.backoff(50).total_seconds() == outbox.BACKOFF_MAX_SECONDS


def test_messages_are_published_right_after_commit_never_before_and_never_after_a_rollback(db, engine, users):
    factory = make_session_factory(engine)  # a factory of its own: the hook stays with it
    recorder = Recorder()
    outbox.publish_after_commit(factory, recorder, routes=ROUTES)
    session = factory()
    try:
        incidents.create_incident(session=session, actor=session.get(User, users["member"].id), title="Kept")
        session.flush()
        assert recorder.sent == []  # inside the transaction: nothing yet
        session.commit()
        (sent,) = recorder.sent
        assert sent[0] == "incident_tracker.test.record"
        assert db.get(OutboxMessage, sent[2]).published_at is not None

        incidents.create_incident(session=session, actor=session.get(User, users["member"].id), title="Rolled back")
        session.rollback()
        session.commit()
        assert len(recorder.sent) == 1
    finally:
        session.close()


def test_a_broker_failure_after_commit_never_reaches_the_caller(db, engine, users):
    factory = make_session_factory(engine)
    outbox.publish_after_commit(factory, Recorder(fail=True), routes=ROUTES)
    session = factory()
    try:
        created = incidents.create_incident(
            session=session, actor=session.get(User, users["member"].id), title="Redis is down"
        )
        session.commit()  # does not raise: the change is real, the message waits for the sweep
    finally:
        session.close()
    (message,) = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "incident.created")).all()
    assert message.payload["incident_id"] == created.id
    assert message.published_at is None
    assert message.attempts == 1
    assert message.last_error


def test_two_relays_racing_never_publish_a_message_twice(db, engine):
    for number in range(30):
        outbox.enqueue(session=db, topic="incident.created", payload={"incident_id": number})
    db.commit()
    factory = make_session_factory(engine)
    recorders = [Recorder(delay=0.01), Recorder(delay=0.01)]
    start = threading.Barrier(2)

    def run(recorder):
        start.wait()
        while outbox.relay_in_transaction(factory, recorder, limit=5, routes=ROUTES).published:
            pass

    threads = [threading.Thread(target=run, args=(recorder,)) for recorder in recorders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    sent = [message_id for recorder in recorders for _, _, message_id in recorder.sent]
    assert len(sent) == len(set(sent)) == 30  # every message once, none twice
    if engine.dialect.name == "postgresql":  # SKIP LOCKED: both relays did share the work
        assert all(recorder.sent for recorder in recorders)  # (SQLite runs them one after the other)
    assert outbox.pending(session=db) == []


def test_a_commit_whose_messages_no_task_listens_to_publishes_nothing_and_leaves_them_to_the_sweep(db, engine, users):
    factory = make_session_factory(engine)
    recorder = Recorder(fail=True)  # would count an attempt if it were called
    outbox.publish_after_commit(factory, recorder, routes={})
    session = factory()
    try:
        incidents.create_incident(session=session, actor=session.get(User, users["member"].id), title="No listener")
        session.commit()
    finally:
        session.close()
    (message,) = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "incident.created")).all()
    assert message.published_at is None
    assert message.attempts == 0
    assert outbox.relay(session=db, publish=recorder, routes={}).published >= 1  # the sweep marks it
    db.commit()
    db.expire_all()
    assert db.get(OutboxMessage, message.id).published_at is not None
