"""GET /api/v1/incidents with the due-date qualifier and sort: `q=due:overdue` lists what shows
the Overdue badge, `sort=due` pages soonest first with the undated last (each once, across the
page where the due dates run out), and the document lists the sort."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import bearer

from shared.db import clock_at, utcnow
from shared.incidents import timers

# name -> (status, due date as days from today or None, priority); past due dates are set on the
# row afterwards (the service refuses a due date in the past).
INCIDENTS = {
    "late-open": ("open", -2, "P3"),
    "late-closed": ("closed", -5, "P1"),  # past its due date, but Closed: not overdue
    "late-working": ("in_progress", -1, "P2"),
    "soon": ("open", 3, "P1"),
    "soon-twin": ("open", 3, "P1"),
    "undated-p2": ("open", None, "P2"),
    "undated-p4": ("blocked", None, "P4"),
    "undated-p4-twin": ("open", None, "P4"),
}
DUE_ORDER = [
    "late-closed",
    "late-open",
    "late-working",
    "soon-twin",  # same day, priority and moment: the higher id first
    "soon",
    "undated-p2",
    "undated-p4-twin",
    "undated-p4",
]


@pytest.fixture
def now():
    return utcnow()


@pytest.fixture
def seeded(db, make_incident, now) -> dict[str, str]:
    keys = {}
    with clock_at(now):
        today = timers.today()
        for name, (status, days, priority) in INCIDENTS.items():
            due = None if days is None else today + timedelta(days=days)
            incident = make_incident(
                status, title=name, owner=None, priority=priority, due_date=due and max(due, today)
            )
            incident.due_date = due
            db.commit()
            keys[name] = incident.key
    return keys


@pytest.fixture
def reader(make_token):
    return bearer(make_token("member", "read"))


def _keys(client, reader, now, url: str) -> list[str]:
    keys: list[str] = []
    next_url: str | None = url
    while next_url:
        with clock_at(now):
            response = client.get(next_url, headers=reader)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        keys += [item["key"] for item in body["items"]]
        next_url = body["next"]
    return keys


@pytest.mark.parametrize("query", ["due:overdue", "is:overdue"])
def test_q_due_overdue_lists_the_overdue_incidents(client, reader, seeded, now, query):
    found = _keys(client, reader, now, f"/api/v1/incidents?q={query}")
    assert sorted(found) == sorted(seeded[name] for name in ("late-open", "late-working"))


def test_q_minus_due_none_lists_the_incidents_with_a_due_date(client, reader, seeded, now):
    found = _keys(client, reader, now, "/api/v1/incidents?q=-due:none")
    assert sorted(found) == sorted(seeded[n] for n in INCIDENTS if INCIDENTS[n][1] is not None)


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_sort_due_pages_soonest_first_and_the_undated_last(client, reader, seeded, now, limit):
    expected = [seeded[name] for name in DUE_ORDER]
    assert _keys(client, reader, now, f"/api/v1/incidents?sort=due&limit={limit}") == expected
    assert _keys(client, reader, now, f"/api/v1/incidents?q=sort:due&limit={limit}") == expected


def test_a_bad_due_value_is_a_400_naming_the_search(client, reader, seeded):
    refused = client.get("/api/v1/incidents?q=due:soon", headers=reader)
    assert refused.status_code == 400
    body = refused.get_json()
    assert body["detail"] == "Unknown due date 'soon' (use one of: overdue, today, week, none, any)."
    assert list(body["errors"]) == ["q"]


def test_the_document_lists_sort_due(client):
    document = client.get("/api/v1/openapi.json").get_json()
    sort = next(p for p in document["paths"]["/api/v1/incidents"]["get"]["parameters"] if p["name"] == "sort")
    assert "due" in sort["schema"]["enum"]
