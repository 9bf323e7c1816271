"""GET /api/v1/follow-ups: follow-ups across incidents and owners, as the page /follow-ups lists them
with ?owner=: `owner=all` (the default) everyone's, `me`, `none` (no owner), a user id or an email;
`state=open|done|all`; `due=overdue` (open, due before today); paged as the other lists. Each item
is shaped exactly as GET /api/v1/me/follow-ups answers it, whose `owner` is the user every
follow-up answer names. Every role may read every incident, so any read token may ask. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import bearer
from sqlalchemy import update

from shared.incidents import follow_ups, timers
from shared.incidents.models import FollowUp

URL = "/api/v1/follow-ups"
PROBLEM = "application/problem+json"


@pytest.fixture
def member(make_token):
    return bearer(make_token("member", "read"))


def _add(db, users, incident, title, *, owner="member", due=None):
    item = follow_ups.add_follow_up(
        session=db,
        actor=users["lead"],
        incident_id=incident.id,
        title=title,
        owner_id=users[owner].id if owner else None,
        due_date=due,
    )
    db.commit()
    return item


def _walk(client, headers, url):
    titles, pages = [], 0
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        titles += [item["title"] for item in body["items"]]
        pages += 1
        url = body["next"]
        if url:
            assert response.headers["Link"] == f'<{url}>; rel="next"'
    return titles, pages


@pytest.fixture
def team(db, users, make_incident):
    today = timers.today()
    incident = make_incident(title="Disk full on db-1")
    made = {
        "late": _add(db, users, incident, "Oti's late job", owner="other", due=today + timedelta(days=1)),
        "mine": _add(db, users, incident, "Member's job", due=today + timedelta(days=2)),
        "lead": _add(db, users, incident, "Lee's job", owner="lead"),
        "nobody": _add(db, users, incident, "Nobody's job", owner=None, due=today + timedelta(days=5)),
        "done": _add(db, users, incident, "Oti's done job", owner="other"),
    }
    db.execute(update(FollowUp).where(FollowUp.id == made["late"].id).values(due_date=today - timedelta(days=3)))
    db.commit()
    follow_ups.set_done(
        session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=made["done"].id, done=True
    )
    db.commit()
    return incident, made


def _titles(client, headers, **query):
    response = client.get(URL, query_string=query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["title"] for item in response.get_json()["items"]]


def test_everyones_by_default_and_narrowed_by_owner_state_and_due(client, users, team, member):
    assert _titles(client, member) == ["Oti's late job", "Member's job", "Nobody's job", "Lee's job"]
    assert _titles(client, member, owner="ALL") == _titles(client, member)
    assert _titles(client, member, owner="me") == ["Member's job"]
    assert _titles(client, member, owner="none") == ["Nobody's job"]
    assert _titles(client, member, owner="Other@Example.com") == ["Oti's late job"]
    assert _titles(client, member, owner=str(users["other"].id), state="all") == ["Oti's late job", "Oti's done job"]
    assert _titles(client, member, state="done") == ["Oti's done job"]
    assert _titles(client, member, due="overdue") == ["Oti's late job"]
    assert _titles(client, member, due="OVERDUE", owner="me") == []


def test_each_item_is_shaped_as_on_me_follow_ups_with_its_owner(client, users, team, make_token):
    _, made = team
    other = bearer(make_token("other", "read"))
    [theirs] = client.get("/api/v1/me/follow-ups", headers=other).get_json()["items"]
    [listed] = client.get(URL, query_string={"owner": "other@example.com"}, headers=other).get_json()["items"]
    assert listed == theirs
    assert listed["owner"] == {"id": users["other"].id, "email": "other@example.com", "name": "Oti Other"}
    [nobodys] = client.get(URL, query_string={"owner": "none"}, headers=other).get_json()["items"]
    assert nobodys["id"] == made["nobody"].id
    assert nobodys["owner"] is None


def test_pages_walk_everyones_once_across_dated_and_undated(client, db, users, make_incident, member):
    incident = make_incident(title="Disk full on db-1")
    owners = ["member", "other", "lead", None]
    added = [
        _add(db, users, incident, f"Check host {n}", owner=owners[n % 4], due=timers.today() + timedelta(days=n // 2))
        if n < 5
        else _add(db, users, incident, f"Check host {n}", owner=owners[n % 4])
        for n in range(9)
    ]
    first = client.get(URL, query_string={"limit": 3}, headers=member).get_json()
    # Given one more meanwhile, due first: the pages already handed out do not shift.
    _add(db, users, incident, "Newcomer", due=timers.today())
    rest, pages = _walk(client, member, first["next"])
    assert [item["title"] for item in first["items"]] + rest == [f"Check host {n}" for n in range(9)]
    assert pages == 2
    for item in added[1], added[7]:
        follow_ups.set_done(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=item.id, done=True)
        db.commit()
    done, pages = _walk(client, member, f"{URL}?state=done&limit=1")
    assert done == ["Check host 7", "Check host 1"]  # the most recently done first
    assert pages == 2


@pytest.mark.parametrize(
    ("query", "status", "parameter", "words"),
    [
        ({"owner": "nobody@example.com"}, 400, "owner", "owner 'nobody@example.com' is not all, me, none"),
        ({"owner": "99999"}, 400, "owner", "owner '99999' is not all, me, none"),
        ({"state": "closed"}, 400, "state", "state 'closed' is not one of open, done, all."),
        ({"due": "today"}, 400, "due", "due 'today' is not one of overdue."),
        ({"due": "overdue", "state": "done"}, 400, "due", "due=overdue lists open follow-ups"),
        ({"cursor": "nonsense"}, 422, "cursor", "This cursor is not one this list gave out"),
        ({"limit": "0"}, 422, "limit", "limit must be a whole number from 1 to 200."),
        ({"sort": "due"}, 400, None, "sort"),
    ],
)
def test_a_bad_parameter_is_a_problem_naming_it(client, team, member, query, status, parameter, words):
    response = client.get(URL, query_string=query, headers=member)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert words in problem["detail"] or words in str(problem.get("errors"))
    if parameter:
        assert list(problem["errors"]) == [parameter]


def test_it_is_documented_beside_me_follow_ups(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/follow-ups"]["get"]
    parameters = {parameter["name"] for parameter in operation["parameters"]}
    assert {"owner", "state", "due", "limit", "cursor"} <= parameters
    assert "everyone" in operation["description"]
    item = operation["responses"]["200"]["content"]["application/json"]["schema"]
    mine = document["paths"]["/api/v1/me/follow-ups"]["get"]["responses"]["200"]["content"]["application/json"]
    assert item == mine["schema"]


def test_it_needs_a_token(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
