"""A streaming multipart/form-data reader: each file part is read straight from the request
body into storage, never into memory or a temporary file (werkzeug's form parser spools any
file over 500 KB to disk, which an upload of 200 MiB must not do on a web task).

Why not werkzeug's sansio `MultipartDecoder`: it copies every byte of a file four times or
more on its way through (into its buffer, a slice, `bytes()` of the slice, ...), all while
holding the GIL that the S3 upload threads of the same process need. This reader finds the
delimiter with `bytes.find` in the chunks as they arrive and hands out views of them: a file's
bytes are copied once, when a read joins them. The bench (`make bench-evidence`) measured the
difference; README "Evidence uploads and the pipeline" has the figures.

The grammar is RFC 7578's (RFC 2046 boundaries): an optional preamble, then per part
`--boundary CRLF headers CRLF CRLF body CRLF`, and `--boundary--` at the end. Part headers are
bounded (MAX_HEADER_BYTES), so are plain fields (MAX_FIELD_BYTES) and the number of parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from werkzeug.exceptions import BadRequest, LengthRequired, RequestEntityTooLarge
from werkzeug.http import parse_options_header

from shared.evidence.storage import Readable

# One read of the request body. gunicorn answers a read of up to 1 MiB with one recv(); fewer,
# larger reads mean fewer Python calls per byte (and fewer GIL hand-overs) on a big upload.
READ_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024  # one part's header block (name, file name, type)
MAX_FIELD_BYTES = 64 * 1024  # small fields only (the CSRF token)
MAX_PARTS = 100
# RFC 2046 allows 1 to 70 characters, but real clients overshoot: werkzeug's test client
# (`WerkzeugFormPart_{time()}{random()}`) makes 71-72 now and then, which CI once refused as
# "missing or too long". The bound only has to stop abuse, so it is generous.
MAX_BOUNDARY_BYTES = 200

CUT_OFF = "The upload was cut off. Try again."


class RequestBody:
    """The request body as the server hands it over (`wsgi.input`), never read past its
    Content-Length, and a body sent without one (chunked) refused past `limit`.

    werkzeug's `request.stream` does the same bounding, but as an `io.RawIOBase` it copies
    every read twice (into a fresh zeroed bytearray, then into bytes); a 1 GiB upload is
    16 384 reads of 64 KiB to 1 MiB, and each copy is CPU taken from the S3 upload."""

    def __init__(self, stream: BinaryIO, remaining: int, *, refuse_beyond: bool) -> None:
        self._stream = stream
        self._remaining = remaining
        self._refuse_beyond = refuse_beyond

    @classmethod
    def of(cls, environ: dict, content_length: int | None, limit: int) -> RequestBody:
        if content_length is not None:
            return cls(environ["wsgi.input"], content_length, refuse_beyond=False)
        if not environ.get("wsgi.input_terminated"):
            # Without a length or a server that ends the stream, reading could block forever.
            raise LengthRequired("Send the upload with a Content-Length.")
        return cls(environ["wsgi.input"], limit, refuse_beyond=True)

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            if self._refuse_beyond and self._stream.read(1):
                raise RequestEntityTooLarge()
            return b""
        wanted = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = self._stream.read(wanted)
        self._remaining -= len(data)
        return data


@dataclass
class FilePart:
    name: str  # the form field
    filename: str  # what the browser sent; cleaned later, never used as a key
    content_type: str
    stream: Readable  # read it to the end (or not: the reader drains what is left)


class _PartReader:
    """One file part's bytes as a stream. `read(n)` joins the pieces it collected once: the
    only copy of the file's bytes this module makes."""

    def __init__(self, reader: MultipartReader) -> None:
        self._reader = reader
        self.done = False

    def read(self, size: int = -1) -> bytes:
        pieces: list[memoryview] = []
        wanted = size if size is not None and size >= 0 else None
        have = 0
        while not self.done and (wanted is None or have < wanted):
            piece, self.done = self._reader._next_data(READ_BYTES if wanted is None else wanted - have)
            if piece:
                pieces.append(piece)
                have += len(piece)
        return b"".join(pieces)

    def drain(self) -> None:
        while not self.done:
            _, self.done = self._reader._next_data(READ_BYTES)


