"""What the benches that start the whole stack share (bench/evidence.py, bench/soak.py,
bench/webhook_fanout.py): their child processes, a PostgreSQL database of their own, waiting for
a program's log line, and `flask` commands on the app. (bench/faultlib/ has its own, richer
stack: it restarts and breaks the services it starts.)"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


class Children:
    """The processes a bench starts, each logging to <workdir>/<name>.log, stopped by their own
    PIDs in reverse order (the web server before the services it uses)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        with (self.workdir / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            self.stop(process)

    def start_worker_and_beat(self, env: dict[str, str], hostname: str) -> tuple[subprocess.Popen, subprocess.Popen]:
        """A Celery worker (prefork, 2 processes, as `make run`), once ready, then the beat."""
        celery = [str(BIN / "celery"), "--app", "worker.celery_app"]
        worker = self.start(
            "worker",
            [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2", "--hostname", f"{hostname}@%h",
             "--without-gossip", "--without-mingle"],
            env=env,
        )  # fmt: skip
        wait_for_log(self.workdir / "worker.log", " ready.", worker, "the Celery worker")
        beat = self.start(
            "beat",
            [*celery, "beat", "--loglevel", "INFO", "--schedule", str(self.workdir / "celerybeat-schedule")],
            env=env,
        )
        time.sleep(1)
        if beat.poll() is not None:
            raise SystemExit(f"the beat exited: {(self.workdir / 'beat.log').read_text()[-2000:]}")
        return worker, beat


@contextlib.contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """An empty database named <prefix>_<pid> on BENCH_PG, dropped afterwards."""
    name = f"{prefix}_{os.getpid()}"
    admin = psycopg2.connect(f"{PG}/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def wait_for_log(path: Path, marker: str, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    """Until `marker` is in the log; stops the bench with the log's tail if the program exits
    or takes longer than `timeout`."""
    deadline = time.monotonic() + timeout
    while marker not in path.read_text(errors="replace"):
        if process.poll() is not None:
            raise SystemExit(f"{what} exited: {path.read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} not ready in {timeout} s: {path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


def flask(env: dict[str, str], *args: str) -> str:
    """`flask --app web <args>` with `env`; its output, or the bench stops with it."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "web", *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()
