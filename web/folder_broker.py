"""The web's publisher on the embedded default's folder broker (`make run`): whole messages only.

kombu's filesystem transport writes a message straight into the queue folder (open, then write),
so a worker polling at that moment took an empty or half-written file (celery/kombu#1551), and a
publish cut short by a full disk left half a message there while the outbox counted it sent.
Messages are written aside and renamed into place (shared/broker.py `put_message_file`), as the
worker's own transport does (worker/broker_filesystem.py, which also reads them defensively).
"""

from __future__ import annotations

from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

from shared import broker


class Channel(filesystem.Channel):
    # kombu's Channel names the payload `message`, its filesystem Channel `payload`: no name fits both.
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Put `payload` onto `queue`: written aside, then renamed into place whole."""
        try:
            broker.put_message_file(self.data_folder_out, queue, str_to_bytes(dumps(payload)))
        except OSError as error:
            raise ChannelError(f"Cannot add a message to {self.data_folder_out!r}: {error}") from error


class Transport(filesystem.Transport):
    Channel = Channel
