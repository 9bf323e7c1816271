"""`make bench-evidence` (also run by `make bench`): evidence uploads and the worker pipeline.

Starts everything it measures on 127.0.0.1, on free ports, and stops it at the end: a moto S3
server, a redis-server of its own (never the shared one), clamd from the shipped config with the
tests' EICAR signature database, gunicorn with web/gunicorn_conf.py, and (for the pipeline
figures) one real Celery worker process. Uses a fresh PostgreSQL database `bench_evidence_<pid>`
(demo users and incidents) and drops it at the end. Figures, each beside a baseline from the
same run (medians of interleaved rounds; the machine is shared and noisy):

- upload throughput: an EVIDENCE_BENCH_BYTES file (default 1 GiB) streamed from disk by the
  client (hand-built multipart body, never in client memory) through the signed-in web app to
  moto, vs a plain `boto3 upload_file` of the same file to the same endpoint; target >= 80 %.
- the gunicorn worker's peak RSS growth during that upload (VmRSS sampled every 20 ms, the
  largest growth over any worker); target <= 64 MiB.
- a 1 MB PNG from "upload accepted" (the 201) to `clean` with a thumbnail, one worker: p95 of
  EVIDENCE_BENCH_PNGS (20) uploads, interleaved with the baseline: `inspect_file` on a local copy
  in this process, against the same clamd; target p95 <= 2 s.
- files/s for EVIDENCE_BENCH_SMALL (200) small mixed files (png, txt, pdf, json, csv, log) from
  the first upload to the last final state, one worker; baseline: `inspect_file` of the same
  files in this process.

Merges its entries into bench/results.json through bench/report.py (replacing its own earlier
figures of the same name) and prints them.
Environment: EVIDENCE_BENCH_BYTES (1073741824; 268435456 for a quick run), EVIDENCE_BENCH_ROUNDS
(2), EVIDENCE_BENCH_PNGS (20), EVIDENCE_BENCH_SMALL (200), BENCH_PG.
"""

from __future__ import annotations

import contextlib
import http.client
import http.cookiejar
import io
import json
import os
import random
import re
import shutil
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

import boto3
import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.processes import BIN, PG, Children, fresh_database, wait_for_log  # noqa: E402
from bench.report import entry, print_table, write_entries  # noqa: E402
from shared.demo import DEFAULT_DEMO_PASSWORD  # noqa: E402
from tests.servers import clamd_config, free_port, wait_for_port  # noqa: E402

PASSWORD = DEFAULT_DEMO_PASSWORD
SECRET_KEY = "bench-only-secret-key-0123456789abcdef0123456789"  # noqa: S105
BUCKET = "evidence-bench"
MIB = 1024 * 1024
NAME_PREFIX = "evidence "  # every entry this module writes starts with it
FINAL = ("clean", "infected", "rejected", "error", "not_scanned")


