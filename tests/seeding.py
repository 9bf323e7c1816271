"""Test data in a database: empty it, seed the four users, keep a data set to put back.

Imported by the root conftest (the per-test `db` wipe, the `users` fixture), by test files that
build their data once per file (`DataSet`) and by per-test fixtures whose data is always the
same (`built_once`)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import TypeVar

from factories import PASSWORD, USER_SPECS
from sqlalchemy import Integer, exists, inspect, literal, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shared.accounts import passwords
from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.db import Base

T = TypeVar("T")


def wipe(engine: Engine) -> None:
    """Delete every row of every application table (the schema and alembic_version stay)."""
    tables = Base.metadata.sorted_tables
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # The audit table refuses DELETE and TRUNCATE through triggers; replica mode skips
            # ordinary triggers for this transaction only. DELETE + sequence reset does what
            # TRUNCATE ... RESTART IDENTITY does at a twentieth of the cost on tables this small.
            # lock_timeout turns a test that leaked an open transaction into an error, not a hang.
            # All of it in one round trip: this runs after every database test.
            names = ", ".join(f"'{table.name}'" for table in tables)
            connection.exec_driver_sql(
                "SET LOCAL session_replication_role = replica;"
                " SET LOCAL lock_timeout = '10s';"
                + "".join(f' DELETE FROM "{table.name}";' for table in reversed(tables))
                + " SELECT setval(pg_get_serial_sequence(name, 'id'), 1, false)"
                f" FROM unnest(ARRAY[{names}]) AS name"
                " WHERE pg_get_serial_sequence(name, 'id') IS NOT NULL"
            )
        else:
            for table in reversed(tables):
                connection.execute(table.delete())
            if inspect(connection).has_table("sqlite_sequence"):
                connection.execute(text("DELETE FROM sqlite_sequence"))


# What `users` wrote into an empty database, per database and password hasher: every row of
# every table (accounts, their audit events and outbox messages). Later tests get the same rows
# back as plain INSERTs (same ids, hashes, audit chain) instead of four argon2 hashes and four
# chained audit appends each. Captured by the first test that asks, through the service.
_SEEDED_ROWS: dict[tuple[str, int], dict[str, list[dict]]] = {}


def _is_empty(connection) -> bool:
    """No row in any application table (one round trip)."""
    tables = Base.metadata.sorted_tables
    return not any(connection.execute(select(*[exists(select(literal(1)).select_from(t)) for t in tables])).one())


def table_texts(connection) -> dict[str, str]:
    """Every row of every application table as text, in primary-key order, one string per table,
    written by the database in one statement: for telling whether anything changed. The access
    matrices compare the whole database before and after each of their ~1,900 cases; reading it
    as Python values (a SELECT per table, every value converted) took ~4x the time."""
    statement = _table_texts_statement(connection.dialect.name, tuple(Base.metadata.tables))
    return dict(connection.exec_driver_sql(statement).all())


@functools.cache
def _table_texts_statement(dialect: str, table_names: tuple[str, ...]) -> str:
    parts = []
    for name in table_names:
        table = Base.metadata.tables[name]
        order = ", ".join(f'r."{column.name}"' for column in table.primary_key.columns)
        if dialect == "postgresql":
            # A row's text form holds every column exactly (timestamps to the microsecond).
            rows = f'SELECT string_agg(r::text, chr(10) ORDER BY {order}) FROM "{name}" AS r'
        else:
            # quote() writes each value as an SQL literal: text quoted, blobs in hex, NULL as NULL.
            row = " || ',' || ".join(f'quote(r."{column.name}")' for column in table.columns)
            lines = f'SELECT {row} AS line FROM "{name}" AS r ORDER BY {order}'
            rows = f"SELECT group_concat(line, char(10)) FROM ({lines})"
        parts.append(f"SELECT '{name}', coalesce(({rows}), '')")  # names of our own tables
    return " UNION ALL ".join(parts)


def _all_rows(connection) -> dict[str, list[dict]]:
    rows = {}
    for table in Base.metadata.sorted_tables:
        found = connection.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
        if found:
            rows[table.name] = [dict(row) for row in found]
    return rows


def _replay(connection, rows: dict[str, list[dict]]) -> None:
    for table in Base.metadata.sorted_tables:
        if table.name in rows:
            connection.execute(table.insert(), rows[table.name])
    if connection.dialect.name == "postgresql":
        # Explicit ids leave the sequences behind: move them past the rows, as the service's
        # own inserts would have.
        for name in rows:
            columns = Base.metadata.tables[name].columns
            if "id" in columns and isinstance(columns["id"].type, Integer):
                connection.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence(:name, 'id'), max_id)"
                        f' FROM (SELECT max(id) AS max_id FROM "{name}") AS m'  # a table name of ours
                        " WHERE pg_get_serial_sequence(:name, 'id') IS NOT NULL"
                    ),
                    {"name": name},
                )


def seed_users(db: Session, database_url: str) -> dict[str, User]:
    """Commit the four users by role into an empty database (replayed rows after the first time)."""
    engine = db.get_bind()
    seeded_key = (database_url, id(passwords._hasher))
    with engine.begin() as connection:
        empty = _is_empty(connection)
        if empty and seeded_key in _SEEDED_ROWS:
            _replay(connection, _SEEDED_ROWS[seeded_key])
            replayed = True
        else:
            replayed = False
    if not replayed:
        for email, name, role in USER_SPECS.values():
            accounts.create_user(session=db, actor=None, email=email, name=name, role=role, password=PASSWORD)
        db.commit()
        if empty:
            with engine.connect() as connection:
                _SEEDED_ROWS[seeded_key] = _all_rows(connection)
    by_email = {user.email: user for user in db.scalars(select(User))}
    return {key: by_email[email] for key, (email, _name, _role) in USER_SPECS.items()}


# What a fixture built, per database, fixture and password hasher: the rows the database held
# before the first build (but for sign-ins), the rows the build added, and what it returned.
_BUILT: dict[tuple[str, str, int], tuple[dict[str, list[dict]], dict[str, list[dict]], object]] = {}
# Open sign-ins (a test client signed in before the fixture ran) are not data a build reads.
_NOT_READ_BY_BUILDS = {"login_sessions"}


def _primary_key(table_name: str, row: dict) -> tuple:
    return tuple(row[column.name] for column in Base.metadata.tables[table_name].primary_key.columns)


def built_once(db: Session, database_url: str, name: str, build: Callable[[], T]) -> T:
    """build() the first time; afterwards, when the database holds exactly what it held before
    that first build, insert the rows it added as plain INSERTs (same ids, audit chain and
    timestamps) and return the same result, without going through the services.

    For a per-test fixture whose data is always the same (the dashboard's five incidents): the
    services, audit seals and outbox run once per backend instead of once per test. The result
    must be plain data (keys, ids), not ORM objects. Whenever the database differs from the
    first time (another test's fixtures ran first), or the build changed rows that were there,
    it builds through the services as before."""
    engine = db.get_bind()
    key = (database_url, name, id(passwords._hasher))
    db.commit()  # end the session's transaction: it must not read from before the inserts
    with engine.connect() as connection:
        before = {table: rows for table, rows in _all_rows(connection).items() if table not in _NOT_READ_BY_BUILDS}
    cached = _BUILT.get(key)
    if cached is not None and cached[0] == before:
        _before, added, result = cached
        with engine.begin() as connection:
            _replay(connection, added)
        return copy.deepcopy(result)  # type: ignore[return-value]
    result = build()
    db.commit()
    with engine.connect() as connection:
        after = _all_rows(connection)
    added: dict[str, list[dict]] = {}
    for table, rows in before.items():
        kept = {_primary_key(table, row) for row in after.get(table, [])}
        if any(_primary_key(table, row) not in kept for row in rows):
            return result  # the build deleted rows: not replayable, build each time
    for table, rows in after.items():
        earlier = {_primary_key(table, row): row for row in before.get(table, [])}
        if any(earlier.get(_primary_key(table, row), row) != row for row in rows):
            return result  # the build changed rows that were there: not replayable, build each time
        new_rows = [row for row in rows if _primary_key(table, row) not in earlier]
        if new_rows and table not in _NOT_READ_BY_BUILDS:
            added[table] = new_rows
    if cached is None:
        _BUILT[key] = (before, added, copy.deepcopy(result))
    return result


class DataSet:
    """Rows built once through the services, put back as plain INSERTs after a test changed them.

    For a file whose tests all start from the same data and mostly only read it (or are refused
    and must change nothing): the data is built once per backend instead of once per test, and
    only a test that changed something pays for the reset (DELETE + INSERT of the saved rows, a
    few milliseconds, the same ids and audit chain as before)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.connect() as connection:
            self.rows = _all_rows(connection)
            self.texts = table_texts(connection)

    def changed(self) -> bool:
        with self.engine.connect() as connection:
            return table_texts(connection) != self.texts

    def restore(self) -> None:
        wipe(self.engine)
        with self.engine.begin() as connection:
            _replay(connection, self.rows)
