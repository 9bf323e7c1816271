"""GET /api/v1/me/follow-ups: the follow-ups the caller owns, across incidents, paged as the other
lists are (`limit`, a cursor in `next` and the `Link` header; a row added meanwhile never makes a
page repeat or skip one), `state=open|done|all`. Each item is a follow-up as the incident's own
list shows it, with its incident named in full (key, title, page) and its own place on that page.
A state it does not take is a 400, a bad cursor or limit a 422, each naming the parameter, as on
GET /api/v1/incidents. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import bearer

from shared.incidents import follow_ups, timers

URL = "/api/v1/me/follow-ups"
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
    """Every page from `url` on, following `next`: (titles, pages)."""
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
        else:
            assert "Link" not in response.headers
    return titles, pages


def test_pages_walk_every_open_one_once_soonest_due_first(client, db, users, make_incident, member):
    today = timers.today()
    incident = make_incident(title="Disk full on db-1")
    for n in range(7):
        # Two a day, then three with no due date: page boundaries fall on a shared day and among the undated.
        _add(db, users, incident, f"Check host {n}", due=today + timedelta(days=n // 2) if n < 4 else None)
    _add(db, users, incident, "Someone else's", owner="other")

    first = client.get(URL, query_string={"limit": 3}, headers=member).get_json()
    assert [item["title"] for item in first["items"]] == ["Check host 0", "Check host 1", "Check host 2"]
    # Given one more meanwhile, due first: the pages already handed out do not shift.
    _add(db, users, incident, "Newcomer", due=today)
    rest, pages = _walk(client, member, first["next"])
    assert rest == [f"Check host {n}" for n in range(3, 7)]
    assert pages == 2
    assert "limit=3" in first["next"]  # the next page keeps the parameters asked for

    everything, _ = _walk(client, member, URL)
    assert everything[0] == "Check host 0"
    assert "Newcomer" in everything
    assert len(everything) == 8


def test_each_item_names_its_incident_and_its_own_place(client, db, users, make_incident, member):
    incident = make_incident(title="Key pushed to a public repo")
    item = _add(db, users, incident, "Rotate the leaked key", due=timers.today() + timedelta(days=2))
    [listed] = client.get(URL, headers=member).get_json()["items"]
    page = f"http://localhost/incidents/{incident.key}"
    assert (listed["incident"], listed["incident_title"], listed["incident_url"]) == (
        incident.key,
        "Key pushed to a public repo",
        page,
    )
    assert listed["url"] == f"{page}#follow-up-{item.id}"
    # The follow-up's own fields, as GET /api/v1/incidents/{key}/follow-ups/{id} answers them.
    own = client.get(f"/api/v1/incidents/{incident.key}/follow-ups/{item.id}", headers=member).get_json()
    assert {name: listed[name] for name in own} == own


def test_state_picks_open_done_or_all(client, db, users, make_incident, member):
    incident = make_incident(title="Disk full on db-1")
    first = _add(db, users, incident, "Restart the shipper")
    _add(db, users, incident, "Still open", due=timers.today() + timedelta(days=1))
    second = _add(db, users, incident, "Raise the disk alarm")
    for item in (first, second):
        follow_ups.set_done(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=item.id, done=True)
        db.commit()

    def titles(**query):
        body = client.get(URL, query_string=query, headers=member).get_json()
        return [(item["title"], item["state"]) for item in body["items"]]

    assert titles() == titles(state="open") == [("Still open", "open")]
    assert titles(state="done") == [("Raise the disk alarm", "done"), ("Restart the shipper", "done")]
    assert titles(state="all") == [
        ("Still open", "open"),
        ("Restart the shipper", "done"),
        ("Raise the disk alarm", "done"),
    ]
    done, pages = _walk(client, member, f"{URL}?state=done&limit=1")
    assert (done, pages) == (["Raise the disk alarm", "Restart the shipper"], 2)
    every, pages = _walk(client, member, f"{URL}?state=all&limit=2")
    assert (every, pages) == (["Still open", "Restart the shipper", "Raise the disk alarm"], 2)


@pytest.mark.parametrize(
    ("query", "status", "parameter", "words"),
    [
        ({"state": "closed"}, 400, "state", "state 'closed' is not one of open, done, all."),
        ({"state": ""}, 400, "state", "is not one of open, done, all."),
        ({"cursor": "nonsense"}, 422, "cursor", "This cursor is not one this list gave out"),
        ({"limit": "0"}, 422, "limit", ""),
        ({"limit": "201"}, 422, "limit", ""),
        ({"limit": "ten"}, 422, "limit", ""),
    ],
)
def test_a_bad_parameter_is_a_problem_naming_it_as_on_the_incident_list(
    client, db, users, make_incident, member, query, status, parameter, words
):
    _add(db, users, make_incident(), "Rotate the leaked key")
    response = client.get(URL, query_string=query, headers=member)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert list(problem["errors"]) == [parameter]
    assert words in problem["errors"][parameter][0]
    if parameter != "limit":
        assert problem["detail"] == problem["errors"][parameter][0]
    # The incident list answers its own bad cursor and limit alike.
    if parameter in ("cursor", "limit"):
        on_incidents = client.get("/api/v1/incidents", query_string=query, headers=member)
        assert on_incidents.status_code == status
        assert set(on_incidents.get_json()) == set(problem)


def test_a_cursor_of_one_state_is_refused_for_another(client, db, users, make_incident, member):
    incident = make_incident()
    for n in range(3):
        _add(db, users, incident, f"Check host {n}")
    after = client.get(URL, query_string={"limit": 1}, headers=member).get_json()["next"]
    cursor = after.split("cursor=")[1]
    response = client.get(URL, query_string={"state": "done", "cursor": cursor}, headers=member)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["cursor"]
