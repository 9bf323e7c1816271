"""The transactional outbox: a message is written with the change and shares its fate."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from shared.db import utcnow
from shared.incidents import service as incidents
from shared.outbox import service as outbox
from shared.outbox.models import OutboxMessage


def test_filing_an_incident_writes_one_message_the_worker_can_act_on(db, users):
    created = incidents.create_incident(
        session=db, actor=users["member"], title="DNS failures", priority="P1", component="network"
    )
    db.commit()
    (message,) = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "incident.created")).all()
    # Ids only: the task re-reads the incident, and no title is copied out of the database.
    assert message.payload == {"incident_id": created.id, "actor_id": users["member"].id}
    assert len(message.id) == 32 and message.published_at is None


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
