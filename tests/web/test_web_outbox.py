"""The web side of the outbox: a request's messages are published after its commit, and a
broker that is down never holds the request up (the message waits in the outbox)."""

from __future__ import annotations

import socket
import threading
import time

from sqlalchemy import select
from web_helpers import sign_in

from shared import events
from shared.outbox.models import OutboxMessage

ROUTES = {"incident.created": ("incident_tracker.test.record",)}


class RefusingBroker:
    """A port where the broker should be that takes each connection and hangs up at once,
    counting them: whether a request tried the broker at all, not how long it took."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.listener.close()


def test_with_the_broker_down_filing_an_incident_answers_at_once_and_keeps_the_message(
    make_app, db, users, monkeypatch
):
    monkeypatch.setattr(events, "TASK_ROUTES", ROUTES)
    broker = RefusingBroker()
    try:
        app = make_app(celery_broker_url=f"redis://127.0.0.1:{broker.port}/0", broker_publish_timeout_seconds=1)
        client = app.test_client()
        sign_in(client, users["member"])
        took, tried = [], []
        for title in ("Filed while Redis is down", "And another"):
            before, started = broker.connections, time.monotonic()
            response = client.post("/incidents/new", data={"title": title, "priority": "P2", "environment": "prod"})
            took.append(time.monotonic() - started)
            tried.append(broker.connections - before)
            assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    finally:
        broker.close()
    assert took[0] < 5, took  # one bounded attempt (a second of timeout, a loaded machine)
    assert tried[0] >= 1, tried
    assert tried[1] == 0, tried  # then the cool-down does not try the broker again
    kept = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "incident.created")).all()
    assert len(kept) == 2
    assert all(m.published_at is None and m.attempts == 1 and m.last_error for m in kept)
