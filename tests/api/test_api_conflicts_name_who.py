"""A refused stale or colliding write through the API names who changed the incident (or the
follow-up) and what, in `detail` and in `changes`, as the pages do; the same request sent
twice by one caller (a retry, parallel workers with one token) is answered as done."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from api_helpers import bearer
from sqlalchemy import func, select

from shared.audit.models import AuditEvent
from shared.events import EventType
from shared.incidents import follow_ups
from shared.incidents import service as incidents

INCIDENTS = "/api/v1/incidents"


@pytest.fixture
def lead(make_token):
    return bearer(make_token("lead", "write"))


@pytest.fixture
def admin(make_token):
    return bearer(make_token("admin", "write"))


@pytest.fixture
def member(make_token):
    return bearer(make_token("member", "write"))


def _person(user) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name}


def _status_events(db, incident_id: int) -> int:
    db.expire_all()
    return db.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.incident_id == incident_id, AuditEvent.action == EventType.INCIDENT_STATUS_CHANGED.value
        )
    )


# -- a stale If-Match (412) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "", {"title": "Disk full on db-2"}),
        ("POST", "/transition", {"to": "blocked", "reason": "Waiting on AWS"}),
        ("POST", "/assign", {"owner_id": None}),
        ("POST", "/priority", {"priority": "P1"}),
    ],
)
def test_a_stale_if_match_names_who_changed_the_incident_and_what(
    client, users, make_incident, lead, admin, method, path, body
):
    incident = make_incident("in_progress", priority="P2")
    url = f"{INCIDENTS}/{incident.key}"
    read = client.get(url, headers=lead).headers["ETag"]
    changed = client.post(f"{url}/priority", json={"priority": "P4"}, headers={**admin, "If-Match": read})
    current = changed.headers["ETag"]

    stale = client.open(url + path, method=method, json=body, headers={**lead, "If-Match": read})

    assert stale.status_code == 412
    assert stale.headers["ETag"] == current
    problem = stale.get_json()
    assert problem["detail"] == (
        f"{users['admin'].name} changed {incident.key} since version {read.strip(chr(34))} (it is at "
        f"{current.strip(chr(34))} now). What changed: priority P2 → P4. "
        f"GET it again, then retry with If-Match: {current}."
    )
    [change] = problem["changes"]
    assert change["by"] == _person(users["admin"])
    assert (change["field"], change["from"], change["to"]) == ("priority", "P2", "P4")
    # When, with its zone as every time the API gives (SQLite hands it back without one).
    assert datetime.fromisoformat(change["at"]).utcoffset() == timedelta(0)
    assert client.get(url, headers=lead).get_json()["priority"] == "P4"


def test_a_stale_if_match_after_the_callers_own_other_change_says_it_was_them(client, make_incident, lead):
    incident = make_incident("in_progress")
    url = f"{INCIDENTS}/{incident.key}"
    read = client.get(url, headers=lead).headers["ETag"]
    client.patch(url, json={"title": "Disk full on db-1"}, headers={**lead, "If-Match": read})

    stale = client.post(f"{url}/priority", json={"priority": "P1"}, headers={**lead, "If-Match": read})

    assert stale.status_code == 412
    detail = stale.get_json()["detail"]
    assert detail.startswith(f"You changed {incident.key} in another request since version {read.strip(chr(34))}")
    assert "What changed: title edited." in detail
    assert [c["field"] for c in stale.get_json()["changes"]] == ["title"]


def test_a_resolve_repeated_with_the_same_stale_if_match_and_summary_is_answered_as_done(
    client, db, make_incident, lead
):
    """RFC 9110 §13.1.1: a change already made (its answer lost, say) may be answered 2xx."""
    incident = make_incident("in_progress")
    url = f"{INCIDENTS}/{incident.key}"
    read = client.get(url, headers=lead).headers["ETag"]
    move = {"to": "resolved", "summary": "Failed over to the replica"}
    first = client.post(f"{url}/transition", json=move, headers={**lead, "If-Match": read})
    assert first.status_code == 200

    again = client.post(f"{url}/transition", json=move, headers={**lead, "If-Match": read})

    assert again.status_code == 200, again.get_json()
    assert again.get_json()["status"] == "resolved"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert _status_events(db, incident.id) == 2  # open → in progress, then the one resolve

    other_summary = client.post(
        f"{url}/transition", json={**move, "summary": "Restarted it"}, headers={**lead, "If-Match": read}
    )
    assert other_summary.status_code == 412
    assert "What changed: status In Progress → Resolved." in other_summary.get_json()["detail"]


def test_the_document_describes_the_changes_a_problem_names(client):
    document = client.get("/api/v1/openapi.json").get_json()
    problem = document["components"]["schemas"]["Problem"]
    assert "changes" in problem["properties"]
    change = document["components"]["schemas"]["ProblemChange"]["properties"]
    assert {"by", "at", "field", "from", "to"} <= set(change)


# -- two writes at the same moment (409, or done) ----------------------------------------------


def _changed_meanwhile(monkeypatch, session_factory, change) -> None:
    """Between the request's read of the incident and its write, `change(session)` is committed
    by another session: the write then collides at flush, as a parallel request's would."""
    real = incidents.check_version
    done = []

    def check_then_collide(incident, expected_version):
        real(incident, expected_version)
        if not done:
            done.append(True)
            with session_factory() as other:
                change(other)
                other.commit()

    monkeypatch.setattr(incidents, "check_version", check_then_collide)


