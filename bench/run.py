"""`make bench`: the app at 10k / 100k / 1M incidents against the machine's own ceilings.

For each size it seeds (once; reused between runs) a PostgreSQL database `bench_incidents_<n>`,
starts gunicorn with web/gunicorn_conf.py, signs in as the lead (the heaviest view) and measures
with wrk, in interleaved rounds, each figure beside its baseline from the same run:

- hello-world Flask under the same gunicorn config (the framework's ceiling here);
- the same SQL the page runs, sent directly through psycopg2 with the same concurrency;
- raw INSERTs of the rows a create writes, under the same audit-chain lock (the baseline of both
  the form's creates and the JSON API's, POST /api/v1/incidents with a write-scope token).

Prints a table and writes its entries into bench/results.json through bench/report.py.
Medians of the rounds. Not a test: it measures.
Environment: SIZES (10000,100000,1000000), BENCH_ROUNDS (3), BENCH_SECONDS (5), BENCH_PG
(postgresql://postgres@127.0.0.1:5432), BENCH_DB_PREFIX (bench_incidents).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import entry, print_table, write_entries  # noqa: E402
from shared.audit import service as audit  # noqa: E402
from shared.demo import DEFAULT_DEMO_PASSWORD  # noqa: E402
from tests.servers import free_port  # noqa: E402

BIN = ROOT / ".venv" / "bin"
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
# The demo password, so a database seeded by hand with `demo seed-scale` is reused as is.
PASSWORD = os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD
SECRET_KEY = "bench-only-secret-key-0123456789abcdef0123456789"  # noqa: S105
CONNECTIONS = 16
CREATE_CONNECTIONS = 8
SEARCHES = {
    "search status:open priority:p1 disk full": "status:open priority:p1 disk full",
    "search certificate expired": "certificate expired",
    "search typo certficate": "certficate",
    # Words of the discussion (demo_scale: comments on ~20 % of the incidents): a word only
    # comments hold, on ~5 % of the incidents, and a change ticket one comment names (INC-74's).
    "search comment word postmortem": "postmortem",
    "search change ticket CHG-100074": "CHG-100074",
}
DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %.3f %d\\n", summary.requests, summary.duration,
    latency:percentile(95) / 1000.0, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# --- databases ------------------------------------------------------------------------------


def database(size: int) -> str:
    return f"{os.environ.get('BENCH_DB_PREFIX', 'bench_incidents')}_{size}"


def ensure_database(size: int) -> None:
    connection = psycopg2.connect(f"{PG}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database(size),))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{database(size)}"')
        # The production parameter group's values for these two (README "Performance and reliability"), set on
        # this database only: the shared server itself is not tuned.
        cursor.execute(f'ALTER DATABASE "{database(size)}" SET random_page_cost = 1.1')
        cursor.execute(f'ALTER DATABASE "{database(size)}" SET jit = off')
    connection.close()


def app_env(size: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG.replace('postgresql://', 'postgresql+psycopg2://')}/{database(size)}",
        "SECRET_KEY": SECRET_KEY,
        "DEMO_PASSWORD": PASSWORD,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_LOGIN": "1000 per minute",
        "RATE_LIMIT_API": "1000000 per minute",
        **extra,
    }


def flask(size: int, *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "web", *args], env=app_env(size), cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def seed(size: int) -> float | None:
    """Seed to `size` incidents; seconds taken when rows were added, None when reused."""
    ensure_database(size)
    flask(size, "db", "upgrade")
    started = time.monotonic()
    output = flask(size, "demo", "seed-scale", "--incidents", str(size))
    log(output)
    return None if "(0 added" in output else time.monotonic() - started


# --- servers --------------------------------------------------------------------------------


class Gunicorn:
    def __init__(self, app: str, port: int, env: dict[str, str]):
        self.port = port
        self.pidfile = Path(tempfile.gettempdir()) / f"bench-gunicorn-{port}.pid"
        self.log = Path(tempfile.gettempdir()) / f"bench-gunicorn-{port}.log"
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "web/gunicorn_conf.py", "--pid", str(self.pidfile), app],
            cwd=ROOT,
            env={**env, "BIND": f"127.0.0.1:{port}"},
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "w"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 90  # the shared machine can take that long to import the app
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn {app} exited on :{port} (rc={self.process.returncode}); see {self.log}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn {app} did not come up on :{port}")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def sign_in(port: int, email: str) -> tuple[str, str]:
    """Sign in through the login form; returns (Cookie header, a CSRF token for the create form)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": PASSWORD}).encode()
    opener.open(f"{base}/login", data=body)
    form = opener.open(f"{base}/incidents/new").read().decode()
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session=" not in cookie:
        raise SystemExit("could not sign in for the bench")
    return cookie, csrf


