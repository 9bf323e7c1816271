"""Engine, session factory and declarative Base for every domain's models."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names so Alembic migrations are identical on PostgreSQL and SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


_HISTORY_MOMENT: ContextVar[datetime | None] = ContextVar("history_moment", default=None)


def utcnow() -> datetime:
    """Now, in UTC; inside `clock_at(moment)`, that moment."""
    return _HISTORY_MOMENT.get() or datetime.now(UTC)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Make utcnow() answer `moment` in this context (thread) only: the demo seed writes weeks
    of history through the services, so each stamp, audit event and seal says when it
    happened in the story and they all agree."""
    token = _HISTORY_MOMENT.set(moment)
    try:
        yield
    finally:
        _HISTORY_MOMENT.reset(token)


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if "?" not in path:
                _owner_only(Path(path))
        engine = create_engine(url, connect_args={"timeout": 15}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "savepoint")
        def _begin_before_a_first_savepoint(connection, _name):
            # pysqlite begins a transaction only before an INSERT, UPDATE or DELETE: a SAVEPOINT
            # after nothing but reads began one itself, and its RELEASE committed it, so a later
            # ROLLBACK (a refusal found after the write, a team view's taken name) kept the row
            # (found by QA). BEGIN first: the savepoint nests in the session's transaction.
            dbapi_connection = connection.connection.dbapi_connection
            if not dbapi_connection.in_transaction:
                dbapi_connection.execute("BEGIN")

        return engine
    connect_args = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    # A bounded connect keeps /readyz and requests from hanging on an unreachable database.
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _owner_only(path: Path) -> None:
    """The database file readable by its owner only (0600), like the secret key and the mail
    folder beside it: it holds password hashes and every incident. Created so if missing (SQLite
    gives its -wal and -shm files the same mode); an existing one is tightened where we may."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # no O_TRUNC: an existing one is kept
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError:
        pass  # not ours to change (a volume mounted read-only or owned by another user): SQLite says so if it matters


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: Callable[[], Session]):
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
