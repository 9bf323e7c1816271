"""The lists' query parameters as a client types them: a word from a fixed list is taken in any
case on every list (`state=ALL` was refused while `priority=p1` and `status=OPEN` were taken),
the document says so where it lists the values, and a refused `limit`, `sort`, `format` or
`cursor` is a problem whose `detail` says what is wrong, not "see errors"."""

from __future__ import annotations

import base64
import csv
import io
import json

import pytest
from api_helpers import bearer

from shared.incidents import follow_ups

INCIDENTS = "/api/v1/incidents"
EVENTS = "/api/v1/audit/events"
MINE = "/api/v1/me/follow-ups"
LISTS = (INCIDENTS, EVENTS, MINE)
PROBLEM = "application/problem+json"
LIMIT = "limit must be a whole number from 1 to 200."


@pytest.fixture
def lead(make_token) -> dict[str, str]:
    return bearer(make_token("lead", "read"))


def _titles(client, headers, url, **query) -> list[tuple[str, str]]:
    """Every item's title and state, following `next` from the first page."""
    response = client.get(url, query_string=query, headers=headers)
    seen = []
    while True:
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        seen += [(item["title"], item.get("state") or item.get("status")) for item in body["items"]]
        if not body["next"]:
            return seen
        response = client.get(body["next"], headers=headers)


def test_your_follow_ups_take_a_state_in_any_case_page_after_page(client, db, users, make_incident, lead):
    incident = make_incident(title="Disk full on db-1", owner="lead")
    for title in ("Rotate the key", "Raise the alarm", "Write the postmortem"):
        follow_ups.add_follow_up(
            session=db, actor=users["lead"], incident_id=incident.id, title=title, owner_id=users["lead"].id
        )
    db.commit()
    done = follow_ups.list_follow_ups(session=db, actor=users["lead"], incident_id=incident.id)[0]
    follow_ups.set_done(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=done.id, done=True)
    db.commit()

    every = _titles(client, lead, MINE, state="all", limit=1)
    assert len(every) == 3
    assert _titles(client, lead, MINE, state="ALL", limit=1) == every
    assert _titles(client, lead, MINE, state="All") == every
    assert (
        _titles(client, lead, MINE, state="DONE") == _titles(client, lead, MINE, state="done") == [(done.title, "done")]
    )
    assert _titles(client, lead, MINE, state="Open") == _titles(client, lead, MINE)
    # A state it does not take is still refused, in the words the client sent.
    refused = client.get(MINE, query_string={"state": "CLOSED"}, headers=lead).get_json()
    assert refused["detail"] == "state 'CLOSED' is not one of open, done, all."


def test_the_incident_list_takes_sort_and_format_in_any_case(client, make_incident, lead):
    for title, priority in (("Disk full", "P3"), ("Pager storm", "P1"), ("Slow login", "P2")):
        make_incident(title=title, priority=priority)

    assert _titles(client, lead, INCIDENTS, sort="RECENT", limit=2) == _titles(client, lead, INCIDENTS, sort="recent")
    assert _titles(client, lead, INCIDENTS, sort="Priority", priority="p1,P2") == [
        ("Pager storm", "open"),
        ("Slow login", "open"),
    ]
    exported = client.get(INCIDENTS, query_string={"format": "CSV", "sort": "Oldest"}, headers=lead)
    assert exported.status_code == 200, exported.get_data(as_text=True)
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [row["title"] for row in rows] == ["Disk full", "Pager storm", "Slow login"]


def test_the_audit_log_exports_with_format_in_any_case(client, make_incident, lead):
    make_incident(title="Disk full")
    exported = client.get(EVENTS, query_string={"format": "Csv", "entity_type": "INCIDENT"}, headers=lead)
    assert exported.status_code == 200, exported.get_data(as_text=True)
    assert exported.mimetype == "text/csv"
    assert "incident.created" in exported.get_data(as_text=True)


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("limit", ["0", "abc", "10000", "2.5", "-1", ""])
def test_a_bad_limit_is_a_problem_whose_detail_names_it(client, lead, url, limit):
    response = client.get(url, query_string={"limit": limit}, headers=lead)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["detail"] == LIMIT
    assert problem["errors"] == {"limit": [LIMIT]}
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)
    assert (problem["status"], problem["title"]) == (422, "Unprocessable Content")


