"""A search result found by a word of its comments says where, under its title: in the table
on a wide screen and in the incident's card on a phone, read after the title, the word marked."""

from __future__ import annotations

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import Locator, Page, expect

from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
TITLE = "Checkout latency after the deploy"


def _card(page: Page, title: str) -> Locator:
    return page.locator("#incident-rows > tr").filter(has=page.get_by_role("link", name=title, exact=True))


def _right_edge(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box, f"{locator} has no bounding box"
    return box["x"] + box["width"]


def _top(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box, f"{locator} has no bounding box"
    return box["y"]


@pytest.fixture
def commented(file_incident, db, users):
    incident = file_incident(TITLE, priority="P1", component="payments")
    file_incident("CHG-4411 stuck in review", priority="P2", component="change")
    incidents.add_comment(
        session=db,
        incident_id=incident.id,
        actor=users["lead"],
        body="Paged payments. We rolled back CHG-4411 at 02:10 and latency recovered.",
    )
    db.commit()
    return incident


def test_the_hint_is_in_the_card_on_a_phone(open_page, commented, users, axe_source) -> None:
    page = open_page(**PHONE)
    sign_in_on(page, "member@example.com")
    page.goto("/?q=CHG-4411")
    card = _card(page, TITLE)
    expect(card).to_have_count(1)
    hint = f"Matched in a comment by {users['lead'].name}: “Paged payments. We rolled back CHG-4411 at 02:10"
    # Plain text in the title's cell, read after the title.
    title_cell = card.get_by_role("cell", name=f"{TITLE} {hint}")
    expect(title_cell).to_be_visible()
    shown = title_cell.get_by_text("Matched in a comment")
    expect(shown).to_be_visible()
    assert _top(title_cell.get_by_role("link", name=TITLE, exact=True)) < _top(shown)
    assert _right_edge(shown) <= 390, "the hint reaches beyond the screen"
    expect(shown.locator("mark")).to_have_text(["CHG", "4411"])
    # A title that holds the words has none.
    other = _card(page, "CHG-4411 stuck in review")
    expect(other).to_have_count(1)
    expect(other.get_by_text("Matched in")).to_have_count(0)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    check_accessible(page, axe_source, "a search hint in an incident card on a phone")


def test_the_hint_follows_the_search_as_you_type(open_page, commented, users, axe_source) -> None:
    page = open_page()
    sign_in_on(page, "member@example.com")
    search = page.get_by_label("Search", exact=True)
    search.fill("CHG-4411")
    row = _card(page, TITLE)
    expect(row.get_by_text(f"Matched in a comment by {users['lead'].name}")).to_be_visible()
    check_accessible(page, axe_source, "a search hint in the incident table")
    # Words of the title alone: the same row, without a hint.
    search.fill("checkout latency")
    expect(page.locator("#incident-rows > tr")).to_have_count(1)
    expect(row.get_by_text("Matched in")).to_have_count(0)
