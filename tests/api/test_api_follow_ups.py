"""/api/v1/incidents/<key>/follow-ups: list, add, edit or tick, delete; refusals as problem
details naming the field, the follow-up's own ETag for conditional edits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import bearer

from shared.incidents import timers

PROBLEM = "application/problem+json"


@pytest.fixture
def lead(make_token):
    return bearer(make_token("lead", "write"))


@pytest.fixture
def member(make_token):
    return bearer(make_token("member", "write"))


def _url(incident, follow_up_id=None):
    base = f"/api/v1/incidents/{incident.key}/follow-ups"
    return base if follow_up_id is None else f"{base}/{follow_up_id}"


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    return body


def test_add_then_list(client, users, make_incident, member):
    incident = make_incident("closed")  # closed incidents still take follow-ups
    due = (timers.today() + timedelta(days=5)).isoformat()
    assert client.get(_url(incident), headers=member).get_json() == []

    response = client.post(
        _url(incident),
        json={"title": " Add replica lag alert ", "owner_email": "Lead@Example.com", "due_date": due},
        headers=member,
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["ETag"] == f'"v{body["version"]}"'
    assert {k: body[k] for k in ("incident", "title", "state", "due_date", "done_at", "done_by")} == {
        "incident": incident.key,
        "title": "Add replica lag alert",
        "state": "open",
        "due_date": due,
        "done_at": None,
        "done_by": None,
    }
    assert body["owner"] == {"id": users["lead"].id, "email": "lead@example.com", "name": "Lee Lead"}
    assert body["created_by"]["name"] == "Mo Member"
    assert client.get(_url(incident), headers=member).get_json() == [body]


@pytest.mark.parametrize(
    ("sent", "field", "message"),
    [
        ({}, "title", "Missing data for required field."),
        ({"title": "  "}, "title", "Give the follow-up a title: what is to be done."),
        ({"title": "x" * 201}, "title", "The title is too long: use at most 200 characters."),
        ({"title": "ok", "owner_id": 99999}, "owner_id", "Choose an active user as the follow-up's owner, or nobody."),
        ({"title": "ok", "owner_email": "nobody@example.com"}, "owner_email", "No active user has the email"),
        ({"title": "ok", "due_date": "2020-01-01"}, "due_date", "Choose 20"),  # the earliest day accepted, named
        ({"title": "ok", "done": True}, "done", "Unknown field."),
    ],
)
def test_a_refused_follow_up_names_the_field(client, db, make_incident, member, sent, field, message):
    incident = make_incident()
    body = _problem(client.post(_url(incident), json=sent, headers=member), 422)
    assert any(text.startswith(message) for text in body["errors"][field]), body
    assert client.get(_url(incident), headers=member).get_json() == []


def test_unknown_incident_and_read_scope_are_problems(client, make_incident, make_token):
    incident = make_incident()
    reader = bearer(make_token("member", "read"))
    _problem(client.post("/api/v1/incidents/INC-999999/follow-ups", json={"title": "x"}, headers=reader), 403)
    writer = bearer(make_token("member", "write"))
    assert _problem(client.get("/api/v1/incidents/INC-999999/follow-ups", headers=writer), 404)["detail"] == (
        "No incident INC-999999."
    )
    body = _problem(client.post(_url(incident), json={"title": "x"}, headers=reader), 403)
    assert "this call needs a write-scope token" in body["detail"]


def test_a_list_refuses_an_unknown_query_parameter(client, make_incident, member):
    body = _problem(client.get(_url(make_incident()) + "?state=open", headers=member), 400)
    assert body["errors"] == {"state": ["Unknown query parameter 'state'."]}


def test_tick_done_reopen_and_edit(client, users, make_incident, member, lead):
    incident = make_incident()
    created = client.post(_url(incident), json={"title": "Rotate the leaked key"}, headers=member).get_json()

    done = client.patch(_url(incident, created["id"]), json={"done": True}, headers=lead)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert (done.get_json()["state"], done.get_json()["done_by"]["name"]) == ("done", "Lee Lead")
    assert done.headers["ETag"] == f'"v{done.get_json()["version"]}"'

    edited = client.patch(
        _url(incident, created["id"]),
        json={"title": "Rotate the leaked AWS key", "owner_id": users["member"].id, "done": False},
        headers={**member, "If-Match": done.headers["ETag"]},
    )
    assert edited.status_code == 200, edited.get_data(as_text=True)
    body = edited.get_json()
    assert (body["title"], body["owner"]["name"], body["state"], body["done_at"]) == (
        "Rotate the leaked AWS key",
        "Mo Member",
        "open",
        None,
    )
    unassigned = client.patch(_url(incident, created["id"]), json={"owner_id": None}, headers=member).get_json()
    assert unassigned["owner"] is None

    events = client.get(f"/api/v1/incidents/{incident.key}/events", headers=member).get_json()
    assert [e["action"] for e in events if e["action"].startswith("follow_up.")] == [
        "follow_up.created",
        "follow_up.completed",
        "follow_up.updated",
        "follow_up.reopened",
        "follow_up.updated",
    ]


def test_a_stale_or_unreadable_if_match_is_412_with_the_current_etag(client, make_incident, member):
    incident = make_incident()
    created = client.post(_url(incident), json={"title": "Rotate the leaked key"}, headers=member).get_json()
    first = f'"v{created["version"]}"'
    client.patch(_url(incident, created["id"]), json={"title": "Moved on"}, headers=member)

    stale = client.patch(_url(incident, created["id"]), json={"title": "Mine"}, headers={**member, "If-Match": first})
    body = _problem(stale, 412)
    assert stale.headers["ETag"] == f'"v{created["version"] + 1}"'
    assert body["detail"] == (
        "You changed the follow-up “Moved on” in another request since version v1 (it is at v2 now). What changed: "
        'title “Rotate the leaked key” → “Moved on”. GET it again, then retry with If-Match: "v2".'
    )
    _problem(client.patch(_url(incident, created["id"]), json={"title": "x"}, headers={**member, "If-Match": "3"}), 412)
    listed = client.get(_url(incident), headers=member).get_json()
    assert listed[0]["title"] == "Moved on"


def test_a_read_only_field_in_a_patch_says_what_to_send(client, make_incident, member):
    incident = make_incident()
    created = client.post(_url(incident), json={"title": "x"}, headers=member).get_json()
    body = _problem(client.patch(_url(incident, created["id"]), json={"state": "done"}, headers=member), 422)
    assert body["errors"]["state"] == ["Send done: true or false to change the state."]


def test_a_follow_up_of_another_incident_is_not_found(client, make_incident, member):
    first, second = make_incident(), make_incident()
    created = client.post(_url(first), json={"title": "x"}, headers=member).get_json()
    body = _problem(client.patch(_url(second, created["id"]), json={"done": True}, headers=member), 404)
    assert body["detail"] == f"{second.key} has no follow-up {created['id']}."
    _problem(client.delete(_url(second, created["id"]), headers=member), 404)


def test_delete_by_its_creator_while_open_or_by_a_lead(client, make_incident, member, lead, make_token):
    incident = make_incident()
    mine = client.post(_url(incident), json={"title": "Mine"}, headers=member).get_json()
    theirs = client.post(_url(incident), json={"title": "Theirs"}, headers=lead).get_json()
    other = bearer(make_token("other", "write"))

    body = _problem(client.delete(_url(incident, mine["id"]), headers=other), 403)
    assert body["detail"] == "Only whoever added a follow-up (while it is open), a lead or an admin can delete it."
    _problem(client.delete(_url(incident, theirs["id"]), headers=member), 403)

    deleted = client.delete(_url(incident, mine["id"]), headers=member)
    assert (deleted.status_code, deleted.get_data()) == (204, b"")
    assert client.delete(_url(incident, theirs["id"]), headers=lead).status_code == 204
    assert client.get(_url(incident), headers=member).get_json() == []
    _problem(client.delete(_url(incident, mine["id"]), headers=lead), 404)


def test_the_document_lists_the_follow_up_operations_with_the_domain_s_limit(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/incidents/{key}/follow-ups"])
    assert {"patch", "delete"} <= set(paths["/api/v1/incidents/{key}/follow-ups/{follow_up_id}"])
    schemas = document["components"]["schemas"]
    assert schemas["FollowUpIn"]["properties"]["title"]["maxLength"] == 200
    assert schemas["FollowUpOut"]["properties"]["state"]["enum"] == ["open", "done"]


def test_one_follow_up_has_its_url_the_post_names_it(client, make_incident, member):
    """Found by QA: POST answered 201 without a Location, and there was no GET of one follow-up."""
    incident = make_incident()
    created = client.post(_url(incident), json={"title": "Rotate the leaked key"}, headers=member)
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location.endswith(_url(incident, created.get_json()["id"]))
    shown = client.get(location, headers=member)
    assert shown.status_code == 200
    assert shown.get_json() == created.get_json()
    assert shown.headers["ETag"] == created.headers["ETag"]
    other = make_incident()
    _problem(client.get(_url(other, created.get_json()["id"]), headers=member), 404)


def test_a_delete_with_a_stale_if_match_is_412_and_deletes_nothing(client, make_incident, member):
    """Found by QA: DELETE ignored If-Match; a script deleting what it read deleted what someone
    had changed since."""
    incident = make_incident()
    created = client.post(_url(incident), json={"title": "Rotate the leaked key"}, headers=member).get_json()
    read = f'"v{created["version"]}"'
    client.patch(_url(incident, created["id"]), json={"title": "Rotate the key, and the other one"}, headers=member)

    stale = client.delete(_url(incident, created["id"]), headers={**member, "If-Match": read})
    assert "in another request since version v1 (it is at v2 now)" in _problem(stale, 412)["detail"]
    assert [item["title"] for item in client.get(_url(incident), headers=member).get_json()] == [
        "Rotate the key, and the other one"
    ]
    current = client.get(_url(incident, created["id"]), headers=member).headers["ETag"]
    deleted = client.delete(_url(incident, created["id"]), headers={**member, "If-Match": current})
    assert deleted.status_code == 204
