"""web/gunicorn_conf.py: settings from the environment, keep-alive longer than the ALB's idle
timeout (a shorter one makes the ALB answer 502 on a connection gunicorn just closed), JSON
access log in production."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time

from delivery_helpers import REPO_ROOT, base_environment, free_port, running

CONFIG = REPO_ROOT / "web" / "gunicorn_conf.py"
ALB_VARIABLES = REPO_ROOT / "terraform" / "modules" / "alb" / "variables.tf"
ECS_SERVICE_VARIABLES = REPO_ROOT / "terraform" / "modules" / "ecs_service" / "variables.tf"
APP_SERVICES = REPO_ROOT / "terraform" / "modules" / "app_services" / "main.tf"
# The longest container stopTimeout Fargate allows.
FARGATE_MAX_STOP_TIMEOUT = 120
# The slowest upload a deploy must let finish: UPLOAD_MAX_BYTES (its default) over a 6 Mbit/s
# uplink, about 280 s for 200 MiB.
SLOWEST_UPLINK_BITS_PER_SECOND = 6_000_000
COMMAND = [sys.executable, "-m", "gunicorn", "--config", "web/gunicorn_conf.py", "web.wsgi:app"]
SETTINGS = (
    "bind",
    "workers",
    "threads",
    "worker_class",
    "timeout",
    "graceful_timeout",
    "keepalive",
    "forwarded_allow_ips",
    "accesslog",
)


def load_config(**env: str) -> dict:
    """Execute the config file in a fresh interpreter with exactly this environment."""
    code = (
        "import json, runpy; c = runpy.run_path('web/gunicorn_conf.py');"
        f"print(json.dumps({{k: c.get(k) for k in {SETTINGS!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=base_environment(**env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def alb_idle_timeout() -> int:
    match = re.search(r'variable "idle_timeout" \{.*?default\s*=\s*(\d+)', ALB_VARIABLES.read_text(), re.S)
    assert match, f"no idle_timeout default in {ALB_VARIABLES}"
    return int(match.group(1))


def _web_stop_timeout() -> int:
    web = APP_SERVICES.read_text().split('module "web" {', 1)[1].split("\n}\n", 1)[0]
    match = re.search(r"^\s*stop_timeout\s*=\s*(\d+)", web, re.M)
    assert match, f"the web service in {APP_SERVICES} sets no stop_timeout (ECS's default is 30 s)"
    return int(match.group(1))


def test_defaults_keep_connections_longer_than_the_load_balancer():
    config = load_config()
    assert config["keepalive"] > alb_idle_timeout()
    assert config["worker_class"] == "gthread"  # the sync worker ignores keep-alive
    assert config["graceful_timeout"] < _web_stop_timeout()  # then ECS sends SIGKILL
    assert config["forwarded_allow_ips"] == "127.0.0.1"
    assert config["bind"] == "0.0.0.0:8000"
    assert config["accesslog"] is None  # development: the app's own request line is enough


def test_a_deploy_lets_the_slowest_supported_upload_finish():
    # ECS drains a task for the target group's deregistration delay (no new requests; the ones in
    # flight go on), then sends SIGTERM; gunicorn finishes what is left within graceful_timeout,
    # and ECS sends SIGKILL after the web container's stopTimeout.
    from shared.config import Settings

    upload_seconds = Settings.model_fields["upload_max_bytes"].default * 8 / SLOWEST_UPLINK_BITS_PER_SECOND
    match = re.search(r'variable "deregistration_delay" \{.*?default\s*=\s*(\d+)', ALB_VARIABLES.read_text(), re.S)
    assert match, f"no deregistration_delay default in {ALB_VARIABLES}"
    delay = int(match.group(1))
    assert delay >= upload_seconds, f"a {upload_seconds:.0f} s upload is cut after the {delay} s drain"
    assert delay >= alb_idle_timeout()
    # Previews' own target groups (ecs_service, listener_rule) drain the same way.
    preview = re.search(r"deregistration_delay\s*=\s*optional\(number,\s*(\d+)\)", ECS_SERVICE_VARIABLES.read_text())
    assert preview, f"no listener_rule deregistration_delay default in {ECS_SERVICE_VARIABLES}"
    assert int(preview.group(1)) == delay
    stop_timeout = _web_stop_timeout()
    assert stop_timeout == FARGATE_MAX_STOP_TIMEOUT
    # In-flight requests get nearly all of it, and gunicorn exits before the SIGKILL.
    assert stop_timeout - 15 <= load_config()["graceful_timeout"] < stop_timeout


def test_docker_compose_stops_the_web_after_gunicorn_has_let_requests_finish():
    import yaml

    compose = yaml.safe_load((REPO_ROOT / "docker" / "compose.yaml").read_text())
    grace = compose["services"]["web"].get("stop_grace_period", "10s")  # Docker's default: 10 s
    seconds = int(re.fullmatch(r"(\d+)s", grace).group(1))
    assert load_config()["graceful_timeout"] < seconds


def test_settings_come_from_the_environment():
    config = load_config(
        PORT="9123",
        WEB_CONCURRENCY="5",
        WEB_THREADS="7",
        WEB_TIMEOUT="40",
        WEB_GRACEFUL_TIMEOUT="25",
        WEB_KEEPALIVE="200",
        FORWARDED_ALLOW_IPS="10.30.0.0/16",
        APP_ENV="production",
    )
    assert config == {
        "bind": "0.0.0.0:9123",
        "workers": 5,
        "threads": 7,
        "worker_class": "gthread",
        "timeout": 40,
        "graceful_timeout": 25,
        "keepalive": 200,
        "forwarded_allow_ips": "10.30.0.0/16",
        "accesslog": "-",
    }
    assert load_config(BIND="127.0.0.1:7000", PORT="1")["bind"] == "127.0.0.1:7000"


def test_a_wrong_number_stops_with_the_name_of_the_variable():
    result = subprocess.run(
        [sys.executable, "-c", "import runpy; runpy.run_path('web/gunicorn_conf.py')"],
        cwd=REPO_ROOT,
        env=base_environment(WEB_THREADS="many"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "WEB_THREADS must be a whole number" in result.stderr


def _get(connection: socket.socket, path: str) -> bytes:
    """One HTTP/1.1 request on an open connection; the whole response (headers + body)."""
    connection.sendall(f'GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: probe "quoted"\r\n\r\n'.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def _serve(tmp_path, **env: str):
    port = free_port()
    environment = base_environment(
        PORT=str(port),
        WEB_CONCURRENCY="1",
        WEB_THREADS="2",
        DATA_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
        **env,
    )
    return port, running(COMMAND, environment, port, tmp_path / "gunicorn.log")


def test_an_idle_connection_is_reused_after_seconds_and_access_log_is_json(tmp_path):
    port, server = _serve(tmp_path, LOG_FORMAT="json")
    with server, socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        assert _get(connection, "/healthz?token=secret").startswith(b"HTTP/1.1 200")
        time.sleep(3)  # longer than gunicorn's old 2 s keep-alive
        assert _get(connection, "/healthz").startswith(b"HTTP/1.1 200"), "the idle connection was closed"
    access = [
        json.loads(line)
        for line in (tmp_path / "gunicorn.log").read_text().splitlines()
        if line.startswith("{") and '"gunicorn.access"' in line
    ]
    ours = [entry for entry in access if entry["user_agent"] == 'probe "quoted"']  # not the start-up probe
    assert [(entry["path"], entry["status"]) for entry in ours] == [("/healthz", 200), ("/healthz", 200)]
    assert "secret" not in (tmp_path / "gunicorn.log").read_text()  # never the query string


def test_keepalive_is_read_from_the_environment(tmp_path):
    port, server = _serve(tmp_path, WEB_KEEPALIVE="1")
    with server, socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        assert _get(connection, "/healthz").startswith(b"HTTP/1.1 200")
        time.sleep(3)
        try:
            answer = _get(connection, "/healthz")
        except OSError:
            answer = b""
        assert answer == b"", "WEB_KEEPALIVE=1 should have closed the idle connection"


# A gthread worker as gunicorn builds it (init_process up to the hook), then signals that arrive
# while the thread pool's lock is held: as when Ctrl-C's SIGINT is still being handled when the
# master's SIGQUIT comes, or when the pool is taking a request. Run in a child process: a handler
# that waits for that lock hangs it for good. Then the worker leaves its loop (gunicorn calls
# worker_exit) and Ctrl-C's signals arrive again while Python shuts down.
_CTRL_C_IN_A_WORKER = """
import logging, os, runpy, signal
from gunicorn.config import Config
from gunicorn.workers.gthread import ThreadWorker