@pytest.mark.parametrize(
    ("url", "query", "parameter", "detail"),
    [
        (INCIDENTS, {"sort": "newest"}, "sort", "sort 'newest' is not one of priority, recent, oldest, due."),
        (INCIDENTS, {"format": "xml"}, "format", "format 'xml' is not one of json, csv."),
        (EVENTS, {"format": "pdf"}, "format", "format 'pdf' is not one of json, csv."),
    ],
)
def test_a_value_a_list_does_not_take_is_named_in_the_detail(client, lead, url, query, parameter, detail):
    response = client.get(url, query_string=query, headers=lead)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["detail"] == detail
    assert problem["errors"] == {parameter: [detail]}


def test_two_bad_parameters_are_both_named_in_the_detail(client, lead):
    problem = client.get(INCIDENTS, query_string={"limit": "0", "sort": "newest"}, headers=lead).get_json()
    assert set(problem["errors"]) == {"limit", "sort"}
    assert LIMIT in problem["detail"]
    assert "sort 'newest' is not one of priority, recent, oldest, due." in problem["detail"]


@pytest.mark.parametrize("url", LISTS)
def test_a_bad_cursor_is_named_in_the_detail_on_every_list(client, lead, url):
    problem = client.get(url, query_string={"cursor": "nonsense"}, headers=lead).get_json()
    assert problem["status"] == 422
    assert list(problem["errors"]) == ["cursor"]
    assert problem["detail"] == problem["errors"]["cursor"][0]
    assert "not one this list gave out" in problem["detail"]


def _cursor(*key) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        ("priority", _cursor("priority", "P1", "2026-11-30T05:05:50+00:00", 2**70)),  # overflows a BIGINT
        ("recent", _cursor("recent", "P1", "2026-11-30T05:05:50+00:00", 2**63)),
        ("oldest", _cursor("oldest", "P1", "2026-11-30T05:05:50+00:00", True)),  # a bool is an int to Python
        ("priority", _cursor("priority", "P1", "2026-11-30T05:05:50+00:00", 0)),
        ("priority", _cursor("priority", "P9", "2026-11-30T05:05:50+00:00", 3)),  # no such priority
        ("priority", _cursor("priority", "P1", 1700000000, 3)),
        ("due", _cursor("due", "P1", "2026-11-30T05:05:50+00:00", 3, 20261130)),
    ],
)
def test_a_cursor_edited_by_hand_is_a_422_naming_it(client, lead, make_incident, sort, cursor):
    """The incidents cursor is base64 JSON anyone can edit: what it names must be a row id and a
    priority there can be (each of these was a 500 or an empty page)."""
    make_incident()
    response = client.get(INCIDENTS, query_string={"sort": sort, "cursor": cursor}, headers=lead)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["cursor"]


def test_a_body_that_does_not_validate_keeps_its_own_detail(client, make_token):
    writer = bearer(make_token("lead", "write"))
    problem = client.post(INCIDENTS, json={"title": 5}, headers=writer).get_json()
    assert problem["status"] == 422
    assert "title" in problem["errors"]


# Each list's parameters that take a word from a fixed list, and so any case.
ANY_CASE_PARAMETERS = {
    INCIDENTS: ("status", "priority", "env", "sort", "format"),
    EVENTS: ("action", "entity_type", "format"),
    MINE: ("state",),
}


@pytest.mark.parametrize(("path", "names"), ANY_CASE_PARAMETERS.items())
def test_the_document_says_where_any_case_is_taken_and_what_limit_takes(client, path, names):
    document = client.get("/api/v1/openapi.json").get_json()
    parameters = {p["name"]: p for p in document["paths"][path]["get"]["parameters"] if p["in"] == "query"}
    for name in names:
        assert "Any case" in parameters[name].get("description", ""), name
    limit = parameters["limit"]
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 200)
    assert "1 to 200" in limit["description"]
