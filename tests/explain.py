"""EXPLAIN the statements a piece of work ran: the plan tests' shared helper."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import Engine


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
