"""Alembic environment: the URL comes from the caller (shared.migrate), never from a file."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import pool

from shared.db import Base, make_engine
from shared.migrate import include_object
from shared.models import import_all_models

import_all_models()
config = context.config
target_metadata = Base.metadata

_OPTIONS: dict[str, Any] = {"target_metadata": target_metadata, "include_object": include_object, "compare_type": True}


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        literal_binds=True,
        **_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


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
