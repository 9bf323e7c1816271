"""The app served on a real port from a background thread, for the browser tests: one copy for
this folder's conftest (the whole run's server) and for the modules that need a server of their
own (other settings, a worker beside it, a wrapper around the app)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from shared.config import Settings
from web.app import create_app


class InFlightRequests:
    """Counts requests the live server is still answering. The root `db` fixture wipes the
    tables and closes every session in the process after each test: it must not do that while
    a request the browser fired last (an htmx search, a redirect) is still using one."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)

    def __call__(self, environ, start_response):
        with self.lock:
            self.count += 1
        try:
            # Consume the whole body inside the count: werkzeug streams it after we return.
            yield from self.app(environ, start_response)
        finally:
            with self.lock:
                self.count -= 1
                self.idle.notify_all()

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        with self.lock:
            if not self.idle.wait_for(lambda: self.count == 0, timeout=timeout):
                raise AssertionError(f"the live server still had {self.count} request(s) running after {timeout} s")


class QuietHandler(WSGIRequestHandler):
    """The app logs every request itself; werkzeug's access lines would only double them."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass(frozen=True)
class LiveServer:
    url: str
    in_flight: InFlightRequests
    settings: Settings


def e2e_settings(database_url: str, data_dir: str, **overrides: Any) -> Settings:
    """What every browser test's app runs with, and a module's own changes."""
    return Settings(
        **{
            "app_env": "test",
            "database_url": database_url,
            "secret_key": "x" * 40,
            "demo_password": "demo-password-not-used",
            "data_dir": data_dir,
            # Every test signs in afresh from the same address; the limit is tested in tests/web.
            "rate_limit_login": "1000 per minute",
            "log_level": "WARNING",
            **overrides,
        }
    ).validated()


@contextmanager
def serve_app(settings: Settings, *, name: str, wrap: Callable | None = None) -> Iterator[LiveServer]:
    """The app of `settings` on a free 127.0.0.1 port until the block ends; `wrap` (a WSGI
    middleware) goes around it, inside the in-flight count."""
    app = create_app(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    in_flight = InFlightRequests(wrap(app.wsgi_app) if wrap else app.wsgi_app)
    app.wsgi_app = in_flight  # type: ignore[method-assign]
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", in_flight=in_flight, settings=settings)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["db_engine"].dispose()
