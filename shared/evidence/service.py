"""Evidence operations: attach, record the worker's verdict, legal hold, retry, download.

Each checks the policy (shared/permissions.py), changes rows, appends audit events (chain of
custody: who, when, size, SHA-256) and writes outbox messages in the caller's transaction.
The bytes themselves are the storage's business (shared/evidence/storage.py): `attach` is
called after the upload was streamed to an `incoming/` key, and the web app never reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Result, select, update
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.audit import service as audit
from shared.db import utcnow
from shared.errors import Conflict, NotFound, PermissionDenied
from shared.evidence import events
from shared.evidence.models import DOWNLOADABLE, REFUSED, Evidence, EvidenceState
from shared.evidence.names import extension_of, safe_display_name
from shared.evidence.storage import StoredObject
from shared.incidents.activity import touch_activity
from shared.incidents.models import Incident
from shared.incidents.service import get_incident, state_of
from shared.outbox import service as outbox
from shared.permissions import Action, can

REASON_MAX = 500


def _custody(evidence: Evidence, **extra) -> dict:
    """What every evidence audit event carries: which file, how big, its SHA-256."""
    return {
        "evidence_id": evidence.id,
        "name": evidence.display_name,
        "size": evidence.size,
        "sha256": evidence.sha256,
        **extra,
    }


# A file attached, and what its scan found, are activity on the incident (`updated:`,
# `sort:recent`); a download, a retry or a legal hold is not news on it.
_ACTIVITY = frozenset({events.EVIDENCE_UPLOADED, events.EVIDENCE_VERDICT})


def _audit(session: Session, actor_id: int | None, evidence: Evidence, action: str, **extra) -> None:
    audit.append(
        session=session,
        actor_id=actor_id,
        action=action,
        entity_type="evidence",
        entity_id=evidence.id,
        incident_id=evidence.incident_id,
        data=_custody(evidence, **extra),
    )
    if action in _ACTIVITY:
        touch_activity(session=session, incident_id=evidence.incident_id)


def get_evidence(*, session: Session, evidence_id: int, incident_id: int | None = None) -> Evidence:
    """The evidence row (of that incident, when given), or NotFound."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or (incident_id is not None and evidence.incident_id != incident_id):
        raise NotFound("No such file on this incident.")
    return evidence


def list_for_incident(*, session: Session, incident_id: int) -> list[Evidence]:
    """The incident's evidence, oldest first (the order people attached it)."""
    return list(
        session.scalars(
            select(Evidence).where(Evidence.incident_id == incident_id).order_by(Evidence.created_at, Evidence.id)
        )
    )


def incident_on_hold(*, session: Session, incident_id: int) -> bool:
    """True when the incident's evidence is on legal hold (new uploads join the hold)."""
    return bool(
        session.scalar(
            select(Evidence.id).where(Evidence.incident_id == incident_id, Evidence.legal_hold.is_(True)).limit(1)
        )
    )


def check_can_attach(*, session: Session, incident_id: int, actor: User) -> Incident:
    """The incident, when `actor` may attach files to it (checked before the body is read)."""
    incident = get_incident(session=session, ref=incident_id)
    if not can(actor, Action.ATTACH_EVIDENCE, incident):
        raise PermissionDenied(f"You cannot attach files to {incident.key}.")
    return incident


def attach(
    *,
    session: Session,
    incident_id: int,
    actor: User,
    stored: StoredObject,
    file_name: str,
    declared_type: str = "",
) -> Evidence:
    """Record an uploaded object (already streamed to its `incoming/` key) as `pending` evidence."""
    incident = check_can_attach(session=session, incident_id=incident_id, actor=actor)
    display = safe_display_name(file_name)
    evidence = Evidence(
        incident_id=incident.id,
        uploader_id=actor.id,
        display_name=display,
        storage_key=stored.key,
        size=stored.size,
        sha256=stored.sha256,
        declared_extension=extension_of(display)[:20],
        declared_type=(declared_type or "")[:120],
        state=EvidenceState.PENDING.value,
        legal_hold=incident_on_hold(session=session, incident_id=incident.id),
        attempts=0,
        created_at=utcnow(),
    )
    session.add(evidence)
    session.flush()
    _audit(session, actor.id, evidence, events.EVIDENCE_UPLOADED, declared_type=evidence.declared_type)
    outbox.enqueue(
        session=session,
        topic=events.TOPIC_UPLOADED,
        payload={"evidence_id": evidence.id, "incident_id": incident.id},
    )
    return evidence


