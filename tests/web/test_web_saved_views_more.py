"""Saved views, from a lead's Monday review: each view on the dashboard says whose it is and
what it searches; a second team view of a name is refused, naming who has the first; Delete
asks first (a team view: that everyone loses it); Rename, under the rules of Save view."""

from __future__ import annotations

import threading
from html import unescape

import pytest
from sqlalchemy import select, text
from web_helpers import parse, sign_in

from shared.accounts.models import User
from shared.errors import ValidationFailed
from shared.incidents import saved_views
from shared.incidents.saved_views import SavedView

NAME = "Mo's P1/P2"


@pytest.fixture
def clients(app, users):
    """A signed-in browser per role: admin, lead, member, other."""
    signed_in = {}
    for who in ("admin", "lead", "member", "other"):
        signed_in[who] = app.test_client()
        sign_in(signed_in[who], users[who])
    return signed_in


def page_of(client) -> str:
    return unescape(client.get("/").get_data(as_text=True))


def entries(html: str) -> list[str]:
    """Each saved view as the list reads it: its name, whose it is and what it searches."""
    views = parse(html).find_all("ul", class_="saved-view-list")
    if not views:
        return []
    return [
        " ".join([item.find("a").text, item.find("span", class_="saved-view-about").text])
        for item in views[0].find_all("li")
    ]


def link_descriptions(html: str) -> list[str]:
    """What a screen reader adds to each saved view's link (its aria-describedby text)."""
    page = parse(html)
    links = page.find("section", class_="saved-views").find_all("a")
    return [
        " ".join(page.find(id=part).text for part in link.attrs["aria-describedby"].split())
        for link in links
        if "aria-describedby" in link.attrs
    ]


def flash_after(response) -> str:
    return unescape(response.get_data(as_text=True))


def view_named(db, name: str) -> SavedView:
    db.expire_all()
    return db.scalars(select(SavedView).where(SavedView.name == name)).one()


# --- 1. Whose view, what it searches; one team view per name ------------------------------------


def test_views_of_one_name_say_whose_they_are_and_what_they_search(clients):
    clients["lead"].post("/views", data={"name": NAME, "q": "priority:p1,p2", "team": "1"})
    clients["member"].post("/views", data={"name": NAME, "q": "owner:me priority:p1"})

    html = page_of(clients["member"])
    assert entries(html) == [
        f"{NAME} — team view by Lee Lead · searches priority:p1,p2",
        f"{NAME} — yours · searches priority:p1 owner:me",
    ]
    # Not a tooltip: the same words are the links' accessible descriptions (keyboard, touch).
    assert link_descriptions(html) == [
        "team view by Lee Lead searches priority:p1,p2",
        "yours searches priority:p1 owner:me",
    ]
    # The lead's own team view says so; a view with no search says what it shows.
    clients["lead"].post("/views", data={"name": "Everything", "q": "", "team": "1"})
    assert entries(page_of(clients["lead"])) == [
        "Everything — team view by you · no search (the active incidents)",
        f"{NAME} — team view by you · searches priority:p1,p2",
    ]


def test_a_second_team_view_of_a_name_is_refused_naming_whose_the_first_is(clients, db):
    clients["lead"].post("/views", data={"name": NAME, "q": "priority:p1,p2", "team": "1"})

    refused = clients["admin"].post(
        "/views", data={"name": "MO'S p1/p2", "q": "priority:p1", "team": "1"}, follow_redirects=True
    )
    message = (
        f"There is a team view named “{NAME}” already (made by Lee Lead): choose another name, "
        "so that everyone can tell the two apart."
    )
    page = parse(flash_after(refused))
    assert page.find(id="view-name-error").text == message  # beside the Save view's name field
    assert page.find("input", id="view-name").attrs["value"] == "MO'S p1/p2"  # what was typed, kept
    assert entries(page_of(clients["member"])) == [f"{NAME} — team view by Lee Lead · searches priority:p1,p2"]

    # Sharing one's own view of that name later (Replace) is refused the same way.
    clients["admin"].post("/views", data={"name": NAME, "q": "priority:p1"})
    refused = clients["admin"].post(
        "/views", data={"name": NAME, "q": "priority:p1", "team": "1", "replace": "1"}, follow_redirects=True
    )
    assert parse(flash_after(refused)).find(id="view-name-error").text == message
    assert entries(page_of(clients["member"])) == [f"{NAME} — team view by Lee Lead · searches priority:p1,p2"]
    # One's own view may share a team view's name: it is marked as yours.
    assert entries(page_of(clients["admin"])) == [
        f"{NAME} — team view by Lee Lead · searches priority:p1,p2",
        f"{NAME} — yours · searches priority:p1",
    ]


