"""Keyset (cursor) pages of incidents for the API and the CSV export, and an incident's comments.

A cursor is the sort key of the last row returned, so the next page starts strictly after it:
rows inserted or moved meanwhile never make a page repeat or skip the rows that stayed put (an
OFFSET would shift by one for each insert before it). Each page is an index range read under
the same indexes as the dashboard's sorts."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from shared.errors import ValidationFailed
from shared.incidents.models import Comment, Incident, Priority
from shared.incidents.search import SORTS, Filters, apply_filters
from shared.timeutil import as_utc

MAX_LIMIT = 200
# What a cursor may name: a row id a BIGINT holds, a priority there is.
MAX_ROW_ID = 2**63
PRIORITIES = frozenset(p.value for p in Priority)


@dataclass(frozen=True)
class CursorPage:
    incidents: list[Incident]
    next_cursor: str | None  # None: this is the last page


def _encode(sort: str, incident: Incident) -> str:
    # The recency sorts order by the last activity, the others by updated_at within a priority.
    stamp = incident.activity_at if sort in ("recent", "oldest") else incident.updated_at
    key: list[object] = [sort, incident.priority, as_utc(stamp).isoformat(), incident.id]
    if sort == "due":  # and its due date (null: the page ended among those without one)
        key.append(incident.due_date.isoformat() if incident.due_date else None)
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[str, datetime, int, date | None]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        cursor_sort, priority, updated, row_id, *rest = raw
        # A row id the database can hold (a bool is an int to Python; 2**70 overflows BIGINT)
        # and a priority there is: a cursor edited by hand is refused, never a 500.
        if cursor_sort != sort or type(row_id) is not int or not 0 < row_id < MAX_ROW_ID:
            raise ValueError
        if priority not in PRIORITIES:
            raise ValueError
        due = None
        if sort == "due":
            (due_text,) = rest
            due = None if due_text is None else date.fromisoformat(due_text)
        elif rest:
            raise ValueError
        return priority, as_utc(datetime.fromisoformat(updated)), row_id, due
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationFailed(
            {"cursor": "This cursor is not one this list gave out (or was made for another sort)."}
        ) from None


def _after(sort: str, priority: str, updated: datetime, row_id: int, due: date | None):
    if sort == "recent":
        return or_(Incident.activity_at < updated, and_(Incident.activity_at == updated, Incident.id < row_id))
    if sort == "oldest":
        return or_(Incident.activity_at > updated, and_(Incident.activity_at == updated, Incident.id > row_id))
    by_priority = or_(
        Incident.priority > priority,
        and_(
            Incident.priority == priority,
            or_(Incident.updated_at < updated, and_(Incident.updated_at == updated, Incident.id < row_id)),
        ),
    )
    if sort != "due":
        return by_priority
    # Due dates ascending, then those without one: after a dated row come the later days, the
    # same day's rest and every undated row; after an undated row, only undated ones.
    if due is None:
        return and_(Incident.due_date.is_(None), by_priority)
    return or_(
        Incident.due_date > due,
        Incident.due_date.is_(None),
        and_(Incident.due_date == due, by_priority),
    )


def _order(sort: str):
    if sort == "recent":  # as the dashboard's (search._order): the last activity
        return (Incident.activity_at.desc(), Incident.id.desc())
    if sort == "oldest":
        return (Incident.activity_at.asc(), Incident.id.asc())
    if sort == "due":  # as the dashboard's (search._order): soonest first, none last
        return (
            Incident.due_date.asc().nulls_last(),
            Incident.priority.asc(),
            Incident.updated_at.desc(),
            Incident.id.desc(),
        )
    return (Incident.priority.asc(), Incident.updated_at.desc(), Incident.id.desc())


def with_typo_tolerance(*, session: Session, filters: Filters, me_id: int | None) -> Filters:
    """The filters to list with: when the free text matches nothing as words, the same text
    matched by similarity, as the dashboard does (search.with_typo_fallback). The dashboard
    decides from its status counters; a cursor list counts nothing, so one LIMIT 1 probe
    decides here, and every page of one query decides alike."""
    if not filters.text or filters.typo_tolerant:
        return filters
    if session.scalar(apply_filters(session, select(Incident.id), filters, me_id).limit(1)) is not None:
        return filters
    return replace(filters, typo_tolerant=True)


def page_after(
    *,
    session: Session,
    filters: Filters,
    me_id: int | None,
    sort: str = "priority",
    cursor: str | None = None,
    limit: int = 50,
) -> CursorPage:
    """Up to `limit` incidents matching `filters` in `sort` order, after `cursor`."""
    sort = sort if sort in SORTS else "priority"
    limit = max(1, min(limit, MAX_LIMIT))
    statement = apply_filters(session, select(Incident), filters, me_id)
    if cursor:
        statement = statement.where(_after(sort, *_decode(cursor, sort)))
    rows = list(session.scalars(statement.order_by(*_order(sort)).limit(limit + 1)).unique())
    page = rows[:limit]
    return CursorPage(page, _encode(sort, page[-1]) if len(rows) > limit else None)


def comments(*, session: Session, incident_id: int) -> list[Comment]:
    """An incident's comments, oldest first."""
    return list(session.scalars(select(Comment).where(Comment.incident_id == incident_id).order_by(Comment.id)))
