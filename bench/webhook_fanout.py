"""The webhook fan-out bench (issue #13, #8/#10's webhooks; run by `make bench` through bench/run.sh).

WEBHOOK_BENCH_EVENTS (1,000) incidents are created through the JSON API (POST /api/v1/incidents,
WEBHOOK_BENCH_CLIENTS parallel clients) of gunicorn; each commit's outbox message goes through
the after-commit relay to Redis, the real Celery worker (prefork, 2 processes, as `make run`
starts it) fans it out to one signed `incident.created` delivery and sends it to a receiver on
127.0.0.1. The beat runs too (its `notifications-dispatch-due` sweep hands out retries).

The receiver is a separate process (its own GIL): it verifies every request with the
`standardwebhooks` library against the endpoint's secret, answers 204, and records each arrival
by `webhook-id` (duplicates counted) and by incident key (a second id for one incident would be
a double fan-out: counted as a duplicate too).

Figures, each beside a baseline from the same run:
- deliveries/s: events / (last delivery - first create request sent); baseline: the same number of signed
  POSTs with the same bodies sent one after another from this one Python process through the
  same code the worker uses (shared.notifications.webhooks.attempt_delivery: sign, pinned
  connection, one POST, Connection: close) to the same receiver. It is the cost of the HTTP part
  alone, with no database, broker, queue or fan-out: what is left above it is the pipeline's
  price for durability. Target >= 50 % of it.
- p95 from commit to delivery: receiver arrival minus the incident's `created_at` (written in
  the committing transaction, so slightly before the commit: the figure errs long); baseline:
  the direct POSTs' p95 round trip. Target p95 <= 5 s: an on-call engineer's tooling hears of a
  new incident within seconds, even while a burst of 1,000 is being filed.
- commit -> delivery p95, paced: after the bursts, WEBHOOK_BENCH_PACED_EVENTS (100) incidents
  from one client at up to WEBHOOK_BENCH_PACED_RATE (5) per second: one event's own path (relay,
  one task, one POST) with nothing queued ahead. Target p95 <= 2 s.
- duplicates (must be 0) and lost (must be 0: every incident the API answered 201 for arrives
  at the receiver, verified, within WEBHOOK_BENCH_TIMEOUT).

Uses a fresh PostgreSQL database `bench_fanout_<pid>` (dropped at the end) and the shared Redis
under its own key prefix `bench-fanout-<pid>:` (keys deleted at the end); WEBHOOK_ALLOW_HTTP and
WEBHOOK_ALLOW_PRIVATE_HOSTS=127.0.0.1:<receiver port> (development/test-only settings) let the
worker post to the local receiver. Every child process is stopped by its own PID. Exits
non-zero when anything is lost, duplicated or fails verification.

Environment: WEBHOOK_BENCH_EVENTS (1000), WEBHOOK_BENCH_CLIENTS (4), WEBHOOK_BENCH_PACED_EVENTS
(100), WEBHOOK_BENCH_PACED_RATE (5), WEBHOOK_BENCH_ROUNDS (2:
pipeline and baseline rounds, interleaved; figures are medians), WEBHOOK_BENCH_TIMEOUT (300 s per
round), WEBHOOK_BENCH_REDIS_URL (redis://127.0.0.1:6379/0), BENCH_PG, WEBHOOK_BENCH_KEEP_LOGS=1.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import BIN, PG, Children, flask, fresh_database  # noqa: E402
from bench.report import WEBHOOK_FANOUT, entry, print_table, write_entries  # noqa: E402
from shared.demo import DEFAULT_DEMO_PASSWORD  # noqa: E402
from tests.servers import free_port, wait_for_port  # noqa: E402

SECRET_KEY = "fanout-bench-only-secret-key-0123456789abcdef0123"  # noqa: S105
HOOK_PATH = "/hooks/incidents"
THROUGHPUT_TARGET = 0.5  # of the direct baseline's deliveries/s
P95_TARGET_SECONDS = 5.0
PACED_P95_TARGET_SECONDS = 2.0  # one event with nothing queued ahead: the relay, one task, one POST


def log(message: str) -> None:
    print(f"[bench-fanout {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# --- the receiver (its own process) -----------------------------------------------------------


def receiver_main(port: int, secret: str, ready) -> None:  # pragma: no cover - runs in a child process
    """Verify each POST with standardwebhooks, dedup by webhook-id; /control/* reads and resets."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    verifier = Webhook(secret)
    lock = threading.Lock()
    state: dict = {}

    def reset() -> None:
        state.update(first={}, duplicates=0, by_key={}, double_fan_out=0, bad_signatures=0, requests=0)

    reset()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if body:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path != "/control/stats":
                return self._answer(404)
            with lock:
                body = json.dumps(state).encode()
            self._answer(200, body)

        def do_POST(self) -> None:
            arrived = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/control/reset":
                with lock:
                    reset()
                return self._answer(204)
            if self.path != HOOK_PATH:
                return self._answer(404)
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                payload = verifier.verify(body, headers)
            except WebhookVerificationError:
                with lock:
                    state["requests"] += 1
                    state["bad_signatures"] += 1
                return self._answer(400)
            webhook_id = headers["webhook-id"]
            key = payload["data"]["incident"]["key"]
            created = datetime.fromisoformat(payload["data"]["incident"]["created_at"].replace("Z", "+00:00"))
            with lock:
                state["requests"] += 1
                if webhook_id in state["first"]:
                    state["duplicates"] += 1
                else:
                    state["first"][webhook_id] = [key, arrived, arrived - created.timestamp()]
                    if key in state["by_key"]:
                        state["double_fan_out"] += 1
                    state["by_key"][key] = webhook_id
            self._answer(204)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    ready.set()
    server.serve_forever()


class Receiver:
    def __init__(self, port: int, secret: str) -> None:
        self.port = port
        ready = multiprocessing.Event()
        self.process = multiprocessing.Process(target=receiver_main, args=(port, secret, ready), daemon=True)
        self.process.start()
        if not ready.wait(30):
            raise SystemExit("the webhook receiver did not start")

    def stats(self) -> dict:
        return json.loads(http_call(self.port, "GET", "/control/stats")[1])

    def reset(self) -> None:
        http_call(self.port, "POST", "/control/reset", b"")

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(10)


# --- requests and the database ----------------------------------------------------------------


def http_call(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
              timeout: float = 60) -> tuple[int, bytes]:  # fmt: skip
    """One request to 127.0.0.1:port on a fresh connection; (status, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def api(port: int, token: str, method: str, path: str, body: dict) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, answer = http_call(port, method, path, json.dumps(body).encode(), headers)
    if status >= 300:
        return status, {"error": answer.decode(errors="replace")[:500]}
    return status, json.loads(answer or b"{}")


def delivery_states(dsn: str) -> dict[str, int]:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT status, count(*) FROM webhook_deliveries GROUP BY status ORDER BY status")
        states = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM webhook_deliveries WHERE attempts > 1")
        states["retried"] = cursor.fetchone()[0]
    connection.close()
    return states


def percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(len(ordered) * pct / 100) - 1))]


# --- one round of each ------------------------------------------------------------------------


def pipeline_round(number: int | str, web_port: int, token: str, receiver: Receiver, events: int, clients: int,
                   timeout: float, pace: float | None = None) -> dict:  # fmt: skip
    """Create `events` incidents through the API at once (or one client at `pace` per second);
    wait until each one's webhook arrived."""
    receiver.reset()
    created: dict[str, float] = {}
    failures: list[str] = []

    def create(n: int) -> None:
        if pace:
            time.sleep(max(0.0, started + n / pace - time.time()))
        status, body = api(web_port, token, "POST", "/api/v1/incidents",
                           {"title": f"Fan-out bench round {number} event {n}", "priority": "P3",
                            "component": "bench", "description": "Created by bench/webhook_fanout.py."})  # fmt: skip
        if status == 201:
            created[body["key"]] = time.time()
        else:
            failures.append(f"{status} {body}")

    started = time.time()
    with ThreadPoolExecutor(1 if pace else clients) as pool:
        list(pool.map(create, range(events)))
    created_in = time.time() - started
    if failures:
        raise SystemExit(f"{len(failures)} creates failed, e.g. {failures[0]}")
    deadline = time.monotonic() + timeout
    while True:
        stats = receiver.stats()
        arrived = {key for key, _at, _latency in stats["first"].values()}
        if created.keys() <= arrived or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    # A late twin (a redelivery after a lapsed lease) would come within the dispatch sweep's
    # period: wait for one more sweep before counting duplicates.
    time.sleep(6)
    stats = receiver.stats()
    firsts = [v for v in stats["first"].values() if v[0] in created]
    latencies = [latency for _key, _at, latency in firsts]
    last = max((at for _key, at, _latency in firsts), default=time.time())
    first_commit = min(created.values()) if created else started
    lost = len(created.keys() - {key for key, _at, _latency in firsts})
    result = {
        "rate": len(firsts) / (last - started) if firsts else 0.0,
        "p95": percentile(latencies, 95) if latencies else float("inf"),
        "p50": statistics.median(latencies) if latencies else float("inf"),
        "max": max(latencies, default=float("inf")),
        "created_per_s": events / created_in,
        "duplicates": stats["duplicates"] + stats["double_fan_out"],
        "bad_signatures": stats["bad_signatures"],
        "lost": lost,
        "unexpected": len(stats["first"]) - len(firsts),
    }
    log(f"pipeline round {number}: {events} creates in {created_in:.1f} s ({result['created_per_s']:.0f}/s, first "
        f"201 after {first_commit - started:.2f} s); delivered {len(firsts)} at {result['rate']:.1f}/s; commit -> "
        f"delivery p50 {result['p50']:.2f} s, p95 {result['p95']:.2f} s, max {result['max']:.2f} s; duplicates "
        f"{result['duplicates']}, lost {lost}, bad signatures {stats['bad_signatures']}")  # fmt: skip
    return result


def baseline_round(number: int, receiver: Receiver, secret: str, bodies: list[bytes]) -> dict:
    """The same bodies, signed and POSTed one after another from this process by the worker's code."""
    from shared.notifications import webhooks
    from shared.notifications.ssrf import WebhookPolicy, parse_allowed_hosts

    receiver.reset()
    policy = WebhookPolicy(allow_http=True, allow_private_hosts=parse_allowed_hosts(f"127.0.0.1:{receiver.port}"))
    url = f"http://127.0.0.1:{receiver.port}{HOOK_PATH}"
    durations, failed = [], 0
    started = time.perf_counter()
    for n, body in enumerate(bodies):
        sent = time.perf_counter()
        result = webhooks.attempt_delivery(
            url=url, webhook_id=f"baseline-{number}-{n}", body=body, secrets=[secret], policy=policy
        )
        durations.append(time.perf_counter() - sent)
        failed += not result.delivered
    elapsed = time.perf_counter() - started
    stats = receiver.stats()
    result = {
        "rate": len(bodies) / elapsed,
        "p95": percentile(durations, 95),
        "failed": failed,
        "bad_signatures": stats["bad_signatures"],
    }
    log(f"baseline round {number}: {len(bodies)} direct signed POSTs at {result['rate']:.1f}/s, p95 "
        f"{result['p95'] * 1000:.1f} ms, failed {failed}, bad signatures {stats['bad_signatures']}")  # fmt: skip
    return result


# --- the run ----------------------------------------------------------------------------------


def main() -> int:
    events = int(os.environ.get("WEBHOOK_BENCH_EVENTS", "1000"))
    clients = int(os.environ.get("WEBHOOK_BENCH_CLIENTS", "4"))
    rounds = int(os.environ.get("WEBHOOK_BENCH_ROUNDS", "2"))
    timeout = float(os.environ.get("WEBHOOK_BENCH_TIMEOUT", "300"))
    paced_events = int(os.environ.get("WEBHOOK_BENCH_PACED_EVENTS", "100"))
    paced_rate = float(os.environ.get("WEBHOOK_BENCH_PACED_RATE", "5"))
    redis_url = os.environ.get("WEBHOOK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench-fanout-{os.getpid()}:"
    log(f"{events} events x {rounds} round(s), {clients} API clients; Redis {redis_url} under {prefix!r}")
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as error:
        raise SystemExit(f"Redis is not reachable at {redis_url} (set WEBHOOK_BENCH_REDIS_URL): {error}") from None
    workdir = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    stack = Children(workdir)
    receivers: list[Receiver] = []
    try:
        with fresh_database("bench_fanout") as dbname:
            results, healthy = run(workdir, stack, receivers, dbname, redis_url, prefix, events, clients, rounds,
                                   timeout, paced_events, paced_rate)  # fmt: skip
    finally:
        for receiver in receivers:
            receiver.stop()
        stack.stop_all()
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
        client.close()
        if os.environ.get("WEBHOOK_BENCH_KEEP_LOGS") == "1":
            log(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    write_entries(results, source=WEBHOOK_FANOUT)
    log(f"merged {len(results)} entries into bench/results.json")
    return 0 if healthy else 1


def run(workdir, stack, receivers, dbname, redis_url, prefix, events, clients, rounds, timeout, paced_events,
        paced_rate):  # fmt: skip
    web_port, receiver_port = free_port(), free_port()
    dsn = f"{PG}/{dbname}"
    env = {
        **os.environ,
        "DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg2://"),
        "SECRET_KEY": SECRET_KEY,
        "DEMO_PASSWORD": DEFAULT_DEMO_PASSWORD,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_API": "1000000 per minute",
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        # Email off: the bench measures webhooks (P3 incidents mail nobody anyway).
        "SMTP_HOST": "",
        "MAIL_DIR": "",
        "WEBHOOK_ALLOW_HTTP": "true",
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{receiver_port}",
        "DATA_DIR": str(workdir / "data"),
        "PYTHONPATH": str(ROOT),
    }
    flask(env, "db", "upgrade")
    flask(env, "demo", "seed")
    admin_token = flask(env, "tokens", "create", "--user", "admin@example.com", "--scope", "admin").splitlines()[-1]
    lead_token = flask(env, "tokens", "create", "--user", "lead@example.com", "--scope", "write").splitlines()[-1]
    gunicorn = stack.start(
        "gunicorn",
        [str(BIN / "gunicorn"), "--config", "web/gunicorn_conf.py", "web.wsgi:app"],
        env={**env, "BIND": f"127.0.0.1:{web_port}"},
    )
    wait_for_port(web_port, gunicorn, timeout=60, what="gunicorn")
    status, endpoint = api(web_port, admin_token, "POST", "/api/v1/webhooks",
                           {"url": f"http://127.0.0.1:{receiver_port}{HOOK_PATH}", "events": ["incident.created"],
                            "description": "bench/webhook_fanout.py receiver"})  # fmt: skip
    if status != 201:
        raise SystemExit(f"creating the webhook endpoint answered {status}: {endpoint}")
    receiver = Receiver(receiver_port, endpoint["secret"])
    receivers.append(receiver)
    stack.start_worker_and_beat(env, hostname=f"bench-fanout-{os.getpid()}")

    # Warm-up: one event through every process (imports, connection pools) before measuring.
    warm = pipeline_round(0, web_port, lead_token, receiver, 4, 1, 60)
    if warm["lost"]:
        raise SystemExit(f"the warm-up event never arrived; see {workdir} (WEBHOOK_BENCH_KEEP_LOGS=1)")
    pipeline, baseline = [], []
    for number in range(1, rounds + 1):
        pipeline.append(pipeline_round(number, web_port, lead_token, receiver, events, clients, timeout))
        with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT body FROM webhook_deliveries ORDER BY id DESC LIMIT %s", (events,))
            bodies = [row[0].encode() for row in cursor.fetchall()]
        connection.close()
        baseline.append(baseline_round(number, receiver, endpoint["secret"], bodies))
    # A steady trickle instead of a burst: the latency of one event when nothing is queued ahead.
    paced = pipeline_round("paced", web_port, lead_token, receiver, paced_events, 1, timeout, pace=paced_rate)
    states = delivery_states(dsn)
    log(f"webhook_deliveries by status: {states}")
    worker_errors = (workdir / "worker.log").read_text(errors="replace").count("Traceback")
    if worker_errors:
        log(f"the worker logged {worker_errors} tracebacks")

    rate = statistics.median(r["rate"] for r in pipeline)
    base_rate = statistics.median(r["rate"] for r in baseline)
    p95 = statistics.median(r["p95"] for r in pipeline)
    p50 = statistics.median(r["p50"] for r in pipeline)
    base_p95 = statistics.median(r["p95"] for r in baseline)
    duplicates = sum(r["duplicates"] for r in [*pipeline, paced])
    lost = sum(r["lost"] for r in [*pipeline, paced])
    bad = sum(r["bad_signatures"] for r in [*pipeline, paced])
    bad += sum(r["bad_signatures"] + r["failed"] for r in baseline)
    label = f"{events} events, worker x2"
    results = [
        entry(f"webhook fan-out deliveries/s ({label})", rate, "deliveries/s", "direct signed POSTs/s, 1 process",
              base_rate, f">= {THROUGHPUT_TARGET:.0%} of direct", rate >= THROUGHPUT_TARGET * base_rate),
        entry(f"webhook fan-out commit -> delivery p95 ({label})", p95 * 1000, "ms", "direct POST round trip p95 ms",
              base_p95 * 1000, f"<= {P95_TARGET_SECONDS * 1000:g} ms", p95 <= P95_TARGET_SECONDS),
        entry(f"webhook fan-out commit -> delivery p50 ({label})", p50 * 1000, "ms", None, None, None, None),
        entry(f"webhook fan-out commit -> delivery p95, paced {paced_rate:g}/s ({paced_events} events)",
              paced["p95"] * 1000, "ms", "direct POST round trip p95 ms", base_p95 * 1000,
              f"<= {PACED_P95_TARGET_SECONDS * 1000:g} ms", paced["p95"] <= PACED_P95_TARGET_SECONDS),
        entry("webhook fan-out duplicates", duplicates, "deliveries", None, None, "0", duplicates == 0),
        entry("webhook fan-out lost", lost, "events", None, None, "0", lost == 0),
    ]  # fmt: skip
    if bad:
        log(f"{bad} requests failed signature verification or were not delivered by the baseline")
    return results, duplicates == 0 and lost == 0 and bad == 0


if __name__ == "__main__":
    raise SystemExit(main())
