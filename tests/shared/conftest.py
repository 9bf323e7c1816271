"""Helpers for the domain-layer tests: incidents in a given state, row counts, and the plan tests'
big database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from explain import plan_database, seed_plan_incidents
from factories import build_incident
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.incidents.models import Incident
from shared.outbox.models import OutboxMessage


@pytest.fixture
def make_incident(db: Session, users: dict[str, User]) -> Callable[..., Incident]:
    """make_incident(status="open", reporter="member", owner="member" | None, **details), committed."""

    def make(status: str = "open", *, reporter: str = "member", owner: str | None = "member", **details) -> Incident:
        return build_incident(db, users, status, reporter=reporter, owner=owner, **details)

    return make


def count_rows(session: Session) -> tuple[int, int]:
    """(audit events, outbox messages) as the database sees them now."""
    return (
        session.scalar(select(func.count(AuditEvent.id))) or 0,
        session.scalar(select(func.count(OutboxMessage.id))) or 0,
    )


@pytest.fixture
def counts(db: Session) -> Callable[[], tuple[int, int]]:
    return lambda: count_rows(db)


@pytest.fixture(scope="session")
def big_engine(db_backend, temporary_database_url):
    """A PostgreSQL database of 200k incidents (tests/explain.py) for the plan tests of several files.
    Seeding it costs ~15 s of PostgreSQL's CPU (three times that in a whole run), so it is made
    once per test process, and `make test` runs the files that use it on one worker
    (`SAME_WORKER` in tests/conftest.py). A test that changes it puts it back."""
    engine = plan_database(temporary_database_url())
    seed_plan_incidents(engine)
    yield engine
    engine.dispose()
