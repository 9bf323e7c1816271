"""POST /api/v1/incidents/<key>/follow-ups with Idempotency-Key: an alert bridge's or a script's
retry adds nothing new, answered as the comments' and incidents' POST are."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from api_helpers import bearer
from sqlalchemy import func, select

from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.events import EventType
from shared.incidents import follow_ups, idempotency, timers
from shared.incidents.models import FollowUp
from shared.outbox.models import OutboxMessage

PROBLEM = "application/problem+json"
FOLLOW_UP = {"title": "Add an alert on replica lag", "owner_email": "lead@example.com"}


@pytest.fixture
def bridge(make_token):
    return bearer(make_token("lead", "write"))


def _url(incident) -> str:
    return f"/api/v1/incidents/{incident.key}/follow-ups"


def _counts(db) -> tuple[int, int, int]:
    """Follow-ups, their "added" events on the trail, and outbox messages."""
    db.expire_all()
    added = select(func.count(AuditEvent.id)).where(AuditEvent.action == EventType.FOLLOW_UP_CREATED.value)
    return (
        db.scalar(select(func.count(FollowUp.id))),
        db.scalar(added),
        db.scalar(select(func.count(OutboxMessage.id))),
    )


def test_a_retried_follow_up_answers_with_the_first_one_and_adds_nothing(client, db, make_incident, bridge):
    incident = make_incident()
    due = (timers.today() + timedelta(days=7)).isoformat()
    headers = {**bridge, "Idempotency-Key": "postmortem-INC-1-lag-alert"}
    first = client.post(_url(incident), json={**FOLLOW_UP, "due_date": due}, headers=headers)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert "Idempotent-Replayed" not in first.headers
    after_first = _counts(db)
    assert after_first[:2] == (1, 1)

    retry = client.post(_url(incident), json={"due_date": due, **FOLLOW_UP}, headers=headers)

    assert retry.status_code == 201, retry.get_data(as_text=True)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert _counts(db) == after_first  # one follow-up, one event on the timeline
    assert len(client.get(_url(incident), headers=bridge).get_json()) == 1


def test_a_replay_shows_the_follow_up_as_it_is_now(client, make_incident, bridge):
    incident = make_incident()
    headers = {**bridge, "Idempotency-Key": "lag-alert"}
    first = client.post(_url(incident), json=FOLLOW_UP, headers=headers).get_json()
    ticked = client.patch(f"{_url(incident)}/{first['id']}", json={"done": True}, headers=bridge)
    assert ticked.status_code == 200

    retry = client.post(_url(incident), json=FOLLOW_UP, headers=headers)

    assert retry.status_code == 201
    assert (retry.get_json()["id"], retry.get_json()["state"]) == (first["id"], "done")
    assert retry.headers["ETag"] == ticked.headers["ETag"] != f'"v{first["version"]}"'


def test_without_a_key_each_post_adds_a_follow_up(client, db, make_incident, bridge):
    incident = make_incident()
    for _ in range(2):
        assert client.post(_url(incident), json=FOLLOW_UP, headers=bridge).status_code == 201
    assert _counts(db)[0] == 2


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Add an alert on disk space"},
        {"owner_email": "member@example.com"},
        {"due_date": (timers.today() + timedelta(days=3)).isoformat()},
    ],
    ids=["title", "owner", "due date"],
)
def test_the_key_reused_with_other_details_is_a_422_naming_the_header(client, db, make_incident, bridge, change):
    incident = make_incident()
    headers = {**bridge, "Idempotency-Key": "reused"}
    client.post(_url(incident), json=FOLLOW_UP, headers=headers)

    refused = client.post(_url(incident), json={**FOLLOW_UP, **change}, headers=headers)

    assert refused.status_code == 422
    assert refused.mimetype == PROBLEM
    problem = refused.get_json()
    assert list(problem["errors"]) == ["Idempotency-Key"]
    assert "for a follow-up with other details" in problem["detail"]
    assert "Use a new key for a new request." in problem["detail"]
    assert _counts(db)[0] == 1


def test_the_key_reused_on_another_incident_is_a_422(client, db, make_incident, bridge):
    first, second = make_incident(title="Replica lag"), make_incident(title="Disk full")
    headers = {**bridge, "Idempotency-Key": "lag-alert"}
    client.post(_url(first), json=FOLLOW_UP, headers=headers)

    refused = client.post(_url(second), json=FOLLOW_UP, headers=headers)

    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == ["Idempotency-Key"]
    assert client.get(_url(second), headers=bridge).get_json() == []


def test_a_key_a_comment_was_posted_with_is_refused_for_a_follow_up(client, db, make_incident, bridge):
    incident = make_incident()
    headers = {**bridge, "Idempotency-Key": "bridge-0412"}
    posted = client.post(f"/api/v1/incidents/{incident.key}/comments", json={"body": "Still firing"}, headers=headers)
    assert posted.status_code == 201

    refused = client.post(_url(incident), json=FOLLOW_UP, headers=headers)

    assert refused.status_code == 422
    assert "for a comment with other details" in refused.get_json()["errors"]["Idempotency-Key"][0]
    assert _counts(db)[0] == 0


def test_an_unusable_key_is_a_422_and_adds_nothing(client, db, make_incident, bridge):
    incident = make_incident()
    for key, words in (("x" * 300, "keep it to 255"), ("two words", "visible ASCII")):
        refused = client.post(_url(incident), json=FOLLOW_UP, headers={**bridge, "Idempotency-Key": key})
        assert refused.status_code == 422, key
        assert words in refused.get_json()["errors"]["Idempotency-Key"][0]
    assert _counts(db)[0] == 0


def test_a_refused_follow_up_does_not_use_up_its_key(client, db, make_incident, bridge):
    incident = make_incident()
    headers = {**bridge, "Idempotency-Key": "lag-alert"}
    refused = client.post(_url(incident), json={**FOLLOW_UP, "owner_email": "nobody@example.com"}, headers=headers)
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == ["owner_email"]

    fixed = client.post(_url(incident), json={**FOLLOW_UP, "owner_email": "nobody@example.com"}, headers=headers)
    assert fixed.status_code == 422  # the same refusal, not a replay of nothing
    added = client.post(_url(incident), json=FOLLOW_UP, headers=headers)
    assert added.status_code == 201
    assert "Idempotent-Replayed" not in added.headers
    assert _counts(db)[0] == 1


def test_an_unknown_incident_is_a_404_whatever_the_key(client, db, bridge):
    missing = client.post(
        "/api/v1/incidents/INC-999999/follow-ups", json=FOLLOW_UP, headers={**bridge, "Idempotency-Key": "k-1"}
    )
    assert missing.status_code == 404
    assert missing.mimetype == PROBLEM


def test_two_people_with_the_same_key_add_two(client, db, make_incident, bridge, make_token):
    incident = make_incident()
    key = {"Idempotency-Key": "runbook-step-4"}
    mine = client.post(_url(incident), json=FOLLOW_UP, headers={**bridge, **key})
    theirs = client.post(_url(incident), json=FOLLOW_UP, headers={**bearer(make_token("member", "write")), **key})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_retry_after_the_follow_up_was_deleted_adds_it_again(client, db, make_incident, bridge):
    """Deleting a follow-up deletes its key with it: a later retry is a new request, not a 500."""
    incident = make_incident()
    headers = {**bridge, "Idempotency-Key": "lag-alert"}
    first = client.post(_url(incident), json=FOLLOW_UP, headers=headers).get_json()
    assert client.delete(f"{_url(incident)}/{first['id']}", headers=bridge).status_code == 204

    again = client.post(_url(incident), json=FOLLOW_UP, headers=headers)

    assert again.status_code == 201, again.get_data(as_text=True)
    assert "Idempotent-Replayed" not in again.headers
    assert _counts(db)[:2] == (1, 2)  # added, deleted, added again: each on the timeline


def test_a_repeat_sent_while_the_first_is_still_adding_waits_and_gets_its_follow_up(
    db, users, make_incident, session_factory
):
    """Two deliveries at once: the second's claim waits on the first's, then answers with it."""
    incident_id, lead_id = make_incident().id, users["lead"].id
    answers: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def add(session):
        actor = session.get(User, lead_id)
        return idempotency.follow_up_once(
            session=session,
            actor=actor,
            key="lag-alert-race",
            details={"incident_id": incident_id, "title": FOLLOW_UP["title"]},
            follow_up=lambda: follow_ups.add_follow_up(
                session=session, actor=actor, incident_id=incident_id, title=FOLLOW_UP["title"]
            ),
        )

    with session_factory() as first:
        added = add(first)

        def second_delivery() -> None:
            try:
                with session_factory() as second:
                    again = add(second)
                    second.commit()
                    answers.append((again.follow_up.id, again.replayed))
            except BaseException as error:  # reported below, not lost in the thread
                errors.append(error)

        thread = threading.Thread(target=second_delivery)
        thread.start()
        thread.join(0.5)  # waiting on the first's claim
        first.commit()
        thread.join(30)
    assert not errors, errors
    assert answers == [(added.follow_up.id, True)]
    assert _counts(db)[0] == 1


def test_the_document_lists_the_key_and_the_replay_header(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/incidents/{key}/follow-ups"]["post"]
    [key] = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key"]
    assert key["required"] is False
    assert "follow-up" in key["description"]
    assert key["schema"]["maxLength"] == idempotency.KEY_MAX
    assert {"ETag", "Idempotent-Replayed"} <= set(operation["responses"]["201"]["headers"])
    assert "422" in operation["responses"]
