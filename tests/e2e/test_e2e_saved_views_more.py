"""Saved views in a browser, from a lead's Monday review, by accessible names: views of one name
say whose they are and what they search (on screen and as the link's description), and a second
team view of that name is refused naming who has the first; Delete asks first, Escape is Cancel;
Rename, refused beside its field, then done. Each state passes axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from shared.incidents import saved_views

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

NAME = "Mo's P1/P2"


@pytest.fixture
def save_view(db, users):
    """Save a view through the domain service (committed), as `who` (a users key)."""

    def _save(who: str, name: str, query: str, *, team: bool = False) -> None:
        saved_views.save_view(session=db, actor=users[who], name=name, query=query, team=team)
        db.commit()

    return _save


def test_views_of_one_name_say_whose_they_are_and_a_second_team_one_is_refused(
    page: Page, sign_in, save_view, assert_accessible
) -> None:
    save_view("lead", NAME, "priority:p1,p2", team=True)
    save_view("member", NAME, "owner:me")
    sign_in("member@example.com")
    views = page.get_by_role("region", name="Saved views")

    team = views.get_by_role("listitem").filter(has_text="team view by Lee Lead")
    expect(team).to_contain_text(f"{NAME} — team view by Lee Lead · searches priority:p1,p2")
    expect(team.get_by_role("link", name=NAME)).to_have_accessible_description(
        "team view by Lee Lead searches priority:p1,p2"
    )
    mine = views.get_by_role("listitem").filter(has_text="yours")
    expect(mine.get_by_role("link", name=NAME)).to_have_accessible_description("yours searches owner:me")
    assert_accessible("saved views of one name, a team one and yours")

    page.get_by_role("button", name="Sign out").click()
    sign_in("admin@example.com")
    page.get_by_text("Save view", exact=True).click()
    page.get_by_label("View name").fill("mo's p1/p2")
    page.get_by_label("Team view (everyone sees it)").check()
    page.get_by_role("button", name="Save", exact=True).click()
    name = page.get_by_label("View name")
    expect(name).to_have_accessible_description(
        f"There is a team view named “{NAME}” already (made by Lee Lead): choose another name, "
        "so that everyone can tell the two apart."
    )
    expect(name).to_be_focused()
    expect(views.get_by_role("link", name=NAME)).to_have_count(1)
    assert_accessible("a second team view of a name, refused")


def test_delete_asks_first_escape_is_no_and_yes_deletes(page: Page, sign_in, save_view, assert_accessible) -> None:
    save_view("lead", "All P1s", "priority:p1", team=True)
    save_view("lead", "Mine", "owner:me")
    sign_in("lead@example.com")
    views = page.get_by_role("region", name="Saved views")

    delete = views.get_by_role("button", name="Delete team view All P1s by you")
    delete.click()
    question = views.get_by_text(
        "Delete the team view “All P1s” by you? Everyone loses it from their dashboard, and there is no undo."
    )
    expect(question).to_be_focused()
    assert_accessible("a team view's delete question")
    page.wait_for_load_state("load")  # the page's script listens for Escape (focus came first, from autofocus)
    page.keyboard.press("Escape")  # No, as Cancel: back on Delete, nothing deleted
    expect(delete).to_be_focused()
    expect(question).to_have_count(0)
    expect(views.get_by_role("link", name="All P1s")).to_be_visible()

    views.get_by_role("button", name="Delete view Mine").click()
    expect(views.get_by_text("Delete your view “Mine”? There is no undo.")).to_be_focused()
    views.get_by_role("button", name="Yes, delete view “Mine”").click()
    expect(page.get_by_role("status").filter(has_text="Deleted the view “Mine”.")).to_be_focused()
    expect(views.get_by_role("link", name="Mine")).to_have_count(0)
    expect(views.get_by_role("link", name="All P1s")).to_be_visible()


def test_rename_is_refused_beside_its_field_then_done(page: Page, sign_in, save_view, assert_accessible) -> None:
    save_view("member", "Disks", "disk")
    save_view("member", "Mine", "owner:me")
    sign_in("member@example.com")
    views = page.get_by_role("region", name="Saved views")

    views.get_by_text("Rename view “Disks”").click()  # the disclosure
    name = views.get_by_label("New name for view “Disks”")
    name.fill("mine")
    views.get_by_role("button", name="Save name of view “Disks”").click()
    name = views.get_by_label("New name for view “Disks”")
    expect(name).to_be_focused()
    expect(name).to_have_value("mine")
    expect(name).to_have_accessible_description("You already have a view named “Mine”: choose another name.")
    assert_accessible("a refused rename")

    name.fill("Full disks")
    views.get_by_role("button", name="Save name of view “Disks”").click()
    expect(page.get_by_role("status").filter(has_text="Renamed the view “Disks” to “Full disks”.")).to_be_focused()
    expect(views.get_by_role("link", name="Full disks")).to_have_accessible_description("yours searches disk")
    expect(views.get_by_role("link", name="Disks", exact=True)).to_have_count(0)
