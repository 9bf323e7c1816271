"""Follow-ups in a browser, by accessible names: add one, tick it done, find it in the exported
timeline; focus comes back to the section's notice after each post; the page passes axe-core
and fits a phone."""

from __future__ import annotations

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import Page, expect

from shared.incidents import follow_ups
from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}


def test_add_a_follow_up_tick_it_done_and_export_it(page: Page, sign_in, file_incident, assert_accessible) -> None:
    incident = file_incident("Replica lag paged twice overnight", reporter="lead")
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")

    section = page.get_by_role("region", name="Follow-ups")
    expect(section.get_by_text("No follow-ups yet.")).to_be_visible()
    new = page.get_by_role("form", name="Add a follow-up")
    new.get_by_label("Title").fill("Add replica lag alert")
    new.get_by_label("Owned by").select_option(label="Mo Member (member@example.com)")
    new.get_by_role("button", name="Add follow-up").click()

    expect(page).to_have_url(f"/incidents/{incident.key}#follow-up-notice")
    # Keyboard and screen reader pick up where they were, with what happened.
    expect(section.get_by_role("status")).to_have_text("Added the follow-up “Add replica lag alert”.")
    expect(section.get_by_role("status")).to_be_focused()
    item = section.get_by_role("listitem").filter(has_text="Add replica lag alert")
    expect(item).to_contain_text("Owned by Mo Member")
    expect(item).to_contain_text("Open")
    assert_accessible("the incident page with an open follow-up")

    page.get_by_role("button", name="Mark done “Add replica lag alert”").click()
    expect(section.get_by_role("status")).to_have_text("Marked “Add replica lag alert” done.")
    expect(section.get_by_role("status")).to_be_focused()
    expect(page.get_by_role("button", name="Reopen “Add replica lag alert”")).to_be_visible()
    expect(item).to_contain_text("Done")
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline).to_contain_text("Mo Member added the follow-up “Add replica lag alert” (owner Mo Member)")
    expect(timeline).to_contain_text("Mo Member marked the follow-up “Add replica lag alert” done")

    section.get_by_text("Edit follow-up “Add replica lag alert”", exact=True).click()
    expect(item.get_by_label("Title")).to_have_value("Add replica lag alert")
    assert_accessible("the incident page with a follow-up's edit form open")

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Export timeline (Markdown)").click()
    text = downloading.value.path().read_text(encoding="utf-8")
    assert "## Follow-ups (0 open of 1)" in text
    assert "- [x] Add replica lag alert (owner Mo Member, done " in text


def test_a_refused_follow_up_puts_the_cursor_on_the_field_to_fix(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Replica lag paged twice overnight")
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    new = page.get_by_role("form", name="Add a follow-up")
    title = new.get_by_label("Title")
    # A title of spaces passes the browser's `required` and is refused by the server.
    title.fill("   ")
    new.get_by_role("button", name="Add follow-up").click()

    title = page.get_by_role("form", name="Add a follow-up").get_by_label("Title")
    expect(title).to_be_focused()
    expect(title).to_have_accessible_description("Give the follow-up a title: what is to be done.")


def test_a_closed_incident_with_open_follow_ups_on_a_phone(open_page, db, users, file_incident, axe_source) -> None:
    incident = file_incident("Leaked key in a public gist", reporter="lead")
    for move, reason in (("in_progress", None), ("resolved", "Key revoked"), ("closed", None)):
        incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to=move, reason=reason)
    for title in ("Rotate the leaked key", "Add a secret scanner to CI with a rather long title that wraps"):
        follow_ups.add_follow_up(
            session=db, actor=users["lead"], incident_id=incident.id, title=title, owner_id=users["member"].id
        )
    db.commit()

    page = open_page(**PHONE)
    sign_in_on(page, "member@example.com")
    page.goto(f"/incidents/{incident.key}")

    expect(page.get_by_text("2 open follow-ups", exact=True)).to_be_visible()
    button = page.get_by_role("button", name="Mark done “Rotate the leaked key”")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width} px)"
    check_accessible(page, axe_source, "a closed incident's follow-ups on a phone")

    button.click()
    expect(page.get_by_text("1 open follow-up", exact=True)).to_be_visible()
