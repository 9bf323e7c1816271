"""Web-layer fixtures: the app on each backend, a test client, a CLI runner, sign-in helpers.

Every test here asks (through `app`) for the root `users` fixture, so it runs once on SQLite
and once on PostgreSQL and the tables are wiped afterwards. CSRF is off in `app` so tests can
post forms directly; `csrf_app` keeps it on (the production default) for the tests that prove
a POST without its token is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from factories import build_incident
from flask import Flask
from flask.testing import FlaskClient
from reused_apps import ReusedApps
from sqlalchemy.orm import Session
from web_helpers import build_app, make_settings

from shared.accounts.models import User
from shared.incidents.models import Incident


@pytest.fixture
def make_app(database_url: str, users: dict[str, User], reused_apps: ReusedApps) -> Iterator[Callable[..., Flask]]:
    """make_app(csrf=False, fresh=False, **settings overrides) -> the app on this backend's
    database, as a new one is (see tests/reused_apps.py; fresh=True: a new one, to change)."""
    built: list[Flask] = []
    root = logging.getLogger()
    # create_app configures the root logger (stdout handler, level); give the next test back
    # what this one found.
    handlers, level = root.handlers[:], root.level

    def make(*, csrf: bool = False, fresh: bool = False, **overrides) -> Flask:
        settings = make_settings(overrides.pop("database_url", database_url), **overrides)
        if fresh:
            app = build_app(settings, csrf=csrf)
        else:
            app = reused_apps.get(settings, csrf=csrf, build=lambda: build_app(settings, csrf=csrf))
        built.append(app)
        return app

    yield make
    for app in built:
        # Release pooled connections before the root `db` fixture wipes the tables.
        app.extensions["db_engine"].dispose()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def csrf_app(make_app) -> Flask:
    return make_app(csrf=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def make_incident(db: Session, users: dict[str, User]) -> Callable[..., Incident]:
    """make_incident(status="open", reporter="lead", owner="member" | None, **details), committed."""

    def make(status: str = "open", *, reporter: str = "lead", owner: str | None = "member", **details) -> Incident:
        return build_incident(db, users, status, reporter=reporter, owner=owner, **details)

    return make
