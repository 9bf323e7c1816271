"""Helpers for the domain-layer tests: incidents in a given state, row counts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.incidents import service as incidents
from shared.incidents.models import Incident
from shared.outbox.models import OutboxMessage

# The shortest legal walk from Open to each status, made by a lead.
WALKS: dict[str, list[tuple[str, str | None]]] = {
    "open": [],
    "in_progress": [("in_progress", None)],
    "blocked": [("in_progress", None), ("blocked", "Waiting on AWS support")],
    "resolved": [("in_progress", None), ("resolved", "Restarted the writer")],
    "closed": [("in_progress", None), ("resolved", "Restarted the writer"), ("closed", None)],
}


@pytest.fixture
def make_incident(db: Session, users: dict[str, User]) -> Callable[..., Incident]:
    """make_incident(status="open", reporter="member", owner="member" | None, **details), committed."""

    def make(status: str = "open", *, reporter: str = "member", owner: str | None = "member", **details) -> Incident:
        details.setdefault("title", "RDS primary CPU pinned at 100%")
        incident = incidents.create_incident(session=db, actor=users[reporter], **details)
        if owner is not None:
            # Assigning is a lead's move; members may only take an incident themselves.
            incident = incidents.assign(
                session=db, incident_id=incident.id, actor=users["lead"], owner_id=users[owner].id
            )
        for target, reason in WALKS[status]:
            incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to=target, reason=reason)
        db.commit()
        return incident

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
