"""The beat's audit anchor: the chain's head written outside the database every few minutes."""

from __future__ import annotations

from shared.audit import anchors
from shared.db import transaction
from shared.evidence.storage import make_storage
from worker.celery_app import app
from worker.db import session_factory

ANCHOR = "incident_tracker.audit.anchor"


@app.task(name=ANCHOR, acks_late=False, ignore_result=True)
def anchor() -> dict[str, object] | None:
    """Verify the new events and anchor the head (a broken chain fails the task, loudly).

    Acknowledged early: the next beat tick anchors again anyway."""
    settings = app.conf.incident_tracker_settings
    with transaction(session_factory(settings)) as session:
        written = anchors.write_anchor(session=session, storage=make_storage(settings))
    return None if written is None else {"event_id": written.event_id, "events": written.events}
