"""Evidence tasks: process one uploaded file; re-tag an incident's objects; sweep orphans."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded

from shared.db import transaction
from shared.evidence import orphans
from shared.evidence.events import TASK_PROCESS, TASK_RETAG
from worker.celery_app import ORPHAN_SWEEP_TASK, Retryable, app, idempotent_task
from worker.processing import pipeline
from worker.runtime import runtime_for

log = logging.getLogger(__name__)


@idempotent_task(app, name=TASK_PROCESS, bind=True, autoretry_for=(Retryable, pipeline.RetryLater))
def process(self, evidence_id: int) -> str:
    """Hash, type-check, scan, thumbnail, place and tag one file; record its verdict once."""
    final = self.request.retries >= self.max_retries
    runtime = runtime_for(app.conf.incident_tracker_settings)
    try:
        return pipeline.process_evidence(runtime, evidence_id, final_attempt=final)
    except SoftTimeLimitExceeded:
        # Out of time (a huge file on a slow store, a stuck scan). Failing here would acknowledge
        # the message and leave the file `pending` for ever: retry it, and on the last attempt
        # record `error` (a lead can retry) in the seconds left before the hard limit.
        if final:
            return pipeline.record_error(runtime, evidence_id, "checking the file took longer than the time limit")
        raise pipeline.RetryLater("the task time limit was reached") from None
    except (Retryable, pipeline.RetryLater):
        raise
    except Exception as error:
        # Nobody foresaw it (a bug, a library's surprise, a release half-deployed): failing here
        # would acknowledge the message and leave the file `pending` for ever, as the time limit
        # once did. Retried like a transient failure; the last attempt records `error`.
        log.exception("evidence %s: the check failed unexpectedly (attempt %s)", evidence_id, self.request.retries + 1)
        if final:
            return pipeline.record_error(runtime, evidence_id, "the check failed unexpectedly (see the worker's log)")
        raise pipeline.RetryLater(f"the check failed unexpectedly: {type(error).__name__}") from error


@idempotent_task(app, name=TASK_RETAG, autoretry_for=(Retryable, pipeline.RetryLater))
def retag(incident_id: int) -> int:
    """Re-tag (and hold or release) the incident's objects after a close, reopen or legal-hold change."""
    return pipeline.retag_incident(runtime_for(app.conf.incident_tracker_settings), incident_id)


@app.task(name=ORPHAN_SWEEP_TASK, acks_late=False, ignore_result=True)
def sweep_orphans() -> int:
    """Delete evidence objects no evidence row needs, older than ORPHAN_GRACE_SECONDS, lifting
    any legal hold on their versions first; one the storage refuses is logged and kept.

    Acknowledged early: the next beat tick runs it again anyway."""
    settings = app.conf.incident_tracker_settings
    runtime = runtime_for(settings)
    with transaction(runtime.session_factory) as session:
        report = orphans.sweep(
            session=session, storage=runtime.storage, grace=timedelta(seconds=settings.orphan_grace_seconds)
        )
    return len(report.deleted)
