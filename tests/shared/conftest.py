"""Helpers for the domain-layer tests: incidents in a given state, row counts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
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
