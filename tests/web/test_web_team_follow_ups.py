"""The page /follow-ups beyond your own (from a lead's review: a lead could not see anyone else's
follow-ups): ?owner=all everyone's, ?owner=none those with no owner, ?owner=<email or user id>
one person's, ?due=overdue only the open ones due before today, with the Open / Done views and
the pages as on "Your follow-ups". Each row names its owner ("(disabled)" when that account is
disabled: work nobody will do) and its incident's key, title and status; Mark done / Reopen
comes back to the same list. Every role may read every incident, so every role may do this."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import update
from web_helpers import parse, sign_in, snapshot

from shared import permissions
from shared.accounts import service as accounts
from shared.incidents import follow_ups as service
from shared.incidents import timers
from shared.incidents.models import FollowUp
from shared.permissions import Action
from web.incidents.views import MINE_PAGE_SIZE

PAGE = "/follow-ups"


def _add(db, users, incident, title, *, owner="member", due=None):
    item = service.add_follow_up(
        session=db,
        actor=users["lead"],
        incident_id=incident.id,
        title=title,
        owner_id=users[owner].id if owner else None,
        due_date=due,
    )
    db.commit()
    return item


def _overdue(db, item, days=2):
    """A due date already past (the service only takes days ahead)."""
    db.execute(update(FollowUp).where(FollowUp.id == item.id).values(due_date=timers.today() - timedelta(days=days)))
    db.commit()


def _items(html: str) -> list:
    listed = parse(html).find_all("ul", class_="my-follow-up-list")
    return listed[0].find_all("li") if listed else []


def _titles(html: str) -> list[str]:
    return [item.find("a").text.split(" on INC-")[0] for item in _items(html)]


def _owners(html: str) -> list[str]:
    """What each row's owner line says, up to its incident."""
    return [item.find("p", class_="follow-up-owner").text.split(" · ")[0] for item in _items(html)]


def _chosen(html: str):
    """The option the Owner filter shows chosen."""
    [chosen] = [
        o for o in parse(html).find("select", id="follow-ups-owner").find_all("option") if "selected" in o.attrs
    ]
    return chosen


def _form_of(html: str, title: str) -> tuple[str, dict[str, str]]:
    [item] = [li for li in _items(html) if li.find("a").text.startswith(f"{title} on ")]
    form = item.find("form")
    return form.attrs["action"], {field.attrs["name"]: field.attrs["value"] for field in form.find_all("input")}


def _next_link(html: str) -> str | None:
    links = [a for pager in parse(html).find_all("nav", class_="pager") for a in pager.find_all("a")]
    return next((a.attrs["href"] for a in links if a.text == "Next page"), None)


@pytest.fixture
def team(db, users, make_incident):
    """Follow-ups of four people and of nobody on two incidents; one of Oti's overdue."""
    today = timers.today()
    disk = make_incident(title="Disk full on db-1")
    leak = make_incident(title="Key pushed to a public repo", owner="lead")
    made = {
        "mine": _add(db, users, disk, "Member's job", due=today + timedelta(days=3)),
        "other_late": _add(db, users, leak, "Oti's late job", owner="other", due=today + timedelta(days=1)),
        "other": _add(db, users, disk, "Oti's job", owner="other"),
        "lead": _add(db, users, leak, "Lee's job", owner="lead", due=today + timedelta(days=1)),
        "nobody": _add(db, users, disk, "Nobody's job", owner=None, due=today + timedelta(days=9)),
        "done": _add(db, users, disk, "Oti's done job", owner="other"),
    }
    _overdue(db, made["other_late"])
    service.set_done(session=db, actor=users["other"], incident_id=disk.id, follow_up_id=made["done"].id, done=True)
    db.commit()
    return disk, leak, made


