"""The embedded default's folder broker: kombu's filesystem transport, with whole messages only.

kombu 5.7.0 writes a message straight into the queue folder (open, then write), so a worker that
polled at that moment took an empty or half-written file, failed to decode it and stopped
("Unrecoverable error: JSONDecodeError", celery/kombu#1551): under `make run` after minutes of
light use, and the web server with it. Here a message is written under a name no consumer looks
for and renamed into place when complete, and a consumer never stops on a file it cannot decode.

kombu loads this class by its path (worker/celery_app.py, `broker_transport`), in the worker and
the beat; the web's publisher has its own, which only publishes (web/folder_broker.py). Both
write through shared/broker.py `put_message_file`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
import uuid
import weakref
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

from shared import broker

log = logging.getLogger(__name__)

# A file that does not decode may still be being written by a publisher that writes in place
# (kombu's own, e.g. a process started before this transport): one written to this recently is
# left in the queue for a later poll; one untouched for longer is corrupt.
STILL_WRITING_SECONDS = 60.0


class Channel(filesystem.Channel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inflight_folder: str | None = None  # made at the first message taken
        self._inflight_lock: int | None = None  # this process's lock on it, held until close
        self._inflight: dict[str, str] = {}  # delivery tag -> the taken message's file
        self._no_ack_queues: set[str] = set()
        self._taking_without_ack = False
        _put_back_abandoned(self.transport_options.get("inflight_folder"), self.data_folder_in)

    # kombu's Channel names the payload `message`, its filesystem Channel `payload`: no name fits both.
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Put `payload` onto `queue`: written aside, then renamed into place whole."""
        try:
            broker.put_message_file(self.data_folder_out, queue, str_to_bytes(dumps(payload)))
        except OSError as error:
            raise ChannelError(f"Cannot add a message to {self.data_folder_out!r}: {error}") from error

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        """The next message of `queue`, skipping (never stopping on) files that do not decode."""
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            queued = os.path.join(self.data_folder_in, name)
            # Claimed by a rename in the same folder: of several consumers, one gets it.
            claimed = os.path.join(self.data_folder_in, f".{name}.claimed")
            try:
                os.rename(queued, claimed)
            except OSError:
                continue  # another consumer took it first
            try:
                with open(claimed, "rb") as file:
                    message = loads(bytes_to_str(file.read()))
            except (OSError, ValueError) as error:
                self._leave_or_set_aside(name, claimed, error)
                continue
            self._hold_until_acknowledged(queue, name, claimed, message)
            return message
        raise Empty()

    def _hold_until_acknowledged(self, queue: str, name: str, claimed: str, message: Any) -> None:
        """Keep the file of a message taken in this process's in-flight folder until the message
        is acknowledged; one taken without acknowledgement (or with no tag to acknowledge it by)
        is done with now."""
        tag = (message.get("properties") or {}).get("delivery_tag") if isinstance(message, dict) else None
        folder = None
        if tag and queue not in self._no_ack_queues and not self._taking_without_ack:
            folder = self._own_inflight_folder()
        if folder is None:
            if self.store_processed:
                shutil.move(claimed, os.path.join(self.processed_folder, name))
            else:
                os.remove(claimed)
            return
        held = os.path.join(folder, name)
        os.rename(claimed, held)
        self._inflight[str(tag)] = held

    def _own_inflight_folder(self) -> str | None:
        """This process's in-flight folder, locked for as long as the channel is open (None: the
        transport was given no `inflight_folder`)."""
        if self._inflight_folder is not None or not self.transport_options.get("inflight_folder"):
            return self._inflight_folder
        root = self.transport_options["inflight_folder"]
        os.makedirs(root, exist_ok=True)
        # Made and locked under a name the start-up recovery skips, then renamed into view: no
        # consumer ever sees it unlocked while it is alive.
        name = f"{os.getpid()}-{uuid.uuid4().hex}"
        making = os.path.join(root, f".{name}")
        os.mkdir(making)
        lock = os.open(os.path.join(making, LOCK_FILE), os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.rename(making, os.path.join(root, name))
        self._inflight_folder, self._inflight_lock = os.path.join(root, name), lock
        _LOCKING_CHANNELS.add(self)
        return self._inflight_folder

    def _done_with(self, tag: Any) -> None:
        held = self._inflight.pop(str(tag), None)
        if held is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(held)

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any) -> Any:
        if no_ack:
            self._no_ack_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        self._taking_without_ack = no_ack
        try:
            return super().basic_get(queue, no_ack=no_ack, **kwargs)
        finally:
            self._taking_without_ack = False

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple=multiple)
        self._done_with(delivery_tag)

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        super().basic_reject(delivery_tag, requeue=requeue)  # requeued: a copy is in the queue now
        self._done_with(delivery_tag)

    def _restore(self, message: Any) -> None:
        """Back into the queue (a warm shutdown's unacknowledged messages, a requeue): the copy is
        written first, then the held file goes, so a crash between the two runs a task twice at
        worst."""
        super()._restore(message)
        self._done_with(message.delivery_tag)

    def close(self) -> None:
        """kombu puts the unacknowledged messages back; anything still held (a put-back that
        failed) goes back into the queue as it was, and the folder and its lock go."""
        super().close()
        folder, lock = self._inflight_folder, self._inflight_lock
        self._inflight_folder = self._inflight_lock = None
        if folder is not None and lock is not None:
            _put_back(folder, self.data_folder_in)
            os.close(lock)

    def _leave_or_set_aside(self, name: str, claimed: str, error: Exception) -> None:
        """Back into the queue while a publisher may still be writing it; otherwise into the
        corrupt folder, said in the log (a message that cannot be read is lost to its task)."""
        corrupt = self.transport_options.get("corrupt_folder", "corrupt")
        try:
            if time.time() - os.stat(claimed).st_mtime < STILL_WRITING_SECONDS:
                os.rename(claimed, os.path.join(self.data_folder_in, name))
                return
            os.makedirs(corrupt, exist_ok=True)
            shutil.move(claimed, os.path.join(corrupt, name))
        except OSError as moving:
            log.error("Broker message %s cannot be read (%s) nor moved aside: %s", name, error, moving)
            return
        log.error("Broker message %s cannot be read (%s): moved to %s, its task does not run.", name, error, corrupt)


