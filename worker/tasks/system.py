"""Tasks about the worker itself."""

from __future__ import annotations

import socket

from worker.celery_app import app

PING = "incident_tracker.system.ping"


@app.task(name=PING, acks_late=False)
def ping() -> dict[str, object]:
    """Answer who ran it and whether this worker scans: proves a worker consumes the queue.

    Acknowledged early: it changes nothing, so there is nothing to hand back if it dies."""
    settings = app.conf.incident_tracker_settings
    return {"pong": True, "hostname": socket.gethostname(), "scanning_enabled": settings.scanning_enabled}
