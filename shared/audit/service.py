"""Appending to and verifying the hash-chained audit trail."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.audit.models import AuditEvent
from shared.db import utcnow
from shared.timeutil import as_utc

GENESIS_HASH = "0" * 64
# Serialises appends on PostgreSQL so two transactions never chain onto the same previous
# event (SQLite already allows one writer at a time).
_CHAIN_LOCK_ID = 7_310_042


def canonical_json(event: AuditEvent) -> str:
    """The event's content as it is hashed: sorted keys, no spaces, UTC time to microseconds."""
    occurred = as_utc(event.occurred_at).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = {
        "action": event.action,
        "actor_id": event.actor_id,
        "data": event.data or {},
        "entity_id": event.entity_id,
        "entity_type": event.entity_type,
        "incident_id": event.incident_id,
        "occurred_at": occurred,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + canonical_json(event)).encode("utf-8")).hexdigest()


def append(
    *,
    session: Session,
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: int,
    incident_id: int | None = None,
    data: dict | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK_ID})
    prev_hash = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS_HASH
    event = AuditEvent(
        occurred_at=occurred_at or utcnow(),
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        incident_id=incident_id,
        # Round-trip through JSON so what is hashed is exactly what the database returns.
        data=json.loads(json.dumps(data or {}, default=str)),
        prev_hash=prev_hash,
    )
    event.hash = compute_hash(prev_hash, event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_event_id: int | None = None
    problem: str = ""


def verify_chain(*, session: Session, batch_size: int = 1000) -> ChainReport:
    """Walk every event in order; name the first one whose link or hash does not match."""
    prev_hash = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        batch = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch_size)
        ).all()
        if not batch:
            return ChainReport(ok=True, checked=checked)
        for event in batch:
            if event.prev_hash != prev_hash:
                return ChainReport(
                    False,
                    checked,
                    event.id,
                    "its previous-hash link does not match the event before it",
                )
            if compute_hash(prev_hash, event) != event.hash:
                return ChainReport(False, checked, event.id, "its content does not match its hash")
            prev_hash = event.hash
            checked += 1
            last_id = event.id
        session.expunge_all()


def incident_events(*, session: Session, incident_id: int) -> list[AuditEvent]:
    """The incident's timeline, oldest first."""
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(AuditEvent.id))
    )
