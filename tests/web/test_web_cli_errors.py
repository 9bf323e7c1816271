"""`flask --app web ...` stops with one line, not a traceback: a wrong setting (exit 4, as
gunicorn and the worker), a database it cannot reach or that has no schema yet, a revision
that does not exist, `db revision` against a database behind head (exit 1). And `db revision`
writes no file when the models and the database agree."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask.testing import FlaskCliRunner
from servers import REPO_ROOT
from sqlalchemy import text
from web_helpers import build_app, make_settings

from shared import migrate
from shared.db import make_engine

NO_SCHEMA = "Error: The database has no schema yet: run `flask --app web db upgrade` (on AWS: the migrate task)"


def run_flask(app_spec: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The real command in a clean environment (nothing of this shell's settings leaks in)."""
    command = [sys.executable, "-m", "flask", "--app", app_spec, *args]
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT), **env}
    return subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli_on() -> Iterator[Callable[[str], FlaskCliRunner]]:
    """cli_on(database_url) -> a CLI runner of an app on that database."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    built = []

    def make(database_url: str) -> FlaskCliRunner:
        app = build_app(make_settings(database_url))
        built.append(app)
        return app.test_cli_runner()

    yield make
    for app in built:
        app.extensions["db_engine"].dispose()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The migrations, copied: `db revision` writes there, never into the working tree."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    return copy / "versions"


SHORT_SECRET = "not-32-characters-long"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"SMTP_SECURITY": "ssl"}, "SMTP_SECURITY is not valid"),
        ({"APP_ENV": "prod"}, "APP_ENV is not valid"),
        ({"APP_ENV": "production", "SECRET_KEY": SHORT_SECRET}, "SECRET_KEY must be at least 32 characters"),
    ],
    ids=["smtp-security", "app-env", "short-secret-key"],
)
@pytest.mark.parametrize(
    "app_spec",
    [
        "web.startup:create_app_or_exit()",
        "web",
    ],
    ids=["startup", "flask-app-web"],
)
def test_a_wrong_setting_stops_the_cli_with_one_line(tmp_path, app_spec, settings, named):
    """As gunicorn and the worker do (exit 4); it printed 36-45 lines of traceback."""
    done = run_flask(app_spec, "users", "list", DATA_DIR=str(tmp_path), **settings)
    assert (done.returncode, done.stdout) == (4, "")
    assert done.stderr.startswith(f"Incident Tracker cannot start: {named}")
    assert len(done.stderr.splitlines()) == 1
    assert SHORT_SECRET not in done.stderr


def test_the_real_command_on_a_database_without_a_schema_says_to_run_db_upgrade(tmp_path):
    """The QA report's case: `users list` on a fresh DATA_DIR printed ~75 lines of traceback."""
    done = run_flask("web", "users", "list", DATA_DIR=str(tmp_path))
    assert (done.returncode, done.stdout, done.stderr) == (1, "", NO_SCHEMA + "\n")


@pytest.mark.parametrize(
    "args",
    [
        ["users", "list"],
        ["audit", "verify"],
        ["demo", "seed"],
        ["tokens", "create", "--user", "ops@example.com", "--scope", "read"],
    ],
    ids=["users-list", "audit-verify", "demo-seed", "tokens-create"],
)
def test_a_database_without_a_schema_says_to_run_db_upgrade(cli_on, temporary_database_url, args):
    result = cli_on(temporary_database_url()).invoke(args=args)
    assert (result.exit_code, result.output) == (1, NO_SCHEMA + "\n")


def test_a_database_behind_this_release_says_to_run_db_upgrade(cli_on, temporary_database_url):
    url = temporary_database_url()
    migrate.upgrade(url, "0012")
    result = cli_on(url).invoke(args=["users", "list"])
    assert result.exit_code == 1
    head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    assert result.output == (
        f"Error: The database schema is at revision 0012, this release needs {head}: "
        "run `flask --app web db upgrade` (on AWS: the migrate task)\n"
    )