@dataclass(frozen=True)
class Verdict:
    state: EvidenceState
    reason: str = ""
    detected_type: str | None = None
    storage_key: str | None = None  # where the worker placed the object
    thumbnail_key: str | None = None
    sha256: str | None = None  # what the worker measured (equal to the upload's unless tampered)
    size: int | None = None


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched (an UPDATE's result is a CursorResult; Session.execute is typed wider)."""
    return cast(CursorResult[Any], result).rowcount


def begin_attempt(*, session: Session, evidence_id: int) -> Evidence | None:
    """Count one processing run of a pending file; None when it is decided already (a duplicate)."""
    result = session.execute(
        update(Evidence)
        .where(Evidence.id == evidence_id, Evidence.state == EvidenceState.PENDING.value)
        .values(attempts=Evidence.attempts + 1)
    )
    if _rowcount(result) != 1:
        return None
    evidence = session.get(Evidence, evidence_id)
    session.refresh(evidence)
    return evidence


def record_verdict(*, session: Session, evidence_id: int, verdict: Verdict) -> bool:
    """Set the worker's verdict on a pending file, once: compare-and-set on `state='pending'`.

    A duplicate delivery (the row was decided already) changes nothing and returns False, so
    there is exactly one verdict event and one outbox message per file."""
    if verdict.state == EvidenceState.PENDING:
        raise ValueError("a verdict cannot be pending")
    values: dict = {
        "state": verdict.state.value,
        "reason": (verdict.reason or None) and verdict.reason[:REASON_MAX],
        "processed_at": utcnow(),
    }
    if verdict.detected_type is not None:
        values["detected_type"] = verdict.detected_type[:120]
    if verdict.storage_key:
        values["storage_key"] = verdict.storage_key
    if verdict.thumbnail_key:
        values["thumbnail_key"] = verdict.thumbnail_key
    result = session.execute(
        update(Evidence)
        .where(Evidence.id == evidence_id, Evidence.state == EvidenceState.PENDING.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return False
    evidence = session.get_one(Evidence, evidence_id)
    session.refresh(evidence)
    extra = {"state": evidence.state, "reason": evidence.reason or "", "detected_type": evidence.detected_type or ""}
    if verdict.sha256 and verdict.sha256 != evidence.sha256:
        extra["measured_sha256"] = verdict.sha256
    _audit(session, None, evidence, events.EVIDENCE_VERDICT, **extra)
    message = outbox.enqueue(
        session=session,
        topic=events.TOPIC_PROCESSED,
        payload={"evidence_id": evidence.id, "incident_id": evidence.incident_id, "state": evidence.state},
    )
    # The incident as it stood when the verdict was recorded (`as_of`, as incident events carry
    # it): the mail and webhook are sent later, when it may have moved on.
    incident = session.get_one(Incident, evidence.incident_id)
    occurred_at = values["processed_at"]

    def add_state() -> None:
        message.payload = {**message.payload, "as_of": {**state_of(incident), "occurred_at": occurred_at.isoformat()}}

    audit.when_sealed(session=session, callback=add_state)
    return True


def set_legal_hold(*, session: Session, incident_id: int, actor: User, on: bool) -> list[Evidence]:
    """Put all of an incident's evidence on legal hold, or lift it (leads and admins)."""
    incident = get_incident(session=session, ref=incident_id)
    if not can(actor, Action.LEGAL_HOLD, incident):
        raise PermissionDenied("Only a lead or an admin can change the legal hold.")
    changed = [item for item in list_for_incident(session=session, incident_id=incident.id) if item.legal_hold != on]
    if not changed:
        return []
    for item in changed:
        item.legal_hold = on
        _audit(session, actor.id, item, events.EVIDENCE_LEGAL_HOLD_CHANGED, legal_hold=on)
    session.flush()
    outbox.enqueue(
        session=session,
        topic=events.TOPIC_LEGAL_HOLD_CHANGED,
        payload={"incident_id": incident.id, "legal_hold": on},
    )
    return changed


def request_retag(*, session: Session, incident_id: int) -> None:
    """Have the retag task apply the incident's hold and retention to its objects again, through
    the outbox (so it runs even if the broker is down now): for a worker that could not follow a
    change itself. The same message a hold change sends; the task reads the state when it runs."""
    held = incident_on_hold(session=session, incident_id=incident_id)
    outbox.enqueue(
        session=session,
        topic=events.TOPIC_LEGAL_HOLD_CHANGED,
        payload={"incident_id": incident_id, "legal_hold": held},
    )


def retry(*, session: Session, evidence_id: int, actor: User, incident_id: int | None = None) -> Evidence:
    """Run the checks again on a file that ended in `error` (leads)."""
    evidence = get_evidence(session=session, evidence_id=evidence_id, incident_id=incident_id)
    incident = get_incident(session=session, ref=evidence.incident_id)
    if not can(actor, Action.RETRY_EVIDENCE, incident):
        raise PermissionDenied("Only a lead can retry a file.")
    result = session.execute(
        update(Evidence)
        .where(Evidence.id == evidence.id, Evidence.state == EvidenceState.ERROR.value)
        .values(state=EvidenceState.PENDING.value, reason=None, attempts=0, processed_at=None)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        raise Conflict(f"{evidence.display_name} is {evidence.state_enum.label}: only a file in error can be retried.")
    session.refresh(evidence)
    _audit(session, actor.id, evidence, events.EVIDENCE_RETRIED)
    outbox.enqueue(
        session=session,
        topic=events.TOPIC_RETRIED,
        payload={"evidence_id": evidence.id, "incident_id": evidence.incident_id},
    )
    return evidence


def authorize_download(
    *, session: Session, evidence_id: int, actor: User, incident_id: int | None = None, record: bool = True
) -> Evidence:
    """The evidence, when `actor` may download it now; audited (unless `record` is False: a HEAD,
    which sends no byte of it). Clean or not-scanned only."""
    evidence = get_evidence(session=session, evidence_id=evidence_id, incident_id=incident_id)
    incident = get_incident(session=session, ref=evidence.incident_id)
    if not can(actor, Action.VIEW, incident):
        raise PermissionDenied("You cannot see this incident's files.")
    state = evidence.state_enum
    if state == EvidenceState.PENDING:
        raise Conflict(f"{evidence.display_name} is still being checked. Try again in a moment.")
    if state in REFUSED:
        raise PermissionDenied(f"{evidence.display_name} cannot be downloaded: {evidence.reason or state.label}.")
    if state not in DOWNLOADABLE:
        raise Conflict(
            f"{evidence.display_name} could not be checked ({evidence.reason or 'error'}); a lead can retry it."
        )
    if record:
        _audit(session, actor.id, evidence, events.EVIDENCE_DOWNLOADED)
    return evidence


def retag_targets(*, session: Session, incident_id: int) -> tuple[list[str], bool, bool]:
    """What the retag task needs: the incident's object keys, whether it is closed, legal hold."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return [], False, False
    items = list_for_incident(session=session, incident_id=incident_id)
    keys = [key for item in items for key in (item.storage_key, item.thumbnail_key) if key]
    return keys, incident.status == "closed", any(item.legal_hold for item in items)
