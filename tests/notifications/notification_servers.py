"""Servers the notification tests run on 127.0.0.1: a webhook receiver (http.server), SMTP (aiosmtpd)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# Slow receivers stop on their own after this, so a failing test never leaves a thread behind for long.
MAX_STALL_SECONDS = 5.0


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    # "drip": send the status line a byte at a time, forever (until MAX_STALL_SECONDS);
    # "drip-body": a 200 and its headers at once, then the body a byte at a time;
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

        def log_message(self, format, *args):  # quiet test output
            pass

        def do_POST(self):  # http.server's naming
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
            if how == "drip-body":
                # Status and headers at once, then a body that never finishes.
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                    self.wfile.flush()
                except OSError:
                    return
                line = b"." * 100_000
            else:
                line = b"HTTP/1.1 200 OK\r\nX-Drip: " + b"." * 10_000
            sent = 0
            while time.monotonic() < stop_at:
                if how.startswith("drip"):
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


@dataclass(frozen=True)
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


class Inbox:
    """aiosmtpd handler: keeps every message; refuses the recipients listed in refuse (550)."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.messages: list[Delivered] = []
        self.logins: list[str] = []
        self.refuse = refuse
        self.port = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # aiosmtpd's hook name
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        raw = envelope.original_content or envelope.content
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        self.messages.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed))
        return "250 Message accepted"


def free_port() -> int:
    # aiosmtpd's Controller connects to its own port once started, so it needs the number up front.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_serving(
    *,
    certificate: CertificateFiles | None = None,
    security: str = "none",
    users: dict[str, str] | None = None,
    refuse: frozenset[str] = frozenset(),
) -> Iterator[Inbox]:
    """An SMTP server on 127.0.0.1: security "none", "starttls" (required) or "tls" (implicit);
    users: accepted logins (AUTH needs TLS, as aiosmtpd insists by default)."""
    inbox = Inbox(refuse=refuse)
    options: dict[str, object] = {}
    if security != "none":
        assert certificate is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate.cert, certificate.key)
        if security == "starttls":
            options.update(tls_context=context, require_starttls=True)
        else:
            options.update(ssl_context=context)
    if users is not None:

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and users.get(auth_data.login.decode()) == auth_data.password.decode()
            )
            if ok:
                inbox.logins.append(auth_data.login.decode())
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

        options.update(authenticator=authenticate)
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, ready_timeout=5, **options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
