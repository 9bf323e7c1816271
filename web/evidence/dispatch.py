"""Starting worker tasks after commit, by task NAME (web never imports worker/).

Today's stand-in for the outbox relay: every outbox message the web app commits whose topic
is in `shared.evidence.events.TOPIC_TASKS` is sent to its task right after the COMMIT (never
before: a worker must find the row). Publishing is one bounded attempt; when the broker is
down the message stays in the outbox, unpublished, for the relay's sweep. Switching to the
relay means deleting `init_app`'s listeners: the topics and the task names stay the same.
"""

from __future__ import annotations

import logging
import time

from celery import Celery
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from shared import metrics
from shared.config import Settings
from shared.evidence.events import TASK_PROCESS, TASK_RETAG, TOPIC_INCIDENT_STATUS_CHANGED, TOPIC_TASKS
from shared.outbox.models import OutboxMessage

log = logging.getLogger(__name__)
_PENDING = "evidence_dispatch_pending"


def make_client(settings: Settings) -> Celery:
    """A publishing-only Celery client on the worker's broker (same transport options)."""
    client = Celery("incident_tracker-web", set_as_current=False)
    url = settings.effective_broker_url
    if url.startswith("filesystem://"):
        folders = {name: settings.broker_data_dir / name for name in ("queue", "processed", "control")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        options = {
            "data_folder_in": str(folders["queue"]),
            "data_folder_out": str(folders["queue"]),
            "processed_folder": str(folders["processed"]),
            "store_processed": False,
            "control_folder": str(folders["control"]),
        }
    else:
        # A request never hangs on a dead Redis: one short attempt, the outbox keeps the message.
        options = {
            "socket_connect_timeout": settings.broker_publish_timeout_seconds,
            "socket_timeout": settings.broker_publish_timeout_seconds,
            "visibility_timeout": settings.broker_visibility_timeout_seconds,
        }
    client.conf.update(
        broker_url=url,
        broker_transport_options=options,
        broker_connection_timeout=settings.broker_publish_timeout_seconds,
        broker_connection_retry=False,
        task_publish_retry=False,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=metrics.DEFAULT_QUEUE,
    )
    return client


def client_for(app: Flask) -> Celery:
    """The app's publishing client, made on first use (the folder broker is created then)."""
    if "evidence_celery" not in app.extensions:
        app.extensions["evidence_celery"] = make_client(app.config["SETTINGS"])
    return app.extensions["evidence_celery"]


def send(name: str, *args) -> bool:
    """Send task `name` with `args`; False (logged) when the broker cannot be reached."""
    return _send(client_for(current_app), name, *args)


def _send(client: Celery, name: str, *args) -> bool:
    try:
        client.send_task(name, args=list(args), headers={metrics.HEADER_PUBLISHED_AT: time.time()})
    except Exception as error:  # noqa: BLE001 - any broker failure: the outbox keeps the message
        log.warning("could not publish %s%r (the outbox keeps it): %s", name, args, error)
        return False
    return True


def check_broker() -> None:
    """Raise unless the broker answers (readiness): one short connection attempt."""
    client = client_for(current_app)
    with client.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=client.conf.broker_connection_timeout)


def enqueue_evidence_processing(evidence_id: int) -> bool:
    """Start the pipeline for one evidence row (call after commit)."""
    return send(TASK_PROCESS, evidence_id)


def enqueue_evidence_retag(incident_id: int) -> bool:
    """Re-tag an incident's evidence objects (call after commit)."""
    return send(TASK_RETAG, incident_id)


def _collect(session: Session, _flush_context) -> None:
    # after_flush still sees the flushed objects in session.new.
    for obj in session.new:
        if isinstance(obj, OutboxMessage) and obj.topic in TOPIC_TASKS:
            task, key = TOPIC_TASKS[obj.topic]
            payload = obj.payload or {}
            if obj.topic == TOPIC_INCIDENT_STATUS_CHANGED and "closed" not in (payload.get("from"), payload.get("to")):
                continue  # only closing and reopening change the retention class
            value = payload.get(key)
            if value is not None:
                session.info.setdefault(_PENDING, []).append((task, value))


def _publish(app: Flask, session: Session) -> None:
    pending = session.info.pop(_PENDING, None) or []
    for task, value in dict.fromkeys(pending):  # one send per (task, id) per transaction
        _send(client_for(app), task, value)


def _forget(session: Session, _previous_transaction=None) -> None:
    session.info.pop(_PENDING, None)


def init_app(app: Flask) -> None:
    factory = app.extensions["db_session_factory"]
    event.listen(factory, "after_flush", _collect)
    event.listen(factory, "after_commit", lambda session: _publish(app, session))
    event.listen(factory, "after_soft_rollback", _forget)