def test_replacing_ones_team_view_unticked_is_refused_and_everyone_keeps_it(clients, db):
    """Save view with a team view's name and "Replace" but not "Team view": it turned the team view
    into the lead's own, gone from everyone's dashboard without a word (found in QA)."""
    clients["lead"].post("/views", data={"name": "Team A", "q": "priority:p1,p2 env:prod", "team": "1"})

    taken = clients["lead"].post("/views", data={"name": "team a", "q": "priority:p1"}, follow_redirects=True)
    assert (
        parse(flash_after(taken))
        .find(id="view-name-error")
        .text.startswith("You already have a team view named “team a”")
    )
    refused = clients["lead"].post(
        "/views", data={"name": "team a", "q": "priority:p1", "replace": "1"}, follow_redirects=True
    )
    assert parse(flash_after(refused)).find(id="view-name-error").text == (
        "“Team A” is your team view, on everyone's dashboard: tick “Team view” to replace it for everyone, "
        "or choose another name for a view of your own."
    )
    shared = ["Team A — team view by Lee Lead · searches priority:p1,p2 env:prod"]
    assert entries(page_of(clients["member"])) == shared

    clients["lead"].post("/views", data={"name": "team a", "q": "priority:p1", "replace": "1", "team": "1"})
    assert entries(page_of(clients["member"])) == ["Team A — team view by Lee Lead · searches priority:p1"]


@pytest.mark.postgres_only
def test_two_team_views_of_one_name_saved_at_once_leave_one(db, users, session_factory):
    """The rule has no constraint in the table: the second save waits for the first's COMMIT
    (an advisory lock), then sees its view and is refused."""
    first, second = session_factory(), session_factory()
    outcome: dict[str, object] = {}

    def save_second() -> None:
        try:
            saved_views.save_view(
                session=second, actor=second.get(User, users["admin"].id), name=NAME, query="", team=True
            )
            second.commit()
            outcome["second"] = "saved"
        except ValidationFailed as error:
            second.rollback()
            outcome["second"] = str(error)

    try:
        saved_views.save_view(
            session=first, actor=first.get(User, users["lead"].id), name=NAME, query="", team=True
        )  # written, not committed
        racer = threading.Thread(target=save_second)
        racer.start()
        # Someone waiting for an advisory lock in this test's database (its own, per test process).
        waiting = text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        with db.get_bind().connect() as watcher:
            while racer.is_alive() and not watcher.execute(waiting).scalar_one():
                racer.join(0.05)  # until the second save waits for the lock (or, unlocked, is done)
        first.commit()
        racer.join(30)
    finally:
        first.close()
        second.close()
    assert outcome["second"] == (
        f"There is a team view named “{NAME}” already (made by Lee Lead): choose another name, "
        "so that everyone can tell the two apart."
    )
    assert db.scalars(select(SavedView.name).where(SavedView.team.is_(True))).all() == [NAME]


# --- 2. Delete asks first ------------------------------------------------------------------------


def test_delete_asks_first_naming_the_view_then_yes_deletes_it(clients, db):
    clients["member"].post("/views", data={"name": "Mine", "q": "owner:me"})
    view_id = view_named(db, "Mine").id

    asked = clients["member"].post(f"/views/{view_id}/delete")
    assert asked.status_code == 200
    page = parse(flash_after(asked))
    question = page.find("p", id=f"saved-view-{view_id}-delete-question")
    assert question.text == "Delete your view “Mine”? There is no undo."
    form = page.find("form", class_="confirm")
    assert form.find("button").text == "Yes, delete view “Mine”"
    cancel = form.find("a")
    assert (cancel.text, cancel.attrs["href"]) == ("Cancel", f"/#saved-view-{view_id}-delete")
    assert "data-cancel-question" in cancel.attrs  # Escape is Cancel (app.js)
    assert view_named(db, "Mine").id == view_id  # nothing deleted by the first press

    deleted = clients["member"].post(f"/views/{view_id}/delete", data={"confirm": "1"}, follow_redirects=True)
    assert "Deleted the view “Mine”." in flash_after(deleted)
    assert entries(flash_after(deleted)) == []


