"""The evidence pipeline for one evidence id, and re-tagging an incident's objects.

Called by the tasks in worker/tasks/evidence.py. Safe to run twice for one id (a redelivery
after kill -9, a duplicate publish): the run is counted only while the row is `pending`, the
object is found wherever an earlier run left it (`locate`), placing it again only merges tags
and sets its legal hold again, and the verdict is a compare-and-set on `state='pending'`
written with its audit event and outbox message in one transaction, so only one run's verdict
ever lands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from shared.evidence import service as evidence_service
from shared.evidence import tags
from shared.evidence.models import EvidenceState
from shared.evidence.service import Verdict
from shared.evidence.storage import ObjectNotFound, Storage, StorageError, rekey
from worker.processing.inspect import inspect_file
from worker.processing.placement import Placement, locate, place, retag, spool
from worker.processing.scanner import ClamdScanner

log = logging.getLogger(__name__)

_STATE_OF = {
    tags.SCAN_CLEAN: EvidenceState.CLEAN,
    tags.SCAN_NOT_SCANNED: EvidenceState.NOT_SCANNED,
    tags.SCAN_INFECTED: EvidenceState.INFECTED,
    tags.SCAN_REJECTED: EvidenceState.REJECTED,
    tags.SCAN_ERROR: EvidenceState.ERROR,
}


class RetryLater(Exception):
    """Transient (clamd or storage unreachable): the task retries with backoff."""


@dataclass(frozen=True)
class Runtime:
    """What a task needs, built once per worker process from the settings."""

    session_factory: Callable[[], Session]
    storage: Storage
    scanner: ClamdScanner | None  # None: scanning switched off, verdicts are "not scanned"
    max_attempts: int  # runs of one file (retries and redeliveries) before it goes to `error`


def process_evidence(runtime: Runtime, evidence_id: int, *, final_attempt: bool) -> str:
    """Check one pending file and record its verdict; returns the state it ends in."""
    with runtime.session_factory() as session, session.begin():
        evidence = evidence_service.begin_attempt(session=session, evidence_id=evidence_id)
        if evidence is None:
            return "already-decided"
        incoming_key = rekey(evidence.storage_key, tags.PREFIX_INCOMING)
        display_name, attempts = evidence.display_name, evidence.attempts
    if attempts > runtime.max_attempts:
        # Redelivered again and again (a worker killed by this very file, say): stop trying.
        return _decide(runtime, evidence_id, Verdict(EvidenceState.ERROR, f"gave up after {attempts - 1} attempts"))
    try:
        key = locate(runtime.storage, incoming_key)
    except ObjectNotFound:
        return _decide(runtime, evidence_id, Verdict(EvidenceState.ERROR, "the uploaded file is missing from storage"))
    except StorageError as error:
        return _retry_or_error(runtime, evidence_id, str(error), final_attempt)
    try:
        path = spool(runtime.storage, key)
    except StorageError as error:
        return _retry_or_error(runtime, evidence_id, str(error), final_attempt)
    try:
        inspection = inspect_file(path, display_name, scanner=runtime.scanner)
    finally:
        path.unlink(missing_ok=True)
    if inspection.retryable and not final_attempt:
        raise RetryLater(inspection.reason)
    with runtime.session_factory() as session:
        closed, legal_hold = _retention(session, evidence_id)
    try:
        placement = place(runtime.storage, incoming_key, inspection, closed=closed, legal_hold=legal_hold)
    except StorageError as error:
        return _retry_or_error(runtime, evidence_id, str(error), final_attempt)
    verdict = Verdict(
        _STATE_OF[inspection.status],
        inspection.reason,
        detected_type=inspection.serve_as if inspection.downloadable else inspection.detected_mime,
        storage_key=placement.key,
        thumbnail_key=placement.thumbnail_key,
        sha256=inspection.sha256,
        size=inspection.size,
    )
    state = _decide(runtime, evidence_id, verdict)
    if state != "already-decided":
        _catch_up(runtime, evidence_id, placement, closed=closed, legal_hold=legal_hold)
    return state


def _retention(session: Session, evidence_id: int) -> tuple[bool, bool]:
    evidence = evidence_service.get_evidence(session=session, evidence_id=evidence_id)
    _, closed, _ = evidence_service.retag_targets(session=session, incident_id=evidence.incident_id)
    return closed, evidence.legal_hold


def _catch_up(runtime: Runtime, evidence_id: int, placement: Placement, *, closed: bool, legal_hold: bool) -> None:
    """Follow a close, reopen or legal-hold change committed while this run placed the file.

    That change's retag read the file's old key (incoming/, gone or about to go) before the
    verdict recorded the new ones, so the placed objects would keep the old tags and hold. Read
    after the verdict's commit, this sees every change committed before it; a change committed
    after it sends a retag that finds the new keys itself."""
    with runtime.session_factory() as session:
        now_closed, now_held = _retention(session, evidence_id)
    if (now_closed, now_held) == (closed, legal_hold):
        return
    keys = [key for key in (placement.key, placement.thumbnail_key) if key]
    try:
        retag(runtime.storage, keys, closed=now_closed, legal_hold=now_held)
    except StorageError:
        # The verdict is recorded: a retry of this task would find it decided and do nothing. The
        # incident's retag task (retried with backoff) finds the placed keys and does it instead.
        log.exception(
            "evidence %s: could not follow a change made while it was placed (legal hold %s, closed %s);"
            " a retag of the incident is queued",
            evidence_id,
            now_held,
            now_closed,
        )
        with runtime.session_factory() as session, session.begin():
            incident_id = evidence_service.get_evidence(session=session, evidence_id=evidence_id).incident_id
            evidence_service.request_retag(session=session, incident_id=incident_id)


def _retry_or_error(runtime: Runtime, evidence_id: int, reason: str, final_attempt: bool) -> str:
    if not final_attempt:
        raise RetryLater(reason)
    return _decide(runtime, evidence_id, Verdict(EvidenceState.ERROR, reason))


def record_error(runtime: Runtime, evidence_id: int, reason: str) -> str:
    """Give up on a file: `error` with the reason (a lead's Retry starts it again)."""
    return _decide(runtime, evidence_id, Verdict(EvidenceState.ERROR, reason))


def _decide(runtime: Runtime, evidence_id: int, verdict: Verdict) -> str:
    with runtime.session_factory() as session, session.begin():
        recorded = evidence_service.record_verdict(session=session, evidence_id=evidence_id, verdict=verdict)
    log.info("evidence %s: %s%s", evidence_id, verdict.state.value, "" if recorded else " (already decided)")
    return verdict.state.value if recorded else "already-decided"


def retag_incident(runtime: Runtime, incident_id: int) -> int:
    """Rewrite retention and legal-hold tags on the incident's objects and set or lift their
    Object Lock legal hold; returns how many. Storage trouble (AccessDenied, throttling, S3
    unreachable) raises RetryLater: the task runs again, repeating what was done (idempotent)."""
    with runtime.session_factory() as session:
        keys, closed, legal_hold = evidence_service.retag_targets(session=session, incident_id=incident_id)
    done = 0
    for key in keys:
        try:
            retag(runtime.storage, [key], closed=closed, legal_hold=legal_hold)
        except ObjectNotFound:
            continue  # moved by the pipeline meanwhile; it tags and holds the new object itself
        except StorageError as error:
            raise RetryLater(str(error)) from error
        done += 1
    return done
