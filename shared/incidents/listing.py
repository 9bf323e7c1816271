"""Keyset (cursor) pages of incidents for the API and the CSV export, and an incident's comments.

A cursor is the sort key of the last row returned, so the next page starts strictly after it:
rows inserted or moved meanwhile never make a page repeat or skip the rows that stayed put (an
OFFSET would shift by one for each insert before it). Each page is an index range read under
the same indexes as the dashboard's sorts."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from shared.errors import ValidationFailed
from shared.incidents.models import Comment, Incident
from shared.incidents.search import SORTS, Filters, apply_filters
from shared.timeutil import as_utc

MAX_LIMIT = 200


@dataclass(frozen=True)
class CursorPage:
    incidents: list[Incident]
    next_cursor: str | None  # None: this is the last page


def _encode(sort: str, incident: Incident) -> str:
    key = [sort, incident.priority, as_utc(incident.updated_at).isoformat(), incident.id]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[str, datetime, int]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        cursor_sort, priority, updated, row_id = raw
        if cursor_sort != sort or not isinstance(row_id, int) or not isinstance(priority, str):
            raise ValueError
        return priority, as_utc(datetime.fromisoformat(updated)), row_id
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationFailed(
            {"cursor": "This cursor is not one this list gave out (or was made for another sort)."}
        ) from None


def _after(sort: str, priority: str, updated: datetime, row_id: int):
    if sort == "recent":
        return or_(Incident.updated_at < updated, and_(Incident.updated_at == updated, Incident.id < row_id))
    if sort == "oldest":
        return or_(Incident.updated_at > updated, and_(Incident.updated_at == updated, Incident.id > row_id))
    return or_(
        Incident.priority > priority,
        and_(
            Incident.priority == priority,
            or_(Incident.updated_at < updated, and_(Incident.updated_at == updated, Incident.id < row_id)),
        ),
    )


def _order(sort: str):
    if sort == "recent":
        return (Incident.updated_at.desc(), Incident.id.desc())
    if sort == "oldest":
        return (Incident.updated_at.asc(), Incident.id.asc())
    return (Incident.priority.asc(), Incident.updated_at.desc(), Incident.id.desc())


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
