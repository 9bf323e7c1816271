"""The QA report, in the browser: two people (two browser contexts) edit one incident's
description at once. Changes to different lines are merged and one Save stores both; changes
to the same line keep mine, show what they changed line by line and say that saving replaces
their version; the timeline's description edit offers "Show changes"."""

from __future__ import annotations

import pytest
from browser_steps import sign_in_on
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

DESCRIPTION = "Started after the 09:00 deploy.\nRDS CPU at 100% on the writer.\nFailover not started yet."


def _both_open_the_edit_form(page: Page, open_page, sign_in, key: str) -> Page:
    """The admin (this test's `page`) and the member (another browser) open Edit details."""
    sign_in("admin@example.com")
    member = open_page()
    sign_in_on(member, "member@example.com")
    for someone in (page, member):
        someone.goto(f"/incidents/{key}/edit")
    return member


def test_a_line_1_edit_and_an_appended_section_are_both_kept_after_one_save(
    page: Page, open_page, sign_in, file_incident, assert_accessible
) -> None:
    incident = file_incident("RDS writer CPU", description=DESCRIPTION, reporter="member")
    member = _both_open_the_edit_form(page, open_page, sign_in, incident.key)

    member.get_by_label("Description").fill(DESCRIPTION.replace("Started after", "Began right after"))
    member.get_by_role("button", name="Save changes").click()
    expect(member.get_by_role("heading", level=1)).to_contain_text("RDS writer CPU")

    page.get_by_label("Description").fill(DESCRIPTION + "\n\n# Comms\nStatus page updated at 09:30.")
    page.get_by_role("button", name="Save changes").click()

    description = page.get_by_label("Description")
    expect(description).to_have_value(
        "Began right after the 09:00 deploy.\nRDS CPU at 100% on the writer.\nFailover not started yet."
        "\n\n# Comms\nStatus page updated at 09:30."
    )
    expect(description).to_have_accessible_description(
        "Merged with Mo Member's change (they edited line 1). Check it, then Save. Markdown is supported."
    )
    assert_accessible("the edit form with a merged description")

    page.get_by_role("button", name="Save changes").click()
    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("Began right after the 09:00 deploy.")
    expect(details).to_contain_text("Status page updated at 09:30.")

    # The timeline says what the admin's edit changed, on request.
    edit = (
        page.get_by_role("list", name="Timeline")
        .get_by_role("listitem")
        .filter(has_text="Ada Admin edited the description")
    )
    expect(edit.get_by_role("insertion").first).to_be_hidden()
    edit.get_by_text("Show changes").click()
    added = edit.get_by_role("insertion")
    expect(added).to_have_count(3)
    expect(added.last).to_have_text("Added: + Status page updated at 09:30.")
    expect(edit).to_contain_text("Added lines 4\u20136:")
    assert_accessible("the timeline with a description edit's changes shown")


def test_overlapping_edits_show_their_change_and_say_saving_replaces_it(
    page: Page, open_page, sign_in, file_incident, assert_accessible
) -> None:
    incident = file_incident("RDS writer CPU", description=DESCRIPTION, reporter="member")
    member = _both_open_the_edit_form(page, open_page, sign_in, incident.key)

    member.get_by_label("Description").fill(DESCRIPTION.replace("on the writer", "on the writer and the reader"))
    member.get_by_role("button", name="Save changes").click()
    expect(member.get_by_role("heading", level=1)).to_contain_text("RDS writer CPU")

    mine = DESCRIPTION.replace("RDS CPU at 100% on the writer.", "RDS CPU back to 40%.")
    page.get_by_label("Description").fill(mine)
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_role("alert")).to_contain_text("Mo Member saved changes to")
    description = page.get_by_label("Description")
    expect(description).to_have_value(mine)
    expect(description).to_have_accessible_description(
        "You and Mo Member both changed the description at line 2. Yours is kept in the box; what they changed "
        "is shown below it. Saving now replaces their version of the description with yours: first copy into "
        "the box what you want to keep of their version. Markdown is supported."
    )
    theirs = page.get_by_role("region", name="What Mo Member changed:")
    expect(theirs).to_contain_text("Edited line 2:")
    expect(theirs.get_by_role("deletion")).to_have_text("Removed: \u2212 RDS CPU at 100% on the writer.")
    expect(theirs.get_by_role("insertion")).to_have_text("Added: + RDS CPU at 100% on the writer and the reader.")
    assert_accessible("the edit form after overlapping description edits")

    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("region", name="Details")).to_contain_text("RDS CPU back to 40%.")
