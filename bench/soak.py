"""`make soak`: SOAK_USERS (50) simulated people for SOAK_SECONDS (300) against the whole stack.

Starts everything on 127.0.0.1 and stops it at the end (by its own PIDs): a moto S3 server, clamd
(the shipped config with the tests' signature database), gunicorn with web/gunicorn_conf.py, one
Celery worker (prefork, 2 processes, as `make run` starts it) and the beat, on a fresh PostgreSQL
database `soak_<pid>` (dropped at the end) seeded with `demo seed-scale --incidents
SOAK_INCIDENTS` (10000), and on the shared Redis under its own key prefix `soak-<pid>:` (keys
deleted at the end). Then locust (headless, bench/locustfile.py) runs the mixed work: list,
search, view, create, transition, comment, small uploads, API list/get/create/comment.

Prints p50/p95/p99 per request type, the web's and the worker's RSS at the start of the load
(after a warm-up) and at its end, whether the queue drained within 30 s of the end (no pending
evidence, no unpublished outbox message, nothing waiting or unacknowledged in Redis), whether
every write the app accepted (incidents, comments, files) is in the database and nothing more,
whether the audit chain verifies (`audit verify --full`), and as its last line `5xx: N`. Exits
non-zero on any 5xx, any dropped connection, an undrained queue, a lost or extra write or a
broken chain. Writes its figures to bench/soak.json (SOAK_OUTPUT) in bench/report.py's format.

Environment: SOAK_USERS, SOAK_SECONDS, SOAK_INCIDENTS, SOAK_REDIS_URL
(redis://127.0.0.1:6379/0), SOAK_OUTPUT (bench/soak.json), BENCH_PG
(postgresql://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import psycopg2
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import BIN, PG, Children, flask, fresh_database  # noqa: E402
from bench.report import SOAK_RESULTS, entry, print_table, write_entries  # noqa: E402
from shared.demo import DEFAULT_DEMO_PASSWORD  # noqa: E402
from shared.events import TASK_ROUTES  # noqa: E402
from shared.metrics import DEFAULT_QUEUE  # noqa: E402
from tests.servers import clamd_config, free_port, wait_for_port  # noqa: E402

SECRET_KEY = "soak-only-secret-key-0123456789abcdef0123456789ab"  # noqa: S105
BUCKET = "evidence-soak"
DRAIN_SECONDS = 30
# RSS at the end over RSS after the warm-up: above this the process grows under steady load.
RSS_FLAT_RATIO = 1.25
# kombu keeps a message taken by the worker in this hash until the task is acknowledged.
UNACKED_KEY = "unacked"


def log(message: str) -> None:
    print(f"[soak {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def family(pid: int) -> list[int]:
    """`pid` and its children (gunicorn's workers, the Celery pool's processes)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(p) for p in path.read_text().split()] if path.exists() else []
    return [pid, *children]


def backlog(dsn: str, client: redis.Redis, prefix: str) -> dict[str, int]:
    """What is still to do: evidence not yet final, outbox messages a task listens to that are
    not yet published, messages waiting in the queue or taken by the worker and not yet
    acknowledged. (Messages no task listens to are marked by the beat's sweep every 5 s
    without any work: they are not a backlog.)"""
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM evidence WHERE state = 'pending'")
        pending = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM outbox_messages WHERE published_at IS NULL AND topic = ANY(%s)",
            ([str(topic) for topic in TASK_ROUTES],),
        )
        unpublished = cursor.fetchone()[0]
    connection.close()
    waiting = client.llen(prefix + DEFAULT_QUEUE)
    unacked = client.hlen(prefix + UNACKED_KEY)
    return {"pending evidence": pending, "unpublished outbox": unpublished, "queued": waiting, "unacked": unacked}


# Rows each kind of accepted write adds (the names of bench/locustfile.py's `accepted` counter).
WRITES = {
    "incidents": ("SELECT count(*) FROM incidents", ("create", "api create")),
    "comments": ("SELECT count(*) FROM incident_comments", ("comment", "api comment")),
    "evidence": ("SELECT count(*) FROM evidence", ("upload",)),
}


def row_counts(dsn: str) -> dict[str, int]:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        counts = {}
        for table, (query, _names) in WRITES.items():
            cursor.execute(query)
            counts[table] = cursor.fetchone()[0]
    connection.close()
    return counts