def test_deleting_a_team_view_says_everyone_loses_it(clients, db):
    clients["lead"].post("/views", data={"name": "All P1s", "q": "priority:p1", "team": "1"})
    view_id = view_named(db, "All P1s").id

    # A member may not: refused at once, no question.
    refused = clients["member"].post(f"/views/{view_id}/delete")
    assert refused.status_code == 403
    assert "Only Lee Lead, who made the team view “All P1s”, or an admin can change it." in flash_after(refused)

    # An admin tidying up is asked, with whose it is and what it means for everyone.
    asked = clients["admin"].post(f"/views/{view_id}/delete")
    question = parse(flash_after(asked)).find("p", id=f"saved-view-{view_id}-delete-question")
    assert question.text == (
        "Delete the team view “All P1s” by Lee Lead? Everyone loses it from their dashboard, and there is no undo."
    )
    deleted = clients["admin"].post(f"/views/{view_id}/delete", data={"confirm": "1"}, follow_redirects=True)
    assert "Deleted the team view “All P1s”: it is gone from everyone's dashboard." in flash_after(deleted)
    assert entries(page_of(clients["member"])) == []


# --- 3. Rename -----------------------------------------------------------------------------------


def test_rename_your_view_and_a_refused_name_comes_back_beside_its_field(clients, db):
    clients["member"].post("/views", data={"name": "Disks", "q": "disk"})
    clients["member"].post("/views", data={"name": "Mine", "q": "owner:me"})
    view_id = view_named(db, "Disks").id

    renamed = clients["member"].post(
        f"/views/{view_id}/rename", data={"name": "  Full   disks "}, follow_redirects=True
    )
    assert "Renamed the view “Disks” to “Full disks”." in flash_after(renamed)
    assert entries(flash_after(renamed)) == ["Full disks — yours · searches disk", "Mine — yours · searches owner:me"]

    for typed, problem in [
        ("  ", "Give the view a name."),
        ("x" * 81, "A view's name has at most 80 characters."),
        ("MINE", "You already have a view named “Mine”: choose another name."),
    ]:
        refused = clients["member"].post(f"/views/{view_id}/rename", data={"name": typed})
        assert refused.status_code == 422
        page = parse(flash_after(refused))
        field = page.find("input", id=f"saved-view-{view_id}-name")
        assert field.attrs["value"] == typed
        assert field.attrs["aria-invalid"] == "true"
        assert page.find(id=field.attrs["aria-describedby"]).text == problem
        assert "open" in page.find("li", id=f"saved-view-{view_id}").find("details").attrs
    assert view_named(db, "Full disks").id == view_id


def test_rename_a_team_view_its_owner_or_an_admin_never_onto_another_team_views_name(clients, db):
    clients["lead"].post("/views", data={"name": "All P1s", "q": "priority:p1", "team": "1"})
    clients["admin"].post("/views", data={"name": "Prod", "q": "env:prod", "team": "1"})
    lead_view, admin_view = view_named(db, "All P1s").id, view_named(db, "Prod").id

    # Rename is offered only to who may do it.
    assert parse(page_of(clients["member"])).find_all("details", class_="rename-view") == []
    assert clients["member"].post(f"/views/{lead_view}/rename", data={"name": "Mine now"}).status_code == 403

    refused = clients["lead"].post(f"/views/{lead_view}/rename", data={"name": "prod"})
    assert refused.status_code == 422
    assert parse(flash_after(refused)).find(id=f"saved-view-{lead_view}-name-error").text == (
        "There is a team view named “Prod” already (made by Ada Admin): choose another name, "
        "so that everyone can tell the two apart."
    )

    renamed = clients["admin"].post(f"/views/{lead_view}/rename", data={"name": "P1 everywhere"}, follow_redirects=True)
    assert "Renamed the team view “All P1s” to “P1 everywhere”: everyone sees the new name." in flash_after(renamed)
    assert entries(page_of(clients["member"])) == [
        "P1 everywhere — team view by Lee Lead · searches priority:p1",
        "Prod — team view by Ada Admin · searches env:prod",
    ]
    assert view_named(db, "Prod").id == admin_view

    # Another person's own view is not even there for them, an admin included.
    clients["member"].post("/views", data={"name": "Mine", "q": "owner:me"})
    view_id = view_named(db, "Mine").id
    for who in ("other", "admin"):
        assert clients[who].post(f"/views/{view_id}/rename", data={"name": "Theirs"}).status_code == 404
        assert clients[who].post(f"/views/{view_id}/delete").status_code == 404
    assert view_named(db, "Mine").id == view_id
