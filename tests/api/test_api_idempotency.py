"""POST /api/v1/incidents with Idempotency-Key: an alert bridge's retry files nothing new."""

from __future__ import annotations

import pytest
from api_helpers import bearer
from sqlalchemy import func, select

from shared.audit.models import AuditEvent
from shared.incidents.models import Incident
from shared.outbox.models import OutboxMessage

ALERT = {"title": "Checkout returns 502", "priority": "P1", "component": "checkout", "owner_email": "lead@example.com"}


@pytest.fixture
def bridge(make_token):
    return bearer(make_token("lead", "write"))


def _counts(db):
    db.expire_all()
    return tuple(db.scalar(select(func.count(model.id))) for model in (Incident, AuditEvent, OutboxMessage))


def test_a_retried_create_answers_with_the_first_incident(client, db, users, bridge):
    headers = {**bridge, "Idempotency-Key": "alertmanager-8d1f2c"}
    first = client.post("/api/v1/incidents", json=ALERT, headers=headers)
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    after_first = _counts(db)

    retry = client.post("/api/v1/incidents", json=dict(reversed(ALERT.items())), headers=headers)

    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json()["key"] == first.get_json()["key"]
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert _counts(db) == after_first  # one incident, one created event, one set of notifications


def test_a_replay_shows_the_incident_as_it_is_now(client, bridge):
    headers = {**bridge, "Idempotency-Key": "alertmanager-8d1f2c"}
    first = client.post("/api/v1/incidents", json=ALERT, headers=headers).get_json()
    url = f"/api/v1/incidents/{first['key']}"
    client.post(f"{url}/transition", json={"to": "in_progress"}, headers=bridge)

    retry = client.post("/api/v1/incidents", json=ALERT, headers=headers)

    assert retry.get_json()["status"] == "in_progress"
    assert retry.headers["ETag"] == client.get(url, headers=bridge).headers["ETag"]


def test_a_repeat_spelling_the_priority_in_lower_case_is_the_same_request(client, db, bridge):
    headers = {**bridge, "Idempotency-Key": "alert-p3"}
    first = client.post("/api/v1/incidents", json={**ALERT, "priority": "P3"}, headers=headers)
    again = client.post("/api/v1/incidents", json={**ALERT, "priority": "p3"}, headers=headers)
    assert again.status_code == 201
    assert again.get_json()["key"] == first.get_json()["key"]


def test_without_a_key_each_post_files_an_incident(client, db, bridge):
    for _ in range(2):
        assert client.post("/api/v1/incidents", json=ALERT, headers=bridge).status_code == 201
    assert _counts(db)[0] == 2


def test_the_key_reused_for_another_incident_is_a_422_naming_the_header(client, db, bridge):
    headers = {**bridge, "Idempotency-Key": "reused"}
    client.post("/api/v1/incidents", json=ALERT, headers=headers)

    refused = client.post("/api/v1/incidents", json={**ALERT, "title": "Search is slow"}, headers=headers)

    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert "for an incident with other details" in problem["detail"]
    assert list(problem["errors"]) == ["Idempotency-Key"]
    assert _counts(db)[0] == 1


def test_an_unusable_key_is_a_422_and_files_nothing(client, db, bridge):
    refused = client.post("/api/v1/incidents", json=ALERT, headers={**bridge, "Idempotency-Key": "x" * 300})
    assert refused.status_code == 422
    assert "keep it to 255" in refused.get_json()["errors"]["Idempotency-Key"][0]
    assert _counts(db)[0] == 0


def test_two_people_with_the_same_key_file_two_incidents(client, db, bridge, make_token):
    other = bearer(make_token("member", "write"))
    key = {"Idempotency-Key": "incident-from-runbook"}
    mine = client.post("/api/v1/incidents", json={"title": "Disk full on db-1"}, headers={**bridge, **key})
    theirs = client.post("/api/v1/incidents", json={"title": "Disk full on db-1"}, headers={**other, **key})
    assert mine.get_json()["key"] != theirs.get_json()["key"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_retried_comment_is_posted_once(client, db, bridge, make_incident):
    incident = make_incident()
    url = f"/api/v1/incidents/{incident.key}/comments"
    headers = {**bridge, "Idempotency-Key": "alert-still-firing-0412"}
    first = client.post(url, json={"body": "Still firing at 04:12"}, headers=headers)
    retry = client.post(url, json={"body": "Still firing at 04:12"}, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json()["id"] == first.get_json()["id"]
    assert len(client.get(url, headers=bridge).get_json()) == 1
    other = client.post(url, json={"body": "Resolved at 04:20"}, headers=headers)
    assert other.status_code == 422
    assert list(other.get_json()["errors"]) == ["Idempotency-Key"]
