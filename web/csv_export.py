"""CSV export of a filtered incident list, for the dashboard's "Download CSV" and the API; and of
the audit log (its page's "Download CSV", the API's format=csv), at the end.

Formula-safe (OWASP CSV injection): a cell starting with =, +, -, @, a tab or a carriage return
is what a spreadsheet runs as a formula, so it gets a leading apostrophe and reads as text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta

from flask import Response, stream_with_context

from shared.accounts import service as accounts
from shared.audit import listing as audit_listing
from shared.audit import sentences as audit_sentences
from shared.db import utcnow
from shared.incidents import follow_ups as follow_up_service
from shared.incidents import timers
from shared.incidents.follow_ups import FollowUpCounts
from shared.incidents.lifecycle import Status, status_since
from shared.incidents.listing import page_after, with_typo_tolerance
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
    # The first move to In Progress: with created_at, time to acknowledge (MTTA in a sheet, as
    # /insights computes it); resolved_at with created_at gives time to resolve.
    "acknowledged_at",
    # The last activity (a change, comment, follow-up or file): what `updated:` and sort:recent read.
    "last_activity_at",
    # The postmortem's text and clocks, last for the same reason: why it is blocked (while it
    # is), how it was resolved, the seconds to acknowledge and to resolve (shared/incidents/timers.py,
    # as the incident page and /insights count them; empty until it happened), its follow-ups.
    "block_reason",
    "resolution_summary",
    "time_to_acknowledge_seconds",
    "time_to_resolve_seconds",
    "open_follow_ups",
    "follow_ups",
    # Since when it is blocked (while it is, as block_reason): the state machine's stamp, which an
    # edit of the incident does not move. Last, for the same reason.
    "blocked_at",
)
# An export walks the list in keyset pages; it stops here so one download cannot read a million rows.
MAX_ROWS = 10_000
_BATCH = 200
_NO_FOLLOW_UPS = FollowUpCounts(open=0, total=0)
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The cell as text a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_DANGEROUS) else text


def _seconds(duration: timedelta | None) -> str:
    return str(int(duration.total_seconds())) if duration is not None else ""


def _row(incident, follow_ups: FollowUpCounts) -> list[str]:
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
            when(incident.acknowledged_at),
            when(incident.activity_at),
            incident.blocked_reason if incident.status == Status.BLOCKED else "",
            incident.resolution_summary,
            _seconds(timers.time_to_acknowledge(incident)),
            _seconds(timers.time_to_resolve(incident)),
            follow_ups.open,
            follow_ups.total,
            when(status_since(incident)) if incident.status == Status.BLOCKED else "",
        )
    ]


def _lines(filters: Filters, me_id: int | None, sort: str) -> Iterator[str]:
    # The server reads this after the view has returned and the request's teardown has closed
    # its session; stream_with_context pushes the contexts again for the reading, so this is
    # the reading's own session, closed by that second teardown. (The view's session, closed
    # already, would open a new connection for the pages and hold it until garbage collection:
    # one pooled connection per download.)
    session = get_session()
    filters = with_typo_tolerance(session=session, filters=filters, me_id=me_id)  # as the list shows it
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
        # One grouped query per page of rows for their follow-ups, never one per incident.
        counts = follow_up_service.counts_by_incident(
            session=session, incident_ids=[incident.id for incident in page.incidents]
        )
        for incident in page.incidents:
            writer.writerow(_row(incident, counts.get(incident.id, _NO_FOLLOW_UPS)))
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
    # Dated (UTC), so a second download beside the first is not "incidents (1).csv".
    response.headers["Content-Disposition"] = f'attachment; filename="incidents-{utcnow():%Y-%m-%d}.csv"'
    return response


# -- The audit log ("Download CSV" on /audit, GET /api/v1/audit/events?format=csv) ------------

AUDIT_COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_email",  # "system" for events no user made
    "actor_name",
    "action",
    "entity_type",
    "entity_id",
    "incident_id",
    "incident",
    "data",  # the event's data as JSON, exactly as hashed (sorted keys)
    "prev_hash",
    "hash",
    # Last, so a sheet or script that reads the earlier columns by position keeps working: the
    # event in words, and its data as lines with people by name (shared/audit/sentences.py).
    "summary",
    "details",
)


def audit_row(event, described: audit_sentences.Described) -> list[str]:
    """One audit event (shared.audit.listing.ListedEvent) and its words as formula-safe cells."""
    return [
        safe_cell(v)
        for v in (
            event.id,
            as_utc(event.occurred_at).isoformat(timespec="microseconds"),
            event.actor.id if event.actor else "",
            event.actor.email if event.actor else "system",
            event.actor.name if event.actor else "System",
            event.action,
            event.entity_type,
            event.entity_id,
            event.incident_id if event.incident_id is not None else "",
            event.incident_key or "",
            json.dumps(event.data, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
            event.prev_hash,
            event.hash,
            described.sentence,
            "; ".join(f"{key}: {value}" for key, value in described.lines),
        )
    ]


def audit_rows(session, events) -> Iterator[list[str]]:
    """Each audit event as its row; one query names each batch's people (owners, assignees,
    accounts), never one per row."""
    for event, words in audit_sentences.describe_all(session=session, events=events, batch=_BATCH):
        yield audit_row(event, words)


def _audit_lines(filters, user_id: int) -> Iterator[str]:
    # Its own session, as _lines above: this runs after the view has returned. The reader is
    # loaded again in it (the view's copy belongs to the view's closed session).
    session = get_session()
    reader = accounts.get_user(session=session, user_id=user_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(AUDIT_COLUMNS)
    events = audit_listing.iterate(session=session, actor=reader, filters=filters, max_events=MAX_ROWS, chunk=_BATCH)
    for count, row in enumerate(audit_rows(session, events), start=1):
        writer.writerow(row)
        if count % _BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def audit_csv_response(filters, user_id: int) -> Response:
    """A streamed CSV download of the newest MAX_ROWS audit events matching `filters`, for the
    user `user_id` (who must be allowed to read the audit log: the caller has checked)."""
    response = Response(stream_with_context(_audit_lines(filters, user_id)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-events-{utcnow():%Y-%m-%d}.csv"'
    return response