def wrk(
    url: str,
    *,
    cookie: str = "",
    connections: int,
    seconds: int,
    post_body: str = "",
    content_type: str = "application/x-www-form-urlencoded",
    headers: dict[str, str] | None = None,
) -> dict:
    script = DONE_HOOK
    if post_body:
        script = (
            f'wrk.method = "POST"\nwrk.body = {json.dumps(post_body)}\n'
            f'wrk.headers["Content-Type"] = "{content_type}"\n' + script
        )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", handle.name]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True).stdout
    os.unlink(handle.name)
    match = re.search(r"BENCH (\d+) (\d+) ([\d.]+) (\d+)", output)
    if not match:
        raise SystemExit(f"wrk gave no report for {url}:\n{output}")
    requests, duration_us, p95_ms, errors = match.groups()
    return {
        "rps": int(requests) / (int(duration_us) / 1e6),
        "p95_ms": float(p95_ms),
        "errors": int(errors),
        "requests": int(requests),
    }


# --- raw baselines --------------------------------------------------------------------------


def statements_for(size: int, path: str) -> list[tuple[str, dict]]:
    """The SQL the app runs to serve `path` for the signed-in lead, captured in-process."""
    os.environ.update(app_env(size))
    from sqlalchemy import event

    from web.app import create_app

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    client.post("/login", data={"email": "lead@example.com", "password": PASSWORD})
    client.get(path)  # warm: caches, first-request work
    engine = app.extensions["db_engine"]
    seen: list[tuple[str, dict]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT") or statement.lstrip().upper().startswith("WITH"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    response = client.get(path)
    event.remove(engine, "before_cursor_execute", capture)
    engine.dispose()
    assert response.status_code == 200, (path, response.status_code)
    return seen


def run_threads(worker, threads: int, seconds: float) -> tuple[float, float]:
    """Run `worker(connection)` in a loop on `threads` connections; (per second, p95 ms)."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def loop(size_dsn: str) -> None:
        connection = psycopg2.connect(size_dsn)
        mine = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            worker(connection)
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)

    dsn = run_threads.dsn  # type: ignore[attr-defined]
    pool = [threading.Thread(target=loop, args=(dsn,)) for _ in range(threads)]
    started = time.monotonic()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000 if latencies else 0.0
    return len(latencies) / elapsed, p95


def raw_sql(statements: list[tuple[str, dict]], seconds: float) -> tuple[float, float]:
    def worker(connection) -> None:
        with connection.cursor() as cursor:
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                cursor.fetchall()
        connection.rollback()

    return run_threads(worker, CONNECTIONS, seconds)


def raw_inserts(seconds: float, reporter_id: int) -> tuple[float, float]:
    """The rows a create writes (incident, watcher, outbox message, audit event), as plain SQL in
    one transaction each, under the same chain lock, with the same hash computation."""

    def worker(connection) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence('incidents', 'id'))")
            (incident_id,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO incidents (id, key, title, description, status, priority, component, environment,"
                " reporter_id, created_at, updated_at, version) VALUES (%s, %s, 'Raw insert', '', 'open', 'P3',"
                " 'rds', 'prod', %s, now(), now(), 1)",
                (incident_id, f"INC-{incident_id}", reporter_id),
            )
            cursor.execute(
                "INSERT INTO incident_watchers (incident_id, user_id, created_at) VALUES (%s, %s, now())",
                (incident_id, reporter_id),
            )
            cursor.execute(
                "INSERT INTO outbox_messages (id, topic, payload, created_at, available_at, attempts)"
                " VALUES (%s, 'incident.created', %s, now(), now(), 0)",
                (uuid.uuid4().hex, json.dumps({"incident_id": incident_id})),
            )
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (audit.CHAIN_LOCK_ID,))
            cursor.execute("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")
            prev = cursor.fetchone()[0]
            occurred = datetime.now(UTC)
            data = {"title": "Raw insert"}
            canonical = audit.canonical_json_of(
                action="incident.created",
                actor_id=reporter_id,
                data=data,
                entity_id=incident_id,
                entity_type="incident",
                incident_id=incident_id,
                occurred_at=occurred,
            )
            cursor.execute(
                "INSERT INTO audit_events (occurred_at, actor_id, action, entity_type, entity_id, incident_id,"
                " data, prev_hash, hash) VALUES (%s, %s, 'incident.created', 'incident', %s, %s, %s, %s, %s)",
                (
                    occurred,
                    reporter_id,
                    incident_id,
                    incident_id,
                    json.dumps(data),
                    prev,
                    audit.chain_hash(prev, canonical),
                ),
            )
        connection.commit()

    return run_threads(worker, CREATE_CONNECTIONS, seconds)


# --- the run --------------------------------------------------------------------------------


def measure_size(size: int, rounds: int, seconds: int) -> dict:
    seeded = seed(size)
    run_threads.dsn = f"{PG}/{database(size)}"  # type: ignore[attr-defined]
    with psycopg2.connect(run_threads.dsn) as connection, connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT id FROM users WHERE email = 'lead@example.com'")
        lead_id = cursor.fetchone()[0]
    pages = {"dashboard": "/", **{name: "/?" + urllib.parse.urlencode({"q": q}) for name, q in SEARCHES.items()}}
    pages["incident page (400 events)"] = "/incidents/INC-1"
    sql = {name: statements_for(size, path) for name, path in pages.items()}
    # Free ports, not fixed ones: a server left behind on a fixed port would answer the health
    # check and be measured in place of this run's.
    app = Gunicorn("web.wsgi:app", free_port(), app_env(size))
    hello = Gunicorn("bench.hello:app", free_port(), app_env(size))
    api_token = flask(size, "tokens", "create", "--user", "lead@example.com", "--scope", "write", "--expires-days", "1")
    api_token = api_token.splitlines()[-1]
    api_body = json.dumps({"title": "Bench: disk full on bench-host", "description": "Filed by wrk through the API.",
                           "priority": "P3", "component": "rds", "environment": "prod"})  # fmt: skip
    try:
        cookie, csrf = sign_in(app.port, "lead@example.com")
        create_body = urllib.parse.urlencode(
            {"csrf_token": csrf, "title": "Bench: disk full on bench-host", "description": "Filed by wrk.",
             "priority": "P3", "component": "rds", "environment": "prod", "owner": ""}
        )  # fmt: skip
        samples: dict[str, list[dict]] = {}
        for round_number in range(1, rounds + 1):
            log(f"{size:,} incidents: round {round_number}/{rounds}")
            runs = {"hello-world": wrk(f"http://127.0.0.1:{hello.port}/", connections=CONNECTIONS, seconds=seconds)}
            # The app's own floors, the ceiling any page of it can reach here: /healthz runs every
            # hook the app has (security headers, logging, session) and nothing else; /changes adds
            # what every signed-in request pays (session -> user, one query: the live-dashboard poll).
            runs["app floor"] = wrk(f"http://127.0.0.1:{app.port}/healthz", connections=CONNECTIONS, seconds=seconds)
            runs["signed-in floor"] = wrk(
                f"http://127.0.0.1:{app.port}/changes", cookie=cookie, connections=CONNECTIONS, seconds=seconds
            )
            for name, path in pages.items():
                runs[name] = wrk(
                    f"http://127.0.0.1:{app.port}{path}", cookie=cookie, connections=CONNECTIONS, seconds=seconds
                )
                rps, p95 = raw_sql(sql[name], seconds)
                runs[f"raw SQL: {name}"] = {"rps": rps, "p95_ms": p95, "errors": 0}
            runs["create"] = wrk(
                f"http://127.0.0.1:{app.port}/incidents/new",
                cookie=cookie,
                connections=CREATE_CONNECTIONS,
                seconds=seconds,
                post_body=create_body,
            )
            runs["api create"] = wrk(
                f"http://127.0.0.1:{app.port}/api/v1/incidents",
                connections=CREATE_CONNECTIONS,
                seconds=seconds,
                post_body=api_body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {api_token}"},
            )
            rps, p95 = raw_inserts(seconds, lead_id)
            runs["raw INSERTs"] = {"rps": rps, "p95_ms": p95, "errors": 0}
            for name, result in runs.items():
                samples.setdefault(name, []).append(result)
    finally:
        app.stop()
        hello.stop()
    started = time.monotonic()
    verified = flask(size, "audit", "verify")
    verify_seconds = time.monotonic() - started
    medians = {
        name: {key: statistics.median(r[key] for r in runs) for key in ("rps", "p95_ms", "errors")}
        for name, runs in samples.items()
    }
    return {
        "size": size,
        "seed_seconds": seeded,
        "medians": medians,
        "verify": verified,
        "verify_seconds": verify_seconds,
    }


def results_for(measured: dict) -> list[dict]:
    size, m = measured["size"], measured["medians"]
    at = f" @{size:,}"
    hello = m["hello-world"]
    out = []
    for floor, label in (("app floor", "app /healthz (floor)"), ("signed-in floor", "signed-in /changes (floor)")):
        if floor in m:
            out.append(
                entry(f"{label} req/s{at}", m[floor]["rps"], "req/s", "hello-world req/s", hello["rps"],
                      None, None)
            )  # fmt: skip
    dash = m["dashboard"]
    out.append(
        entry(f"dashboard req/s{at}", dash["rps"], "req/s", "hello-world req/s", hello["rps"], ">= 30% of hello-world",
              dash["rps"] >= 0.3 * hello["rps"])
    )  # fmt: skip
    out.append(
        entry(f"dashboard p95{at}", dash["p95_ms"], "ms", "raw SQL p95", m["raw SQL: dashboard"]["p95_ms"],
              "<= 50 ms", dash["p95_ms"] <= 50)
    )  # fmt: skip
    for name in SEARCHES:
        page, raw = m[name], m[f"raw SQL: {name}"]
        out.append(
            entry(f"{name} p95{at}", page["p95_ms"], "ms", "raw SQL p95", raw["p95_ms"],
                  "<= 100 ms and <= 2x raw SQL", page["p95_ms"] <= 100 and page["p95_ms"] <= 2 * raw["p95_ms"])
        )  # fmt: skip
    page = m["incident page (400 events)"]
    out.append(
        entry(f"incident page (400 events) req/s{at}", page["rps"], "req/s", "hello-world req/s", hello["rps"],
              ">= 20% of hello-world", page["rps"] >= 0.2 * hello["rps"])
    )  # fmt: skip
    create = m["create"]
    out.append(
        entry(f"creates/s, 8 clients{at}", create["rps"], "req/s", "raw INSERTs/s (same lock)",
              m["raw INSERTs"]["rps"], ">= 500/s", create["rps"] >= 500)
    )  # fmt: skip
    api_create = m["api create"]
    out.append(
        entry(f"API creates/s, 8 clients{at}", api_create["rps"], "req/s", "raw INSERTs/s (same lock)",
              m["raw INSERTs"]["rps"], ">= 500/s", api_create["rps"] >= 500)
    )  # fmt: skip
    if measured["seed_seconds"] is not None:
        out.append(entry(f"seed-scale{at}", measured["seed_seconds"], "s", None, None, "minutes, not tens", None))
    out.append(entry(f"audit verify (incremental){at}", measured["verify_seconds"], "s", None, None, None, None))
    return out


def flatness(all_results: list[dict], sizes: list[int]) -> list[dict]:
    """Cost flat from the smallest size to the largest: p95 at the largest over p95 at the smallest."""
    if len(sizes) < 2:
        return []
    small, large = f" @{min(sizes):,}", f" @{max(sizes):,}"
    by_name = {r["name"]: r for r in all_results}
    out = []
    for metric in ["dashboard p95", *(f"{name} p95" for name in SEARCHES)]:
        a, b = by_name.get(metric + small), by_name.get(metric + large)
        if a and b:
            out.append(
                entry(f"{metric}: {max(sizes):,} vs {min(sizes):,}", b["value"], "ms", f"p95{small}", a["value"],
                      "<= 1.5x (flat)", b["value"] <= 1.5 * max(a["value"], 1.0))
            )  # fmt: skip
    return out


def main() -> None:
    sizes = [int(s) for s in os.environ.get("SIZES", "10000,100000,1000000").split(",") if s.strip()]
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    seconds = int(os.environ.get("BENCH_SECONDS", "5"))
    log(f"sizes {sizes}, {rounds} interleaved rounds of {seconds} s, wrk -t2 -c{CONNECTIONS} (creates -c8)")
    results: list[dict] = []
    for size in sizes:
        results += results_for(measure_size(size, rounds, seconds))
    results += flatness(results, sizes)
    print_table(results)
    write_entries(results, source="run")
    log(f"wrote {len(results)} entries into bench/results.json ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
