"""The processes a fault run starts for itself, each on its own free 127.0.0.1 port.

Never the machine's shared PostgreSQL or Redis: a PostgreSQL cluster made with initdb in the
run's temp folder (run as the `postgres` user, since we may be root), a redis-server with an
append-only file (so what was queued survives a stop), clamd with the shipped config and the
tests' EICAR signature database, moto's S3 server behind a switchable proxy (S3Proxy), a Celery
worker and beat, and gunicorn with web/gunicorn_conf.py. Every process is stopped by its own
PID at the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from bench.faultlib.s3proxy import S3Proxy

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
CLAMAV_TEST_DB = ROOT / "tests" / "worker" / "clamav-db"
SHIPPED_CLAMD_CONF = ROOT / "worker" / "clamd" / "clamd.conf"
SECRET_KEY = "faults-only-secret-key-0123456789abcdef0123456789"  # noqa: S105
DEMO_PASSWORD = "faults-demo-password-2026"  # noqa: S105
BUCKET = "evidence-faults"
# moto accepts any credentials; boto3 in the harness and in the app processes uses these.
MOTO_CREDENTIALS = {"aws_access_key_id": "faults", "aws_secret_access_key": "faults"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def wait_port(port: int, process: subprocess.Popen | None, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before listening on :{port}")
        if port_open(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def terminate(process: subprocess.Popen | None, timeout: float = 30) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(OSError):
        return [int(child) for child in path.read_text().split()]
    return []


class Service:
    """One child process with a log file; restartable on the same port."""

    name = "service"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        return None

    def start(self) -> None:
        log = (self.workdir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=self.environment(), stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        wait_port(self.port, self.process, self.name)

    def stop(self) -> None:
        terminate(self.process)
        self.process = None

    def log_tail(self, chars: int = 3000) -> str:
        path = self.workdir / f"{self.name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


class Redis(Service):
    name = "redis"

    def command(self) -> list[str]:
        return [
            "redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.workdir),
            "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no",
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class Clamd(Service):
    name = "clamd"

    def command(self) -> list[str]:
        folder = self.workdir / "clamd"
        folder.mkdir(exist_ok=True)
        settings = {
            "DatabaseDirectory": str(CLAMAV_TEST_DB),
            "TCPSocket": str(self.port),
            "TCPAddr": "127.0.0.1",
            "PidFile": str(folder / "clamd.pid"),
            "TemporaryDirectory": str(folder),
            "LogFile": str(folder / "clamd.log"),
            "Foreground": "yes",
        }
        dropped = {"User", "LocalSocket", "LocalSocketGroup", "LocalSocketMode", *settings}
        lines = [
            line
            for line in SHIPPED_CLAMD_CONF.read_text().splitlines()
            if not (line.strip() and not line.lstrip().startswith("#") and line.split(None, 1)[0] in dropped)
        ]
        lines += [f"{key} {value}" for key, value in settings.items()]
        config = folder / "clamd.conf"
        config.write_text("\n".join(lines) + "\n")
        return ["/usr/sbin/clamd", "--config-file", str(config)]

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"


class Moto(Service):
    name = "moto"

    def command(self) -> list[str]:
        return [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]


class Postgres:
    """A cluster of the run's own: initdb in the temp folder, pg_ctl start/restart/stop."""

    name = "postgres"

    def __init__(self, workdir: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin")
        self.bin = Path(found[-1]).parent
        self.workdir = workdir
        self.data = workdir / "pgdata"
        self.port = free_port()
        self.log = workdir / "postgres.log"

    def _as_postgres(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        self.data.mkdir(mode=0o700)
        self.log.touch()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
            shutil.chown(self.log, "postgres", "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8")  # fmt: skip
        # Durability is not what these cases test; speed on a shared machine is welcome.
        self._options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self.start()

    def start(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", self._options, "-l", str(self.log),
                          "-w", "-t", "60", "start")  # fmt: skip

    def restart(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", self._options, "-l", str(self.log),
                          "-m", "fast", "-w", "-t", "60", "restart")  # fmt: skip

    def stop(self) -> None:
        if self.data.exists():
            self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop",
                              check=False)  # fmt: skip

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


class AppProcess(Service):
    """gunicorn, the Celery worker or the beat: the app's own entry points with the run's settings."""

    def __init__(self, workdir: Path, name: str, env: dict[str, str], command: list[str], port: int | None) -> None:
        self.workdir = workdir
        self.name = name
        self.env = env
        self._command = command
        self.port = port or 0
        self.process = None

    def command(self) -> list[str]:
        return self._command

    def environment(self) -> dict[str, str]:
        return self.env

    def start(self, wait: bool = True) -> None:
        log = (self.workdir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(self._command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not wait:
            return
        if self.port:
            wait_port(self.port, self.process, self.name)
            self.wait_healthy()
        else:
            self.wait_for_log(" ready.", timeout=60)

    def wait_healthy(self, timeout: float = 180) -> None:
        """Until /healthz answers 200, as the load balancer's health check waits before routing:
        gunicorn listens at once, but its workers import the app first (slow on a busy machine)."""
        import urllib.request

        deadline = time.monotonic() + timeout
        healthy_in_a_row = 0  # requests land on either worker: a few in a row means both are up
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            url = f"http://127.0.0.1:{self.port}/healthz"
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:  # our own gunicorn
                    healthy_in_a_row = healthy_in_a_row + 1 if answer.status == 200 else 0
            except OSError:
                healthy_in_a_row = 0
            if healthy_in_a_row >= 4:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: /healthz not 200 within {timeout} s")

    def wait_for_log(self, text: str, timeout: float) -> None:
        path = self.workdir / f"{self.name}.log"
        start_size = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in path.read_text(errors="replace")[start_size:]:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: no {text!r} within {timeout} s:\n{self.log_tail()}")

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def kill_all(self) -> None:
        """SIGKILL the process and its children (the container dying at once)."""
        if self.process is None:
            return
        for pid in [*children_of(self.process.pid), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None


class Stack:
    """Everything the app needs, plus the app; `env` is what gunicorn, worker, beat and CLI read."""

    def __init__(self, workdir: Path, *, short: bool) -> None:
        self.workdir = workdir
        self.short = short
        self.postgres = Postgres(workdir)
        self.redis = Redis(workdir)
        self.clamd = Clamd(workdir)
        self.moto = Moto(workdir)
        self.s3proxy: S3Proxy | None = None
        self.web_port = free_port()
        # The webhook case's receiver listens here; the app may post to it (below) and nowhere private else.
        self.webhook_receiver_port = free_port()
        self.env: dict[str, str] = {}
        self.web: AppProcess | None = None
        self.worker: AppProcess | None = None
        self.beat: AppProcess | None = None

    # -- start / stop ---------------------------------------------------------------------------
    def start(self) -> None:
        self.postgres.init()
        for service in (self.redis, self.clamd, self.moto):
            service.start()
        self.s3proxy = S3Proxy(self.moto.port)
        aws = {"AWS_ACCESS_KEY_ID": "faults", "AWS_SECRET_ACCESS_KEY": "faults", "AWS_DEFAULT_REGION": "us-east-1"}
        import boto3

        boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{self.moto.port}", region_name="us-east-1", **MOTO_CREDENTIALS
        ).create_bucket(Bucket=BUCKET)  # fmt: skip
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.postgres.port), "-U", "postgres", "-qc",
             "CREATE DATABASE incidents"], check=True, capture_output=True,
        )  # fmt: skip
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(ROOT),
            **aws,
            "APP_ENV": "development",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": self.postgres.dsn("incidents").replace("postgresql://", "postgresql+psycopg2://"),
            "SECRET_KEY": SECRET_KEY,
            "DEMO_PASSWORD": DEMO_PASSWORD,
            "REDIS_URL": self.redis.url,
            "RATE_LIMIT_LOGIN": "10000 per minute",
            "RATE_LIMIT_API": "100000 per minute",
            "DATA_DIR": str(self.workdir / "data"),
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": self.s3proxy.url,
            "SCANNING_ENABLED": "true",
            "CLAMD_ADDRESS": self.clamd.address,
            "CLAMD_TIMEOUT_SECONDS": "20",
            # A killed worker's unacknowledged task comes back after this (the task limit is below it).
            "TASK_TIME_LIMIT_SECONDS": "60",  # soft limit 30 s: big files on a busy machine fit
            "BROKER_VISIBILITY_TIMEOUT_SECONDS": "70",
            "BROKER_PUBLISH_TIMEOUT_SECONDS": "1",
            "TASK_MAX_RETRIES": "4",
            "WORKER_SOFT_SHUTDOWN_SECONDS": "5",
            "REMAP_SIGTERM": "SIGQUIT",
            "ORPHAN_SWEEP_INTERVAL_SECONDS": "15",
            "ORPHAN_GRACE_SECONDS": "10",
            "WEB_CONCURRENCY": "2",
            "WEB_THREADS": "8",
            "WEB_GRACEFUL_TIMEOUT": "20",
            # Development-only settings (production refuses http): the receiver is plain http on 127.0.0.1.
            "WEBHOOK_ALLOW_HTTP": "true",
            "WEBHOOK_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{self.webhook_receiver_port}",
            "WEBHOOK_TIMEOUT_SECONDS": "5",
        }
        for args in (["db", "upgrade"], ["demo", "seed"]):
            self.flask(*args)
        self.start_app()

    def start_app(self) -> None:
        self.web = self.make_web()
        self.web.start()
        self.worker = self.make_worker()
        self.worker.start()
        self.beat = AppProcess(
            self.workdir, "beat", self.env,
            [str(BIN / "celery"), "--app", "worker.celery_app", "beat", "--loglevel", "INFO",
             "--schedule", str(self.workdir / "celerybeat-schedule")],
            None,
        )  # fmt: skip
        self.beat.start(wait=False)
        self.beat.wait_for_log("beat: Starting", timeout=60)

    def make_web(self, name: str = "gunicorn", port: int | None = None) -> AppProcess:
        port = port or self.web_port
        return AppProcess(
            self.workdir, name, {**self.env, "BIND": f"127.0.0.1:{port}"},
            [str(BIN / "gunicorn"), "--config", "web/gunicorn_conf.py", "web.wsgi:app"],
            port,
        )  # fmt: skip

    def make_worker(self, name: str = "worker") -> AppProcess:
        return AppProcess(
            self.workdir, name, self.env,
            [str(BIN / "celery"), "--app", "worker.celery_app", "worker", "--loglevel", "INFO",
             "--concurrency", "2", "--hostname", f"{name}-{time.monotonic_ns()}@%h",
             "--without-gossip", "--without-mingle"],
            None,
        )  # fmt: skip

    def stop_app(self) -> None:
        for process in (self.beat, self.worker, self.web):
            if process is not None:
                process.stop()

    def reconfigure(self, **env: str) -> None:
        """Restart web, worker and beat with changed settings (e.g. another storage backend)."""
        self.stop_app()
        self.env.update(env)
        self.start_app()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.stop_app()
        if self.s3proxy is not None:
            self.s3proxy.close()
        for service in (self.moto, self.clamd, self.redis):
            with contextlib.suppress(Exception):
                service.stop()
        with contextlib.suppress(Exception):
            self.postgres.stop()

    # -- helpers --------------------------------------------------------------------------------
    def flask(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "web", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def audit_verify(self) -> tuple[bool, str]:
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "web", "audit", "verify", "--full"], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        return done.returncode == 0, (done.stdout + done.stderr).strip()[-500:]

    def token(self, email: str, scope: str = "write") -> str:
        return self.flask("tokens", "create", "--user", email, "--scope", scope).stdout.strip().splitlines()[-1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"
