"""A TCP proxy in front of the real clamd that a test can switch: up, down, or holding.

- up: connections are piped to clamd both ways;
- down: a connection is accepted and closed at once (clamd unreachable, as the worker sees it);
- hold: a connection is accepted and never answered (a scan in progress), until switched back.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time

from servers import free_port


class ClamdProxy:
    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("tcp://").rsplit(":", 1)
        self.target = (host, int(port))
        self.mode = "up"
        self.held = 0  # connections currently held
        self.port = free_port()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def wait_for_held(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.held == 0:
            if time.monotonic() > deadline:
                raise AssertionError("no scan reached clamd in time")
            time.sleep(0.05)

    def close(self) -> None:
        self._stopped = True
        self._server.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            if self.mode == "down":
                return
            if self.mode == "hold":
                self.held += 1
                try:
                    while self.mode == "hold":
                        readable, _, _ = select.select([client], [], [], 0.1)
                        if readable and not client.recv(65536):
                            return  # the worker died under its scan
                finally:
                    self.held -= 1
                return  # switched back: drop it, the redelivered task scans again
            with contextlib.suppress(OSError), socket.create_connection(self.target) as upstream:
                sockets = [client, upstream]
                while True:
                    readable, _, _ = select.select(sockets, [], [], 30)
                    if not readable:
                        return
                    for source in readable:
                        data = source.recv(65536)
                        if not data:
                            return
                        (upstream if source is client else client).sendall(data)
