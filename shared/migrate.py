"""Run Alembic migrations programmatically (used by the CLI, `make run` and the tests)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

logger = logging.getLogger(__name__)
# pg_advisory_lock's key for "a migration run is working on this database" (advisory locks are
# per database): any fixed number below 2**31, so pg_locks shows it as objid with classid 0.
MIGRATION_LOCK_KEY = 7_303_042
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for "canceling statement due to lock timeout"

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
UPGRADE_HOW = "run `flask --app web db upgrade` (on AWS: the migrate task)"
# PostgreSQL-only search machinery that the migrations create by hand and the models do not
# declare (a generated tsvector column, GIN indexes): autogenerate must not propose dropping it.
POSTGRESQL_ONLY = frozenset(
    {
        "search_vector",
        "ix_incidents_search_vector",
        "ix_incident_comments_search_vector",
        "ix_incidents_title_trgm",
        "ix_incidents_key_trgm",
        "incident_title_words",
        "ix_incident_title_words_trgm",
    }
)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate's filter (shared/migrations/env.py): compare what the models own, and not
    the objects only the migrations know."""
    return not (reflected and compare_to is None and name in POSTGRESQL_ONLY)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


class DatabaseIsNewer(Exception):
    """The database is at a revision this code does not know: a newer release migrated it."""

    def __init__(self, revision: str):
        super().__init__(revision)
        self.revision = revision


class MigrationLockTimeout(Exception):
    """Every attempt gave up waiting for a table lock another session held (PostgreSQL)."""


def upgrade(
    database_url: str,
    revision: str = "head",
    *,
    lock_timeout_seconds: float = 0,
    attempts: int = 1,
    first_pause_seconds: float = 1.0,
) -> None:
    """Bring the database schema up to `revision` (default: the newest). A database a newer
    release migrated (a rollback deploys older code) is left as it is: raises DatabaseIsNewer
    before touching it, where Alembic would fail with "Can't locate revision".

    With `lock_timeout_seconds` (PostgreSQL), a statement that waits longer than that for a lock
    gives up, and the upgrade is tried again, up to `attempts` times, pausing 1, 2, 4... s (from
    `first_pause_seconds`, at most 30) in between. Without it, an ALTER queued behind one long
    transaction holds up every query on that table, the whole app, for as long as that
    transaction lasts. The failed attempt's transaction is rolled back; revisions already
    committed (each concurrent index build commits) stay, and the next attempt goes on from there.
    Raises MigrationLockTimeout naming the long transactions when the last attempt gives up."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config(database_url)
    current = current_revision(database_url)
    if current is not None and not _known(config, current):
        raise DatabaseIsNewer(current)
    if lock_timeout_seconds > 0:
        config.attributes["lock_timeout_ms"] = max(1, round(lock_timeout_seconds * 1000))
    for attempt in range(1, max(1, attempts) + 1):
        try:
            command.upgrade(config, revision)
            return
        except OperationalError as error:
            if getattr(error.orig, "pgcode", None) != LOCK_NOT_AVAILABLE:
                raise
            if attempt >= attempts:
                raise MigrationLockTimeout(
                    _lock_timeout_message(database_url, lock_timeout_seconds, attempts)
                ) from None
            pause = min(first_pause_seconds * 2 ** (attempt - 1), 30.0)
            logger.warning(
                "Migration attempt %d of %d waited %s s for a lock another session holds; trying again in %s s.",
                attempt,
                attempts,
                f"{lock_timeout_seconds:g}",
                f"{pause:g}",
            )
            time.sleep(pause)


def _lock_timeout_message(database_url: str, lock_timeout_seconds: float, attempts: int) -> str:
    """What to tell the person deploying: who holds the database up, without their queries' text
    (it can hold people's data)."""
    from shared.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT pid, usename, application_name, state,"
                    " extract(epoch FROM now() - xact_start)::int AS seconds"
                    " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND xact_start < now() - make_interval(secs => :seconds)"
                    " ORDER BY xact_start LIMIT 5"
                ),
                {"seconds": lock_timeout_seconds},
            ).all()
    finally:
        engine.dispose()
    holders = "; ".join(
        f"pid {row.pid} (user {row.usename}, {row.application_name or 'no application name'}, {row.state},"
        f" in a transaction for {_duration(row.seconds)})"
        for row in rows
    )
    return (
        f"The migration gave up after {attempts} attempt{'s' if attempts != 1 else ''}: each waited "
        f"{lock_timeout_seconds:g} s for a table lock another session holds. "
        + (f"Sessions in a transaction for longer than that: {holders}. " if holders else "")
        + "End them (SELECT pg_terminate_backend(pid)) or let them finish, then run the upgrade again. "
        "The attempt that gave up changed nothing; revisions already applied stay applied."
    )


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _known(config: Config, revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except CommandError:  # "Can't locate revision identified by ..."
        return False


def revision(database_url: str, message: str, *, autogenerate: bool = True, version_path: str | None = None):
    """Write a new revision file (compared against the database at `database_url`, which
    should be at head); returns Alembic's Script for it."""
    return command.revision(
        alembic_config(database_url), message=message, autogenerate=autogenerate, version_path=version_path
    )


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from shared.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return revision


@lru_cache(maxsize=1)
def _this_release() -> tuple[str, frozenset[str]]:
    """(head, every revision) of the migrations shipped with this code: read once per process."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head() or "", frozenset(rev.revision for rev in script.walk_revisions())


@dataclass(frozen=True)
class SchemaState:
    """Where the schema behind a connection stands against this release's migrations."""

    current: str | None  # the database's revision; None: no schema yet
    head: str  # the newest revision this release ships
    known: bool  # whether this release has the database's revision (False: a newer release migrated it)

    @property
    def standing(self) -> str:
        """up to date, behind (no schema yet counts) or ahead (a newer release migrated it)."""
        if self.current == self.head:
            return "up to date"
        return "behind" if self.current is None or self.known else "ahead"


def schema_state(connection) -> SchemaState:
    """The database's revision behind `connection` and this release's head. One read of alembic_version."""
    from alembic.runtime.migration import MigrationContext

    current = MigrationContext.configure(connection).get_current_revision()
    head, known = _this_release()
    return SchemaState(current=current, head=head, known=current in known)


def schema_problem(connection) -> str | None:
    """Why this code cannot run on the schema behind `connection`, in words, or None: no schema
    yet, or one older than this release's migrations. A newer one is fine: a rollback runs older
    code on it, which expand/contract migrations allow. One read of alembic_version."""
    state = schema_state(connection)
    if state.standing != "behind":
        return None
    if state.current is None:
        return f"the database has no schema yet: {UPGRADE_HOW}"
    return f"the database schema is at revision {state.current}, this release needs {state.head}: {UPGRADE_HOW}"
