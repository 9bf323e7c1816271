"""EXPLAIN the statements a piece of work ran, and the incidents the plan tests share: the plan
tests' helpers."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from shared import migrate
from shared.db import make_engine
from shared.demo_scale import seed_scale

PLAN_INCIDENTS = 200_000


def plans_of(engine: Engine, work: Callable[[], object], *, mentioning: str) -> list[str]:
    """Run `work`, then EXPLAIN (without running them again) the statements it sent through
    `engine` that mention `mentioning`: one plan text per statement, in order. Fails if none did."""
    seen: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if mentioning in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert seen, f"the work ran no statement mentioning {mentioning!r}"
    with engine.connect() as connection:
        return [
            "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
            for statement, parameters in seen
        ]


def unbounded_seq_scans(plan: str) -> list[str]:
    """Seq Scans on incidents not directly under a Limit (a LIMITed scan stops after a bounded
    number of rows at a given match rate; one without a Limit reads the whole table)."""
    lines = plan.split("\n")
    return [
        line
        for previous, line in zip(["", *lines], lines, strict=False)
        if "Seq Scan on incidents" in line and "Limit" not in previous
    ]


def plan_database(url: str) -> Engine:
    """An engine on the empty database at `url`, migrated, with the production parameter group's
    random_page_cost for SSD storage (README "Performance"; the server's default of 4 models
    spinning disks), set on this database only."""
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'ALTER DATABASE "{engine.url.database}" SET random_page_cost = 1.1'))
    engine.dispose()
    return make_engine(url)  # new connections: they take the database's setting


def seed_plan_incidents(engine: Engine) -> None:
    """`PLAN_INCIDENTS` incidents as `make bench` seeds them (inside PostgreSQL, in seconds), three
    more with a rare title word (one of them with that word in a comment only), and who watches
    what as the services leave it; analyzed. A few hundred thousand rows are enough for the
    planner to choose what it will choose at a million."""
    seed_scale(engine=engine, incidents=PLAN_INCIDENTS, password="plan-test-password", audit_events=False)
    with engine.begin() as connection:
        # A rare word: three incidents among 200k, for the sparse (full-text index) path.
        connection.execute(
            text(
                "INSERT INTO incidents (id, key, title, description, status, priority, component, environment,"
                " reporter_id, created_at, updated_at, version)"
                " SELECT g, 'INC-' || g, 'Kerberos tickets expire early', '', 'open', 'P2', 'auth', 'prod',"
                " 1, now(), now(), 1 FROM generate_series(:first, :first + 2) AS g"
            ),
            {"first": PLAN_INCIDENTS + 1},
        )
        # One of them names a keytab in its discussion only: "kerberos keytab" is split between
        # the title and a comment.
        connection.execute(
            text(
                "INSERT INTO incident_comments (incident_id, author_id, body, created_at)"
                " VALUES (:first, 1, 'Rotated the keytab on every host.', now())"
            ),
            {"first": PLAN_INCIDENTS + 1},
        )
        # Who watches what, as the services leave it: the reporter, and the owner once assigned.
        connection.execute(
            text(
                "INSERT INTO incident_watchers (incident_id, user_id, created_at)"
                " SELECT id, reporter_id, created_at FROM incidents"
                " UNION SELECT id, owner_id, created_at FROM incidents WHERE owner_id IS NOT NULL"
            )
        )
        connection.execute(text("ANALYZE incidents"))
        connection.execute(text("ANALYZE incident_comments"))
        connection.execute(text("ANALYZE incident_watchers"))