class MultipartReader:
    """Yields ("field", name, value) and ("file", FilePart) in the order the browser sent them."""

    def __init__(self, stream: Readable, boundary: bytes) -> None:
        if not boundary or len(boundary) > MAX_BOUNDARY_BYTES:
            raise BadRequest("The upload's multipart boundary is missing or too long.")
        self._stream = stream
        self._delimiter = b"\r\n--" + boundary
        # The first boundary has no CRLF before it: start as if one had just been read, so
        # every boundary is found the same way (and a preamble is skipped like part data).
        self._buffer = b"\r\n"
        self._position = 0
        self._ended = False

    # -- reading the body ---------------------------------------------------------------------

    def _read_chunk(self) -> bytes:
        if self._ended:
            return b""
        chunk = self._stream.read(READ_BYTES)
        if not chunk:
            self._ended = True
        return chunk

    def _unread(self) -> bytes:
        return self._buffer[self._position :]

    def _need_more(self) -> None:
        """Append the next chunk to what is left unparsed (headers and boundaries only: small)."""
        chunk = self._read_chunk()
        if not chunk:
            raise BadRequest(CUT_OFF)
        self._buffer = self._unread() + chunk
        self._position = 0

    def _next_data(self, limit: int) -> tuple[memoryview, bool]:
        """Up to `limit` bytes of the current part's body, as a view of the chunk they arrived
        in, and whether the part ended there (its delimiter has then been consumed)."""
        delimiter = self._delimiter
        while True:
            buffer, start = self._buffer, self._position
            # Search only as far as a delimiter beginning within `limit` could reach, so small
            # reads do not rescan the rest of a large chunk each time.
            window_end = min(len(buffer), start + limit + len(delimiter) - 1)
            found = buffer.find(delimiter, start, window_end)
            if found >= 0:
                end = min(found, start + limit)
                self._position = end if end < found else found + len(delimiter)
                return memoryview(buffer)[start:end], end == found
            if window_end < len(buffer):  # no delimiter begins in the next `limit` bytes
                self._position = start + limit
                return memoryview(buffer)[start : start + limit], False
            # No whole delimiter here. One can only begin at a CR, so everything before the
            # first CR among the last len(delimiter) - 1 bytes is certainly body.
            safe = buffer.find(b"\r", max(start, len(buffer) - len(delimiter) + 1))
            if safe < 0:
                safe = len(buffer)
            if safe > start:
                end = min(safe, start + limit)
                self._position = end
                return memoryview(buffer)[start:end], False
            # Only the possible start of a delimiter is left: look at the next chunk.
            tail = buffer[start:]
            chunk = self._read_chunk()
            if not chunk:
                raise BadRequest(CUT_OFF)
            if len(chunk) < len(delimiter) or (tail + chunk[: len(delimiter) - 1]).find(delimiter) >= 0:
                # The delimiter may span the two (rare, or a small read): parse them joined.
                self._buffer, self._position = tail + chunk, 0
                continue
            # It does not: the tail was body after all. Hand it out; the chunk comes next,
            # uncopied.
            self._buffer, self._position = chunk, 0
            return memoryview(tail), False

    def _after_delimiter(self) -> bool:
        """After a boundary: True when another part follows, False at the closing `--`."""
        while True:
            rest = self._unread()
            stripped = rest.lstrip(b" \t")  # RFC 2046 lets a boundary line end in white space
            if len(stripped) >= 2:
                break
            if len(rest) > MAX_HEADER_BYTES:
                raise BadRequest("The upload's multipart framing is malformed.")
            self._need_more()
        if stripped.startswith(b"--"):
            return False
        if not stripped.startswith(b"\r\n"):
            raise BadRequest("The upload's multipart framing is malformed.")
        # Leave the CRLF: the header block is found as CRLF ... CRLF CRLF (or just CRLF CRLF).
        self._position += len(rest) - len(stripped)
        return True

    def _headers(self) -> dict[str, str]:
        while True:
            end = self._buffer.find(b"\r\n\r\n", self._position)
            if end >= 0:
                break
            if len(self._unread()) > MAX_HEADER_BYTES:
                raise BadRequest("A part of the upload has too many or too long headers.")
            self._need_more()
        if end - self._position > MAX_HEADER_BYTES:
            raise BadRequest("A part of the upload has too many or too long headers.")
        block = self._buffer[self._position + 2 : end]
        self._position = end + 2  # the blank line is left to _start_body
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("A file name or field name in the upload is not valid UTF-8.") from None
        headers: dict[str, str] = {}
        last = ""
        for line in text.split("\r\n") if text else ():
            if line[:1] in (" ", "\t") and last:  # an obsolete folded header continues
                headers[last] += " " + line.strip(" \t")
                continue
            name, colon, value = line.partition(":")
            if not colon:
                raise BadRequest("A part of the upload has a malformed header.")
            last = name.strip(" \t").lower()
            headers[last] = value.strip(" \t")
        return headers

    def _start_body(self) -> None:
        """Step over the blank line that ends a part's headers. werkzeug's test client (not a
        browser) lets that CRLF double as the one before the next boundary when a file is
        empty: a delimiter right there is an empty body, and stays to end it."""
        while len(self._unread()) < len(self._delimiter):
            self._need_more()
        if not self._buffer.startswith(self._delimiter, self._position):
            self._position += 2

    # -- the parts ----------------------------------------------------------------------------

    def parts(self) -> Iterator[tuple]:
        preamble = _PartReader(self)
        preamble.drain()  # up to and including the first boundary
        count = 0
        while self._after_delimiter():
            count += 1
            if count > MAX_PARTS:
                raise BadRequest(f"The upload has more than {MAX_PARTS} parts.")
            headers = self._headers()
            disposition, options = _content_disposition(headers.get("content-disposition", ""))
            if disposition != "form-data" or "name" not in options:
                raise BadRequest("A part of the upload is not a named form field.")
            self._start_body()
            part = _PartReader(self)
            if "filename" in options:
                content_type = headers.get("content-type") or "application/octet-stream"
                yield ("file", FilePart(options["name"], options["filename"], content_type, part))
                part.drain()
            else:
                yield ("field", options["name"], _field_value(part))


