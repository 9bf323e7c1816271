"""Root fixtures: one migrated database per backend, a session per test, seeded users.

Every test that (directly or through another fixture) asks for `db_backend` runs once on
SQLite and once on PostgreSQL. PostgreSQL comes from TEST_DATABASE_URL (default: the local
server, trust auth); each run creates its own `it_<hex>` database and drops it at the end.
Without a reachable server the PostgreSQL half skips with the reason, except under CI=true,
where it fails: CI must never pass by silently testing less.

Tests marked `postgres_only` are generated for PostgreSQL alone (and `db` refuses to hand
them an SQLite session, should one ever get through).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import IllegalStateChangeError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.session import _sessions

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from reused_apps import ReusedApps  # noqa: E402
from scheduling import WaitAwareFileScheduling  # noqa: E402
from seeding import seed_users, wipe  # noqa: E402

from shared import migrate  # noqa: E402
from shared.accounts import passwords  # noqa: E402
from shared.accounts.models import User  # noqa: E402
from shared.db import Base, make_engine, make_session_factory  # noqa: E402
from shared.models import import_all_models  # noqa: E402

import_all_models()
_REAL_HASHER, _REAL_DUMMY_HASH = passwords._hasher, passwords._DUMMY_HASH

BACKENDS = ("sqlite", "postgresql")
DEFAULT_TEST_DATABASE_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


# `make test` runs `--dist loadfile --no-loadscope-reorder`: xdist hands out whole files in the
# order given here. (By default it reorders files by their number of tests, so the few-test
# files that wait on real processes for a minute started last and made the run's tail: the
# Celery worker tests at 68 s, checkov at 192 s of a 275 s run.) Longest first, then by number
# of tests; tests/scheduling.py then keeps the waiting files (below) to half the workers.
# Seconds: each file's time in a whole `make test-only` on a 2-core machine (four workers, the
# mean of two runs on 2026-12-01, files of 14 s and more; a group of SAME_WORKER_GROUPS under its
# first file, all of its files together); a file missing here only loses its head start, never a test.
SLOW_FILES_FIRST = {
    "tests/worker/test_worker_celery.py": 101,  # real workers, SIGTERM/SIGKILL
    "tests/infra/test_infra_terraform.py": 82,  # terraform init + test per root (CPU, two cores)
    "tests/infra/test_infra_checkov.py": 60,  # one checkov run over terraform/ (CPU)
    "tests/evidence/test_evidence_pipeline.py": 56,  # worker + moto + clamd end to end
    "tests/delivery/test_delivery_make_run_supervisor.py": 53,  # `make run`s whose worker is killed
    "tests/delivery/test_delivery_make_run.py": 52,  # one `make run`: worker, beat, gunicorn, mail
    "tests/notifications/test_notifications_worker.py": 52,  # real worker, beat, a lease to lapse
    "tests/shared/test_shared_query_plans.py": 47,  # + two files on its 200k incidents (SAME_WORKER_GROUPS)
    "tests/web/test_web_cli_errors.py": 37,
    "tests/api/test_api_access.py": 35,  # 652 route x role x scope cases
    "tests/e2e/test_e2e_dashboard.py": 32,
    "tests/delivery/test_delivery_deploy_script.py": 32,
    "tests/evidence/test_evidence_faults.py": 30,  # Redis down for 20 s
    "tests/e2e/test_e2e_evidence_uploads.py": 29,
    "tests/e2e/test_e2e_incident_page_focus.py": 29,
    "tests/shared/test_shared_migration_locks.py": 28,
    "tests/web/test_web_dashboard.py": 27,
    "tests/notifications/test_notifications_undo_hold_worker.py": 26,  # worker + beat, a held move
    "tests/e2e/test_e2e_accessibility.py": 24,
    "tests/e2e/test_e2e_phone_layout.py": 22,
    "tests/api/test_api_evidence_pipeline.py": 22,
    "tests/worker/test_worker_outbox.py": 21,
    "tests/notifications/test_notifications_mail_content.py": 21,
    "tests/e2e/test_e2e_evidence.py": 20,
    "tests/delivery/test_delivery_images.py": 20,
    "tests/web/test_web_security.py": 19,
    "tests/shared/test_shared_timeline_plans.py": 19,
    "tests/evidence/test_evidence_time_limit.py": 19,
    "tests/api/test_api_schemathesis.py": 18,
    "tests/shared/test_shared_team_follow_ups_plans.py": 18,  # 200k follow-ups
    "tests/notifications/test_notifications_undo_hold.py": 17,
    "tests/e2e/test_e2e_confirm_and_focus.py": 16,
    "tests/e2e/test_e2e_ui_small_fixes.py": 16,
    "tests/e2e/test_e2e_passwords.py": 16,
    "tests/e2e/test_e2e_follow_ups_more.py": 16,
    "tests/e2e/test_e2e_smaller_defects.py": 15,
    "tests/evidence/test_evidence_web.py": 15,
    "tests/delivery/test_delivery_gunicorn.py": 15,
    "tests/shared/test_shared_migrations.py": 15,
    "tests/delivery/test_delivery_workflows.py": 14,
    "tests/worker/test_worker_filesystem_broker_atomic.py": 14,  # a real worker, half-written messages
    "tests/e2e/test_e2e_signed_out_elsewhere.py": 14,
    "tests/notifications/test_notifications_webhook_delivery.py": 14,
    "tests/web/test_web_cli.py": 14,
    "tests/e2e/test_e2e_incident_page_drafts.py": 14,
}

# Files that spend most of their time waiting, not computing: run alone (one pytest process,
# 2026-11-30), each took at least 4 s longer than the CPU time the whole machine spent meanwhile
# (/proc/stat), e.g. the Celery worker tests 60 s for 16 s of CPU, the Redis outage 38 s for 5 s.
# tests/scheduling.py runs at most half the workers on these at once. A file missing here is
# scheduled as a computing one: no test is lost, only some overlap.
WAITING_FILES = {
    "tests/worker/test_worker_celery.py",  # worker starts and stops, a SIGKILL's redelivery
    "tests/notifications/test_notifications_worker.py",  # retries by the beat, a lease to lapse
    "tests/evidence/test_evidence_faults.py",  # Redis down for 20 s
    "tests/evidence/test_evidence_pipeline.py",  # clamd and the worker, per file
    "tests/delivery/test_delivery_make_run.py",  # `make run` up, Ctrl-C, down
    "tests/delivery/test_delivery_make_run_supervisor.py",  # a killed worker started again
    "tests/worker/test_worker_filesystem_broker_atomic.py",  # the worker's polls
    "tests/notifications/test_notifications_undo_hold_worker.py",  # the beat's sweep after the hold
    "tests/evidence/test_evidence_time_limit.py",  # a scan that outlasts its time limit
    "tests/worker/test_worker_outbox.py",  # the sweep's schedule
    "tests/api/test_api_evidence_pipeline.py",
    "tests/notifications/test_notifications_webhook_delivery.py",  # receivers that time out
    "tests/delivery/test_delivery_gunicorn.py",  # graceful stops
    "tests/e2e/test_e2e_evidence.py",
    "tests/evidence/test_evidence_web.py",
}


# Files whose tests share a session fixture too costly to build on two workers: each group runs
# on one worker, after one another (tests/scheduling.py), in the order given by the first file's
# place in SLOW_FILES_FIRST. `big_engine` (tests/shared/conftest.py): 200k seeded incidents, ~15 s
# of PostgreSQL's CPU alone, ~55 s in a whole run; three files seeded one each (2026-12-01).
SAME_WORKER_GROUPS = (
    (
        "tests/shared/test_shared_query_plans.py",
        "tests/shared/test_shared_owner_disabled_plans.py",
        "tests/shared/test_shared_search_hint_plans.py",
    ),
)
SAME_WORKER = {file: group[0] for group in SAME_WORKER_GROUPS for file in group}


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # optional: `-p no:xdist` runs without it
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> WaitAwareFileScheduling | None:
    if config.getvalue("dist") != "loadfile":
        return None  # xdist's own
    return WaitAwareFileScheduling(config, log, waiting_files=WAITING_FILES, same_worker=SAME_WORKER)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    tests_in = Counter(file_of(item) for item in items)

    def longest_first(item: pytest.Item) -> tuple[int, int, str]:
        name = file_of(item)
        unit = SAME_WORKER.get(name, name)  # a group: where its first file is, and together
        return (-SLOW_FILES_FIRST.get(unit, 0), -tests_in[unit], unit)

    items.sort(key=longest_first)  # stable: the order within a file stays


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" not in metafunc.fixturenames:
        return
    backends = ["postgresql"] if metafunc.definition.get_closest_marker("postgres_only") else list(BACKENDS)
    metafunc.parametrize("db_backend", backends, ids=backends, indirect=True, scope="session")


@pytest.fixture(scope="session")
def db_backend(request: pytest.FixtureRequest) -> str:
    """Which backend this test runs on: "sqlite" or "postgresql" (see pytest_generate_tests)."""
    return request.param


# Same algorithm (argon2id), a thousandth of the work: a production-strength hash or check costs
# 0.1-0.3 s of CPU by design (64 MiB, four lanes), and the `users` fixture alone would pay that
# four times per test. Browser tests use it too: each signs in through the form at least once,
# ~55 sign-ins in all, and what they check is the page, not the hash (the production parameters
# are checked through the service and the web forms with `real_password_hashing`).
_FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_FAST_DUMMY_HASH = _FAST_HASHER.hash("not-a-real-password")


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters for every test (the live servers of browser tests run in this
    process and see them too).

    Tests about the production parameters or sign-in timing ask for `real_password_hashing`."""
    monkeypatch.setattr(passwords, "_hasher", _FAST_HASHER)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", _FAST_DUMMY_HASH)


