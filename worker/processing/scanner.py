"""Virus scan through clamd's socket (INSTREAM), with clamav-client.

The verdict is one of four, and only an explicit "OK" from clamd is clean:

- CLEAN: clamd read the whole stream and found nothing;
- INFECTED: clamd found a signature (its name is kept for the page and the timeline);
- TOO_BIG: the file is beyond clamd's limits (`Heuristics.Limits.Exceeded.*`, reported because
  the shipped clamd.conf sets AlertExceedsMax, or the stream limit): never clean, rejected;
- ERROR: clamd unreachable, timed out, closed the connection (a broken pipe is what an
  oversize stream often looks like from this side), or answered something unexpected. Worth
  retrying; never clean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, cast

from clamav_client.clamd import BufferTooLongError, ClamdError, ClamdNetworkSocket, ClamdUnixSocket

from shared.config import parse_clamd_address

CLEAN = "clean"
INFECTED = "infected"
TOO_BIG = "too-big"
ERROR = "error"

LIMITS_PREFIX = "Heuristics.Limits.Exceeded"
# clamav-client sends 1 KiB INSTREAM chunks; reading the file in bigger blocks saves syscalls.
_READ_BLOCK = 64 * 1024


@dataclass(frozen=True)
class ScanResult:
    verdict: str
    signature: str = ""  # the virus name when infected, the limit when too big
    detail: str = ""  # why, in words, for everything but clean

    @property
    def is_clean(self) -> bool:
        return self.verdict == CLEAN


class ClamdScanner:
    """Scans streams with the clamd at `address` (`tcp://host:port` or `unix:///path`)."""

    def __init__(self, address: str, *, timeout: float = 120.0) -> None:
        self.address = address
        endpoint = parse_clamd_address(address)
        if endpoint[0] == "tcp":
            self._client = ClamdNetworkSocket(host=endpoint[1], port=endpoint[2], timeout=timeout)
        else:
            # Annotated int in clamav-client, but handed to socket.settimeout, which takes seconds as a float.
            self._client = ClamdUnixSocket(path=endpoint[1], timeout=timeout)  # type: ignore[arg-type]

    def ping(self) -> bool:
        """True when clamd answers PONG (the readiness check of a worker)."""
        try:
            return self._client.ping() == "PONG"
        except (ClamdError, OSError):
            return False

    def scan(self, stream: BinaryIO) -> ScanResult:
        """Stream the whole file to clamd and classify its answer; never raises for clamd's sake."""
        try:
            # clamav-client asks for a BinaryIO but only ever calls read().
            answer = self._client.instream(cast(BinaryIO, _Buffered(stream)))
        except BufferTooLongError as error:
            return ScanResult(TOO_BIG, "StreamMaxLength", f"file exceeds the virus scanner's stream limit ({error})")
        except (TimeoutError, ClamdError, OSError) as error:
            return ScanResult(ERROR, "", f"virus scanner at {self.address} failed: {type(error).__name__}: {error}")
        status, signature = answer.get("stream", (None, None))
        if status == "OK":
            return ScanResult(CLEAN)
        if status == "FOUND" and signature:
            if signature.startswith(LIMITS_PREFIX):
                return ScanResult(TOO_BIG, signature, f"file exceeds the virus scanner's limits ({signature})")
            return ScanResult(INFECTED, signature, f"virus found: {signature}")
        return ScanResult(ERROR, "", f"virus scanner gave an unexpected answer: {answer!r}")


class _Buffered:
    """Serves clamav-client's 1 KiB reads from 64 KiB reads of the underlying stream."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._buffer = b""
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            rest, self._buffer, self._offset = self._buffer[self._offset :], b"", 0
            return rest + self._stream.read()
        if self._offset >= len(self._buffer):
            self._buffer = self._stream.read(max(size, _READ_BLOCK))
            self._offset = 0
        data = self._buffer[self._offset : self._offset + size]
        self._offset += len(data)
        return data