def evidence_states(dsn: str) -> dict[str, int]:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT state, count(*) FROM evidence GROUP BY state ORDER BY state")
        rows = dict(cursor.fetchall())
    connection.close()
    return rows


def percentiles(stats_csv: Path) -> list[dict]:
    rows = []
    with stats_csv.open() as handle:
        for row in csv.DictReader(handle):
            rows.append(
                {
                    "name": row["Name"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "rps": float(row["Requests/s"]),
                    "p50": float(row["50%"] or 0),
                    "p95": float(row["95%"] or 0),
                    "p99": float(row["99%"] or 0),
                }
            )
    return rows


def server_5xx(gunicorn_log: Path) -> int:
    """5xx answers in gunicorn's JSON access log (the server's count, beside the client's)."""
    count = 0
    for line in gunicorn_log.read_text(errors="replace").splitlines():
        if '"gunicorn.access"' in line:
            with contextlib.suppress(ValueError):
                if json.loads(line).get("status", 0) >= 500:
                    count += 1
    return count


def main() -> int:
    users = int(os.environ.get("SOAK_USERS", "50"))
    seconds = int(os.environ.get("SOAK_SECONDS", "300"))
    incidents = int(os.environ.get("SOAK_INCIDENTS", "10000"))
    output = Path(os.environ.get("SOAK_OUTPUT", str(SOAK_RESULTS)))
    redis_url = os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"soak-{os.getpid()}:"
    log(f"{users} users for {seconds} s on {incidents:,} incidents; Redis {redis_url} under {prefix!r}")
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as error:
        raise SystemExit(f"Redis is not reachable at {redis_url} (set SOAK_REDIS_URL): {error}") from None
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    stack = Children(workdir)
    try:
        with fresh_database("soak") as dbname:
            return soak(workdir, stack, dbname, client, redis_url, prefix, users, seconds, incidents, output)
    finally:
        stack.stop_all()
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
        client.close()
        if os.environ.get("SOAK_KEEP_LOGS") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"logs kept in {workdir}")


