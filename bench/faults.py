"""`make faults`: break the tracker's parts while people use it, and count what was lost.

Starts its own PostgreSQL cluster, redis-server, clamd, moto S3 server (behind a switchable
proxy), Celery worker and beat, and gunicorn, all on free 127.0.0.1 ports in a temp folder;
never the machine's shared services. Runs each case of bench/faultlib/cases.py (CASES) for its
trials, writes bench/faults.json (a list of {"case", "trials", "lost", "duplicated", "errors",
"pass"}), prints a table and exits 1 when any case failed.

    make faults                  # full: 10 kill -9 trials, 30 s Redis and 60 s clamd outages, ...
    make faults FAULTS_SHORT=1   # the short form CI runs: fewer trials, shorter outages (~6 min)
    FAULTS_ONLY=redis_outage,clamd_down make faults   # some cases only (function names)
    FAULTS_KEEP=1                # keep the temp folder (logs of every process) afterwards
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.faultlib.cases import CASES, Result, make_context  # noqa: E402
from bench.faultlib.stack import Stack  # noqa: E402

OUTPUT = ROOT / "bench" / "faults.json"


def log(message: str) -> None:
    print(f"[faults {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def print_table(results: list[Result], seconds: dict[str, float]) -> None:
    header = f"{'case':<40} {'trials':>6} {'lost':>5} {'dup':>5} {'errors':>6} {'secs':>6}  result"
    print(header)
    print("-" * len(header))
    for result in results:
        verdict = "PASS" if result.passed else "FAIL"
        print(
            f"{result.case:<40} {result.trials:>6} {result.lost:>5} {result.duplicated:>5} {result.errors:>6}"
            f" {seconds.get(result.case, 0):>6.0f}  {verdict}"
        )


def main() -> int:
    short = os.environ.get("FAULTS_SHORT", "") not in ("", "0")
    only = {name.strip() for name in os.environ.get("FAULTS_ONLY", "").split(",") if name.strip()}
    cases = [case for case in CASES if not only or case.__name__ in only]
    unknown = only - {case.__name__ for case in CASES}
    if unknown:
        print(f"unknown case(s) in FAULTS_ONLY: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="faults-"))
    workdir.chmod(0o755)  # the postgres user reads its cluster folder inside
    log(f"{'short' if short else 'full'} run of {len(cases)} cases; processes and logs in {workdir}")
    started = time.monotonic()
    stack = Stack(workdir, short=short)
    results: list[Result] = []
    seconds: dict[str, float] = {}
    try:
        stack.start()
        log(f"stack up in {time.monotonic() - started:.0f} s: web :{stack.web_port}, postgres :{stack.postgres.port},"
            f" redis :{stack.redis.port}, clamd :{stack.clamd.port}, moto :{stack.moto.port}")  # fmt: skip
        context = make_context(stack, short)
        for case in cases:
            log(f"case {case.__name__}")
            case_started = time.monotonic()
            try:
                result = case(stack, context)
            except Exception as error:  # a case that crashes fails; the others still run
                traceback.print_exc()
                result = Result(case.__name__, 0, errors=1)
                result.note(f"crashed: {type(error).__name__}: {error}")
            seconds[result.case] = time.monotonic() - case_started
            results.append(result)
            log(f"{result.case}: {'PASS' if result.passed else 'FAIL'} ({seconds[result.case]:.0f} s)")
    finally:
        stack.stop()
        if os.environ.get("FAULTS_KEEP"):
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    OUTPUT.write_text(json.dumps([result.as_json() for result in results], indent=2) + "\n")
    print()
    print_table(results, seconds)
    total = time.monotonic() - started
    failed = [result.case for result in results if not result.passed]
    passed = len(results) - len(failed)
    print(f"\n{passed}/{len(results)} cases passed in {total:.0f} s; wrote {OUTPUT.relative_to(ROOT)}")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
