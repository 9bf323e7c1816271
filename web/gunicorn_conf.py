"""gunicorn settings for `make run` and the web image: `gunicorn --config web/gunicorn_conf.py web.wsgi:app`.

Everything an operator tunes comes from the environment (names in ENVIRONMENT_VARIABLES,
documented in README "Settings"); the defaults are the production ones.
"""

import json
import os
import signal
from datetime import UTC, datetime

from gunicorn.glogging import Logger

# The environment variables this file reads (the compose test checks every variable it sets is read).
ENVIRONMENT_VARIABLES = (
    "BIND",
    "PORT",
    "WEB_CONCURRENCY",
    "WEB_THREADS",
    "WEB_TIMEOUT",
    "WEB_GRACEFUL_TIMEOUT",
    "WEB_KEEPALIVE",
    "FORWARDED_ALLOW_IPS",
    "APP_ENV",
    "LOG_FORMAT",
)

# The ALB (terraform/modules/alb, idle_timeout) keeps an idle connection to a target open for
# 120 s. If gunicorn closed it first, the ALB could send a request down a socket gunicorn is
# closing and answer the client with a 502. So gunicorn waits longer than the ALB.
ALB_IDLE_TIMEOUT = 120


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, got {value}")
    return value


bind = os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT') or '8000'}"
workers = _int("WEB_CONCURRENCY", 2)
# Threads let a worker keep idle keep-alive connections without blocking (the sync worker
# closes every connection after one request).
worker_class = "gthread"
threads = _int("WEB_THREADS", 4)
# A request that runs longer than this is killed: the worker is restarted.
timeout = _int("WEB_TIMEOUT", 30)
# ECS stops a web task with SIGTERM, then SIGKILL after the container's stopTimeout: 120 s, the
# Fargate maximum (terraform/modules/app_services). Before the SIGTERM, the load balancer has
# drained the task for its deregistration delay (300 s, modules/alb), so what is still in flight
# here is an upload slower than that, or a task stopped without draining (a Spot interruption
# gives 120 s). In-flight requests get 110 s of it; the last 10 let the master stop its workers
# and exit before the SIGKILL.
graceful_timeout = _int("WEB_GRACEFUL_TIMEOUT", 110)
keepalive = _int("WEB_KEEPALIVE", ALB_IDLE_TIMEOUT + 5)
# X-Forwarded-Proto/-For are believed only from these peers: the load balancer's addresses (in
# ECS, the VPC or public subnet CIDRs, e.g. "10.30.0.0/16"); locally only 127.0.0.1. Never "*".
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1"

errorlog = "-"
# gunicorn 25+ opens a control socket under $HOME by default: the image's root filesystem is
# read-only on ECS, and nothing here uses `gunicornc`.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """SIGINT and SIGQUIT stop a worker the way SIGTERM does: stop accepting, finish the requests
    in flight, close kept-alive connections (after 2 s at most), exit.

    gunicorn's own handler for them shuts the thread pool down inside the signal handler, which
    takes the pool's lock. Ctrl-C in a terminal reaches each worker twice (SIGINT from the
    terminal, SIGQUIT from the master right after); when a signal arrives while that lock is held
    (by the first handler, or by the pool taking a request) the handler waits for it forever. The
    master then SIGKILLs the worker after graceful_timeout ("Perhaps out of memory?") and
    `make run` takes 20 s to stop. handle_exit only flags the loop and wakes it through a pipe,
    which is safe at any moment and again; the master still kills a worker that outlives
    graceful_timeout."""
    signal.signal(signal.SIGINT, worker.handle_exit)
    signal.signal(signal.SIGQUIT, worker.handle_exit)
    # The hash an unknown email is checked against, made before the first sign-in: that one
    # takes as long as any other (shared/accounts/passwords.py makes it on first use). Imported
    # here, in the worker, which has loaded the app: this file is also read by the master.
    from shared.accounts import passwords

    passwords.dummy_hash()


def worker_exit(server, worker) -> None:
    """The worker has left its loop: Ctrl-C's second signal, if it is still to come, is ignored.

    Python's shutdown, next, puts the default action back for signals it handled, and for SIGQUIT
    that is a core dump (the master logs "Worker was sent SIGQUIT!"). SIG_IGN is kept."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def _json_logs() -> bool:
    log_format = os.environ.get("LOG_FORMAT", "").strip().lower()
    if log_format:
        return log_format == "json"
    return os.environ.get("APP_ENV", "").strip().lower() == "production"


class JsonAccessLogger(Logger):
    """One JSON object per request (CloudWatch Logs Insights reads the fields).

    Built with json.dumps rather than access_log_format, so a quote in a user agent cannot break
    the line. No query string, body or cookie: the path alone (the app's own rule for logs)."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "remote_addr": environ.get("REMOTE_ADDR"),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "protocol": environ.get("SERVER_PROTOCOL"),
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "request_id": next((v for k, v in resp.headers if k.lower() == "x-request-id"), None),
        }
        self.access_log.info(json.dumps(entry))


if _json_logs():
    accesslog: str | None = "-"
    logger_class = JsonAccessLogger
else:
    # In development the app's own request line (web/logs.py) is enough.
    accesslog = None
