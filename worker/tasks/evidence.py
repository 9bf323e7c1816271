"""Evidence tasks: process one uploaded file; re-tag an incident's objects."""

from __future__ import annotations

from shared.evidence.events import TASK_PROCESS, TASK_RETAG
from worker.celery_app import Retryable, app, idempotent_task
from worker.processing import pipeline
from worker.runtime import runtime_for


@idempotent_task(app, name=TASK_PROCESS, bind=True, autoretry_for=(Retryable, pipeline.RetryLater))
def process(self, evidence_id: int) -> str:
    """Hash, type-check, scan, thumbnail, place and tag one file; record its verdict once."""
    final = self.request.retries >= self.max_retries
    return pipeline.process_evidence(runtime_for(app.conf.incident_tracker_settings), evidence_id, final_attempt=final)


@idempotent_task(app, name=TASK_RETAG)
def retag(incident_id: int) -> int:
    """Re-tag the incident's objects after a close, a reopen or a legal-hold change."""
    return pipeline.retag_incident(runtime_for(app.conf.incident_tracker_settings), incident_id)
