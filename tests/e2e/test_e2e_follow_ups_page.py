"""The page "Your follow-ups" (/follow-ups) in a browser, by accessible names: found from the main menu,
my open follow-ups soonest due first, one marked done with the keyboard alone (the page comes
back saying so, focus on that message), the done ones a link away; axe-clean on a desktop and on
a 390x844 phone, where the page does not scroll sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import expect

from shared.incidents import follow_ups, timers

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}


def _give(db, users, incident, title, *, due=None, owner="member"):
    item = follow_ups.add_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, title=title, owner_id=users[owner].id, due_date=due
    )
    db.commit()
    return item


@pytest.fixture
def world(db, users, file_incident):
    today = timers.today()
    disk = file_incident("Disk full on db-1", reporter="lead")
    leak = file_incident("Key pushed to a public repo", reporter="lead")
    _give(db, users, disk, "Write the postmortem")
    _give(db, users, leak, "Rotate the leaked key", due=today + timedelta(days=1))
    _give(db, users, disk, "Raise the disk alarm on every replica of the log cluster", due=today + timedelta(days=4))
    _give(db, users, disk, "Not mine", owner="other")
    return disk, leak


def test_found_from_the_menu_and_one_marked_done_with_the_keyboard(open_page, world, axe_source) -> None:
    disk, leak = world
    page = open_page()
    sign_in_on(page, "member@example.com")
    menu = page.get_by_role("navigation", name="Main")
    menu.get_by_role("link", name="Your follow-ups").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Your follow-ups", level=1)).to_be_visible()
    listed = page.get_by_role("list", name="Open follow-ups")
    expect(listed.get_by_role("link")).to_have_text(
        [
            f"Rotate the leaked key on {leak.key} (Key pushed to a public repo)",
            f"Raise the disk alarm on every replica of the log cluster on {disk.key} (Disk full on db-1)",
            f"Write the postmortem on {disk.key} (Disk full on db-1)",
        ]
    )
    expect(page.get_by_role("link", name="Open")).to_have_attribute("aria-current", "page")
    check_accessible(page, axe_source, "my open follow-ups")

    # Tab to the button (nothing clicked), Enter marks it done.
    button = page.get_by_role("button", name="Mark done “Rotate the leaked key”")
    for _ in range(40):
        page.keyboard.press("Tab")
        if button.evaluate("element => element === document.activeElement"):
            break
    expect(button).to_be_focused()
    page.keyboard.press("Enter")

    notice = page.get_by_role("status").filter(has_text="Marked “Rotate the leaked key” done.")
    expect(notice).to_be_focused()
    expect(listed.get_by_role("link")).to_have_count(2)
    check_accessible(page, axe_source, "my open follow-ups, one just marked done")

    page.get_by_role("link", name="Done", exact=True).click()
    done = page.get_by_role("list", name="Done follow-ups")
    expect(done.get_by_role("listitem")).to_contain_text(["Rotate the leaked key"])
    expect(done.get_by_role("button", name="Reopen “Rotate the leaked key”")).to_be_visible()
    check_accessible(page, axe_source, "my done follow-ups")


def test_on_a_phone_it_fits_and_stays_accessible(open_page, world, axe_source) -> None:
    page = open_page(**PHONE)
    sign_in_on(page, "member@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Your follow-ups").click()
    expect(page.get_by_role("list", name="Open follow-ups").get_by_role("listitem")).to_have_count(3)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width} px)"
    check_accessible(page, axe_source, "my follow-ups on a phone")