worker = ThreadWorker(1, os.getppid(), [], None, 30, Config(), logging.getLogger("probe"))
worker.PIPE = os.pipe()
for end in worker.PIPE:
    os.set_blocking(end, False)
worker.tpool = worker.get_thread_pool()
worker.method_queue.init()
worker.init_signals()
hooks = runpy.run_path("web/gunicorn_conf.py")  # gunicorn's default hooks do nothing
hooks.get("post_worker_init", lambda worker: None)(worker)
for name in ("SIGINT", "SIGQUIT", "SIGINT", "SIGTERM"):
    worker.alive = True
    with worker.tpool._shutdown_lock:
        os.kill(os.getpid(), getattr(signal, name))
        sum(range(1000))  # Python runs the handler here, with the lock still held
    print(name, "stops" if not worker.alive else "goes unheard", flush=True)
hooks.get("worker_exit", lambda server, worker: None)(None, worker)
print("left the loop", flush=True)
# What Python's shutdown does next: the default action back for each signal it was handling.
for number in (signal.SIGINT, signal.SIGQUIT):
    if callable(signal.getsignal(number)):
        signal.signal(number, signal.SIG_DFL)
os.kill(os.getpid(), signal.SIGQUIT)
os.kill(os.getpid(), signal.SIGINT)
print("still here", flush=True)
"""


def test_ctrl_c_stops_a_worker_gracefully_without_waiting_on_its_thread_pool_or_dying_of_it():
    try:
        result = subprocess.run(
            [sys.executable, "-c", _CTRL_C_IN_A_WORKER],
            cwd=REPO_ROOT,
            env=base_environment(),
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired as hung:
        raise AssertionError(f"the worker hung in its signal handler ({hung.timeout} s)") from None
    assert result.stdout.splitlines() == [
        "SIGINT stops",
        "SIGQUIT stops",
        "SIGINT stops",
        "SIGTERM stops",
        "left the loop",
        "still here",
    ]
    assert result.returncode == 0, result.stderr
