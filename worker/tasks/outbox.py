"""The outbox sweep: publishes what the after-commit relay left behind."""

from __future__ import annotations

import time

from shared import metrics
from shared.outbox import service as outbox
from worker.celery_app import app
from worker.db import session_factory

SWEEP = "incident_tracker.outbox.sweep"


def publish(task_name: str, kwargs: dict, message_id: str) -> None:
    """Publish one message to one task by name (the `publish` callable of shared.outbox.service)."""
    app.send_task(
        task_name,
        kwargs=kwargs,
        task_id=f"{message_id}.{task_name}",
        headers={metrics.HEADER_PUBLISHED_AT: time.time()},
    )


@app.task(name=SWEEP, acks_late=False, ignore_result=True)
def sweep(limit: int = 500) -> dict[str, int]:
    """Publish due unpublished messages; rows another relay holds are skipped, never doubled.

    Acknowledged early: the next beat tick runs it again anyway."""
    result = outbox.relay_in_transaction(session_factory(app.conf.incident_tracker_settings), publish, limit=limit)
    return {"published": result.published, "failed": result.failed}