@pytest.mark.parametrize("role", ["lead", "admin", "member"])
def test_everyones_open_follow_ups_soonest_due_first_each_naming_its_owner(client, users, team, role):
    _, leak, _ = team
    sign_in(client, users[role])
    response = client.get(PAGE, query_string={"owner": "all"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert parse(html).find("h1").text == "Everyone's follow-ups"
    assert parse(html).find("title").text.startswith("Everyone's follow-ups")
    assert _titles(html) == ["Oti's late job", "Lee's job", "Member's job", "Nobody's job", "Oti's job"]
    assert _owners(html) == [
        "Owner: Oti Other",
        "Owner: Lee Lead",
        "Owner: Mo Member",
        "Owner: No owner",
        "Owner: Oti Other",
    ]
    rows = [item.text for item in _items(html)]
    assert "Overdue" in rows[0]
    # Its incident: key and title in the link, and the incident's status.
    assert _items(html)[0].find("a").text == f"Oti's late job on {leak.key} (Key pushed to a public repo)"
    assert f"{leak.key} is Open" in rows[0]
    # Any role may tick any follow-up (whoever may comment on its incident): a button on every row.
    assert all(item.find_all("button", class_="follow-up-tick") for item in _items(html))
    # The filter shows the choice made.
    assert _chosen(html).text == "Everyone's"


def test_the_overdue_ones_of_everyone_in_a_bookmarkable_address(client, users, team):
    sign_in(client, users["lead"])
    html = client.get(f"{PAGE}?owner=all&state=open&due=overdue").get_data(as_text=True)
    assert _titles(html) == ["Oti's late job"]
    assert parse(html).find("title").text.startswith("Everyone's overdue follow-ups")
    assert parse(html).find("ul", class_="my-follow-up-list").attrs["aria-label"] == "Overdue follow-ups"
    assert "checked" in parse(html).find("input", name="due").attrs
    # Mine, overdue: none of mine is.
    mine = client.get(PAGE, query_string={"due": "overdue", "owner": "member@example.com"}).get_data(as_text=True)
    assert _titles(mine) == []
    assert parse(mine).find("p", class_="empty").text == "No follow-up to show here."


def test_one_persons_by_email_or_id_and_those_with_no_owner(client, users, team):
    sign_in(client, users["lead"])
    by_email = client.get(PAGE, query_string={"owner": "Other@Example.com"}).get_data(as_text=True)
    assert parse(by_email).find("h1").text == "Oti Other's follow-ups"
    assert _titles(by_email) == ["Oti's late job", "Oti's job"]
    chosen = _chosen(by_email)
    assert (chosen.text, chosen.attrs["value"]) == ("Oti Other", "other@example.com")
    by_id = client.get(PAGE, query_string={"owner": users["other"].id}).get_data(as_text=True)
    assert _titles(by_id) == _titles(by_email)
    done = client.get(PAGE, query_string={"owner": "other@example.com", "state": "done"}).get_data(as_text=True)
    assert _titles(done) == ["Oti's done job"]
    nobody = client.get(PAGE, query_string={"owner": "none"}).get_data(as_text=True)
    assert parse(nobody).find("h1").text == "Follow-ups with no owner"
    assert _titles(nobody) == ["Nobody's job"]
    # The Open / Done views keep whose.
    views = parse(nobody).find("nav", aria_label="Which follow-ups").find_all("a")
    assert [a.attrs["href"] for a in views] == [f"{PAGE}?owner=none", f"{PAGE}?owner=none&state=done"]


def test_a_disabled_owners_follow_ups_are_marked_as_orphaned(client, db, users, team):
    accounts.set_active(session=db, actor=users["admin"], user_id=users["other"].id, active=False)
    db.commit()
    sign_in(client, users["lead"])
    html = client.get(PAGE, query_string={"owner": "all"}).get_data(as_text=True)
    assert _owners(html)[0] == "Owner: Oti Other (disabled)"
    assert _owners(html)[1] == "Owner: Lee Lead"
    # They can be chosen in the filter too, marked the same way.
    options = [o.text for o in parse(html).find("select", id="follow-ups-owner").find_all("option")]
    assert "Oti Other (disabled)" in options
    theirs = client.get(PAGE, query_string={"owner": "other@example.com"}).get_data(as_text=True)
    assert _titles(theirs) == ["Oti's late job", "Oti's job"]


def test_mine_stays_the_default_and_the_filter_offers_the_others(client, users, team):
    sign_in(client, users["member"])
    html = client.get(PAGE).get_data(as_text=True)
    assert parse(html).find("h1").text == "Your follow-ups"
    assert _titles(html) == ["Member's job"]
    form = parse(html).find("form", aria_label="Whose follow-ups")
    assert form.attrs["method"] == "get"
    options = [(o.attrs["value"], o.text) for o in form.find("select", name="owner").find_all("option")]
    assert options[:3] == [("me", "Mine"), ("all", "Everyone's"), ("none", "No owner")]
    assert ("lead@example.com", "Lee Lead") in options
    assert ("member@example.com", "Mo Member") not in options  # that is "Mine"


def test_mark_done_on_someone_elses_comes_back_to_the_same_list_saying_whose(client, db, users, team):
    _, _, made = team
    sign_in(client, users["lead"])
    url = f"{PAGE}?owner=all&due=overdue"
    action, fields = _form_of(client.get(url).get_data(as_text=True), "Oti's late job")
    assert fields["owner"] == "all"
    assert fields["due"] == "overdue"

    response = client.post(action, data=fields)

    assert response.status_code == 302
    assert response.headers["Location"] == url
    db.expire_all()
    item = db.get(FollowUp, made["other_late"].id)
    assert item.is_done
    assert item.done_by_id == users["lead"].id
    html = client.get(url).get_data(as_text=True)
    assert parse(html).find("p", id="follow-ups-notice").text == "Marked Oti Other's follow-up “Oti's late job” done."
    assert _titles(html) == []

    done_url = f"{PAGE}?owner=all&state=done"
    action, fields = _form_of(client.get(done_url).get_data(as_text=True), "Oti's late job")
    assert client.post(action, data=fields).headers["Location"] == done_url
    html = client.get(done_url).get_data(as_text=True)
    assert parse(html).find("p", id="follow-ups-notice").text == "Reopened Oti Other's follow-up “Oti's late job”."


def test_rows_the_reader_may_not_change_have_no_button(client, db, users, team, monkeypatch):
    _, _, made = team
    sign_in(client, users["member"])
    monkeypatch.setitem(permissions.ROLE_ACTIONS, "member", permissions.EVERYONE - {Action.COMMENT})
    html = client.get(PAGE, query_string={"owner": "all"}).get_data(as_text=True)
    assert len(_items(html)) == 5
    assert all(item.find_all("button") == [] for item in _items(html))
    before = snapshot(db)
    response = client.post(
        f"/follow-ups/{made['other'].id}/done", data={"incident": team[0].key, "done": "1", "owner": "all"}
    )
    assert response.status_code == 403
    assert snapshot(db) == before


def test_everyones_pages_walk_every_one_once(client, db, users, make_incident):
    incident = make_incident(title="Disk full on db-1")
    today = timers.today()
    owners = ["member", "other", "lead", None]
    for n in range(MINE_PAGE_SIZE + 5):
        # Dated ones, some sharing a day, then undated: the page boundary falls among the dated.
        due = today + timedelta(days=n // 3) if n < MINE_PAGE_SIZE - 2 else None
        _add(db, users, incident, f"Check host {n:02d}", owner=owners[n % 4], due=due)
    sign_in(client, users["lead"])
    first = client.get(PAGE, query_string={"owner": "all"}).get_data(as_text=True)
    assert len(_items(first)) == MINE_PAGE_SIZE
    later = _next_link(first)
    assert later.startswith(f"{PAGE}?owner=all&cursor=")
    second = client.get(later).get_data(as_text=True)
    assert _titles(first) + _titles(second) == [f"Check host {n:02d}" for n in range(MINE_PAGE_SIZE + 5)]
    assert _next_link(second) is None


def test_an_owner_it_does_not_know_is_named_and_yours_are_shown(client, users, team):
    sign_in(client, users["member"])
    response = client.get(PAGE, query_string={"owner": "nobody@example.com"})
    assert response.status_code == 200
    html = unescape(response.get_data(as_text=True))
    assert parse(html).find("p", id="follow-ups-refusal").text == (
        "There is nobody “nobody@example.com” to list the follow-ups of: here are yours."
    )
    assert parse(html).find("h1").text == "Your follow-ups"
    assert _titles(html) == ["Member's job"]


def test_overdue_done_ones_are_named_a_contradiction(client, users, team):
    sign_in(client, users["lead"])
    html = client.get(PAGE, query_string={"owner": "all", "state": "done", "due": "overdue"}).get_data(as_text=True)
    assert parse(html).find("p", id="follow-ups-refusal").text == (
        "Overdue follow-ups are open ones (due before today): here are the overdue ones."
    )
    assert _titles(html) == ["Oti's late job"]
