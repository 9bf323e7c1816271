"""Real servers for the tests: moto's S3 server and clamd, each on a free 127.0.0.1 port.

Each helper is a context manager that starts the program as a child process, waits until it
answers, yields where it listens, and stops it (by its own PID) at the end. A program that is
not installed skips the tests that need it with the reason, except under CI=true, where it
fails them: CI must never pass by silently testing less (as tests/conftest.py does for
PostgreSQL).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
CLAMAV_TEST_DB = TESTS / "worker" / "clamav-db"
SHIPPED_CLAMD_CONF = REPO_ROOT / "worker" / "clamd" / "clamd.conf"


def unavailable(message: str) -> None:
    """Skip with the reason, or fail under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, *, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            shown = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {process.returncode} before listening: {shown}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def stop(process: subprocess.Popen, *, timeout: float = 10) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def _program(name: str, *candidates: Path) -> str | None:
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


@contextlib.contextmanager
def moto_s3_server(workdir: Path) -> Iterator[str]:
    """moto in server mode; yields its endpoint URL (http://127.0.0.1:PORT)."""
    program = _program("moto_server", Path(sys.executable).parent / "moto_server")
    if program is None:
        unavailable("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    log = workdir / "moto.log"
    with log.open("wb") as out:
        process = subprocess.Popen([program, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, timeout=30, what="moto_server", log=log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def clamd_config(workdir: Path, port: int, *, overrides: dict[str, str] | None = None) -> Path:
    """The shipped worker/clamd/clamd.conf with this run's socket, folders and test signatures."""
    settings: dict[str, str | None] = {
        "DatabaseDirectory": str(CLAMAV_TEST_DB),
        "TCPSocket": str(port),
        "TCPAddr": "127.0.0.1",
        "PidFile": str(workdir / "clamd.pid"),
        "TemporaryDirectory": str(workdir),
        "LogFile": str(workdir / "clamd.log"),
        "Foreground": "yes",
        "User": None,  # the shipped file runs as clamav in the image; tests run as whoever they are
        "LocalSocket": None,
        "LocalSocketGroup": None,
        "LocalSocketMode": None,
    }
    settings.update(overrides or {})
    lines = []
    for line in SHIPPED_CLAMD_CONF.read_text().splitlines():
        key = line.split(None, 1)[0] if line.strip() and not line.lstrip().startswith("#") else None
        if key in settings:
            continue
        lines.append(line)
    lines += [f"{key} {value}" for key, value in settings.items() if value is not None]
    path = workdir / "clamd.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


@contextlib.contextmanager
def clamd_server(workdir: Path, *, overrides: dict[str, str] | None = None) -> Iterator[str]:
    """clamd with the shipped config and the test signature database; yields tcp://127.0.0.1:PORT.

    `overrides` replaces lines of the shipped config (e.g. smaller limits)."""
    program = _program("clamd", Path("/usr/sbin/clamd"))
    if program is None:
        unavailable("clamd is not installed (apt-get install clamav-daemon)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = clamd_config(workdir, port, overrides=overrides)
    log = workdir / "clamd.log"
    process = subprocess.Popen(
        [program, "--config-file", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process, timeout=60, what="clamd", log=log)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        stop(process)
