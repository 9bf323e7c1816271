"""Appending to and verifying the hash-chained audit trail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import event as orm_event
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from shared.audit.models import AuditCheckpoint, AuditEvent
from shared.db import utcnow
from shared.events import EventType
from shared.timeutil import as_utc

GENESIS_HASH = "0" * 64
# Serialises appends on PostgreSQL so two transactions never chain onto the same previous
# event (SQLite already allows one writer at a time).
CHAIN_LOCK_ID = 7_310_042


def canonical_json(event: AuditEvent) -> str:
    """The event's content as it is hashed: sorted keys, no spaces, UTC time to microseconds."""
    return canonical_json_of(
        action=event.action,
        actor_id=event.actor_id,
        data=event.data,
        entity_id=event.entity_id,
        entity_type=event.entity_type,
        incident_id=event.incident_id,
        occurred_at=event.occurred_at,
    )


def canonical_json_of(
    *,
    action: str,
    actor_id: int | None,
    data: dict | None,
    entity_id: int,
    entity_type: str,
    incident_id: int | None,
    occurred_at: datetime,
) -> str:
    """`canonical_json` from plain values (bulk loads hash rows without building ORM objects)."""
    occurred = as_utc(occurred_at).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = {
        "action": action,
        "actor_id": actor_id,
        "data": data or {},
        "entity_id": entity_id,
        "entity_type": entity_type,
        "incident_id": incident_id,
        "occurred_at": occurred,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    return chain_hash(prev_hash, canonical_json(event))


def chain_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def append(
    *,
    session: Session,
    actor_id: int | None,
    action: EventType | str,
    entity_type: str,
    entity_id: int,
    incident_id: int | None = None,
    data: dict | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction.

    The event is linked and hashed when the transaction commits (see `_seal`), so the chain lock
    is held only for the last statements before COMMIT, not across the caller's work. Until then
    it is pending: not in the database, `hash` unset; a rollback discards it with everything else."""
    event = AuditEvent(
        occurred_at=occurred_at or utcnow(),
        actor_id=actor_id,
        action=str(action),  # the plain value: it is hashed, and read back as a str
        entity_type=entity_type,
        entity_id=entity_id,
        incident_id=incident_id,
        # Round-trip through JSON so what is hashed is exactly what the database returns.
        data=json.loads(json.dumps(data or {}, default=str)),
    )
    # Make sure a transaction is open, so that its rollback (or close) discards the event.
    session.connection()
    session.info.setdefault(_PENDING, []).append(event)
    return event


_PENDING = "audit_pending_events"
_AFTER_SEAL = "audit_after_seal"


def latest_pending(*, session: Session) -> AuditEvent | None:
    """The event appended last in the session's open transaction (not sealed yet), if any."""
    pending = session.info.get(_PENDING)
    return pending[-1] if pending else None


def when_sealed(*, session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` at COMMIT once this transaction's events have their ids and hashes, still
    inside the transaction (what it changes commits with the events, or not at all)."""
    session.info.setdefault(_AFTER_SEAL, []).append(callback)


@orm_event.listens_for(Session, "before_commit")
def _seal(session: Session) -> None:
    """Link and insert the transaction's pending events, in the order they were appended."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    # Everything else first, outside the lock: the row changes, outbox messages, their indexes.
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        # Serialises the link step so two transactions never chain onto the same previous event
        # (SQLite already allows one writer at a time). Released by the COMMIT that follows.
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": CHAIN_LOCK_ID})
    prev_hash = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS_HASH
    for item in pending:
        item.prev_hash = prev_hash
        item.hash = prev_hash = compute_hash(prev_hash, item)
    session.add_all(pending)
    session.flush()
    callbacks = session.info.pop(_AFTER_SEAL, None)
    if callbacks:
        for callback in callbacks:
            callback()
        session.flush()


@orm_event.listens_for(Session, "after_transaction_end")
def _discard(session: Session, transaction) -> None:
    # A rollback or close ends the outermost transaction with its events still pending: they
    # vanish with the rows they describe. (After a commit `_seal` has already taken them.)
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_AFTER_SEAL, None)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int  # events known intact from genesis (through a checkpoint, or walked now)
    broken_event_id: int | None = None
    problem: str = ""
    walked: int = 0  # events hashed by this run
    resumed_from: AuditCheckpoint | None = None
    last_event_id: int | None = None  # where an intact walk ended
    last_hash: str = ""


def verify_chain(*, session: Session, batch_size: int = 1000) -> ChainReport:
    """Walk every event in order from genesis; name the first one whose link or hash does not match."""
    report = _walk(session, prev_hash=GENESIS_HASH, after_id=0, checked=0, batch_size=batch_size)
    return replace(report, walked=report.checked) if report.checked else report


def verify_incremental(*, session: Session, batch_size: int = 1000) -> ChainReport:
    """Verify only what was appended since the newest checkpoint (or everything, without one),
    then record a new checkpoint in the caller's transaction when the chain is intact.

    The checkpoint's own event must still carry the hash it recorded: history before it cannot be
    rewritten without forging that hash. Editing an event before the checkpoint in place is
    found by `verify_chain` (`audit verify --full`), which should also run on a schedule."""
    checkpoint = session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))
    if checkpoint is None:
        report = verify_chain(session=session, batch_size=batch_size)
    else:
        anchor = session.get(AuditEvent, checkpoint.last_event_id)
        if anchor is None or anchor.hash != checkpoint.last_hash:
            return ChainReport(
                False,
                0,
                checkpoint.last_event_id,
                "it no longer matches the checkpoint of "
                f"{as_utc(checkpoint.verified_at):%Y-%m-%d %H:%M} UTC (run with --full to find the first break)",
                resumed_from=checkpoint,
            )
        report = _walk(
            session,
            prev_hash=checkpoint.last_hash,
            after_id=checkpoint.last_event_id,
            checked=checkpoint.events,
            batch_size=batch_size,
        )
        report = replace(report, walked=report.checked - checkpoint.events, resumed_from=checkpoint)
    if report.ok:
        record_checkpoint(session=session, report=report)
    return report


def record_checkpoint(*, session: Session, report: ChainReport) -> None:
    """Remember where an intact walk ended (only if it got further than the last checkpoint)."""
    if not report.ok or report.last_event_id is None or report.walked == 0:
        return
    session.add(AuditCheckpoint(last_event_id=report.last_event_id, last_hash=report.last_hash, events=report.checked))
    session.flush()


def _walk(session: Session, *, prev_hash: str, after_id: int, checked: int, batch_size: int) -> ChainReport:
    last_id = after_id
    while True:
        batch = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch_size)
        ).all()
        if not batch:
            if last_id == after_id:
                return ChainReport(ok=True, checked=checked)
            return ChainReport(ok=True, checked=checked, last_event_id=last_id, last_hash=prev_hash)
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


def newest_event_id(*, session: Session) -> int:
    """The id of the newest event of all (0 when none): a page drawn now names it, and the
    events after it are what changed since. One read of the primary key's end."""
    return session.scalar(select(func.max(AuditEvent.id))) or 0


def incident_events_marker(*, session: Session, incident_id: int) -> tuple[int, str]:
    """(id, hash) of the incident's newest event: events are only ever appended, so this pair
    changes exactly when the timeline does, and its chain hash tells two databases (or a
    restored one) apart where ids alone would repeat. One index read."""
    newest = session.execute(
        select(AuditEvent.id, AuditEvent.hash)
        .where(AuditEvent.incident_id == incident_id)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    return (newest.id, newest.hash) if newest else (0, "")


def incident_events(*, session: Session, incident_id: int) -> list[AuditEvent]:
    """The incident's timeline, oldest first."""
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(AuditEvent.id))
    )


def incident_status_changes(*, session: Session, incident_id: int) -> list[AuditEvent]:
    """The incident's moves between statuses, oldest first: a few rows, where the whole timeline may be thousands."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.incident_id == incident_id, AuditEvent.action == EventType.INCIDENT_STATUS_CHANGED.value)
            .order_by(AuditEvent.id)
        )
    )
