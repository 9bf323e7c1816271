"""Audit anchors: the chain's head, written outside the database.

The hash chain alone cannot show that its newest events were deleted (whoever owns the table
can disable the trigger, delete the tail and still get "chain intact"). Every few minutes the
beat writes an anchor — the head event's id and hash and the number of events up to it — to
the evidence storage under `audit-anchors/` (in AWS a bucket with Object Lock, so the database
owner cannot rewrite it), and `audit verify` checks the chain against the latest one.

Each anchor is kept as `audit-anchors/<UTC time>-<event id>.json`, and the newest is also
written to `audit-anchors/latest.json` (the storage interface has no listing).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.db import utcnow
from shared.evidence.storage import ObjectNotFound, Storage
from shared.timeutil import as_utc

PREFIX = "audit-anchors/"
LATEST_KEY = f"{PREFIX}latest.json"
# The beat anchors every 5 minutes; past this, a missing or old anchor is reported.
MAX_AGE = timedelta(minutes=15)


@dataclass(frozen=True)
class Anchor:
    event_id: int
    hash: str
    events: int  # events from genesis up to and including event_id
    written_at: datetime

    def to_json(self) -> bytes:
        body = {
            "event_id": self.event_id,
            "hash": self.hash,
            "events": self.events,
            "written_at": as_utc(self.written_at).isoformat(),
        }
        return json.dumps(body, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Anchor:
        body = json.loads(raw)
        return cls(
            event_id=int(body["event_id"]),
            hash=str(body["hash"]),
            events=int(body["events"]),
            written_at=datetime.fromisoformat(body["written_at"]),
        )


def write_anchor(*, session: Session, storage: Storage) -> Anchor | None:
    """Verify what is new in the chain, then anchor its head; None when there is nothing to
    anchor. A broken chain is never anchored (that would bless the tampering): it raises."""
    report = audit.verify_incremental(session=session)
    if not report.ok:
        raise ChainBroken(f"audit event {report.broken_event_id}: {report.problem}")
    if report.last_event_id is not None:
        event_id, hash_ = report.last_event_id, report.last_hash
    elif report.resumed_from is not None:
        event_id, hash_ = report.resumed_from.last_event_id, report.resumed_from.last_hash
    else:
        return None
    anchor = Anchor(event_id=event_id, hash=hash_, events=report.checked, written_at=utcnow())
    stamp = as_utc(anchor.written_at).strftime("%Y%m%dT%H%M%S%fZ")
    for key in (f"{PREFIX}{stamp}-{event_id}.json", LATEST_KEY):
        storage.put(key, io.BytesIO(anchor.to_json()), content_type="application/json")
    return anchor


class ChainBroken(RuntimeError):
    """The chain does not verify: no anchor is written."""


def latest_anchor(*, storage: Storage) -> Anchor | None:
    """The newest anchor, or None when none was ever written."""
    try:
        with storage.open(LATEST_KEY) as stream:
            return Anchor.from_json(stream.read())
    except ObjectNotFound:
        return None


def check(
    *, session: Session, storage: Storage, require_anchor: bool = False, now: datetime | None = None
) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the chain in the database against the latest anchor.

    A problem: the anchored event is gone or changed, or fewer events lead up to it than the
    anchor counted (the tail was cut). No anchor although events are older than MAX_AGE is a
    warning (the beat may never have run, e.g. after loading history), a problem with
    `require_anchor`. A warning: the latest anchor is older than MAX_AGE while newer events exist."""
    now = now or utcnow()
    anchor = latest_anchor(storage=storage)
    newest_id, total = session.execute(select(func.max(AuditEvent.id), func.count(AuditEvent.id))).one()
    total = total or 0
    if anchor is None:
        oldest = session.scalar(select(func.min(AuditEvent.occurred_at)))
        if oldest is not None and now - as_utc(oldest) > MAX_AGE:
            missing = f"no audit anchor found under {PREFIX} although events are older than {_minutes(MAX_AGE)}"
            return ([missing], []) if require_anchor else ([], [missing])
        return [], []
    when = f"{as_utc(anchor.written_at):%Y-%m-%d %H:%M} UTC"
    promised = f"the anchor of {when} promised event {anchor.event_id} ({anchor.events} events)"
    event = session.get(AuditEvent, anchor.event_id)
    if event is None:
        shown = f"event {newest_id} ({total} events)" if newest_id is not None else "no event at all"
        return [f"the chain is shorter than anchored: it ends at {shown}, but {promised}"], []
    if event.hash != anchor.hash:
        return [f"audit event {anchor.event_id} no longer carries the hash the anchor of {when} recorded"], []
    upto = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.id <= anchor.event_id)) or 0
    if upto != anchor.events:
        return [f"{upto} events lead up to event {anchor.event_id}, but {promised}"], []
    warnings = []
    if newest_id != anchor.event_id and now - as_utc(anchor.written_at) > MAX_AGE:
        warnings.append(f"the latest anchor is from {when}, more than {_minutes(MAX_AGE)} ago: is the beat running?")
    return [], warnings


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)} minutes"
