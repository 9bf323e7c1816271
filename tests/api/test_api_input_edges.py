"""What a QA walk of the API found: input it took wrongly, or refused without need."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import bearer
from web_helpers import snapshot

from shared.db import utcnow


@pytest.fixture
def lead(make_token):
    return bearer(make_token("lead", "write"))


@pytest.mark.parametrize("owner_id", [2.5, "2", True])
def test_an_owner_id_that_is_not_a_whole_number_is_refused_not_rounded(client, db, users, lead, owner_id):
    before = snapshot(db)
    refused = client.post("/api/v1/incidents", json={"title": "Disk full", "owner_id": owner_id}, headers=lead)
    assert refused.status_code == 422
    assert "owner_id" in refused.get_json()["errors"]
    assert snapshot(db) == before  # 2.5 once filed it owned by user 2


def test_deeply_nested_json_is_a_400_not_a_500(client, db, users, lead):
    body = '{"title": ' + "[" * 5000 + "]" * 5000 + "}"
    refused = client.post("/api/v1/incidents", data=body, content_type="application/json", headers=lead)
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"
    assert "nested more than 32 deep" in refused.get_json()["detail"]
    shallow = client.post("/api/v1/incidents", json={"title": [[["x"]]]}, headers=lead)
    assert shallow.status_code == 422  # a wrong type, named as such


def _titles(client, lead, **query) -> list[str]:
    return [
        item["title"] for item in client.get("/api/v1/incidents", query_string=query, headers=lead).get_json()["items"]
    ]


def test_sort_in_q_is_read_and_the_sort_parameter_wins(client, db, users, lead, make_incident):
    older = make_incident(title="Older P1", priority="P1", owner=None)
    make_incident(title="Newer P4", priority="P4", owner=None)
    older.updated_at = utcnow() - timedelta(hours=1)
    db.commit()
    assert _titles(client, lead, q="sort:recent") == ["Newer P4", "Older P1"]
    assert _titles(client, lead, q="sort:oldest") == ["Older P1", "Newer P4"]
    assert _titles(client, lead, q="sort:recent", sort="priority") == ["Older P1", "Newer P4"]
    assert _titles(client, lead) == ["Older P1", "Newer P4"]


def test_owner_values_can_be_comma_separated(client, users, lead, make_incident):
    make_incident(title="Mine", owner="member")
    make_incident(title="Leads", owner="lead")
    make_incident(title="Others", owner="other")
    make_incident(title="Nobodys", owner=None)
    assert sorted(_titles(client, lead, q="owner:member@example.com,lead@example.com")) == ["Leads", "Mine"]
    assert sorted(_titles(client, lead, q='owner:"Mo Member",none')) == ["Mine", "Nobodys"]
    assert sorted(_titles(client, lead, q="-owner:member@example.com,none")) == ["Leads", "Others"]


def test_a_mistyped_qualifier_is_a_400_that_names_the_meant_one(client, users, lead):
    refused = client.get("/api/v1/incidents", query_string={"q": "stauts:open"}, headers=lead)
    assert refused.status_code == 400
    assert refused.get_json()["detail"] == "Unknown qualifier 'stauts:' \u2014 did you mean status:?"
    assert client.get("/api/v1/incidents", query_string={"q": '"error:timeout"'}, headers=lead).status_code == 200


def test_priority_case_and_a_padded_owner_email_are_read_as_meant(client, users, lead, make_incident):
    incident = make_incident(owner=None)
    url = f"/api/v1/incidents/{incident.key}"
    assert client.post(f"{url}/priority", json={"priority": "p1"}, headers=lead).get_json()["priority"] == "P1"
    assigned = client.post(f"{url}/assign", json={"owner_email": " Lead@Example.com "}, headers=lead)
    assert assigned.status_code == 200
    assert assigned.get_json()["owner"]["email"] == "lead@example.com"


def test_a_due_date_is_set_on_create_moved_and_cleared_with_patch(client, users, lead):
    due = (utcnow() + timedelta(days=7)).date().isoformat()
    created = client.post("/api/v1/incidents", json={"title": "Renew the certificate", "due_date": due}, headers=lead)
    assert created.status_code == 201
    assert created.get_json()["due_date"] == due
    url, etag = created.headers["Location"], created.headers["ETag"]
    later = (utcnow() + timedelta(days=9)).date().isoformat()
    moved = client.patch(url, json={"due_date": later}, headers={**lead, "If-Match": etag})
    assert moved.get_json()["due_date"] == later
    cleared = client.patch(url, json={"due_date": None}, headers={**lead, "If-Match": moved.headers["ETag"]})
    assert cleared.get_json()["due_date"] is None
    past = client.patch(url, json={"due_date": "2020-01-01"}, headers={**lead, "If-Match": cleared.headers["ETag"]})
    assert past.status_code == 422
    assert "due_date" in past.get_json()["errors"]


def test_if_match_takes_a_star_and_a_list_of_etags(client, users, lead, make_incident):
    incident = make_incident(owner=None)
    url = f"/api/v1/incidents/{incident.key}"
    current = client.get(url, headers=lead).headers["ETag"]
    listed = client.patch(url, json={"title": "A"}, headers={**lead, "If-Match": f'"v999", {current}'})
    assert listed.status_code == 200
    stale = client.patch(url, json={"title": "B"}, headers={**lead, "If-Match": f'"v999", {current}'})
    assert stale.status_code == 412  # neither is current any more
    anything = client.patch(url, json={"title": "C"}, headers={**lead, "If-Match": "*"})
    assert anything.status_code == 200
    assert anything.get_json()["title"] == "C"


def test_an_if_match_of_superscript_digits_is_a_412_not_a_500(client, users, lead, make_incident):
    """`"v²"`: str.isdigit() says yes, int() refuses it (was a 500)."""
    incident = make_incident(owner=None)
    url = f"/api/v1/incidents/{incident.key}"
    answer = client.patch(url, json={"title": "A"}, headers={**lead, "If-Match": '"v\u00b2"'})
    assert answer.status_code == 412
    assert "does not name a version" in answer.get_json()["detail"]


def test_refusals_name_the_fields_the_request_sent(client, users, lead, make_token, make_incident):
    incident = make_incident("in_progress", owner=None)
    url = f"/api/v1/incidents/{incident.key}"
    unresolved = client.post(f"{url}/transition", json={"to": "resolved"}, headers=lead)
    assert unresolved.status_code == 422
    assert list(unresolved.get_json()["errors"]) == ["summary"]
    member = bearer(make_token("member", "write"))
    someone_else = client.post(
        "/api/v1/incidents", json={"title": "Disk full", "owner_email": "other@example.com"}, headers=member
    )
    assert someone_else.status_code == 422
    assert list(someone_else.get_json()["errors"]) == ["owner_email"]


@pytest.mark.parametrize("body", [{"watching": "yes"}, {"watching": 1}, {"watching": "true"}])
def test_a_switch_is_a_json_boolean(client, users, lead, make_incident, body):
    incident = make_incident(owner=None)
    refused = client.post(f"/api/v1/incidents/{incident.key}/watch", json=body, headers=lead)
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["watching"] == ["Not a valid boolean."]


def test_a_summary_is_only_for_resolving(client, users, lead, make_incident):
    incident = make_incident("in_progress", owner=None)
    url = f"/api/v1/incidents/{incident.key}/transition"
    refused = client.post(url, json={"to": "blocked", "summary": "Waiting on AWS"}, headers=lead)
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["summary"] == [
        "A summary is for moving to resolved; give the reason for blocked as reason."
    ]
    assert client.post(url, json={"to": "blocked", "reason": "Waiting on AWS"}, headers=lead).status_code == 200
