"""API test fixtures: the app on each backend, tokens of each scope for each role, helpers."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_helpers import api_settings, build_api_app, empty_folder
from factories import build_incident
from flask import Flask
from reused_apps import ReusedApps
from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.accounts import tokens
from shared.accounts.models import ApiToken, User
from shared.db import utcnow
from shared.incidents.models import Incident

# The web tests' helpers (sign_in, snapshot) serve these tests too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))


@pytest.fixture(scope="module")
def evidence_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Local evidence storage for this file's apps (emptied after each test by `make_app`)."""
    return tmp_path_factory.mktemp("evidence")


@pytest.fixture
def make_app(
    database_url: str, users: dict[str, User], evidence_dir: Path, reused_apps: ReusedApps
) -> Iterator[Callable[..., Flask]]:
    """make_app(fresh=False, **settings overrides) -> the app on this backend's database, as a new
    one is (see tests/reused_apps.py)."""
    built: list[Flask] = []
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def make(*, fresh: bool = False, **overrides) -> Flask:
        settings = api_settings(overrides.pop("database_url", database_url), evidence_dir, **overrides)
        app = (
            build_api_app(settings)
            if fresh
            else reused_apps.get(settings, csrf=False, build=lambda: build_api_app(settings))
        )
        built.append(app)
        return app

    yield make
    for app in built:
        app.extensions["db_engine"].dispose()
    root.handlers[:] = handlers
    root.setLevel(level)
    empty_folder(evidence_dir)  # the next test starts with no evidence, as the database does


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def make_token(db: Session, users: dict[str, User]) -> Callable[..., str]:
    """make_token("lead", "write", expires_days=None) -> the bearer value, already marked used
    (so a later read does not write last_used_at and "a GET changes nothing" holds)."""

    def make(who: str, scope: str, expires_days: int | None = None) -> str:
        token, value = tokens.create_token(
            session=db, user=users[who], name=f"{who}-{scope}", scope=scope, expires_days=expires_days
        )
        db.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=utcnow()))
        db.commit()
        return value

    return make


@pytest.fixture
def make_incident(db: Session, users: dict[str, User]) -> Callable[..., Incident]:
    def make(status: str = "open", *, reporter: str = "lead", owner: str | None = "member", **details) -> Incident:
        return build_incident(db, users, status, reporter=reporter, owner=owner, **details)

    return make
