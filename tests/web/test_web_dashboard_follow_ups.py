"""The dashboard's "Your follow-ups": what is mine to do across incidents. The open follow-ups the
signed-in person owns, at most ten, soonest due first (those with no due date after the dated
ones), then the oldest; each links to its place in its incident's Follow-ups section. Done ones
and other people's are not listed. GET /api/v1/me/follow-ups answers the same list."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from web_helpers import csrf_token_from, parse, sign_in

from shared.incidents import follow_ups as service
from shared.incidents import timers
from shared.incidents.models import FollowUp

HEADING = "Your follow-ups"


def _add(db, users, incident, title, *, owner="member", by="lead", due=None):
    item = service.add_follow_up(
        session=db,
        actor=users[by],
        incident_id=incident.id,
        title=title,
        owner_id=users[owner].id if owner else None,
        due_date=due,
    )
    db.commit()
    return item


def _listed(client) -> list[tuple[str, str, str]]:
    """(link text, href, the line's text) of each item under "Your follow-ups", as the wide
    screen's section shows them; [] when the dashboard has no such section."""
    response = client.get("/")
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    sections = [s for s in page.find_all("section") if s.find_all("h2") and s.find_all("h2")[0].text == HEADING]
    if not sections:
        return []
    return [(item.find("a").text, item.find("a").attrs["href"], item.text) for item in sections[0].find_all("li")]


def _api(client) -> list[dict]:
    """GET /api/v1/me/follow-ups as the signed-in browser calls it (session and X-CSRFToken)."""
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    answer = client.get("/api/v1/me/follow-ups", headers={"X-CSRFToken": token})
    assert answer.status_code == 200
    return answer.get_json()["items"]


def test_my_open_follow_ups_soonest_due_first_each_linking_to_its_place(client, db, users, make_incident):
    today = timers.today()
    disk = make_incident(title="Disk full on db-1")
    key_leak = make_incident(title="Key pushed to a public repo")
    undated = _add(db, users, disk, "Write the postmortem")
    later = _add(db, users, key_leak, "Rotate the backup key", due=today + timedelta(days=5))
    soon = _add(db, users, disk, "Add an alert on disk usage", due=today + timedelta(days=1))
    overdue = _add(db, users, key_leak, "Rotate the leaked key", due=today)
    # Due before today (the form no longer takes such a date; time made it so).
    db.execute(update(FollowUp).where(FollowUp.id == overdue.id).values(due_date=today - timedelta(days=2)))
    db.commit()
    done = _add(db, users, disk, "Restart the shipper")
    service.set_done(session=db, actor=users["member"], incident_id=disk.id, follow_up_id=done.id, done=True)
    _add(db, users, disk, "Someone else's job", owner="other")
    _add(db, users, disk, "Nobody's yet", owner=None)
    db.commit()

    sign_in(client, users["member"])
    listed = _listed(client)
    assert [title for title, _, _ in listed] == [
        "Rotate the leaked key",
        "Add an alert on disk usage",
        "Rotate the backup key",
        "Write the postmortem",
    ]
    hrefs = [href for _, href, _ in listed]
    assert hrefs == [
        f"/incidents/{key_leak.key}#follow-up-{overdue.id}",
        f"/incidents/{disk.key}#follow-up-{soon.id}",
        f"/incidents/{key_leak.key}#follow-up-{later.id}",
        f"/incidents/{disk.key}#follow-up-{undated.id}",
    ]
    lines = [line for _, _, line in listed]
    assert f"on {key_leak.key} (Key pushed to a public repo)" in lines[0]
    assert "Overdue" in lines[0]
    assert f"Due {(today + timedelta(days=1)).isoformat()}" in lines[1]
    assert "Overdue" not in lines[1]
    assert "No due date" in lines[3]

    # The link leads to that follow-up on the incident page.
    page = client.get(hrefs[0].split("#")[0]).get_data(as_text=True)
    assert "Rotate the leaked key" in parse(page).find("li", id=f"follow-up-{overdue.id}").text

    # The same list from the API, for a script or a chat bot.
    assert [(item["title"], item["incident"]) for item in _api(client)] == [
        ("Rotate the leaked key", key_leak.key),
        ("Add an alert on disk usage", disk.key),
        ("Rotate the backup key", key_leak.key),
        ("Write the postmortem", disk.key),
    ]


def test_at_most_ten_and_it_says_there_are_more(client, db, users, make_incident):
    incident = make_incident(title="Disk full on db-1")
    today = timers.today()
    for n in range(12):
        _add(db, users, incident, f"Check host {n:02d}", due=today + timedelta(days=n))
    sign_in(client, users["member"])
    listed = _listed(client)
    assert [title for title, _, _ in listed] == [f"Check host {n:02d}" for n in range(10)]
    assert "you own more" in client.get("/").get_data(as_text=True)
    assert len(_api(client)) == 12  # the API pages them instead (50 a page unless asked)


def test_nothing_to_do_shows_no_list_and_ticking_one_done_takes_it_off(client, db, users, make_incident):
    incident = make_incident(title="Disk full on db-1")
    item = _add(db, users, incident, "Rotate the leaked key")
    sign_in(client, users["lead"])  # owns none
    assert _listed(client) == []
    assert 'id="my-follow-ups-heading"' not in client.get("/").get_data(as_text=True)  # (the menu names the page)

    sign_in(client, users["member"])
    assert [title for title, _, _ in _listed(client)] == ["Rotate the leaked key"]
    service.set_done(session=db, actor=users["member"], incident_id=incident.id, follow_up_id=item.id, done=True)
    db.commit()
    assert _listed(client) == []
    assert _api(client) == []