# `filename="..."` as browsers write it (the HTML Standard's multipart/form-data encoding):
# only `"`, CR and LF are escaped, as %22, %0D and %0A; a backslash is itself. werkzeug reads
# the quoted string as RFC 9110 does, where a backslash escapes the next character, so
# `C:\Users\me\report.txt` (old Internet Explorer sends the whole path) lost its backslashes
# and was stored as "C_Usersmereport.txt" (and `filename="notes\"`, a Linux name, was no file
# at all). A `\"` is still read as a quote, for clients that escape RFC-style.
_BROWSER_FILENAME = re.compile(r';[ \t]*filename[ \t]*=[ \t]*"((?:\\"|[^"])*)"', re.IGNORECASE)
_EXTENDED_FILENAME = re.compile(r";[ \t]*filename\*", re.IGNORECASE)


def _content_disposition(value: str) -> tuple[str, dict[str, str]]:
    """A part's Content-Disposition: its type and parameters, the file name as the browser sent
    it (its backslashes kept: shared/evidence/names.py takes the last path segment)."""
    disposition, options = parse_options_header(value)
    sent = _BROWSER_FILENAME.search(value)
    # An RFC 5987 `filename*` (some non-browser clients) is werkzeug's to decode, and wins.
    if sent is not None and not _EXTENDED_FILENAME.search(value):
        options["filename"] = sent.group(1).replace('\\"', '"').replace("%22", '"')
    return disposition, options


def _field_value(part: _PartReader) -> str:
    value = part.read(MAX_FIELD_BYTES + 1)
    if len(value) > MAX_FIELD_BYTES:
        raise BadRequest("A form field was too long.")
    return value.decode("utf-8", "replace")