@pytest.mark.postgres_only
def test_the_same_resolve_sent_twice_at_once_by_one_caller_is_answered_as_done(
    client, db, users, make_incident, lead, monkeypatch, session_factory
):
    incident = make_incident("in_progress")
    _changed_meanwhile(
        monkeypatch,
        session_factory,
        lambda other: incidents.transition(
            session=other,
            incident_id=incident.id,
            actor=other.get(type(users["lead"]), users["lead"].id),
            to="resolved",
            reason="x",
        ),
    )

    answer = client.post(
        f"{INCIDENTS}/{incident.key}/transition", json={"to": "resolved", "summary": "x"}, headers=lead
    )

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "resolved"
    assert answer.get_json()["resolution_summary"] == "x"
    assert _status_events(db, incident.id) == 2


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("who", "summary", "named"),
    [("admin", "x", "{admin} changed"), ("lead", "another summary", "You changed {key} in another request")],
)
def test_a_collision_with_someone_elses_or_a_different_change_names_it(
    client, users, make_incident, lead, monkeypatch, session_factory, who, summary, named
):
    incident = make_incident("in_progress")
    _changed_meanwhile(
        monkeypatch,
        session_factory,
        lambda other: incidents.transition(
            session=other,
            incident_id=incident.id,
            actor=other.get(type(users[who]), users[who].id),
            to="resolved",
            reason=summary,
        ),
    )

    answer = client.post(
        f"{INCIDENTS}/{incident.key}/transition", json={"to": "resolved", "summary": "x"}, headers=lead
    )

    assert answer.status_code == 409
    detail = answer.get_json()["detail"]
    assert detail == (
        f"{named.format(admin=users['admin'].name, key=incident.key)}"
        + ("" if who == "lead" else f" {incident.key}")
        + " at the same moment. What changed: status In Progress → Resolved. GET it again, then retry if you "
        "still mean to."
    )
    assert "someone else" not in detail
    [change] = answer.get_json()["changes"]
    assert change["by"] == _person(users[who])
    assert (change["field"], change["from"], change["to"]) == ("status", "in_progress", "resolved")


@pytest.mark.postgres_only
def test_ten_parallel_resolves_with_one_token_all_succeed_once(client, db, make_incident, lead):
    incident = make_incident("in_progress")
    answers: list[tuple[int, dict]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(10)

    def resolve() -> None:
        try:
            start.wait(10)
            response = client.post(
                f"{INCIDENTS}/{incident.key}/transition", json={"to": "resolved", "summary": "x"}, headers=lead
            )
            answers.append((response.status_code, response.get_json()))
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=resolve) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    # The first resolves; a twin that read In Progress collides with it, one that read Resolved
    # asks a move the caller's own last change already made: each is answered as done.
    assert [status for status, _ in answers] == [200] * 10, answers
    assert {body["resolution_summary"] for _, body in answers} == {"x"}
    assert _status_events(db, incident.id) == 2


