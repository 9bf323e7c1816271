"""A webhook receiver of the fault run's own: its own process, stoppable and restartable on one port.

It verifies every POST with the `standardwebhooks` library against the endpoint's secret,
answers 204 (also to a repeat: a real receiver dedups by `webhook-id` and acknowledges), and
appends one JSON line per verified arrival to a file, so what arrived before a stop is still
counted after the restart. A bad signature answers 400 and is logged as such.

    python -m bench.faultlib.receiver PORT ARRIVALS_FILE   # the secret comes in WEBHOOK_SECRET
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOOK_PATH = "/hooks/faults"


def serve(port: int, arrivals: Path, secret: str) -> None:  # pragma: no cover - runs in its own process
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    verifier = Webhook(secret)
    lock = threading.Lock()

    def record(entry: dict) -> None:
        with lock, arrivals.open("a") as out:
            out.write(json.dumps(entry) + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != HOOK_PATH:
                return self._answer(404)
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                payload = verifier.verify(body, headers)
            except WebhookVerificationError as error:
                record({"bad_signature": str(error), "at": time.time()})
                return self._answer(400)
            incident = (payload.get("data") or {}).get("incident") or {}
            record({"webhook_id": headers["webhook-id"], "type": payload.get("type"), "key": incident.get("key"),
                    "at": time.time()})  # fmt: skip
            return self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    ThreadingHTTPServer.allow_reuse_address = True  # the restart binds the same port at once
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


@dataclass
class Arrivals:
    """What the receiver saw: verified deliveries by webhook-id and by incident key."""

    by_webhook_id: Counter
    by_key: dict[str, set[str]]
    bad_signatures: int

    @property
    def repeats(self) -> int:
        """Deliveries of a webhook-id after its first: what the receiver's dedup had to drop."""
        return sum(count - 1 for count in self.by_webhook_id.values())

    @property
    def double_fan_out(self) -> int:
        """Incidents that arrived under more than one webhook-id (one event sent as two)."""
        return sum(len(ids) - 1 for ids in self.by_key.values())


class Receiver:
    """The receiver process: start() and stop() by its own PID; arrivals() reads its file."""

    def __init__(self, workdir: Path, port: int, secret: str) -> None:
        self.port = port
        self.secret = secret
        self.file = workdir / "webhook-arrivals.jsonl"
        self.log = workdir / "webhook-receiver.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{HOOK_PATH}"

    def start(self) -> None:
        from bench.faultlib.stack import ROOT, wait_port

        env = {**os.environ, "WEBHOOK_SECRET": self.secret, "PYTHONPATH": str(ROOT)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.faultlib.receiver", str(self.port), str(self.file)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_port(self.port, self.process, "webhook receiver", timeout=30)

    def stop(self) -> None:
        from bench.faultlib.stack import terminate

        terminate(self.process, timeout=10)
        self.process = None

    def arrivals(self) -> Arrivals:
        by_webhook_id: Counter = Counter()
        by_key: dict[str, set[str]] = {}
        bad = 0
        if self.file.exists():
            for line in self.file.read_text().splitlines():
                entry = json.loads(line)
                if "bad_signature" in entry:
                    bad += 1
                    continue
                by_webhook_id[entry["webhook_id"]] += 1
                if entry.get("key"):
                    by_key.setdefault(entry["key"], set()).add(entry["webhook_id"])
        return Arrivals(by_webhook_id, by_key, bad)


if __name__ == "__main__":  # pragma: no cover
    serve(int(sys.argv[1]), Path(sys.argv[2]), os.environ["WEBHOOK_SECRET"])
