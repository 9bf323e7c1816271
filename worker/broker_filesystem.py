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

import logging
import os
import shutil
import time
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
            if self.store_processed:
                shutil.move(claimed, os.path.join(self.processed_folder, name))
            else:
                os.remove(claimed)
            return message
        raise Empty()

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


class Transport(filesystem.Transport):
    Channel = Channel
