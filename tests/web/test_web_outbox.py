"""The web side of the outbox: a request's messages are published after its commit, and a
broker that is down never holds the request up (the message waits in the outbox)."""

from __future__ import annotations

import time

from servers import free_port
from sqlalchemy import select
from web_helpers import sign_in

from shared import events
from shared.outbox.models import OutboxMessage

ROUTES = {"incident.created": ("incident_tracker.test.record",)}


def test_with_the_broker_down_filing_an_incident_answers_at_once_and_keeps_the_message(
    make_app, db, users, monkeypatch
):
    monkeypatch.setattr(events, "TASK_ROUTES", ROUTES)
    app = make_app(celery_broker_url=f"redis://127.0.0.1:{free_port()}/0", broker_publish_timeout_seconds=1)
    client = app.test_client()
    sign_in(client, users["member"])
    took = []
    for title in ("Filed while Redis is down", "And another"):
        started = time.monotonic()
        response = client.post("/incidents/new", data={"title": title, "priority": "P2", "environment": "prod"})
        took.append(time.monotonic() - started)
        assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    assert took[0] < 2, took  # one bounded attempt,
    assert took[1] < 1, took  # then the cool-down skips it
    kept = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "incident.created")).all()
    assert len(kept) == 2
    assert all(m.published_at is None and m.attempts == 1 and m.last_error for m in kept)