LOCK_FILE = ".lock"
_LOCKING_CHANNELS: weakref.WeakSet[Channel] = weakref.WeakSet()


def _drop_inherited_locks() -> None:
    """In a forked child (the worker's pool processes): close the lock files inherited from the
    consumer, so that the lock ends with the consumer's own process, not with its last child
    (a pool process still running a task when the main process was killed)."""
    for channel in list(_LOCKING_CHANNELS):
        if channel._inflight_lock is not None:
            with contextlib.suppress(OSError):
                os.close(channel._inflight_lock)
        channel._inflight_folder = channel._inflight_lock = None
        channel._inflight = {}
    _LOCKING_CHANNELS.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


def _put_back(folder: str, queue_folder: str) -> int:
    """Every message file in an in-flight folder back into the queue under its own name (its
    place in line kept); then the folder goes. How many."""
    put_back = 0
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return 0  # put back by another consumer just now
    for name in names:
        if name == LOCK_FILE:
            continue
        try:
            os.rename(os.path.join(folder, name), os.path.join(queue_folder, name))
            put_back += 1
        except FileNotFoundError:
            continue
    with contextlib.suppress(OSError):
        os.remove(os.path.join(folder, LOCK_FILE))
        os.rmdir(folder)
    return put_back


def _put_back_abandoned(root: str | None, queue_folder: str) -> None:
    """Put back the messages of every in-flight folder whose process is gone: its lock is free
    (the kernel drops a process's locks however it ends, so a reused pid cannot keep one)."""
    if not root or not os.path.isdir(root):
        return
    for name in os.listdir(root):
        folder = os.path.join(root, name)
        if name.startswith(".") or not os.path.isdir(folder):
            continue  # "." : still being made, or cut short while being made (empty)
        try:
            lock = os.open(os.path.join(folder, LOCK_FILE), os.O_RDWR)
        except FileNotFoundError:
            continue  # put back by another consumer just now
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            continue  # its process is alive and working
        try:
            put_back = _put_back(folder, queue_folder)
        finally:
            os.close(lock)
        if put_back:
            log.warning(
                "Put back %d message(s) that a stopped worker (process %s) had taken and not finished.",
                put_back,
                name.split("-")[0],
            )


class Transport(filesystem.Transport):
    Channel = Channel
