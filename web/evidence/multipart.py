"""A streaming multipart/form-data reader: each file part is read straight from the request
body into storage, never into memory or a temporary file (werkzeug's form parser spools any
file over 500 KB to disk, which an upload of 200 MiB must not do on a web task)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, BinaryIO, cast

from werkzeug.exceptions import BadRequest
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

READ_BYTES = 256 * 1024
MAX_FIELD_BYTES = 64 * 1024  # small fields only (the CSRF token)
MAX_PARTS = 100


@dataclass
class FilePart:
    name: str  # the form field
    filename: str  # what the browser sent; cleaned later, never used as a key
    content_type: str
    stream: BinaryIO  # read it to the end (or not: the reader drains what is left)


class _PartReader:
    def __init__(self, reader: MultipartReader) -> None:
        self._reader = reader
        self._buffer = bytearray()
        self.done = False

    def read(self, size: int = -1) -> bytes:
        while not self.done and (size < 0 or len(self._buffer) < size):
            event = self._reader._next_event()
            if not isinstance(event, Data):
                raise BadRequest("The upload was cut off. Try again.")
            self._buffer += event.data
            if not event.more_data:
                self.done = True
        if size < 0 or size >= len(self._buffer):
            data, self._buffer = bytes(self._buffer), bytearray()
        else:
            data, self._buffer = bytes(self._buffer[:size]), self._buffer[size:]
        return data

    def drain(self) -> None:
        while not self.done:
            self._buffer.clear()
            self.read(READ_BYTES)
        self._buffer.clear()


class MultipartReader:
    """Yields ("field", name, value) and ("file", FilePart) in the order the browser sent them."""

    def __init__(self, stream: IO[bytes], boundary: bytes) -> None:
        self._stream = stream
        # The decoder's bound is on its own buffer, which holds at most about one read (file
        # data leaves it as Data events as soon as it is parsed); fields are bounded below.
        self._decoder = MultipartDecoder(boundary, max_form_memory_size=4 * READ_BYTES, max_parts=MAX_PARTS)
        self._ended = False

    def _next_event(self):
        while True:
            event = self._decoder.next_event()
            if not isinstance(event, NeedData):
                return event
            if self._ended:
                raise BadRequest("The upload was cut off. Try again.")
            chunk = self._stream.read(READ_BYTES)
            if chunk:
                self._decoder.receive_data(chunk)
            else:
                self._ended = True
                self._decoder.receive_data(None)

    def parts(self) -> Iterator[tuple]:
        while True:
            event = self._next_event()
            if isinstance(event, Epilogue):
                return
            if isinstance(event, Field):
                value = bytearray()
                while True:
                    data = self._next_event()
                    if not isinstance(data, Data):
                        raise BadRequest("The upload was cut off. Try again.")
                    value += data.data
                    if len(value) > MAX_FIELD_BYTES:
                        raise BadRequest("A form field was too long.")
                    if not data.more_data:
                        break
                yield ("field", event.name, value.decode("utf-8", "replace"))
            elif isinstance(event, File):
                part = _PartReader(self)
                content_type = event.headers.get("Content-Type", "application/octet-stream")
                # Callers only read() the part, which is all a _PartReader offers.
                yield ("file", FilePart(event.name, event.filename, content_type, cast(BinaryIO, part)))
                part.drain()
