"""Where one page's time goes: `make bench-profile` (PAGE=/incidents/INC-1 SIZE=1000000;
PAGE=create profiles filing an incident through the New incident form instead).

Runs the app in this process against a `make bench` database (bench_incidents_<SIZE>, seeded by
`make bench` or `flask demo seed-scale`), signs in as the lead, warms the page up, then serves it
REQUESTS times and prints, per request: CPU time of this process, wall time, the number of SQL
statements and the wall time spent waiting for them, the time spent rendering templates, and the
top functions of a cProfile run. The numbers behind README "Performance": why a page misses its
target when it does.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run as bench  # noqa: E402 - bench/run.py: the same databases, password and settings

SIZE = int(os.environ.get("SIZE", "100000"))
PAGE = os.environ.get("PAGE", "/")
REQUESTS = int(os.environ.get("REQUESTS", "50"))


def main() -> None:
    os.environ.update(bench.app_env(SIZE))
    from flask import templating
    from sqlalchemy import event

    from web.app import create_app

    app = create_app()
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    answer = client.post("/login", data={"csrf_token": token, "email": "lead@example.com", "password": bench.PASSWORD})
    if answer.status_code != 302:
        raise SystemExit(f"sign-in failed ({answer.status_code}): is {bench.database(SIZE)} seeded?")
    if PAGE == "create":
        # What `make bench` posts: the New incident form, as the signed-in lead.
        form = client.get("/incidents/new").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        fields = {"csrf_token": csrf, "title": "Bench: disk full on bench-host", "description": "Filed by the profile.",
                  "priority": "P3", "component": "rds", "environment": "prod", "owner": ""}  # fmt: skip

        def serve():
            return client.post("/incidents/new", data=fields)
    else:

        def serve():
            return client.get(PAGE)

    for _ in range(5):
        response = serve()
    if not 200 <= response.status_code < 400:
        raise SystemExit(f"{PAGE} answered {response.status_code}")

    sql = {"count": 0, "seconds": 0.0}
    by_statement: dict[str, list[float]] = {}
    render = {"seconds": 0.0, "depth": 0}

    def before(conn, *_args):
        conn.info["started"] = time.perf_counter()

    def after(conn, _cursor, statement, *_args):
        seconds = time.perf_counter() - conn.info.pop("started")
        sql["count"] += 1
        sql["seconds"] += seconds
        by_statement.setdefault(" ".join(statement.split()), []).append(seconds)

    original_render = templating._render

    def timed_render(*args, **kwargs):
        render["depth"] += 1
        started = time.perf_counter()
        try:
            return original_render(*args, **kwargs)
        finally:
            render["depth"] -= 1
            if render["depth"] == 0:  # nested renders (a cached row drawn) count once
                render["seconds"] += time.perf_counter() - started

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    templating._render = timed_render
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(REQUESTS):
        serve()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    templating._render = original_render
    event.remove(engine, "before_cursor_execute", before)
    event.remove(engine, "after_cursor_execute", after)

    per = 1000 / REQUESTS
    print(f"{PAGE} at {SIZE:,} incidents, {REQUESTS} requests, {len(response.data):,} bytes each")
    print(f"  CPU of this process   {cpu * per:7.2f} ms/request")
    print(f"  wall                  {wall * per:7.2f} ms/request")
    statements = sql["count"] / REQUESTS
    print(f"  SQL                   {sql['seconds'] * per:7.2f} ms/request waiting, {statements:.1f} statements")
    print(f"  templates             {render['seconds'] * per:7.2f} ms/request (lazy loads inside them included)")
    print("\nSQL statements by time per request:")
    for statement, times in sorted(by_statement.items(), key=lambda item: -sum(item[1]))[:8]:
        print(f"  {sum(times) * per:7.2f} ms  x{len(times) / REQUESTS:.0f}  {statement[:150]}")

    profile = cProfile.Profile()
    profile.enable()
    for _ in range(REQUESTS):
        serve()
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
    print("\ncProfile, cumulative (profiling roughly doubles the times):")
    print(out.getvalue()[out.getvalue().index("   ncalls") :][:8000])


if __name__ == "__main__":
    main()