@pytest.fixture
def real_password_hashing(_fast_password_hashing: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo `_fast_password_hashing` for this test: production argon2id parameters."""
    monkeypatch.setattr(passwords, "_hasher", _REAL_HASHER)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", _REAL_DUMMY_HASH)


def _admin_url() -> URL:
    return make_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE_URL)


def _postgres_unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class _MigratedDatabases:
    """One migrated database per backend for the whole run (per xdist worker), made on first use.

    `db_backend` is a session-scoped parameter, so pytest tears `database_url` down whenever the
    backend changes: under `--dist loadfile` at every file (its SQLite tests, then its PostgreSQL
    ones), which created and migrated two databases per file. Handed out again, a database is
    emptied first (`_empty_as_new`), so a file still starts from tables as a new one has them."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp_path_factory = tmp_path_factory
        self._urls: dict[str, str] = {}
        self._reused: set[str] = set()
        self.cleanup = contextlib.ExitStack()

    def url(self, backend: str) -> str:
        if backend in self._urls:
            self._reused.add(self._urls[backend])
            return self._urls[backend]
        if backend == "sqlite":
            url = f"sqlite:///{self._tmp_path_factory.mktemp('sqlite') / 'incident-tracker.db'}"
            migrate.upgrade(url)
        else:
            url = self.cleanup.enter_context(contextlib.contextmanager(_temporary_postgres_database)())
        self._urls[backend] = url
        return url

    def handed_out_before(self, url: str) -> bool:
        return url in self._reused


@pytest.fixture(scope="session")
def _migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_MigratedDatabases]:
    databases = _MigratedDatabases(tmp_path_factory)
    with databases.cleanup:
        yield databases