@pytest.mark.parametrize(
    "args",
    [["users", "list"], ["audit", "verify", "--full"], ["db", "upgrade"], ["db", "revision", "-m", "x"]],
    ids=["users-list", "audit-verify", "db-upgrade", "db-revision"],
)
def test_an_unreachable_database_is_one_line_without_its_password(cli_on, versions, args):
    runner = cli_on("postgresql+psycopg2://tracker:pw-not-shown@127.0.0.1:1/tracker")
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: Cannot reach the database postgresql+psycopg2://tracker:***@127.0.0.1:1/tracker: "
    )
    assert "Connection refused" in result.output
    assert len(result.output.splitlines()) == 1
    assert "pw-not-shown" not in result.output


def test_db_upgrade_names_a_revision_that_does_not_exist(cli_on, temporary_database_url):
    url = temporary_database_url()
    result = cli_on(url).invoke(args=["db", "upgrade", "--revision", "nosuchrev"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: No revision 'nosuchrev' among this release's migrations: give a revision id from "
        "shared/migrations/versions, or head (the default).\n"
    )
    assert migrate.current_revision(url) is None


def test_db_revision_on_a_database_behind_head_says_to_upgrade_first(cli_on, temporary_database_url, versions):
    url = temporary_database_url()
    migrate.upgrade(url, "0012")
    before = sorted(versions.iterdir())
    result = cli_on(url).invoke(args=["db", "revision", "-m", "too early"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: The database is not at the newest revision: run `flask --app web db upgrade` first "
        "(db revision compares the models with a database at head).\n"
    )
    assert sorted(versions.iterdir()) == before


def test_db_revision_writes_no_file_when_the_models_and_the_database_agree(cli_on, temporary_database_url, versions):
    url = temporary_database_url()
    migrate.upgrade(url)
    before = sorted(versions.iterdir())
    result = cli_on(url).invoke(args=["db", "revision", "-m", "nothing new"])
    assert (result.exit_code, result.output) == (
        0,
        "No revision written: the models declare nothing the database (at head) lacks.\n",
    )
    assert sorted(versions.iterdir()) == before


def test_db_revision_writes_what_the_database_lacks_and_empty_on_request(cli_on, temporary_database_url, versions):
    url = temporary_database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_audit_events_incident_id_id"))
    engine.dispose()
    runner = cli_on(url)

    result = runner.invoke(args=["db", "revision", "-m", "audit index"])
    assert result.exit_code == 0, result.output
    [written] = versions.glob("*_audit_index.py")
    assert result.output.splitlines()[-1] == f"Wrote {written}"
    assert "ix_audit_events_incident_id_id" in written.read_text()

    migrate.upgrade(url)  # at the new head: now --empty is the only way to get a file
    result = runner.invoke(args=["db", "revision", "-m", "by hand", "--empty"])
    assert result.exit_code == 0, result.output
    assert len(list(versions.glob("*_by_hand.py"))) == 1


@pytest.mark.postgres_only
def test_db_upgrade_behind_a_long_transaction_gives_up_and_names_it(cli_on, temporary_database_url):
    url = temporary_database_url()
    migrate.upgrade(url, "0017")  # 0018 rewrites `incidents`: it needs an exclusive lock on it
    app = build_app(make_settings(url, migration_lock_timeout_seconds=0.3, migration_attempts=2))
    engine = make_engine(url)
    try:
        with engine.connect() as report:
            pid = report.execute(text("SELECT pg_backend_pid()")).scalar_one()
            report.execute(text("SELECT count(*) FROM incidents"))  # its transaction stays open
            result = app.test_cli_runner().invoke(args=["db", "upgrade"])
            report.rollback()
    finally:
        engine.dispose()
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: The migration gave up after 2 attempts: each waited 0.3 s for a table lock another session holds. "
        f"Sessions in a transaction for longer than that: pid {pid} (user postgres, "
    )
    assert len(result.output.splitlines()) == 1
    assert migrate.current_revision(url) == "0017"