def test_resolving_again_after_the_first_answer_is_done_unless_the_summary_differs(client, db, make_incident, lead):
    incident = make_incident("in_progress")
    url = f"{INCIDENTS}/{incident.key}/transition"
    assert client.post(url, json={"to": "resolved", "summary": "x"}, headers=lead).status_code == 200

    assert client.post(url, json={"to": "resolved", "summary": "x"}, headers=lead).status_code == 200
    other = client.post(url, json={"to": "resolved", "summary": "y"}, headers=lead)
    assert other.status_code == 409
    assert other.get_json()["detail"].startswith(f"{incident.key} is Resolved; it cannot move to Resolved.")
    assert _status_events(db, incident.id) == 2


# -- follow-ups --------------------------------------------------------------------------------


def _follow_up_url(incident, follow_up_id=None) -> str:
    base = f"{INCIDENTS}/{incident.key}/follow-ups"
    return base if follow_up_id is None else f"{base}/{follow_up_id}"


def test_a_stale_if_match_on_a_follow_up_names_who_changed_it_and_what(client, users, make_incident, member, lead):
    incident = make_incident()
    created = client.post(_follow_up_url(incident), json={"title": "Rotate the key"}, headers=member).get_json()
    read = f'"v{created["version"]}"'
    url = _follow_up_url(incident, created["id"])
    client.patch(url, json={"done": True}, headers={**lead, "If-Match": read})

    stale = client.patch(url, json={"title": "Rotate both keys"}, headers={**member, "If-Match": read})

    assert stale.status_code == 412
    problem = stale.get_json()
    assert problem["detail"] == (
        f"{users['lead'].name} changed the follow-up “Rotate the key” since version v1 (it is at v2 now). "
        'What changed: done no → yes. GET it again, then retry with If-Match: "v2".'
    )
    [change] = problem["changes"]
    assert change["by"] == _person(users["lead"])
    assert (change["field"], change["from"], change["to"]) == ("done", False, True)


def _changed_follow_up_meanwhile(monkeypatch, session_factory, users, who: str, change) -> None:
    """Between the request's read of the follow-up and its tick, `change(session, actor,
    incident_id, follow_up_id)` by `who` is committed in another session: the request's tick then
    collides at flush, as a parallel Mark done's would."""
    real = follow_ups._may_change
    changed = []

    def may_change_then_collide(actor, incident):
        real(actor, incident)
        if not changed:
            changed.append(True)
            with session_factory() as other:
                person = other.get(type(users[who]), users[who].id)
                [item] = follow_ups.list_follow_ups(session=other, actor=person, incident_id=incident.id)
                change(other, person, incident.id, item.id)
                other.commit()

    monkeypatch.setattr(follow_ups, "_may_change", may_change_then_collide)


def _tick(session, actor, incident_id, follow_up_id) -> None:
    follow_ups.set_done(session=session, actor=actor, incident_id=incident_id, follow_up_id=follow_up_id, done=True)


@pytest.mark.postgres_only
@pytest.mark.parametrize("who", ["member", "lead"])
def test_mark_done_at_the_same_moment_as_another_mark_done_is_one_tick(
    client, users, make_incident, member, monkeypatch, session_factory, who
):
    """As when they come one after the other (set_done): two ticks of one box are one tick."""
    incident = make_incident()
    created = client.post(_follow_up_url(incident), json={"title": "Rotate the key"}, headers=member).get_json()
    _changed_follow_up_meanwhile(monkeypatch, session_factory, users, who, _tick)

    answer = client.patch(_follow_up_url(incident, created["id"]), json={"done": True}, headers=member)

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["state"] == "done"
    assert answer.get_json()["done_by"]["email"] == users[who].email  # the tick that went in first


@pytest.mark.postgres_only
def test_a_tick_that_meets_another_change_names_who_made_it(
    client, users, make_incident, member, monkeypatch, session_factory
):
    incident = make_incident()
    created = client.post(_follow_up_url(incident), json={"title": "Rotate the key"}, headers=member).get_json()

    def rename(session, actor, incident_id, follow_up_id) -> None:
        follow_ups.update_follow_up(
            session=session, actor=actor, incident_id=incident_id, follow_up_id=follow_up_id, title="Rotate both keys"
        )

    _changed_follow_up_meanwhile(monkeypatch, session_factory, users, "lead", rename)

    answer = client.patch(_follow_up_url(incident, created["id"]), json={"done": True}, headers=member)

    assert answer.status_code == 409
    assert answer.get_json()["detail"] == (
        f"{users['lead'].name} changed it at the same moment: the follow-up “Rotate both keys” of {incident.key} "
        "is open now. Mark it done again if you still mean to."
    )
