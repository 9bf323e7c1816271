"""The web side of the outbox relay: publishes a request's messages right after its COMMIT.

A thin Celery client built from Settings (web/ never imports worker/): it sends tasks by name
(shared.events.TASK_ROUTES) with one bounded attempt. When the broker is down the request still
answers at once: the first failure costs at most BROKER_PUBLISH_TIMEOUT_SECONDS, and for the next
COOL_DOWN_SECONDS this process does not try again at all. The messages stay in the outbox
(attempts, last_error, a later available_at) and the beat's sweep publishes them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask

from shared import broker, metrics
from shared.config import Settings
from shared.outbox import service as outbox

COOL_DOWN_SECONDS = 30.0


class BrokerUnavailable(RuntimeError):
    """The broker failed moments ago: not tried again yet (the sweep publishes later)."""


class CeleryPublisher:
    """`publish(task_name, kwargs, message_id)` over a Celery client made on first use."""

    def __init__(self, settings: Settings, *, queue: str = metrics.DEFAULT_QUEUE) -> None:
        self.settings = settings
        self.queue = queue
        self._app: Any = None
        self._lock = threading.Lock()
        self._down_until = 0.0

    def _client(self):
        with self._lock:
            if self._app is None:
                from celery import Celery  # only processes that publish pay for the import

                app = Celery("incident_tracker_web", set_as_current=False)
                app.conf.update(
                    broker_url=self.settings.effective_broker_url,
                    broker_transport="web.folder_broker:Transport" if broker.is_folder_broker(self.settings) else None,
                    # No reconnect loop inside a request: one connect attempt, bounded by
                    # socket_connect_timeout (kombu otherwise retries for seconds first).
                    broker_transport_options={**broker.transport_options(self.settings), "max_retries": 0},
                    broker_connection_timeout=self.settings.broker_publish_timeout_seconds,
                    # One bounded attempt inside a request; the outbox retries, not Celery.
                    task_publish_retry=False,
                    task_serializer="json",
                    accept_content=["json"],
                    task_default_queue=self.queue,
                )
                self._app = app
            return self._app

    def __call__(self, task_name: str, kwargs: dict, message_id: str) -> None:
        if time.monotonic() < self._down_until:
            raise BrokerUnavailable("the broker was unreachable moments ago; left for the sweep")
        try:
            self._client().send_task(
                task_name,
                kwargs=kwargs,
                task_id=f"{message_id}.{task_name}",
                headers={metrics.HEADER_PUBLISHED_AT: time.time()},
            )
        except Exception:
            self._down_until = time.monotonic() + COOL_DOWN_SECONDS
            raise

    def check(self) -> None:
        """Raise unless the broker answers (readiness): one short connection attempt."""
        with self._client().connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=self.settings.broker_publish_timeout_seconds)

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


def init_app(app: Flask, settings: Settings) -> None:
    """Relay each request's outbox messages after its commit, unless there is nowhere to send them.

    Tests (APP_ENV=test) without a configured broker leave messages in the outbox rather than
    fill a folder queue that no worker reads."""
    publisher = CeleryPublisher(settings)
    app.extensions["outbox_publisher"] = publisher  # /readyz checks the broker through it too
    if settings.app_env == "test" and not (settings.celery_broker_url or settings.redis_url):
        return
    outbox.publish_after_commit(app.extensions["db_session_factory"], publisher)
