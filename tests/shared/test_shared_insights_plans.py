"""Insights at scale: every statement reads an index range of the window, never the table.

Seeded inside PostgreSQL by the same code as `make bench` (filed over three years), so a
90-day window is ~8 % of the rows: the planner must still choose the timestamp indexes."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from shared import migrate
from shared.db import make_engine
from shared.demo_scale import seed_scale
from shared.incidents import insights

pytestmark = pytest.mark.postgres_only

ROWS = 100_000


@pytest.fixture(scope="module")
def big_engine(db_backend, temporary_database_url):
    url = temporary_database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'ALTER DATABASE "{engine.url.database}" SET random_page_cost = 1.1'))
    engine.dispose()
    engine = make_engine(url)
    seed_scale(engine=engine, incidents=ROWS, password="plan-test-password", audit_events=False)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE incidents"))
    yield engine
    engine.dispose()


@pytest.mark.parametrize("days", insights.WINDOWS)
def test_every_insights_query_is_an_index_range(big_engine, days):
    statements: list[tuple[str, dict]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if not statement.lstrip().upper().startswith("EXPLAIN"):
            statements.append((statement, parameters))

    event.listen(big_engine, "before_cursor_execute", capture)
    try:
        with Session(big_engine) as session:
            result = insights.compute(session=session, days=days)
    finally:
        event.remove(big_engine, "before_cursor_execute", capture)

    assert sum(t.filed for t in result.by_priority) > 0
    assert any(t.mtta for t in result.by_priority)
    assert any(t.mttr for t in result.by_priority)
    assert len(statements) == 6
    with big_engine.connect() as connection:
        for statement, parameters in statements:
            plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
            assert "Seq Scan on incidents" not in plan, f"{statement}\n{plan}"
            assert "ix_incidents_" in plan, plan
