"""The webhook receiver the notification tests run on 127.0.0.1 (real sockets, http.server)."""

from __future__ import annotations

import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Slow receivers stop on their own after this, so a failing test never leaves a thread behind for long.
MAX_STALL_SECONDS = 5.0


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    # "drip": send the status line a byte at a time, forever (until MAX_STALL_SECONDS);
    # "silent": say nothing at all for MAX_STALL_SECONDS.
    stall: str | None = None


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


class Receiver:
    """A webhook receiver: records every request and answers with the queued replies (then 200)."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.requests: list[Received] = []
        self.replies: deque[Reply] = deque()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)


def _handler(receiver_ref: list[Receiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - quiet test output
            pass

        def do_POST(self):  # noqa: N802 - http.server's naming
            receiver = receiver_ref[0]
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver.requests.append(
                Received(path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body)
            )
            reply = receiver.replies.popleft() if receiver.replies else Reply()
            if reply.stall:
                self._stall(reply.stall)
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(reply.body)

        def _stall(self, how: str) -> None:
            self.close_connection = True
            stop_at = time.monotonic() + MAX_STALL_SECONDS
            line = b"HTTP/1.1 200 OK\r\nX-Drip: " + b"." * 10_000
            sent = 0
            while time.monotonic() < stop_at:
                if how == "drip":
                    try:
                        self.wfile.write(line[sent : sent + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                    sent = (sent + 1) % len(line)
                time.sleep(0.1)

    return Handler


@contextmanager
def serving(tls: CertificateFiles | None = None) -> Iterator[Receiver]:
    ref: list[Receiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    server.daemon_threads = True
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert, tls.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    ref.append(Receiver(server))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield ref[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class CertificateFiles:
    cert: Path
    key: Path
    hostname: str
