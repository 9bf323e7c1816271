"""A migration that meets a long transaction gives up waiting for its lock instead of holding up
the whole app behind it, tries again, and says who held it up when it stops trying (PostgreSQL:
SQLite has no concurrent sessions to wait for)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from shared import migrate
from shared.db import make_engine

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres_only

# The last revision before one that rewrites `incidents` (0018 needs an exclusive lock on it).
BEFORE_A_TABLE_REWRITE = "0017"


def head() -> str:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()


@contextmanager
def connection_to(url: str) -> Iterator[Connection]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@contextmanager
def long_transaction_reading_incidents(url: str) -> Iterator[tuple[int, Callable[[], None]]]:
    """A session that read `incidents` in a transaction it keeps open (as a report or a stuck
    worker does): (its pid, a function that ends the transaction)."""
    with connection_to(url) as connection:
        connection.exec_driver_sql("SET application_name = 'nightly-report'")
        connection.commit()
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        connection.exec_driver_sql("SELECT count(*) FROM incidents").scalar_one()
        yield pid, connection.rollback
        connection.rollback()


def upgrade_in_background(url: str, **options) -> tuple[threading.Thread, list[BaseException]]:
    failures: list[BaseException] = []

    def run() -> None:
        try:
            migrate.upgrade(url, **options)
        except BaseException as error:  # handed to the test thread
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, failures


def test_the_app_keeps_answering_while_a_migration_waits_and_the_migration_names_who_held_it_up(
    temporary_database_url,
):
    url = temporary_database_url()
    migrate.upgrade(url, BEFORE_A_TABLE_REWRITE)

    with long_transaction_reading_incidents(url) as (blocker_pid, _end), connection_to(url) as app:
        # The app's own queries have no lock timeout: bound this one so that a regression fails
        # the test in 30 s instead of hanging it.
        app.exec_driver_sql("SET statement_timeout = '30s'")
        app.commit()
        upgrade, failures = upgrade_in_background(url, lock_timeout_seconds=0.5, attempts=3, first_pause_seconds=0.2)
        answered = 0
        while upgrade.is_alive():
            # A page reading incidents while the migration waits: without the lock timeout it
            # would queue behind the migration's exclusive lock until the report ends.
            assert app.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 0
            app.rollback()
            answered += 1
        upgrade.join()

    assert answered > 0
    assert len(failures) == 1
    assert isinstance(failures[0], migrate.MigrationLockTimeout)
    message = str(failures[0])
    assert "gave up after 3 attempts" in message
    assert "each waited 0.5 s for a table lock another session holds" in message
    assert f"pid {blocker_pid} (user postgres, nightly-report, idle in transaction" in message
    assert "pg_terminate_backend" in message
    assert "SELECT count(*)" not in message  # their query's text can hold people's data
    # Nothing half-done: still at the revision before, and the next upgrade finishes.
    assert migrate.current_revision(url) == BEFORE_A_TABLE_REWRITE
    migrate.upgrade(url, lock_timeout_seconds=0.5)
    assert migrate.current_revision(url) == head()


def test_the_upgrade_finishes_once_the_long_transaction_ends(temporary_database_url, caplog):
    url = temporary_database_url()
    migrate.upgrade(url, BEFORE_A_TABLE_REWRITE)
    caplog.set_level("WARNING", logger="shared.migrate")

    with long_transaction_reading_incidents(url) as (_pid, end_transaction):
        upgrade, failures = upgrade_in_background(url, lock_timeout_seconds=0.3, attempts=20, first_pause_seconds=0.1)
        retried = threading.Event()
        while not retried.is_set() and upgrade.is_alive():
            retried.wait(0.05)
            if any("trying again" in record.getMessage() for record in caplog.records):
                retried.set()
        end_transaction()
        upgrade.join(timeout=120)

    assert retried.is_set()
    assert not upgrade.is_alive()
    assert failures == []
    assert migrate.current_revision(url) == head()
    assert "Migration attempt 1 of 20 waited 0.3 s for a lock another session holds" in caplog.text


def test_without_a_lock_timeout_the_upgrade_waits_as_before(temporary_database_url):
    """MIGRATION_LOCK_TIMEOUT_SECONDS=0: no limit (one attempt that waits as long as it takes)."""
    url = temporary_database_url()
    migrate.upgrade(url, BEFORE_A_TABLE_REWRITE)
    with long_transaction_reading_incidents(url) as (_pid, end_transaction):
        upgrade, failures = upgrade_in_background(url, lock_timeout_seconds=0)
        upgrade.join(timeout=2)
        assert upgrade.is_alive()  # still waiting
        end_transaction()
        upgrade.join(timeout=120)
    assert failures == []
    assert migrate.current_revision(url) == head()


def test_a_second_migration_run_waits_for_the_first_and_then_finds_nothing_to_do(temporary_database_url, caplog):
    """A deploy re-run while an orphaned migrate task still works: one run at a time."""
    url = temporary_database_url()
    migrate.upgrade(url, BEFORE_A_TABLE_REWRITE)
    caplog.set_level("WARNING", logger="shared.migrate")
    with connection_to(url) as first_run:
        first_run.exec_driver_sql("SET application_name = 'migrate-task-1'")
        first_pid = first_run.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        first_run.execute(text("SELECT pg_advisory_lock(:key)"), {"key": migrate.MIGRATION_LOCK_KEY})
        first_run.commit()

        second, failures = upgrade_in_background(url, lock_timeout_seconds=0.3, attempts=2)
        while second.is_alive() and "Another migration run" not in caplog.text:
            second.join(timeout=0.05)
        second.join(timeout=2)  # longer than its whole lock-timeout budget: it is waiting
        assert second.is_alive()
        assert migrate.current_revision(url) == BEFORE_A_TABLE_REWRITE
        first_run.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": migrate.MIGRATION_LOCK_KEY})
        first_run.commit()
        second.join(timeout=120)

    assert failures == []
    assert migrate.current_revision(url) == head()
    assert (
        f"Another migration run is upgrading this database (pid {first_pid}, migrate-task-1, connected" in caplog.text
    )


def test_two_migration_runs_at_once_both_succeed(temporary_database_url):
    """Two processes (two migrate tasks), from an empty database: one migrates, the other waits
    and finds it at head (a second CREATE TABLE or a deadlock with the concurrent index builds
    would fail it)."""
    url = temporary_database_url()
    run = f"from shared import migrate; migrate.upgrade({url!r}, lock_timeout_seconds=5, attempts=2)"
    runs = [
        subprocess.Popen([sys.executable, "-c", run], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(process.wait(timeout=300), process.stderr.read()) for process in runs if process.stderr]
    assert [code for code, _stderr in results] == [0, 0], results
    assert migrate.current_revision(url) == head()
