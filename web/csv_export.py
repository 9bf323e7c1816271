"""CSV export of a filtered incident list, for the dashboard's "Download CSV" and the API.

Formula-safe (OWASP CSV injection): a cell starting with =, +, -, @, a tab or a carriage return
is what a spreadsheet runs as a formula, so it gets a leading apostrophe and reads as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response, stream_with_context

from shared.incidents.listing import page_after
from shared.incidents.search import Filters
from shared.timeutil import as_utc
from web.db import get_session

COLUMNS = (
    "key",
    "title",
    "status",
    "priority",
    "component",
    "environment",
    "owner",
    "reporter",
    "created_at",
    "updated_at",
    "resolved_at",
    "closed_at",
    # Last, so a sheet or script that reads the earlier columns by position keeps working.
    "due_date",
)
# An export walks the list in keyset pages; it stops here so one download cannot read a million rows.
MAX_ROWS = 10_000
_BATCH = 200
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The cell as text a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_DANGEROUS) else text


def _row(incident) -> list[str]:
    def when(value):
        return as_utc(value).isoformat() if value else ""

    return [
        safe_cell(v)
        for v in (
            incident.key,
            incident.title,
            incident.status,
            incident.priority,
            incident.component,
            incident.environment,
            incident.owner.email if incident.owner else "",
            incident.reporter.email if incident.reporter else "",
            when(incident.created_at),
            when(incident.updated_at),
            when(incident.resolved_at),
            when(incident.closed_at),
            incident.due_date.isoformat() if incident.due_date else "",
        )
    ]


def _lines(filters: Filters, me_id: int | None, sort: str) -> Iterator[str]:
    # The server reads this after the view has returned and the request's teardown has closed
    # its session; stream_with_context pushes the contexts again for the reading, so this is
    # the reading's own session, closed by that second teardown. (The view's session, closed
    # already, would open a new connection for the pages and hold it until garbage collection:
    # one pooled connection per download.)
    session = get_session()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    cursor, written = None, 0
    while written < MAX_ROWS:
        page = page_after(
            session=session,
            filters=filters,
            me_id=me_id,
            sort=sort,
            cursor=cursor,
            limit=min(_BATCH, MAX_ROWS - written),
        )
        for incident in page.incidents:
            writer.writerow(_row(incident))
        written += len(page.incidents)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if page.next_cursor is None:
            break
        cursor = page.next_cursor


def csv_response(filters: Filters, me_id: int | None, sort: str) -> Response:
    """A streamed CSV download of the incidents matching `filters`."""
    response = Response(stream_with_context(_lines(filters, me_id, sort)), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="incidents.csv"'
    return response
