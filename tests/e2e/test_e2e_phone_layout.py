"""The dashboard and the top bar on a phone (390x844): the filters with an 80-character component
keep the page within the screen, each incident is a card whose values are named and whose quick
status control is usable without scrolling sideways, the top bar's links are targets a finger can
hit, and a date field's calendar button shows when it has keyboard focus."""

from __future__ import annotations

import re

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import Locator, Page, expect

from shared.incidents import follow_ups
from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
# 80 characters, the most a component may have, with no place to break.
LONG_COMPONENT = "payments-gateway-" + "x" * 63


def _scroll_width(page: Page) -> int:
    page.wait_for_load_state()
    return page.evaluate("document.scrollingElement.scrollWidth")


def _right_edge(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box, f"{locator} has no bounding box"
    return box["x"] + box["width"]


def _top(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box, f"{locator} has no bounding box"
    return box["y"]


def _card(page: Page, title: str) -> Locator:
    return page.locator("#incident-rows > tr").filter(has=page.get_by_role("link", name=title, exact=True))


def test_opening_the_filters_with_a_long_component_keeps_the_page_within_a_phone(open_page, file_incident) -> None:
    assert len(LONG_COMPONENT) == 80
    file_incident("Checkout errors on payments", priority="P1", component=LONG_COMPONENT)
    page = open_page(**PHONE)
    sign_in_on(page, "lead@example.com")
    page.get_by_role("button", name="Filters").click()
    component = page.get_by_role("search").get_by_label("Component", exact=True)
    expect(component).to_be_visible()

    width = _scroll_width(page)
    assert width <= page.evaluate("innerWidth"), f"the page scrolls sideways ({width} px) with the filters open"
    for select in page.locator("#filters select").all():
        assert _right_edge(select) <= 390, f"{select.get_attribute('id')} reaches beyond the screen"
    component.select_option(label=LONG_COMPONENT)
    expect(page.get_by_label("Search", exact=True)).to_have_value(f"component:{LONG_COMPONENT}")
    assert _scroll_width(page) <= 390


def test_every_form_page_fits_a_phone_with_80_character_values(open_page, file_incident, db, users) -> None:
    """The other pages with dropdowns: names and components of 80 characters in their options."""
    users["other"].name = "Olga " + "Longname" * 9 + "abc"
    db.commit()
    incident = file_incident("Checkout errors on payments", priority="P1", component=LONG_COMPONENT)
    page = open_page(**PHONE)
    sign_in_on(page, "lead@example.com")
    for url, select in [
        ("/incidents/new", "Owner"),
        (f"/incidents/{incident.key}", "Owner"),  # the assign picker
        (f"/incidents/{incident.key}", "Owned by"),  # a new follow-up's owner
        ("/insights", "Window"),
    ]:
        page.goto(url)
        picker = page.get_by_label(select, exact=True).first
        expect(picker).to_be_visible()
        assert _right_edge(picker) <= 390, f"{select} on {url} reaches beyond the screen"
        assert _scroll_width(page) <= 390, f"{url} scrolls sideways"


def test_each_incident_is_a_card_on_a_phone(open_page, file_incident, users, axe_source) -> None:
    first = file_incident(
        "Checkout errors at 40% on payments in eu-west-1",
        priority="P1",
        component=LONG_COMPONENT,
        owner_id=users["other"].id,
        reporter="lead",
    )
    second = file_incident("Nightly backup failed", priority="P3", component="s3")
    page = open_page(**PHONE)
    sign_in_on(page, "lead@example.com")

    # The first card is on the screen without scrolling past the filters.
    expect(page.get_by_role("link", name=first.title, exact=True)).to_be_in_viewport(ratio=1)
    for incident in (first, second):
        card = _card(page, incident.title)
        expect(card).to_have_count(1)
        key = card.get_by_role("link", name=incident.key, exact=True)
        title = card.get_by_role("link", name=incident.title, exact=True)
        control = card.get_by_role("combobox", name=f"New status for {incident.key}")
        apply = card.get_by_role("button", name=f"Apply status change to {incident.key}")
        for part in (key, title, control, apply):
            expect(part).to_be_visible()
            assert _right_edge(part) <= 390, f"{part} is beyond the screen's edge"
        # The key and the title on top, the control below them.
        assert _top(key) < _top(control)
        assert _top(title) < _top(control)

    # Each value is named, for the eye and for a screen reader.
    card = _card(page, first.title)
    for name in ["Status: Open", "Priority: P1", f"Owner: {users['other'].name}", f"Component: {LONG_COMPONENT}"]:
        cell = card.get_by_role("cell", name=name, exact=True)
        expect(cell).to_be_visible()
        assert _right_edge(cell) <= 390
    expect(card.get_by_role("cell", name="Age: ")).to_be_visible()
    expect(card.get_by_role("cell", name="In status for: ")).to_be_visible()
    assert _scroll_width(page) <= 390
    assert page.evaluate("document.querySelector('.table-scroll').scrollWidth") <= 390
    check_accessible(page, axe_source, "the dashboard's incident cards on a phone")

    # j/k still walk the cards, the one reached outlined.
    page.keyboard.press("j")
    expect(card.get_by_role("link", name=first.key, exact=True)).to_be_focused()
    assert card.evaluate("(e) => getComputedStyle(e).outlineStyle") == "solid"


def test_an_incident_is_moved_from_its_card_without_scrolling_sideways(
    open_page, file_incident, db, users, axe_source
) -> None:
    incident = file_incident("Checkout errors at 40% on payments in eu-west-1", priority="P1", component=LONG_COMPONENT)
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    db.commit()
    page = open_page(**PHONE)
    sign_in_on(page, "lead@example.com")
    card = _card(page, incident.title)
    control = card.get_by_role("combobox", name=f"New status for {incident.key}")
    apply = card.get_by_role("button", name=f"Apply status change to {incident.key}")

    # Blocking needs a reason, typed in the card.
    control.select_option(label="Blocked")
    reason = card.get_by_label(f"Reason for blocking {incident.key}")
    expect(reason).to_be_visible()
    assert _right_edge(reason) <= 390
    reason.fill("Waiting for the payments provider")
    apply.click()
    expect(card.get_by_role("status")).to_have_text(f"{incident.key} is now Blocked.")
    expect(card.get_by_role("cell", name="Status: Blocked", exact=True)).to_be_visible()
    undo = card.get_by_role("button", name=f"Undo: move {incident.key} back to In Progress")
    for part in (undo, card.get_by_role("link", name=incident.key, exact=True)):
        expect(part).to_be_in_viewport(ratio=1)
        assert _right_edge(part) <= 390
    undo.click()
    expect(card.get_by_role("cell", name="Status: In Progress", exact=True)).to_be_visible()

    # Resolved, then Closed: closing asks first, in the card.
    control.select_option(label="Resolved")
    card.get_by_label(f"Resolution summary for {incident.key}").fill("The provider fixed their gateway")
    apply.click()
    expect(card.get_by_role("cell", name="Status: Resolved", exact=True)).to_be_visible()
    control.select_option(label="Closed")
    apply.click()
    yes = card.get_by_role("button", name=f"Yes, close {incident.key}")
    expect(card.get_by_text(f"Close {incident.key}? Closing ends the work on it.")).to_be_visible()
    for part in (yes, card.get_by_role("link", name="Cancel"), card.get_by_role("link", name=incident.title)):
        expect(part).to_be_in_viewport(ratio=1)
        assert _right_edge(part) <= 390
    assert _scroll_width(page) <= 390
    assert page.evaluate("scrollX + document.querySelector('.table-scroll').scrollLeft") == 0
    check_accessible(page, axe_source, "an incident card on a phone with the Close question open")


def test_a_card_the_live_dashboard_swaps_in_is_still_a_card(open_page, file_incident, db, users) -> None:
    incident = file_incident("Nightly backup failed", priority="P3", component=LONG_COMPONENT)
    page = open_page(**PHONE)
    page.clock.install()  # the poll's timer runs when the test says so
    sign_in_on(page, "member@example.com")
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    db.commit()
    page.clock.fast_forward(11_000)

    card = _card(page, incident.title)
    expect(card.get_by_role("cell", name="Status: In Progress", exact=True)).to_be_visible()
    control = card.get_by_role("combobox", name=f"New status for {incident.key}")
    expect(control).to_be_visible()
    assert _right_edge(control) <= 390
    assert _scroll_width(page) <= 390


@pytest.mark.parametrize("email", ["member@example.com", "admin@example.com"])
def test_the_top_bars_links_are_targets_a_finger_can_hit(open_page, email) -> None:
    """WCAG 2.2 2.5.8: each target at least 24 by 24 px, none overlapping another."""
    page = open_page(**PHONE)
    sign_in_on(page, email)
    bar = page.get_by_role("banner")
    targets = [*bar.get_by_role("link").all(), bar.get_by_role("button", name="Sign out")]
    boxes = []
    for target in targets:
        box = target.bounding_box()
        assert box, f"{target} has no bounding box"
        name = target.inner_text()
        assert box["height"] >= 24, f"{name!r} is {box['height']:.0f} px high"
        assert box["width"] >= 24, f"{name!r} is {box['width']:.0f} px wide"
        boxes.append((name, box))
    for i, (name, box) in enumerate(boxes):
        for other, other_box in boxes[i + 1 :]:
            apart = (
                box["x"] + box["width"] <= other_box["x"]
                or other_box["x"] + other_box["width"] <= box["x"]
                or box["y"] + box["height"] <= other_box["y"]
                or other_box["y"] + other_box["height"] <= box["y"]
            )
            assert apart, f"{name!r} and {other!r} overlap"
    assert _scroll_width(page) <= 390


def test_a_date_fields_calendar_button_shows_keyboard_focus(open_page, file_incident) -> None:
    """At the calendar button, the field's last Tab stop, the field is outlined as at its other
    stops (the month, day and year): seen away from the button, on the field's left half."""
    incident = file_incident("Checkout errors on payments")
    page = open_page(viewport={"width": 1000, "height": 800})
    sign_in_on(page, "lead@example.com")
    page.goto(f"/incidents/{incident.key}")
    due = page.get_by_label("Due date")
    box = due.bounding_box()
    assert box
    left_half = {"x": box["x"] - 5, "y": box["y"] - 5, "width": box["width"] / 2, "height": box["height"] + 10}
    unfocused = page.screenshot(clip=left_half)
    due.focus()  # the month; then Tab: the day, the year, the calendar button
    for _ in range(3):
        page.keyboard.press("Tab")
    expect(due).to_be_focused()
    outlined = page.screenshot(clip=left_half) != unfocused
    assert outlined, "nothing shows that the calendar button has focus"
    page.keyboard.press("Tab")
    expect(due).not_to_be_focused()  # the calendar button was the field's last stop


def test_j_brings_the_whole_card_onto_a_phones_screen(open_page, file_incident) -> None:
    """Found by QA: j focused the third card's key, but its status, owner and move control were
    below the screen's edge (only the link was scrolled to)."""
    for n in range(6):
        file_incident(f"Disk filling on log shipper {n}", priority="P2", component="logging")
    page = open_page(**PHONE)
    sign_in_on(page, "lead@example.com")
    page.keyboard.press("j")
    page.keyboard.press("j")  # the second card: its key on the screen, the rest of it below
    focused = page.locator(":focus")
    expect(focused).to_have_text(re.compile(r"^INC-\d+$"))
    card = page.locator("#incident-rows > tr").filter(has=focused)
    control = card.get_by_role("button", name=re.compile("^Apply status change to"))
    expect(control).to_be_in_viewport(ratio=1)
    expect(card).to_be_in_viewport(ratio=0.99)  # (sub-pixel borders)


def test_undo_add_a_comment_and_the_follow_ups_disclosure_are_targets_a_finger_can_hit(
    open_page, file_incident, db, users
) -> None:
    """Found by QA: a card's Undo was 38x17 px, "Add a comment" and "Your follow-ups (N)" 19 px
    high on a phone (WCAG 2.5.8 asks for 24)."""
    incident = file_incident("Checkout 502s from the EU edge", priority="P2", component="edge")
    follow_ups.add_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, title="Add an edge alarm", owner_id=users["lead"].id
    )
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    db.commit()
    page = open_page(**PHONE)
    sign_in_on(page, "lead@example.com")

    def height(target: Locator) -> float:
        expect(target).to_be_visible()
        box = target.bounding_box()
        assert box is not None
        return box["height"]

    assert height(page.locator("details.my-follow-ups.narrow > summary")) >= 24
    card = _card(page, incident.title)
    card.get_by_label(f"New status for {incident.key}").select_option(label="Blocked")
    card.get_by_label(f"Reason for blocking {incident.key}").fill("Waiting on the CDN vendor")
    card.get_by_role("button", name=f"Apply status change to {incident.key}").click()
    assert height(card.get_by_role("button", name=re.compile("^Undo: move"))) >= 24
    page.goto(f"/incidents/{incident.key}")
    assert height(page.get_by_role("link", name="Add a comment")) >= 24


def test_the_card_list_is_no_tab_stop_on_a_phone_but_the_wide_table_is_on_a_desktop(open_page, file_incident) -> None:
    """Found by QA: on a phone the list's box (role region "Incident list") was still a Tab stop
    though the cards no longer scroll sideways: Tab outlined the whole list and moved the page."""
    file_incident("Checkout 502s from the EU edge", priority="P2", component="edge")
    page = open_page(**PHONE)
    sign_in_on(page, "lead@example.com")
    region = page.get_by_role("region", name="Incident list")
    expect(region).to_be_visible()
    expect(region).not_to_have_attribute("tabindex", "0")
    narrow_desktop = open_page(viewport={"width": 700, "height": 800})
    sign_in_on(narrow_desktop, "member@example.com")
    wide = narrow_desktop.get_by_role("region", name="Incident list")
    expect(wide).to_have_attribute("tabindex", "0")  # its table is wider than the window: it scrolls