def soak(workdir, stack, dbname, client, redis_url, prefix, users, seconds, incidents, output) -> int:
    moto_port, clamd_port, web_port = free_port(), free_port(), free_port()
    moto = stack.start("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)])
    wait_for_port(moto_port, moto, timeout=30, what="moto_server")
    clamd_dir = workdir / "clamd"
    clamd_dir.mkdir()
    clamd = stack.start("clamd", ["/usr/sbin/clamd", "--config-file", str(clamd_config(clamd_dir, clamd_port))])
    wait_for_port(clamd_port, clamd, timeout=60, what="clamd")
    endpoint = f"http://127.0.0.1:{moto_port}"
    aws = {"AWS_ACCESS_KEY_ID": "soak", "AWS_SECRET_ACCESS_KEY": "soak", "AWS_DEFAULT_REGION": "us-east-1"}
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_keys(aws)).create_bucket(Bucket=BUCKET)
    dsn = f"{PG}/{dbname}"
    env = {
        **os.environ,
        **aws,
        "DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg2://"),
        "SECRET_KEY": SECRET_KEY,
        "DEMO_PASSWORD": DEFAULT_DEMO_PASSWORD,
        "LOG_LEVEL": "WARNING",
        # JSON logs: gunicorn then writes one access line per request, which the 5xx count reads.
        "LOG_FORMAT": "json",
        # One lead account is shared by most simulated people: its limits would be the test.
        "RATE_LIMIT_LOGIN": "100000 per minute",
        "RATE_LIMIT_API": "1000000 per minute",
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": endpoint,
        "SCANNING_ENABLED": "true",
        "CLAMD_ADDRESS": f"tcp://127.0.0.1:{clamd_port}",
        "DATA_DIR": str(workdir / "data"),
        "PYTHONPATH": str(ROOT),
    }
    flask(env, "db", "upgrade")
    started = time.monotonic()
    log(flask(env, "demo", "seed-scale", "--incidents", str(incidents)).splitlines()[-1])
    log(f"seeded in {time.monotonic() - started:.0f} s")
    token = flask(env, "tokens", "create", "--user", "lead@example.com", "--scope", "write").splitlines()[-1]

    gunicorn = stack.start(
        "gunicorn",
        [str(BIN / "gunicorn"), "--config", "web/gunicorn_conf.py", "web.wsgi:app"],
        env={**env, "BIND": f"127.0.0.1:{web_port}"},
    )
    wait_for_port(web_port, gunicorn, timeout=60, what="gunicorn")
    worker, _beat = stack.start_worker_and_beat(env, hostname=f"soak-{os.getpid()}")

    web_rss, worker_rss = {}, {}
    web_rss["idle"], worker_rss["idle"] = rss_mib(family(gunicorn.pid)), rss_mib(family(worker.pid))
    web_workers_before = set(family(gunicorn.pid)[1:])
    rows_before = row_counts(dsn)
    warmup = min(60.0, seconds * 0.2)

    def after_warmup() -> None:
        time.sleep(warmup)
        web_rss["start"], worker_rss["start"] = rss_mib(family(gunicorn.pid)), rss_mib(family(worker.pid))

    sampler = threading.Thread(target=after_warmup, daemon=True)
    counts_path = workdir / "counts.json"
    log(f"locust: {users} users, spawn {max(1, users // 10)}/s, {seconds} s; RSS 'start' taken after {warmup:.0f} s")
    sampler.start()
    locust = subprocess.run(
        [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--users", str(users),
         "--spawn-rate", str(max(1, users // 10)), "--run-time", f"{seconds}s", "--stop-timeout", "10",
         "--host", f"http://127.0.0.1:{web_port}", "--csv", str(workdir / "locust"), "--only-summary",
         "--loglevel", "WARNING", "--exit-code-on-error", "0"],
        env={**os.environ, "SOAK_PASSWORD": DEFAULT_DEMO_PASSWORD, "SOAK_API_TOKEN": token,
             "SOAK_INCIDENTS": str(incidents), "SOAK_COUNTS": str(counts_path)},
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    ended = time.monotonic()
    sampler.join(5)
    web_rss["end"], worker_rss["end"] = rss_mib(family(gunicorn.pid)), rss_mib(family(worker.pid))
    # A gunicorn worker killed by its timeout (or a crash) is replaced by a new PID.
    web_workers_replaced = len(web_workers_before - set(family(gunicorn.pid)[1:]))
    if locust.returncode != 0 or not counts_path.exists():
        raise SystemExit(f"locust failed ({locust.returncode}):\n{locust.stdout[-3000:]}\n{locust.stderr[-3000:]}")

    drained_after = None
    while time.monotonic() - ended <= DRAIN_SECONDS:
        left = backlog(dsn, client, prefix)
        if not any(left.values()):
            drained_after = time.monotonic() - ended
            break
        time.sleep(0.5)
    else:
        left = backlog(dsn, client, prefix)
    states = evidence_states(dsn)
    rows_after = row_counts(dsn)
    # Every write the app answered with success is in the database, and nothing else is (a
    # dropped connection may leave a row the client never heard of: that shows here too).
    mismatched = {}
    counts = json.loads(counts_path.read_text())
    for table, (_query, names) in WRITES.items():
        added, answered = rows_after[table] - rows_before[table], sum(counts["accepted"].get(n, 0) for n in names)
        if added != answered:
            mismatched[table] = f"{added} rows added, {answered} accepted"
    verify = subprocess.run([str(BIN / "flask"), "--app", "web", "audit", "verify", "--full"], env=env, cwd=ROOT,
                            capture_output=True, text=True)  # fmt: skip

    rows = percentiles(workdir / "locust_stats.csv")
    client_5xx = sum(counts["5xx"].values())
    dropped = sum(counts["connection_errors"].values())
    gunicorn_5xx = server_5xx(workdir / "gunicorn.log")
    worker_errors = len(re.findall(r"\] ERROR/|Traceback", (workdir / "worker.log").read_text(errors="replace")))

    print()
    print(f"{'request type':18} {'requests':>9} {'failures':>9} {'5xx':>5} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8}")  # fmt: skip
    for row in rows:
        name = row["name"] if row["name"] != "Aggregated" else "all"
        fives = client_5xx if name == "all" else counts["5xx"].get(row["name"], 0)
        print(f"{name:18} {row['requests']:>9} {row['failures']:>9} {fives:>5} {row['rps']:>7.1f} {row['p50']:>8.0f} "
              f"{row['p95']:>8.0f} {row['p99']:>8.0f}")  # fmt: skip
    failures = workdir / "locust_failures.csv"
    if failures.exists():
        for line in list(csv.DictReader(failures.open()))[:10]:
            print(f"  failure: {line['Name']}: {line['Error'][:100]} x{line['Occurrences']}")
    print()
    for what, rss in (("web (gunicorn master + workers)", web_rss), ("worker (celery + pool)", worker_rss)):
        start = rss.get("start", rss["idle"])
        print(f"RSS {what}: idle {rss['idle']:.0f} MiB, start {start:.0f} MiB, end {rss['end']:.0f} MiB "
              f"({rss['end'] / start:.2f}x start)")  # fmt: skip
    print(f"evidence states: {states}; worker log errors: {worker_errors}")
    print(f"accepted writes: {counts['accepted']}")
    if mismatched:
        print(f"writes kept: NO: {mismatched}")
    else:
        kept = ", ".join(f"{rows_after[t] - rows_before[t]} {t}" for t in WRITES)
        print(f"writes kept: yes, every accepted write is in the database ({kept})")
    said = "; ".join(line for line in (verify.stdout + verify.stderr).splitlines() if line.strip())
    chain = "verified" if verify.returncode == 0 else "BROKEN"
    print(f"audit chain (flask audit verify --full): {chain}: {said[:400]}")
    if drained_after is not None:
        print(f"queue drained: yes, {drained_after:.1f} s after the end")
    else:
        print(f"queue drained: NO within {DRAIN_SECONDS} s; left: {left}")
    print(f"dropped connections: {dropped}; 5xx in gunicorn's access log: {gunicorn_5xx}; "
          f"gunicorn workers replaced: {web_workers_replaced}")  # fmt: skip

    label = f"{users} users, {seconds} s, {incidents:,} incidents"
    total = next((r for r in rows if r["name"] == "Aggregated"), None)
    results = [
        entry(f"soak {row['name']} p95", row["p95"], "ms", "p50 same type", row["p50"], None, None)
        for row in rows
        if row["name"] not in ("Aggregated", "login", "login form")
    ]
    if total:
        results.append(entry("soak all requests p99", total["p99"], "ms", None, None, None, None))
        results.append(entry(f"soak throughput ({label})", total["rps"], "req/s", None, None, None, None))
    for what, rss in (("web", web_rss), ("worker", worker_rss)):
        start = rss.get("start", rss["idle"])
        results.append(entry(f"soak {what} RSS at end", rss["end"], "MiB", "RSS after warm-up MiB", start,
                             f"<= {RSS_FLAT_RATIO}x (flat)", rss["end"] <= RSS_FLAT_RATIO * start))  # fmt: skip
    results.append(entry("soak queue drained after the end", drained_after if drained_after is not None else -1, "s",
                         None, None, f"<= {DRAIN_SECONDS} s", drained_after is not None))  # fmt: skip
    results.append(entry("soak 5xx", client_5xx, "responses", None, None, "0", client_5xx == 0))
    results.append(entry("soak dropped connections", dropped, "requests", None, None, "0", dropped == 0))
    results.append(entry("soak accepted writes missing or extra", len(mismatched), "tables", None, None, "0",
                         not mismatched))  # fmt: skip
    results.append(entry("soak audit chain broken", int(verify.returncode != 0), "chains", None, None, "0",
                         verify.returncode == 0))  # fmt: skip
    # The file holds the latest soak only: figures of runs with other settings do not compare.
    output.unlink(missing_ok=True)
    write_entries(results, source="soak", path=output)
    print_table(results)
    log(f"wrote {output}")
    print(f"5xx: {client_5xx}", flush=True)
    healthy = not client_5xx and not dropped and drained_after is not None and not mismatched
    return 0 if healthy and verify.returncode == 0 else 1


def _keys(aws: dict[str, str]) -> dict[str, str]:
    return {"aws_access_key_id": aws["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": aws["AWS_SECRET_ACCESS_KEY"]}


if __name__ == "__main__":
    raise SystemExit(main())
