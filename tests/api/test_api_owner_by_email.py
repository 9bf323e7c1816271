"""An owner by email: what an alerting bridge knows about the person on call is their email,
not our user id (found by QA: the API assigned by owner_id only)."""

from __future__ import annotations

import pytest
from api_helpers import bearer


@pytest.fixture
def lead(make_token):
    return bearer(make_token("lead", "write"))


def test_assign_by_email_and_unassign_with_null(client, make_incident, users, lead):
    incident = make_incident(owner=None)
    url = f"/api/v1/incidents/{incident.key}/assign"
    assigned = client.post(url, json={"owner_email": "Other@Example.com"}, headers=lead)
    assert assigned.status_code == 200
    assert assigned.get_json()["owner"]["email"] == "other@example.com"
    cleared = client.post(url, json={"owner_id": None}, headers=lead)
    assert cleared.status_code == 200
    assert cleared.get_json()["owner"] is None


def test_file_an_incident_owned_by_email(client, users, lead):
    created = client.post(
        "/api/v1/incidents", json={"title": "Kafka consumer lag", "owner_email": "member@example.com"}, headers=lead
    )
    assert created.status_code == 201
    assert created.get_json()["owner"]["id"] == users["member"].id


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"owner_email": "nobody@example.com"}, "owner_email", "No active user has the email nobody@example.com."),
        ({"owner_email": "not-an-email"}, "owner_email", "email"),
        ({}, "owner_id", "Give owner_id (a user id, or null to unassign) or owner_email, exactly one."),
        ({"owner_id": 3, "owner_email": "member@example.com"}, "owner_id", "exactly one"),
    ],
    ids=["unknown-email", "not-an-email", "neither", "both"],
)
def test_a_wrong_owner_is_a_422_naming_the_field(client, make_incident, lead, body, field, words):
    incident = make_incident(owner=None)
    refused = client.post(f"/api/v1/incidents/{incident.key}/assign", json=body, headers=lead)
    assert refused.status_code == 422
    problem = refused.get_json()
    assert words in " ".join(str(message) for message in _messages(problem["errors"][field]))
    after = client.get(f"/api/v1/incidents/{incident.key}", headers=lead).get_json()
    assert after["owner"] is None


def test_a_disabled_users_email_is_refused(client, db, make_incident, users, lead):
    users["other"].is_active = False
    db.commit()
    incident = make_incident(owner=None)
    refused = client.post(
        f"/api/v1/incidents/{incident.key}/assign", json={"owner_email": "other@example.com"}, headers=lead
    )
    assert refused.status_code == 422


def _messages(value) -> list:
    if isinstance(value, dict):
        return [m for inner in value.values() for m in _messages(inner)]
    return value if isinstance(value, list) else [value]
