"""Per-incident clocks: time to acknowledge, time to resolve, and the due date."""

from __future__ import annotations

from datetime import UTC, date, timedelta, tzinfo

from shared.db import utcnow
from shared.errors import ValidationFailed
from shared.incidents.lifecycle import Status
from shared.incidents.models import Incident
from shared.timeutil import as_utc

# Work is still going on in these: a due date before today makes them overdue.
ACTIVE = frozenset({Status.OPEN.value, Status.IN_PROGRESS.value, Status.BLOCKED.value})
LATEST_DUE_DATE = date(2100, 12, 31)


def time_to_acknowledge(incident: Incident) -> timedelta | None:
    """From filing to the first move to In Progress; None while nobody has picked it up."""
    if incident.acknowledged_at is None:
        return None
    return as_utc(incident.acknowledged_at) - as_utc(incident.created_at)


def time_to_resolve(incident: Incident) -> timedelta | None:
    """From filing to Resolved (the latest resolution, after a reopen); None until resolved."""
    if incident.resolved_at is None:
        return None
    return as_utc(incident.resolved_at) - as_utc(incident.created_at)


def today(zone: tzinfo = UTC) -> date:
    """Today where the reader is (UTC for anyone unknown: mail, webhooks, the API without
    `tz`): the day a due date is compared with."""
    return utcnow().astimezone(zone).date()


def is_overdue(incident: Incident, on: date | None = None) -> bool:
    """Still being worked on after its due date (the due day itself is not overdue)."""
    return bool(incident.due_date and incident.status in ACTIVE and incident.due_date < (on or today()))


def parse_due_date(text: str | None) -> date | None:
    """A due date typed into a form ("2026-12-31"); empty means none."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed({"due_date": "Enter the due date as a date, e.g. 2026-12-31."}) from None


def due_date_problem(due: date | None, on: date | None = None) -> str | None:
    """Why a new due date cannot be set, in words, or None. A day of slack before today: the
    reader's today may still be yesterday in UTC. The message names the earliest day accepted:
    "today" would be untrue where the reader's today is UTC's (yesterday is accepted too)."""
    if due is None:
        return None
    earliest = (on or today()) - timedelta(days=1)
    if due < earliest:
        return f"Choose {earliest.isoformat()} or a later day as the due date."
    if due > LATEST_DUE_DATE:
        return f"Choose a due date before {LATEST_DUE_DATE.year + 1}."
    return None
