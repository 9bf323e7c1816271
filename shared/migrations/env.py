"""Alembic environment: the URL comes from the caller (shared.migrate), never from a file."""

from __future__ import annotations

import logging
import time
from typing import Any

from alembic import context
from sqlalchemy import Connection, pool, text

from shared.db import Base, make_engine
from shared.migrate import MIGRATION_LOCK_KEY, include_object
from shared.models import import_all_models

import_all_models()
config = context.config
target_metadata = Base.metadata

logger = logging.getLogger("shared.migrate")
MIGRATION_LOCK_POLL_SECONDS = 0.5

_OPTIONS: dict[str, Any] = {"target_metadata": target_metadata, "include_object": include_object, "compare_type": True}


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        literal_binds=True,
        **_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def _one_run_at_a_time(connection: Connection) -> None:
    """Hold this database's migration lock for the rest of the session (released when the
    connection closes), waiting for another run that holds it: two runs at once (a deploy re-run
    while an orphaned migrate task still works) would apply the same revision twice. The wait
    has no time limit (the lock timeout is set after it): the other run is working, not stuck
    behind us; the deploy's own timeout bounds it.

    It polls, outside any transaction, rather than block in pg_advisory_lock: a statement
    blocked there keeps a snapshot open, which the other run's CREATE INDEX CONCURRENTLY waits
    for, a deadlock."""
    key = {"key": MIGRATION_LOCK_KEY}
    told = False
    while not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar_one():
        if not told:
            holder = connection.execute(
                text(
                    "SELECT a.pid, a.application_name, extract(epoch FROM now() - a.backend_start)::int"
                    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :key"
                ),
                key,
            ).first()
            logger.warning(
                "Another migration run is upgrading this database (%s); waiting for it to finish.",
                f"pid {holder[0]}, {holder[1] or 'no application name'}, connected {holder[2]} s ago"
                if holder
                else "it just finished",
            )
            told = True
        connection.commit()
        time.sleep(MIGRATION_LOCK_POLL_SECONDS)
    connection.commit()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, render_as_batch=True, **_OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("Run migrations through shared.migrate, which passes the database URL.")
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            _one_run_at_a_time(connection)
        lock_timeout_ms = config.attributes.get("lock_timeout_ms")
        if lock_timeout_ms and connection.dialect.name == "postgresql":
            # A DDL statement queued behind a long transaction makes every later query on that
            # table queue behind the DDL: give up after this long instead (shared.migrate retries).
            # Set for the session, outside the migrations' transaction, so that it holds through
            # the autocommit blocks of the concurrent index builds too.
            connection.exec_driver_sql(f"SET lock_timeout = {int(lock_timeout_ms)}")
            connection.commit()
        # render_as_batch: SQLite can only ALTER through table copies; batch mode does that.
        context.configure(connection=connection, render_as_batch=True, **_OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
