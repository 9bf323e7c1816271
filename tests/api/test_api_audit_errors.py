"""GET /api/v1/audit/events refuses a bad parameter as GET /api/v1/incidents does, so a client
handles both lists' errors one way: a `cursor` the list did not give out, or a `limit` out of
range, is a 422 problem naming it; a filter value that matches nothing known is a 400 problem
naming its parameter. The OpenAPI document says so."""

from __future__ import annotations

import pytest
from api_helpers import bearer

from shared.incidents import service as incidents

EVENTS = "/api/v1/audit/events"
INCIDENTS = "/api/v1/incidents"
PROBLEM = "application/problem+json"


@pytest.fixture
def lead_token(make_token) -> dict[str, str]:
    return bearer(make_token("lead", "read"))


@pytest.fixture
def events(db, users, make_incident):
    """A few events, so a real cursor exists next to the bad ones."""
    incident = make_incident("in_progress", title="Disk full on db-1")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body="Seen it.")
    db.commit()


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"cursor": "abc"}, "not one this list gave out"),
        ({"cursor": "99999"}, "no such event"),
        ({"cursor": "-3"}, "not one this list gave out"),
        ({"cursor": "9" * 30}, "not one this list gave out"),
        ({"cursor": "abc", "action": "incident.", "limit": "2"}, "not one this list gave out"),  # with good filters
    ],
    ids=["word", "no-such-event", "negative", "huge", "with-filters"],
)
def test_a_bad_cursor_is_a_422_problem_naming_it_as_on_the_incident_list(client, lead_token, events, query, words):
    on_incidents = client.get(INCIDENTS, query_string={"cursor": "nonsense"}, headers=lead_token)
    response = client.get(EVENTS, query_string=query, headers=lead_token)
    assert response.status_code == on_incidents.status_code == 422
    assert response.mimetype == on_incidents.mimetype == PROBLEM
    problem, expected = response.get_json(), on_incidents.get_json()
    assert set(problem) == set(expected)  # type, title, status, detail, instance, errors
    assert problem["status"] == 422
    assert problem["title"] == expected["title"]
    assert list(problem["errors"]) == list(expected["errors"]) == ["cursor"]
    assert words in problem["errors"]["cursor"][0]
    assert problem["detail"] == problem["errors"]["cursor"][0]


def test_the_cursor_the_list_gave_out_still_pages(client, lead_token, events):
    first = client.get(EVENTS, query_string={"limit": 2}, headers=lead_token).get_json()
    assert first["next"]
    second = client.get(first["next"], headers=lead_token)
    assert second.status_code == 200
    assert not {item["id"] for item in first["items"]} & {item["id"] for item in second.get_json()["items"]}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"action": "usr."}, "action"),
        ({"action": "user.invited"}, "action"),  # an outbox message, never an audit event
        ({"actor": "nobody@example.com"}, "actor"),
        ({"entity_type": "comment"}, "entity_type"),
        ({"incident": "INC-999"}, "incident"),
        ({"from": "31/12/2026"}, "from"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "to"),
    ],
)
def test_a_bad_filter_value_is_answered_as_the_incident_list_answers_one(client, lead_token, query, parameter):
    on_incidents = client.get(INCIDENTS, query_string={"status": "opn"}, headers=lead_token)
    response = client.get(EVENTS, query_string=query, headers=lead_token)
    assert response.status_code == on_incidents.status_code == 400
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert set(problem) == set(on_incidents.get_json())
    assert list(problem["errors"]) == [parameter]
    assert problem["errors"][parameter][0]


def test_an_outbox_only_action_is_refused_in_words_that_say_why(client, lead_token):
    problem = client.get(EVENTS, query_string={"action": "evidence.processed"}, headers=lead_token).get_json()
    message = problem["errors"]["action"][0]
    assert message.startswith("'evidence.processed' is never recorded on the audit trail")
    assert "evidence.verdict" in message


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
def test_a_bad_limit_is_a_422_naming_it_on_both_lists(client, lead_token, limit):
    on_incidents = client.get(INCIDENTS, query_string={"limit": limit}, headers=lead_token)
    response = client.get(EVENTS, query_string={"limit": limit}, headers=lead_token)
    assert response.status_code == on_incidents.status_code == 422
    assert set(response.get_json()) == set(on_incidents.get_json())
    assert list(response.get_json()["errors"]) == ["limit"]


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = document["components"][section][name]
    return node


def test_the_openapi_document_describes_the_400_and_the_422(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"][EVENTS]["get"]
    for status in ("400", "422"):
        response = _resolve(document, operation["responses"][status])
        schema = _resolve(document, response["content"][PROBLEM]["schema"])
        assert "errors" in schema["properties"]
    assert "a `cursor` this list did not give out or a `limit` out of range a 422" in operation["description"]
    assert "400" in operation["description"]