@pytest.fixture(scope="session")
def database_url(db_backend: str, _migrated_databases: _MigratedDatabases) -> str:
    """A migrated database for this backend, for the whole run."""
    return _migrated_databases.url(db_backend)


def _temporary_postgres_database() -> Iterator[str]:
    admin_url = _admin_url()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    name = f"it_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # any driver / network error means "no usable server"
        admin.dispose()
        shown = admin_url.render_as_string(hide_password=True)
        reason = " ".join(str(getattr(error, "orig", None) or error).split())
        _postgres_unavailable(f"PostgreSQL not reachable at {shown}: {reason}")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def temporary_database_url(db_backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory):
    """A factory for extra, empty (unmigrated) databases on this backend, dropped at the end.

    For tests that need a schema of their own (migrations up and down). It asks for
    `database_url` only so that an unreachable server skips (or fails) the same way."""
    created: list[Iterator[str]] = []

    def make() -> str:
        if db_backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('sqlite-extra') / 'fresh.db'}"
        generator = _empty_postgres_database()
        created.append(generator)
        return next(generator)

    yield make
    for generator in created:
        next(generator, None)


def _empty_postgres_database() -> Iterator[str]:
    admin_url = _admin_url()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"it_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str, _migrated_databases: _MigratedDatabases) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if _migrated_databases.handed_out_before(database_url):
        _empty_as_new(engine)  # what a test without `db` left behind in an earlier file
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def reused_apps() -> Iterator[ReusedApps]:
    """This test file's apps, one per settings (tests/reused_apps.py)."""
    apps = ReusedApps()
    yield apps
    apps.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def _empty_as_new(engine: Engine) -> None:
    """Empty every application table as a new database has them, before a file reuses one.

    On PostgreSQL `wipe` (DELETE) leaves dead rows whose space later inserts may take, so an
    unordered SELECT need not return rows in insertion order any more: TRUNCATE gives every
    table a new, empty heap (replica mode skips the audit table's refusing trigger)."""
    if engine.dialect.name != "postgresql":
        wipe(engine)
        return
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "SET LOCAL session_replication_role = replica; SET LOCAL lock_timeout = '10s';"
            f" TRUNCATE {names} RESTART IDENTITY"
        )


def close_sessions_left_open() -> None:
    """Sessions the test opened itself (races, second readers) must not hold locks. A browser
    test's live server may still be starting a request the page fired as it closed (its
    in-flight count starts only once werkzeug calls the app): that session is in use on the
    server's thread and cannot be closed from here; it ends with its request, and the wipe's
    TRUNCATE waits for it (sqlalchemy's close_all_sessions() raised IllegalStateChangeError)."""
    for session in list(_sessions.values()):
        with contextlib.suppress(IllegalStateChangeError):
            session.close()


@pytest.fixture
def db(request: pytest.FixtureRequest, db_backend: str, engine: Engine, session_factory) -> Iterator[Session]:
    """A session on an empty database; everything the test wrote is wiped afterwards."""
    if db_backend != "postgresql" and request.node.get_closest_marker("postgres_only"):
        pytest.skip("needs PostgreSQL")
    session = session_factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
        close_sessions_left_open()
        wipe(engine)


@pytest.fixture
def users(db: Session, database_url: str) -> dict[str, User]:
    """Committed users by role: "admin", "lead", "member" and a second member, "other"."""
    return seed_users(db, database_url)
