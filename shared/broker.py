"""How to reach the broker, for both Celery clients: the worker's app and the web's publisher.

Plain settings only (no Celery import here): web/outbox_publisher.py and worker/celery_app.py
each build their own Celery app from these, so the two never disagree about the broker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from typing import Any

from shared.config import Settings


class _FolderBrokerHasNoHost(logging.Filter):
    """kombu logs "No hostname was supplied. Reverting to default 'localhost'" (a WARNING)
    each time it describes a filesystem:// connection, which `make run`'s worker and beat do
    at start: the folder broker has no host to supply, so the warning only alarms."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No hostname was supplied")


_FOLDER_BROKER_FILTER = _FolderBrokerHasNoHost()


def is_folder_broker(settings: Settings) -> bool:
    """The embedded default's broker, a folder (`filesystem://`): web and worker each load a
    transport of their own for it (web/folder_broker.py, worker/broker_filesystem.py), since
    kombu's publishes non-atomically and stops the worker on a half-written message."""
    return settings.effective_broker_url.startswith("filesystem://")


def put_message_file(folder: str, queue: str, data: bytes) -> str:
    """Write one folder-broker message of `queue` whole, under kombu's own naming (the order and
    the consumers' matching stay the same): under a name no consumer looks for, synced, then
    renamed into place (same folder: a rename, never a copy). Its name; OSError leaves nothing."""
    name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
    final = os.path.join(folder, name)
    # The leading dot and the suffix keep it out of `<stamp>_<uuid>.<queue>.msg`, what kombu's
    # consumers (`_get`, `_size`, `_purge`) match.
    unfinished = os.path.join(folder, f".{name}.unfinished")
    try:
        with open(unfinished, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # the name never points at less than the whole message
        os.replace(unfinished, final)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(unfinished)
        raise
    return name


def transport_options(settings: Settings) -> dict[str, Any]:
    """kombu transport options for `settings.effective_broker_url`."""
    if settings.effective_broker_url.startswith("filesystem://"):
        # The embedded default: a broker that needs no server, kept in DATA_DIR/broker.
        logging.getLogger("kombu.connection").addFilter(_FOLDER_BROKER_FILTER)  # once: same object
        folders = {name: settings.broker_data_dir / name for name in ("queue", "processed", "control")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folders["queue"]),
            "data_folder_out": str(folders["queue"]),
            "processed_folder": str(folders["processed"]),
            "store_processed": False,
            # Exchange tables too (kombu's default is ./control, in whatever the working directory is).
            "control_folder": str(folders["control"]),
            # Messages that cannot be decoded are moved here (worker/broker_filesystem.py), made on first use.
            "corrupt_folder": str(settings.broker_data_dir / "corrupt"),
            # Messages a worker has taken and not yet acknowledged, one folder per process: a
            # worker killed outright leaves them for the next to put back (worker/broker_filesystem.py).
            "inflight_folder": str(settings.broker_data_dir / "inflight"),
        }
    options: dict[str, Any] = {
        # Redis hands an unacknowledged task to another worker after this long: it must be
        # longer than the longest task (Settings checks it is above TASK_TIME_LIMIT_SECONDS).
        "visibility_timeout": settings.broker_visibility_timeout_seconds,
        # Publishing (and every broker call) fails fast when Redis is down instead of hanging a
        # request; the outbox keeps the message and the beat sweep publishes it later.
        "socket_connect_timeout": settings.broker_publish_timeout_seconds,
        # A connection left half-open by a failover errors out instead of blocking forever.
        "socket_timeout": max(10.0, settings.broker_publish_timeout_seconds),
    }
    if settings.redis_key_prefix:
        # Previews share one Redis: their queues must not mix (kombu prefixes every key).
        options["global_keyprefix"] = settings.redis_key_prefix
    return options
