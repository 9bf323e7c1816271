"""The page "Your follow-ups" (/follow-ups): every follow-up the signed-in person owns, across incidents,
linked from the main navigation and from the dashboard's "you own more". Open ones by default,
soonest due first (no due date last); ?state=done the done ones, most recently done first; a page
at a time, through "Next page" links that never repeat or skip one. Each links to its place on
its incident's page and is marked done (or reopened) from the list with a plain form, under the
incident page's rules."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import update
from web_helpers import csrf_token_from, parse, sign_in, snapshot

from shared import permissions
from shared.incidents import follow_ups as service
from shared.incidents import timers
from shared.incidents.models import FollowUp
from shared.permissions import Action
from web.incidents.views import MINE_PAGE_SIZE

PAGE = "/follow-ups"


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


def _items(html: str) -> list:
    listed = parse(html).find_all("ul", class_="my-follow-up-list")
    return listed[0].find_all("li") if listed else []


def _titles(html: str) -> list[str]:
    return [item.find("a").text.split(" on INC-")[0] for item in _items(html)]


def _next_link(html: str) -> str | None:
    links = [a for pager in parse(html).find_all("nav", class_="pager") for a in pager.find_all("a")]
    links = [a for a in links if a.text == "Next page"]
    return links[0].attrs["href"] if links else None


def _form_of(html: str, title: str) -> tuple[str, dict[str, str]]:
    """The Mark done / Reopen form of the listed follow-up `title`, as drawn: (action, fields)."""
    [item] = [li for li in _items(html) if li.find("a").text.startswith(f"{title} on ")]
    form = item.find("form")
    return form.attrs["action"], {field.attrs["name"]: field.attrs["value"] for field in form.find_all("input")}


def test_the_navigation_leads_to_my_open_follow_ups_soonest_due_first(client, db, users, make_incident):
    today = timers.today()
    disk = make_incident(title="Disk full on db-1")
    leak = make_incident(title="Key pushed to a public repo")
    undated = _add(db, users, disk, "Write the postmortem")
    later = _add(db, users, leak, "Rotate the backup key", due=today + timedelta(days=5))
    overdue = _add(db, users, leak, "Rotate the leaked key", due=today)
    db.execute(update(FollowUp).where(FollowUp.id == overdue.id).values(due_date=today - timedelta(days=2)))
    db.commit()
    done = _add(db, users, disk, "Restart the shipper")
    service.set_done(session=db, actor=users["member"], incident_id=disk.id, follow_up_id=done.id, done=True)
    _add(db, users, disk, "Someone else's job", owner="other")
    _add(db, users, disk, "Nobody's yet", owner=None)
    db.commit()

    sign_in(client, users["member"])
    nav = parse(client.get("/").get_data(as_text=True)).find("nav", aria_label="Main")
    assert PAGE in [a.attrs["href"] for a in nav.find_all("a") if a.text == "Your follow-ups"]
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert parse(html).find("h1").text == "Your follow-ups"
    assert _titles(html) == ["Rotate the leaked key", "Rotate the backup key", "Write the postmortem"]
    links = [item.find("a") for item in _items(html)]
    # Each names its incident (key and title) and leads to its place in the incident's Follow-ups.
    assert links[0].text == f"Rotate the leaked key on {leak.key} (Key pushed to a public repo)"
    assert [link.attrs["href"] for link in links] == [
        f"/incidents/{leak.key}#follow-up-{overdue.id}",
        f"/incidents/{leak.key}#follow-up-{later.id}",
        f"/incidents/{disk.key}#follow-up-{undated.id}",
    ]
    lines = [item.text for item in _items(html)]
    assert "Overdue" in lines[0]
    assert f"Due {(today + timedelta(days=5)).isoformat()}" in lines[1]
    assert "Overdue" not in lines[1]
    assert "No due date" in lines[2]
    # The filter says which view this is, and offers the other.
    views = parse(html).find("nav", aria_label="Which follow-ups").find_all("a")
    assert [(a.text, a.attrs["href"], a.attrs.get("aria-current")) for a in views] == [
        ("Open", PAGE, "page"),
        ("Done", f"{PAGE}?state=done", None),
    ]
    assert _next_link(html) is None  # all on one page


def test_the_done_view_lists_mine_most_recently_done_first_to_reopen(client, db, users, make_incident):
    incident = make_incident(title="Disk full on db-1")
    first = _add(db, users, incident, "Restart the shipper")
    second = _add(db, users, incident, "Raise the disk alarm")
    _add(db, users, incident, "Still open")
    theirs = _add(db, users, incident, "Their done one", owner="other")
    for item in (first, second, theirs):
        service.set_done(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=item.id, done=True)
        db.commit()

    sign_in(client, users["member"])
    html = client.get(PAGE, query_string={"state": "done"}).get_data(as_text=True)
    assert _titles(html) == ["Raise the disk alarm", "Restart the shipper"]
    assert "Done by Lee Lead" in _items(html)[0].text
    assert _items(html)[0].find("button").text == "☑ Reopen “Raise the disk alarm”"
    current = parse(html).find("main").find("a", aria_current="page")  # (the top bar marks the page too)
    assert current.text == "Done"


def test_pages_walk_every_one_once_across_the_page_boundary(client, db, users, make_incident):
    today = timers.today()
    incident = make_incident(title="Disk full on db-1")
    total = MINE_PAGE_SIZE + 5
    for n in range(total):
        # Many on the same day, and the last ones with no due date: the boundary falls among them.
        due = today + timedelta(days=n // 7) if n < MINE_PAGE_SIZE - 2 else None
        _add(db, users, incident, f"Check host {n:02d}", due=due)

    sign_in(client, users["member"])
    first = client.get(PAGE).get_data(as_text=True)
    assert len(_items(first)) == MINE_PAGE_SIZE
    following = _next_link(first)
    assert following
    # Someone gives me one more meanwhile, due first: it never shifts the next page.
    _add(db, users, incident, "Urgent newcomer", due=today)
    second = client.get(following).get_data(as_text=True)
    assert "First page" in parse(second).find("nav", class_="pager").text
    assert _next_link(second) is None
    walked = _titles(first) + _titles(second)
    assert walked == [f"Check host {n:02d}" for n in range(total)]
    assert "Urgent newcomer" in _titles(client.get(PAGE).get_data(as_text=True))


def test_marking_one_done_from_the_list_says_so_and_takes_it_off(client, db, users, make_incident):
    incident = make_incident(title="Disk full on db-1")
    item = _add(db, users, incident, "Rotate the leaked key")
    _add(db, users, incident, "Write the postmortem")
    sign_in(client, users["member"])
    action, fields = _form_of(client.get(PAGE).get_data(as_text=True), "Rotate the leaked key")

    response = client.post(action, data=fields)

    assert response.status_code == 302
    assert response.headers["Location"] == PAGE
    html = client.get(PAGE).get_data(as_text=True)
    notice = parse(html).find("p", id="follow-ups-notice")
    assert notice.text == "Marked “Rotate the leaked key” done."
    assert notice.attrs["role"] == "status"
    assert _titles(html) == ["Write the postmortem"]
    assert parse(client.get(PAGE).get_data(as_text=True)).find_all("p", id="follow-ups-notice") == []  # once
    # Done on the incident page too, by me; and listed in the done view, to reopen from there.
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert "Done by Mo Member" in parse(page).find("li", id=f"follow-up-{item.id}").text
    done_view = client.get(f"{PAGE}?state=done").get_data(as_text=True)
    action, fields = _form_of(done_view, "Rotate the leaked key")
    assert client.post(action, data=fields).headers["Location"] == f"{PAGE}?state=done"
    assert "Reopened “Rotate the leaked key”." in client.get(f"{PAGE}?state=done").get_data(as_text=True)
    assert _titles(client.get(PAGE).get_data(as_text=True)) == ["Rotate the leaked key", "Write the postmortem"]


def test_marking_one_done_on_a_later_page_comes_back_to_that_page(client, db, users, make_incident):
    incident = make_incident(title="Disk full on db-1")
    for n in range(MINE_PAGE_SIZE + 2):
        _add(db, users, incident, f"Check host {n:02d}")
    sign_in(client, users["member"])
    later = _next_link(client.get(PAGE).get_data(as_text=True))
    action, fields = _form_of(client.get(later).get_data(as_text=True), f"Check host {MINE_PAGE_SIZE:02d}")
    response = client.post(action, data=fields)
    assert response.headers["Location"] == later
    assert _titles(client.get(later).get_data(as_text=True)) == [f"Check host {MINE_PAGE_SIZE + 1:02d}"]


def test_someone_who_may_not_change_follow_ups_is_offered_no_button_and_refused(
    client, db, users, make_incident, monkeypatch
):
    incident = make_incident(title="Disk full on db-1")
    mine = _add(db, users, incident, "Rotate the leaked key")
    theirs = _add(db, users, incident, "Their job", owner="other")
    sign_in(client, users["member"])
    action, fields = _form_of(client.get(PAGE).get_data(as_text=True), "Rotate the leaked key")
    # A role that may read incidents but not take part in them.
    monkeypatch.setitem(permissions.ROLE_ACTIONS, "member", permissions.EVERYONE - {Action.COMMENT})
    assert _items(client.get(PAGE).get_data(as_text=True))[0].find_all("button") == []
    before = snapshot(db)

    for item in (mine, theirs):
        response = client.post(f"/follow-ups/{item.id}/done", data={**fields, "incident": incident.key, "done": "1"})
        assert response.status_code == 403
        refusal = parse(response.get_data(as_text=True)).find("p", id="follow-ups-refusal")
        assert refusal.text == "Only people who may comment on an incident can change its follow-ups."
        assert refusal.attrs["role"] == "alert"
    assert snapshot(db) == before
    assert action == f"/follow-ups/{mine.id}/done"


def test_a_follow_up_named_with_another_incident_is_not_found(client, db, users, make_incident):
    incident = make_incident(title="Disk full on db-1")
    other = make_incident(title="Key pushed to a public repo")
    item = _add(db, users, incident, "Rotate the leaked key")
    sign_in(client, users["member"])
    before = snapshot(db)
    response = client.post(f"/follow-ups/{item.id}/done", data={"incident": other.key, "done": "1"})
    assert response.status_code == 404
    assert f"{other.key} has no follow-up {item.id}." in response.get_data(as_text=True)
    assert snapshot(db) == before


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(csrf_app, db, users, make_incident):
    incident = make_incident(title="Disk full on db-1")
    item = _add(db, users, incident, "Rotate the leaked key")
    client = csrf_app.test_client()
    sign_in(client, users["member"])
    html = client.get(PAGE).get_data(as_text=True)
    action, fields = _form_of(html, "Rotate the leaked key")
    assert fields["csrf_token"] == csrf_token_from(html)
    before = snapshot(db)

    response = client.post(action, data={name: value for name, value in fields.items() if name != "csrf_token"})

    assert response.status_code == 400
    assert "CSRF token is missing" in response.get_data(as_text=True)
    assert snapshot(db) == before
    assert client.post(action, data=fields).status_code == 302  # with it, the same form works
    db.expire_all()
    assert db.get(FollowUp, item.id).is_done


def test_a_page_link_it_did_not_give_out_shows_the_first_page_saying_so(client, db, users, make_incident):
    incident = make_incident(title="Disk full on db-1")
    _add(db, users, incident, "Rotate the leaked key")
    sign_in(client, users["member"])
    response = client.get(PAGE, query_string={"cursor": "not-a-cursor"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert parse(html).find("p", id="follow-ups-refusal").text == (
        "That page link is not one this list gave out: here is the first page."
    )
    assert _titles(html) == ["Rotate the leaked key"]


@pytest.mark.parametrize("state", ["open", "done"])
def test_nothing_owned_says_so(client, db, users, state):
    sign_in(client, users["lead"])
    html = client.get(PAGE, query_string={"state": state}).get_data(as_text=True)
    assert _items(html) == []
    empty = parse(html).find("p", class_="empty").text
    assert empty.startswith("Nothing to do" if state == "open" else "None of the follow-ups you own is done yet.")


def test_signed_out_it_asks_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_dashboards_you_own_more_links_to_the_page(client, db, users, make_incident):
    incident = make_incident(title="Disk full on db-1")
    for n in range(service.MINE_LIMIT + 1):
        _add(db, users, incident, f"Check host {n:02d}")
    sign_in(client, users["member"])
    page = parse(client.get("/").get_data(as_text=True))
    more = [a for a in page.find_all("a") if a.text == "all your follow-ups"]
    assert more
    assert {a.attrs["href"] for a in more} == {PAGE}


@pytest.mark.parametrize("state", ["all", "bogus"])
def test_a_view_the_page_does_not_have_is_named_not_quietly_replaced(client, users, state):
    """Found by QA: ?state=bogus and ?state=all (the API's) silently showed the Open view."""
    sign_in(client, users["member"])
    response = client.get(f"/follow-ups?state={state}")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert f"There is no “{state}” view of your follow-ups (Open or Done): here are the open ones." in html
    assert 'aria-current="page">Open<' in html


def test_the_top_bar_marks_the_page_shown(client, users):
    """Found by QA: no link of the top bar said which page was shown (aria-current)."""
    sign_in(client, users["member"])
    html = client.get("/follow-ups").get_data(as_text=True)
    nav = html.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    assert nav.count('aria-current="page"') == 1
    assert 'aria-current="page">Your follow-ups</a>' in nav
    dashboard = client.get("/").get_data(as_text=True).split('<nav aria-label="Main">')[1].split("</nav>")[0]
    assert 'aria-current="page">Incidents</a>' in dashboard
