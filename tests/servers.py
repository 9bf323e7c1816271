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
import uuid
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


S3_TEST_BUCKET = "evidence-test"


@pytest.fixture(scope="session", name="s3_endpoint")
def s3_endpoint_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`s3_endpoint`: a moto S3 server for the whole run, with S3_TEST_BUCKET created; its URL.

    Import `s3_endpoint_fixture` into a conftest or test module to use it."""
    import boto3

    with pytest.MonkeyPatch.context() as patch:
        # boto3 reads its credential chain itself; moto accepts any.
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        with moto_s3_server(tmp_path_factory.mktemp("moto")) as endpoint:
            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=S3_TEST_BUCKET)
            yield endpoint


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


def redis_url_or_skip(url: str) -> str:
    """`url` when a Redis answers there; otherwise skip (fail under CI=true)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        unavailable(f"Redis not reachable at {url}: {error}")
    finally:
        client.close()
    return url


def private_redis_prefix() -> str:
    """A REDIS_KEY_PREFIX of this fixture's own. kombu prefixes every key with it, so two
    workers sharing a Redis database (xdist workers, other people's runs) never take each
    other's tasks."""
    return f"test-{uuid.uuid4().hex[:12]}:"


def delete_prefixed_keys(url: str, prefix: str) -> None:
    """Remove what a run left under its private prefix (queues, unacked tasks)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


class CeleryWorker:
    """`celery --app worker.celery_app worker` as a child process, as the container runs it."""

    def __init__(self, workdir: Path, environment: dict[str, str], *, queue: str, pool: str = "prefork") -> None:
        self.log = workdir / f"worker-{queue}.log"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(TESTS / "worker")]),
            "DATA_DIR": str(workdir),
            **environment,
        }
        command = [
            sys.executable, "-m", "celery", "--app", "worker.celery_app", "worker",
            "--loglevel", "INFO", "--pool", pool, "--concurrency", "1", "--queues", queue,
            "--include", "celery_test_tasks", "--hostname", f"{queue}@%h",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.output():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"celery worker not ready within {timeout} s:\n{self.output()[-3000:]}")

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def stop(self) -> None:
        stop(self.process, timeout=30)
