"""Issue 8, defect 1, in the browser: the same incident edited in two tabs; the second save
conflicts, shows the first tab's change, keeps its own, and one more save keeps both."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_a_stale_edit_saves_on_the_next_try_and_keeps_both_changes(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Backups older than 24 h", description="Nightly job failed.", reporter="lead")
    sign_in("lead@example.com")
    first = page
    second = page.context.new_page()  # a second tab, same person
    for tab in (first, second):
        tab.goto(f"/incidents/{incident.key}/edit")

    first.get_by_label("Title").fill("Backups older than 48 h")
    first.get_by_role("button", name="Save changes").click()
    expect(first.get_by_role("heading", level=1)).to_contain_text("Backups older than 48 h")

    second.get_by_label("Description").fill("Nightly job failed: disk full on the backup host.")
    second.get_by_role("button", name="Save changes").click()
    # The same person, in their other tab: said so, not "someone else".
    expect(second.get_by_role("alert")).to_contain_text(
        f"You saved changes to {incident.key} in another tab or window while you were editing here."
    )
    expect(second.get_by_label("Title")).to_have_value("Backups older than 48 h")
    expect(second.get_by_label("Description")).to_have_value("Nightly job failed: disk full on the backup host.")

    second.get_by_role("button", name="Save changes").click()
    expect(second.get_by_role("heading", level=1)).to_contain_text("Backups older than 48 h")
    expect(second.get_by_role("region", name="Details")).to_contain_text("disk full on the backup host")


def test_both_tabs_change_the_title_and_the_other_value_is_read_with_the_field(
    page: Page, sign_in, file_incident
) -> None:
    incident = file_incident("Disk full on db-1", reporter="lead")
    sign_in("lead@example.com")
    first, second = page, page.context.new_page()
    for tab in (first, second):
        tab.goto(f"/incidents/{incident.key}/edit")
    first.get_by_label("Title").fill("Disk full on db-1 (WAL)")
    first.get_by_role("button", name="Save changes").click()
    expect(first.get_by_role("heading", level=1)).to_contain_text("(WAL)")

    second.get_by_label("Title").fill("Disk full on db-1 and db-2")
    second.get_by_role("button", name="Save changes").click()

    title = second.get_by_label("Title")
    expect(title).to_have_value("Disk full on db-1 and db-2")
    expect(title).to_have_accessible_description("Saved meanwhile in your other tab: Disk full on db-1 (WAL)")
