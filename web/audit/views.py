"""/audit: the whole audit trail for leads and admins, filtered and paged, and its CSV.

Parse the filters, call shared/audit/listing.py, draw. The same listing answers
GET /api/v1/audit/events and `flask audit export`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required

from shared.audit import listing
from shared.errors import ValidationFailed
from shared.permissions import Action
from web.auth.current import require
from web.csv_export import MAX_ROWS, audit_csv_response
from web.db import get_session

bp = Blueprint("audit", __name__)
PAGE_SIZE = 50
# The page's labels for the filters, in the form's order (and its error summary's).
LABELS = {
    "action": "Action",
    "actor": "Actor",
    "entity_type": "Entity type",
    "entity_id": "Entity id",
    "incident": "Incident",
    "from": "From (UTC)",
    "to": "To (UTC)",
    "cursor": "Page",
}


def details(data: Mapping, prefix: str = "") -> list[tuple[str, str]]:
    """An event's data as (key, value) lines a person reads: nested keys joined with dots, a
    change as "old → new", lists comma-separated. Text only: the template escapes it."""
    lines: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and set(value) == {"from", "to"}:
            lines.append((name, f"{_text(value['from'])} → {_text(value['to'])}"))
        elif isinstance(value, Mapping) and value:
            lines.extend(details(value, f"{name}."))
        else:
            lines.append((name, _text(value)))
    return lines


def _text(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value) or "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) or "none"
    return str(value)


def _params() -> dict[str, str]:
    return {name: request.args.get(name, "").strip() for name in listing.FILTERS}


def _given(params: Mapping[str, str]) -> dict[str, Any]:
    """The filters in effect, for links (Older, Download CSV) that keep them."""
    return {name: value for name, value in params.items() if value}


def _render(params: dict[str, str], *, result=None, errors: Mapping[str, str] | None = None, status: int = 200):
    given = _given(params)
    older = url_for("audit.index", **given, cursor=result.next_cursor) if result and result.next_cursor else None
    return render_template(
        "audit/index.html",
        params=params,
        errors=errors or {},
        labels=LABELS,
        events=result.events if result else [],
        details=details,
        families=listing.FAMILIES,
        family_actions=listing.family_actions,
        entity_types=listing.ENTITY_TYPES,
        paged=bool(request.args.get("cursor")),
        older=older,
        newest=url_for("audit.index", **given),
        csv_url=url_for("audit.export_csv", **given),
        max_rows=MAX_ROWS,
        filtered=bool(given),
    ), status


@bp.get("/audit")
@login_required
def index():
    """Every audit event, newest first, filtered by the form."""
    require(Action.VIEW_AUDIT)
    session = get_session()
    params = _params()
    try:
        filters = listing.parse_filters(session=session, params=params)
        result = listing.page(
            session=session,
            actor=current_user.user,
            filters=filters,
            cursor=request.args.get("cursor"),
            limit=PAGE_SIZE,
        )
    except ValidationFailed as error:
        return _render(params, errors=error.field_errors, status=400)
    return _render(params, result=result)


@bp.get("/audit.csv")
@login_required
def export_csv():
    """The current filter's events as a formula-safe CSV file (the newest MAX_ROWS)."""
    require(Action.VIEW_AUDIT)
    params = _params()
    try:
        filters = listing.parse_filters(session=get_session(), params=params)
    except ValidationFailed as error:
        return _render(params, errors=error.field_errors, status=400)
    return audit_csv_response(filters, current_user.id)
