"""The CSV download (the dashboard's /incidents.csv and the API's format=csv, one column list)
carries the postmortem's text and clocks after the columns it always had: why an incident is
blocked (while it is), how it was resolved, the seconds to acknowledge and to resolve, and how
many follow-ups it has and how many are still open. Found in a lead's postmortem walk: the
sheet had none of it, so every incident was opened again by hand."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from api_helpers import bearer
from sqlalchemy import event
from web_helpers import sign_in

from shared.db import clock_at, utcnow
from shared.incidents import follow_ups as follow_up_service
from shared.incidents import service as incidents
from web import csv_export

INCIDENTS = "/api/v1/incidents"
# What a sheet or script reads by position today: unchanged, in this order.
EARLIER_COLUMNS = [
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
    "due_date",
    "acknowledged_at",
    "last_activity_at",
]
POSTMORTEM_COLUMNS = [
    "block_reason",
    "resolution_summary",
    "time_to_acknowledge_seconds",
    "time_to_resolve_seconds",
    "open_follow_ups",
    "follow_ups",
]
LATER_COLUMNS = ["blocked_at"]


@pytest.fixture
def lead(make_token):
    return bearer(make_token("lead", "write"))


def _downloads(client, app, users, lead, query: str = "status:all") -> list[list[dict[str, str]]]:
    """Both downloads of the same list, each as rows by column name (read before the next)."""
    browser = app.test_client()
    sign_in(browser, users["member"])
    found = []
    for text in (
        client.get(INCIDENTS, query_string={"format": "csv", "q": query}, headers=lead).get_data(as_text=True),
        browser.get("/incidents.csv", query_string={"q": query}).get_data(as_text=True),
    ):
        header, *rows = list(csv.reader(io.StringIO(text)))
        assert header == EARLIER_COLUMNS + POSTMORTEM_COLUMNS + LATER_COLUMNS
        found.append([dict(zip(header, row, strict=True)) for row in rows])
    return found


def _move(db, users, incident, to: str, reason: str | None = None, *, at) -> None:
    with clock_at(at):
        incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to=to, reason=reason)
    db.commit()


def test_both_downloads_end_with_the_postmortem_text_clocks_and_follow_ups(client, app, db, users, lead):
    filed = utcnow().replace(microsecond=0) - timedelta(days=1)
    with clock_at(filed):
        resolved = incidents.create_incident(session=db, actor=users["lead"], title="Replica lag on db-2")
        blocked = incidents.create_incident(session=db, actor=users["lead"], title="Disk full on db-1")
        untouched = incidents.create_incident(session=db, actor=users["lead"], title="Flaky health check")
    db.commit()
    _move(db, users, resolved, "in_progress", at=filed + timedelta(seconds=90))
    _move(
        db,
        users,
        resolved,
        "resolved",
        "Failed over to the replica; raised max_wal_size.",
        at=filed + timedelta(hours=2),
    )
    _move(db, users, blocked, "in_progress", at=filed + timedelta(minutes=5))
    _move(db, users, blocked, "blocked", "Waiting on AWS support (case 1234)", at=filed + timedelta(minutes=6))
    for title in ("Alert on replica lag", "Runbook for failover", "Raise max_wal_size everywhere"):
        follow_up_service.add_follow_up(session=db, actor=users["lead"], incident_id=resolved.id, title=title)
    db.commit()
    done = follow_up_service.list_follow_ups(session=db, actor=users["lead"], incident_id=resolved.id)[0]
    follow_up_service.set_done(
        session=db, actor=users["lead"], incident_id=resolved.id, follow_up_id=done.id, done=True
    )
    db.commit()

    for rows in _downloads(client, app, users, lead):
        by_title = {row["title"]: row for row in rows}
        assert {name: by_title["Replica lag on db-2"][name] for name in POSTMORTEM_COLUMNS} == {
            "block_reason": "",
            "resolution_summary": "Failed over to the replica; raised max_wal_size.",
            "time_to_acknowledge_seconds": "90",
            "time_to_resolve_seconds": "7200",
            "open_follow_ups": "2",
            "follow_ups": "3",
        }
        assert {name: by_title["Disk full on db-1"][name] for name in POSTMORTEM_COLUMNS} == {
            "block_reason": "Waiting on AWS support (case 1234)",
            "resolution_summary": "",
            "time_to_acknowledge_seconds": "300",
            "time_to_resolve_seconds": "",
            "open_follow_ups": "0",
            "follow_ups": "0",
        }
        assert [by_title["Flaky health check"][name] for name in POSTMORTEM_COLUMNS] == ["", "", "", "", "0", "0"]
        # Since when it is blocked, while it is: the move's time, not the follow-ups' later edits.
        assert by_title["Disk full on db-1"]["blocked_at"] == (filed + timedelta(minutes=6)).isoformat()
        assert by_title["Replica lag on db-2"]["blocked_at"] == by_title["Flaky health check"]["blocked_at"] == ""
        assert untouched.key == by_title["Flaky health check"]["key"]


def test_a_reason_left_behind_is_not_the_current_block_reason(client, app, db, users, lead):
    """Unblocked, an incident is no longer blocked for that reason: the column says nothing."""
    incident = incidents.create_incident(session=db, actor=users["lead"], title="Disk full on db-1")
    db.commit()
    now = utcnow()
    _move(db, users, incident, "in_progress", at=now)
    _move(db, users, incident, "blocked", "Waiting on AWS support", at=now)
    _move(db, users, incident, "in_progress", at=now)
    for rows in _downloads(client, app, users, lead):
        (row,) = rows
        assert row["status"] == "in_progress"
        assert row["block_reason"] == ""


def test_typed_postmortem_text_cannot_run_as_a_formula(client, app, db, users, lead):
    blocked = incidents.create_incident(session=db, actor=users["lead"], title="Blocked")
    resolved = incidents.create_incident(session=db, actor=users["lead"], title="Resolved")
    db.commit()
    now = utcnow()
    _move(db, users, blocked, "in_progress", at=now)
    _move(db, users, blocked, "blocked", '=HYPERLINK("https://evil.example","support")', at=now)
    _move(db, users, resolved, "in_progress", at=now)
    _move(db, users, resolved, "resolved", "-1+1 rolled back", at=now)
    for rows in _downloads(client, app, users, lead):
        by_title = {row["title"]: row for row in rows}
        assert by_title["Blocked"]["block_reason"] == '\'=HYPERLINK("https://evil.example","support")'
        assert by_title["Resolved"]["resolution_summary"] == "'-1+1 rolled back"


def test_follow_ups_are_counted_with_one_grouped_query_per_batch_of_rows(client, app, db, users, lead, monkeypatch):
    """Counted per row, a 10,000-row download would be 10,000 more statements."""
    monkeypatch.setattr(csv_export, "_BATCH", 2)
    made = [incidents.create_incident(session=db, actor=users["lead"], title=f"Incident {n}") for n in range(5)]
    db.commit()
    for incident in made[:3]:
        follow_up_service.add_follow_up(session=db, actor=users["lead"], incident_id=incident.id, title="Check it")
    db.commit()
    engine = app.extensions["db_engine"]
    reading_follow_ups: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if "incident_follow_ups" in statement:
            reading_follow_ups.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        text = client.get(INCIDENTS, query_string={"format": "csv"}, headers=lead).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 5
    assert sorted(row[header.index("follow_ups")] for row in rows) == ["0", "0", "1", "1", "1"]
    assert len(reading_follow_ups) == 3  # pages of 2, 2 and 1 rows
