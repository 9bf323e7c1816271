"""Audit anchors: the chain's head kept outside the database finds a cut-off tail that the chain
alone cannot (delete the newest events with the trigger disabled: "chain intact")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from shared.audit import anchors
from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.db import utcnow
from shared.evidence.storage import LocalStorage
from shared.incidents import service as incidents
from shared.timeutil import as_utc


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "storage")


def _events(db, users, count: int) -> None:
    incident = incidents.create_incident(session=db, actor=users["member"], title="Anchored")
    db.commit()
    for number in range(count):
        incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=f"note {number}")
        db.commit()


def delete_newest_events(engine, keep_through: int) -> None:
    """What an owner of the table can do: switch the append-only trigger off and cut the tail."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("DELETE FROM audit_events WHERE id > :id"), {"id": keep_through})


def test_an_anchor_records_the_verified_head_and_the_intact_chain_matches_it(db, users, storage):
    _events(db, users, 3)
    anchor = anchors.write_anchor(session=db, storage=storage)
    db.commit()
    head_id, total = db.execute(select(func.max(AuditEvent.id), func.count(AuditEvent.id))).one()
    assert (anchor.event_id, anchor.events) == (head_id, total)
    assert anchor.hash == db.get(AuditEvent, head_id).hash
    assert anchors.latest_anchor(storage=storage) == anchor
    assert anchors.check(session=db, storage=storage) == ([], [])
    _events(db, users, 1)  # newer events than the anchor are fine
    assert anchors.check(session=db, storage=storage) == ([], [])


def test_deleting_the_newest_events_is_found_against_the_anchor(db, engine, users, storage):
    _events(db, users, 4)
    anchor = anchors.write_anchor(session=db, storage=storage)
    db.commit()
    delete_newest_events(engine, anchor.event_id - 2)
    db.expire_all()
    assert audit.verify_chain(session=db).ok  # the chain alone cannot tell
    problems, _ = anchors.check(session=db, storage=storage)
    assert len(problems) == 1
    assert "shorter than anchored" in problems[0]
    assert f"promised event {anchor.event_id} ({anchor.events} events)" in problems[0]


def test_a_missing_anchor_is_reported_once_events_are_old(db, users, storage):
    _events(db, users, 1)
    # Timed from the oldest event, not the clock: the `users` rows are replayed with the
    # timestamps of their first seeding, which a slow run leaves more than MAX_AGE behind.
    oldest = as_utc(db.scalar(select(func.min(AuditEvent.occurred_at))))
    soon = oldest + timedelta(minutes=1)
    assert anchors.check(session=db, storage=storage, now=soon) == ([], [])  # the beat has not run yet
    later = oldest + anchors.MAX_AGE + timedelta(minutes=1)
    problems, warnings = anchors.check(session=db, storage=storage, now=later)
    assert problems == []
    assert "no audit anchor found under audit-anchors/" in warnings[0]
    problems, _ = anchors.check(session=db, storage=storage, now=later, require_anchor=True)
    assert "no audit anchor found" in problems[0]


def test_a_stale_anchor_is_a_warning(db, users, storage):
    _events(db, users, 1)
    anchors.write_anchor(session=db, storage=storage)
    db.commit()
    _events(db, users, 1)
    _, warnings = anchors.check(session=db, storage=storage, now=utcnow() + timedelta(hours=1))
    assert "is the beat running?" in warnings[0]


def test_a_broken_chain_is_never_anchored(db, engine, users, storage):
    _events(db, users, 2)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("UPDATE audit_events SET entity_type = 'forged' WHERE id = 2"))
    with pytest.raises(anchors.ChainBroken):
        anchors.write_anchor(session=db, storage=storage)
    assert anchors.latest_anchor(storage=storage) is None