def log(message: str) -> None:
    print(f"[bench-evidence {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# --- processes ------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


# --- the web app ----------------------------------------------------------------------------


class Web:
    def __init__(self, port: int) -> None:
        self.port = port
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.base = f"http://127.0.0.1:{port}"

    def sign_in(self, email: str, incident_key: str) -> None:
        page = self.opener.open(f"{self.base}/login").read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": PASSWORD}).encode()
        self.opener.open(f"{self.base}/login", data=body)
        page = self.opener.open(f"{self.base}/incidents/{incident_key}").read().decode()
        self.csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        if "session=" not in self.cookie:
            raise SystemExit("could not sign in for the evidence bench")

    def upload(self, incident_key: str, name: str, content_type: str, *, path: Path | None = None,
               data: bytes | None = None) -> int:  # fmt: skip
        """POST one file as multipart/form-data, streamed from `path` in 1 MiB reads; the status."""
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{self.csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        size = path.stat().st_size if path is not None else len(data)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            connection.putrequest("POST", f"/incidents/{incident_key}/evidence")
            connection.putheader("Cookie", self.cookie)
            connection.putheader("HX-Request", "true")
            connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
            connection.putheader("Content-Length", str(len(head) + size + len(tail)))
            connection.endheaders()
            connection.send(head)
            if path is not None:
                with path.open("rb") as handle:
                    while chunk := handle.read(MIB):
                        connection.send(chunk)
            else:
                connection.send(data)
            connection.send(tail)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


# --- files ----------------------------------------------------------------------------------


def big_file(path: Path, size: int) -> None:
    block = random.Random(7).randbytes(MIB)
    with path.open("wb") as handle:
        written = 0
        while written < size:
            part = block[: min(MIB, size - written)]
            handle.write(part)
            written += len(part)


def png_bytes(width: int, height: int, seed: int) -> bytes:
    from PIL import Image

    image = Image.frombytes("RGB", (width, height), random.Random(seed).randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


POLYGLOT_FALSE_POSITIVES = [0, 0]  # [noise PNGs matching the polyglot markers, PNGs made]


def one_mb_png(seed: int) -> bytes:
    """~1.0 MB (noise does not compress) that the polyglot check passes.

    worker/processing/filetype.py rejects an image whose bytes contain `<a ` or the like
    anywhere; in 1 MB of compressed data that happens by chance (counted, reported)."""
    from worker.processing.filetype import _ACTIVE_MARKERS

    for attempt in range(100):
        data = png_bytes(580, 580, seed * 100 + attempt)
        POLYGLOT_FALSE_POSITIVES[1] += 1
        if not _ACTIVE_MARKERS.search(data):
            return data
        POLYGLOT_FALSE_POSITIVES[0] += 1
    raise SystemExit("no noise PNG passed the polyglot check")


def small_files(count: int) -> list[tuple[str, str, bytes]]:
    rng = random.Random(11)
    pdf = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
        b"3 0 obj<</Type/Page/MediaBox[0 0 612 792]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    files = []
    for n in range(count):
        kind = n % 6
        if kind == 0:
            files.append((f"shot-{n}.png", "image/png", png_bytes(64 + n % 32, 48, n)))
        elif kind == 1:
            files.append((f"notes-{n}.txt", "text/plain", f"incident notes {n}\n".encode() * rng.randint(5, 200)))
        elif kind == 2:
            files.append((f"report-{n}.pdf", "application/pdf", pdf))
        elif kind == 3:
            body = json.dumps({"n": n, "hosts": [f"h{i}" for i in range(rng.randint(1, 50))]}).encode()
            files.append((f"dump-{n}.json", "application/json", body))
        elif kind == 4:
            files.append((f"rows-{n}.csv", "text/csv", b"host,cpu\n" + b"web-1,93\n" * rng.randint(1, 300)))
        else:
            files.append((f"app-{n}.log", "text/plain", b"2026-11-29 ERROR disk full\n" * rng.randint(1, 300)))
    return files


# --- database -------------------------------------------------------------------------------


def evidence_rows(dsn: str, incident_key: str) -> list[tuple[int, str, str, str | None]]:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.id, e.display_name, e.state, e.thumbnail_key FROM evidence e JOIN incidents i"
            " ON i.id = e.incident_id WHERE i.key = %s ORDER BY e.id",
            (incident_key,),
        )
        rows = cursor.fetchall()
    connection.close()
    return rows


# --- the run --------------------------------------------------------------------------------


def main() -> None:  # one linear script
    size = int(os.environ.get("EVIDENCE_BENCH_BYTES", str(1024 * MIB)))
    rounds = int(os.environ.get("EVIDENCE_BENCH_ROUNDS", "5"))
    pngs = int(os.environ.get("EVIDENCE_BENCH_PNGS", "20"))
    smalls = int(os.environ.get("EVIDENCE_BENCH_SMALL", "200"))
    log(f"upload {size / MIB:.0f} MiB x {rounds} rounds, {pngs} PNGs of ~1 MB, {smalls} small files")
    workdir = Path(tempfile.mkdtemp(prefix="bench-evidence-"))
    procs = Children(workdir)
    results: list[dict] = []
    try:
        with fresh_database("bench_evidence") as dbname:
            results = run(workdir, procs, dbname, size=size, rounds=rounds, pngs=pngs, smalls=smalls)
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    write_entries(results, source="evidence")
    log(f"merged {len(results)} entries into bench/results.json ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


def run(workdir: Path, procs: Children, dbname: str, *, size: int, rounds: int, pngs: int, smalls: int) -> list:
    moto_port, redis_port, web_port = free_port(), free_port(), free_port()
    moto = procs.start("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)])
    wait_for_port(moto_port, moto, timeout=60, what="moto_server", log=workdir / "moto.log")
    redis_proc = procs.start(
        "redis",
        ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
    )  # fmt: skip
    wait_for_port(redis_port, redis_proc, timeout=60, what="redis-server", log=workdir / "redis.log")
    clamd_dir = workdir / "clamd"
    clamd_dir.mkdir()
    clamd_port = free_port()
    config = clamd_config(clamd_dir, clamd_port)
    clamd = procs.start("clamd", ["/usr/sbin/clamd", "--config-file", str(config)])
    wait_for_port(clamd_port, clamd, timeout=60, what="clamd", log=workdir / "clamd.log")
    endpoint = f"http://127.0.0.1:{moto_port}"
    aws = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update(aws)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    dsn = f"{PG}/{dbname}"
    env = {
        **os.environ,
        **aws,
        "DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg2://"),
        "SECRET_KEY": SECRET_KEY,
        "DEMO_PASSWORD": PASSWORD,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_LOGIN": "1000 per minute",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": endpoint,
        "UPLOAD_MAX_BYTES": str(size + 16 * MIB),
        "SCANNING_ENABLED": "true",
        "CLAMD_ADDRESS": f"tcp://127.0.0.1:{clamd_port}",
        "DATA_DIR": str(workdir / "data"),
        "PYTHONPATH": str(ROOT),
    }
    for args in (["db", "upgrade"], ["demo", "seed"]):
        done = subprocess.run([str(BIN / "flask"), "--app", "web", *args], env=env, cwd=ROOT, capture_output=True,
                              text=True)  # fmt: skip
        if done.returncode:
            raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT key FROM incidents WHERE status <> 'closed' ORDER BY id")
        keys = [row[0] for row in cursor.fetchall()]
    connection.close()
    big_key, png_key, small_key = keys[0], keys[1], keys[2]
    gunicorn = procs.start(
        "gunicorn",
        [str(BIN / "gunicorn"), "--config", "web/gunicorn_conf.py", "web.wsgi:app"],
        env={**env, "BIND": f"127.0.0.1:{web_port}"},
    )
    wait_for_port(web_port, gunicorn, timeout=60, what="gunicorn", log=workdir / "gunicorn.log")
    time.sleep(1)
    web = Web(web_port)
    web.sign_in("lead@example.com", big_key)
    results = []

    # 1. The big upload (no worker yet: its message waits in Redis, nothing competes for CPU).
    source = workdir / "big.bin"
    big_file(source, size)
    web.upload(big_key, "warm.txt", "text/plain", data=b"warm up\n")
    app_rates, boto_rates, growths = [], [], []
    for round_number in range(1, rounds + 1):
        workers = children_of(gunicorn.pid)
        before = {pid: rss_kib(pid) for pid in workers}
        peak = dict(before)
        stop = threading.Event()

        def sample(peak=peak, stop=stop) -> None:
            while not stop.is_set():
                for pid in peak:
                    peak[pid] = max(peak[pid], rss_kib(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        status = web.upload(big_key, f"big-{round_number}.bin", "application/octet-stream", path=source)
        app_seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
        if status not in (201, 303):
            raise SystemExit(f"the big upload answered {status}; see {workdir}/gunicorn.log")
        growths.append(max(peak[pid] - before[pid] for pid in workers) / 1024)
        app_rates.append(size / MIB / app_seconds)
        empty(s3)
        started = time.perf_counter()
        s3.upload_file(str(source), BUCKET, f"boto3/{uuid.uuid4()}")
        boto_rates.append(size / MIB / (time.perf_counter() - started))
        empty(s3)
        log(f"round {round_number}: app {app_rates[-1]:.1f} MiB/s, boto3 {boto_rates[-1]:.1f} MiB/s, "
            f"RSS +{growths[-1]:.1f} MiB")  # fmt: skip
    source.unlink()
    label = f"{size / MIB:.0f} MiB"
    app_rate, boto_rate = statistics.median(app_rates), statistics.median(boto_rates)
    results.append(entry(f"{NAME_PREFIX}upload {label} via web", app_rate, "MiB/s", "boto3 upload_file MiB/s",
                         boto_rate, ">= 80% of boto3", app_rate >= 0.8 * boto_rate))  # fmt: skip
    growth = max(growths)
    results.append(entry(f"{NAME_PREFIX}upload {label}: web worker peak RSS growth", growth, "MiB", None, None,
                         "<= 64 MiB", growth <= 64))  # fmt: skip
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        # The big files are not part of the pipeline figures: out of the worker's way.
        cursor.execute("UPDATE evidence SET state = 'error' WHERE state = 'pending'")
    connection.close()

    # 2. One worker: the 1 MB PNG latency, interleaved with the in-process baseline.
    worker = procs.start(
        "worker",
        [str(BIN / "celery"), "--app", "worker.celery_app", "worker", "--loglevel", "INFO", "--pool", "prefork",
         "--concurrency", "1", "--without-gossip", "--without-mingle"],
        env=env,
    )  # fmt: skip
    wait_for_log(workdir / "worker.log", " ready.", worker, "the Celery worker")
    from worker.processing.inspect import inspect_file
    from worker.processing.scanner import ClamdScanner

    scanner = ClamdScanner(f"tcp://127.0.0.1:{clamd_port}", timeout=60)
    latencies, baselines = [], []
    web.upload(png_key, "warm.png", "image/png", data=one_mb_png(999))
    wait_final(dsn, png_key, 1, 60)
    for n in range(pngs):
        data = one_mb_png(n)
        local = workdir / f"local-{n}.png"
        local.write_bytes(data)
        started = time.perf_counter()
        inspect_file(local, f"local-{n}.png", scanner=scanner)
        baselines.append(time.perf_counter() - started)
        local.unlink()
        status = web.upload(png_key, f"graph-{n}.png", "image/png", data=data)
        accepted = time.perf_counter()
        if status not in (201, 303):
            raise SystemExit(f"PNG upload answered {status}")
        rows = wait_final(dsn, png_key, n + 2, 60)
        latencies.append(time.perf_counter() - accepted)
        last = rows[-1]
        if last[2] != "clean" or not last[3]:
            raise SystemExit(f"the PNG ended {last[2]} (thumbnail {last[3]}), not clean with a thumbnail")
    p95, base_p95 = percentile(latencies, 95), percentile(baselines, 95)
    bad, made = POLYGLOT_FALSE_POSITIVES
    log(f"noise PNGs of ~1 MB the polyglot check would reject (skipped): {bad} of {made}")
    log(f"PNG: p95 {p95:.3f} s (median {statistics.median(latencies):.3f}), in-process p95 {base_p95:.3f} s")
    results.append(entry(f"{NAME_PREFIX}1 MB PNG accepted -> clean+thumbnail p95 (1 worker, n={pngs})", p95, "s",
                         "inspect_file in-process p95 s", base_p95, "<= 2 s", p95 <= 2))  # fmt: skip

    # 3. Small mixed files through one worker.
    files = small_files(smalls)
    started = time.perf_counter()
    for name, content_type, data in files:
        status = web.upload(small_key, name, content_type, data=data)
        if status not in (201, 303):
            raise SystemExit(f"{name} answered {status}")
    uploaded = time.perf_counter() - started
    rows = wait_final(dsn, small_key, smalls, 600)
    rate = smalls / (time.perf_counter() - started)
    states = {}
    for row in rows:
        states[row[2]] = states.get(row[2], 0) + 1
    started = time.perf_counter()
    for name, _type, data in files:
        local = workdir / "small" / name
        local.parent.mkdir(exist_ok=True)
        local.write_bytes(data)
        inspect_file(local, name, scanner=scanner)
    base_rate = smalls / (time.perf_counter() - started)
    log(f"small files: {rate:.1f} files/s (uploads alone {smalls / uploaded:.1f}/s), states {states}; "
        f"in-process {base_rate:.1f} files/s")  # fmt: skip
    results.append(entry(f"{NAME_PREFIX}{smalls} small mixed files upload -> final (1 worker)", rate, "files/s",
                         "inspect_file in-process files/s", base_rate, None, None))  # fmt: skip
    procs.stop(worker)
    procs.stop(gunicorn)
    empty(s3, everything=True)
    return results


def percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(len(ordered) * pct / 100) - 1))]


def wait_final(dsn: str, incident_key: str, count: int, timeout: float) -> list:
    deadline = time.monotonic() + timeout
    while True:
        rows = evidence_rows(dsn, incident_key)
        if len(rows) >= count and all(row[2] in FINAL for row in rows):
            return rows
        if time.monotonic() > deadline:
            raise SystemExit(f"not final within {timeout} s: {[(r[1], r[2]) for r in rows if r[2] not in FINAL]}")
        time.sleep(0.02)


def empty(s3, *, everything: bool = False) -> None:
    """Delete the bench's objects (moto keeps them in memory)."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=BUCKET):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if not everything:
            keys = [k for k in keys if k["Key"].startswith(("boto3/", "incoming/"))]
        if keys:
            s3.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})
    if everything:
        s3.delete_bucket(Bucket=BUCKET)


if __name__ == "__main__":
    main()
