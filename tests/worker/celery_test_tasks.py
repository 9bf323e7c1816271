"""Tasks only the tests register (`celery worker --include celery_test_tasks`)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from worker.celery_app import app, idempotent_task


@idempotent_task(app, name="incident_tracker.test.add")
def add(a: int, b: int) -> int:
    return a + b


@idempotent_task(app, name="incident_tracker.test.slow")
def slow(marker_dir: str, seconds: float) -> str:
    """Marks each start (started-1, started-2, ...) and the end, sleeping in between."""
    folder = Path(marker_dir)
    runs = len(list(folder.glob("started-*"))) + 1
    (folder / f"started-{runs}").touch()
    time.sleep(seconds)
    (folder / "finished").write_text(str(runs))
    return "done"


@idempotent_task(app, name="incident_tracker.test.fail", max_retries=0)
def fail() -> None:
    raise RuntimeError("this task always fails")


@idempotent_task(app, name="incident_tracker.test.record")
def record(message_id: str, **payload: object) -> None:
    """Leaves one file per delivery in OUTBOX_TEST_MARKERS: a message consumed twice shows twice."""
    folder = Path(os.environ["OUTBOX_TEST_MARKERS"])
    (folder / f"{message_id}.{uuid.uuid4().hex}").write_text(json.dumps(payload))
