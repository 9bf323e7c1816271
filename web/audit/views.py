"""/audit: the whole audit trail for leads and admins, filtered and paged, and its CSV.

Parse the filters, call shared/audit/listing.py, draw. The same listing answers
GET /api/v1/audit/events and `flask audit export`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required

from shared.audit import listing, sentences
from shared.errors import ValidationFailed
from shared.permissions import Action
from web.auth.current import require
from web.csv_export import MAX_ROWS, audit_csv_response
from web.db import get_session
from web.reader import reader_zone

bp = Blueprint("audit", __name__)
PAGE_SIZE = 50
# The page's labels for the filters, in the form's order (and its error summary's). From and To
# also name the zone they are read in (see `_labels`).
LABELS = {
    "action": "Action",
    "actor": "Actor",
    "entity_type": "Entity type",
    "entity_id": "Entity id",
    "incident": "Incident",
    "from": "From",
    "to": "To",
    listing.ZONE: "Time zone",
    "cursor": "Page",
}


def _labels(zone: str) -> dict[str, str]:
    return {**LABELS, "from": f"From ({zone})", "to": f"To ({zone})"}


def _params() -> dict[str, str]:
    return {name: request.args.get(name, "").strip() for name in listing.FILTERS}


def _zone(params: Mapping[str, str]) -> str:
    """The zone From and To are read in: the address's (the form sends the one it was drawn with,
    or app.js's), else the one the reader's browser last named (the it_tz cookie), so a shared or
    bookmarked link is read in the zone the labels name, else UTC. "" when no zone is known and no
    From or To is read: the form is then app.js's to fill in; a From or To read in UTC says so."""
    asked = request.args.get(listing.ZONE, "").strip()
    if asked:
        return asked
    remembered = listing.zone_name(reader_zone())
    return remembered if remembered != "UTC" or params["from"] or params["to"] else ""


def _given(params: Mapping[str, str], zone: str) -> dict[str, Any]:
    """The filters in effect, for links (Older, Download CSV) that keep them: the zone too while
    a From or To is read in it."""
    given = {name: value for name, value in params.items() if value}
    if zone and (params["from"] or params["to"]):
        given[listing.ZONE] = zone
    return given


def _zone_label(zone: str) -> str:
    try:
        return listing.zone_name(listing.time_zone(zone))
    except ValueError:
        return "UTC"  # an unknown zone is refused by name in the error summary; nothing was read in it


def _render(
    params: dict[str, str],
    *,
    zone: str,
    result=None,
    people: sentences.People | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
):
    given = _given(params, zone)
    older = url_for("audit.index", **given, cursor=result.next_cursor) if result and result.next_cursor else None
    events = result.events if result else []
    return render_template(
        "audit/index.html",
        params=params,
        zone=zone,
        zone_label=_zone_label(zone),
        errors=errors or {},
        labels=_labels(_zone_label(zone)),
        # Each event with its words; the people they name were found for the whole page at once.
        rows=[(event, sentences.describe(event, people or sentences.People())) for event in events],
        families=listing.FAMILIES,
        family_actions=listing.family_actions,
        entity_types=listing.ENTITY_TYPES,
        paged=bool(request.args.get("cursor")),
        older=older,
        newest=url_for("audit.index", **given),
        csv_url=url_for("audit.export_csv", **given),
        max_rows=MAX_ROWS,
        filtered=any(given.get(name) for name in listing.FILTERS),
    ), status


@bp.get("/audit")
@login_required
def index():
    """Every audit event, newest first, filtered by the form."""
    require(Action.VIEW_AUDIT)
    session = get_session()
    params = _params()
    zone = _zone(params)
    try:
        filters = listing.parse_filters(session=session, params={**params, listing.ZONE: zone})
        result = listing.page(
            session=session,
            actor=current_user.user,
            filters=filters,
            cursor=request.args.get("cursor"),
            limit=PAGE_SIZE,
        )
    except ValidationFailed as error:
        return _render(params, zone=zone, errors=error.field_errors, status=400)
    people = sentences.name_people(session=session, events=result.events)
    return _render(params, zone=zone, result=result, people=people)


@bp.get("/audit.csv")
@login_required
def export_csv():
    """The current filter's events as a formula-safe CSV file (the newest MAX_ROWS)."""
    require(Action.VIEW_AUDIT)
    params = _params()
    zone = _zone(params)
    try:
        filters = listing.parse_filters(session=get_session(), params={**params, listing.ZONE: zone})
    except ValidationFailed as error:
        return _render(params, zone=zone, errors=error.field_errors, status=400)
    return audit_csv_response(filters, current_user.id)
