"""Saved views as a person uses them: search, "Save view", a name; reopen it; a lead's team
view appears for everyone; delete your own."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def rows_titled(page: Page, text: str):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=text))


def test_save_a_view_reopen_it_share_it_and_delete_it(page: Page, sign_in, file_incident) -> None:
    file_incident("Primary RDS failover", component="rds", priority="P1")
    file_incident("Staging RDS slow queries", component="rds", priority="P3")
    sign_in("lead@example.com")

    page.get_by_label("Search", exact=True).fill("priority:p1 rds")
    expect(rows_titled(page, "Staging RDS slow queries")).to_have_count(0)
    page.get_by_text("Save view", exact=True).click()  # the disclosure
    page.get_by_label("View name").fill("RDS P1s")
    page.get_by_label("Team view (everyone sees it)").check()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("Saved the view “RDS P1s” for the whole team.")).to_be_visible()
    views = page.get_by_role("region", name="Saved views")
    expect(views.get_by_role("link", name="RDS P1s")).to_be_visible()

    # Someone else sees the team view and opens it.
    page.get_by_role("button", name="Sign out").click()
    sign_in("member@example.com")
    expect(rows_titled(page, "Staging RDS slow queries")).to_have_count(1)
    views.get_by_role("link", name="RDS P1s").click()
    expect(page.get_by_label("Search", exact=True)).to_have_value("priority:p1 rds")
    expect(rows_titled(page, "Staging RDS slow queries")).to_have_count(0)
    expect(rows_titled(page, "Primary RDS failover")).to_have_count(1)
    expect(views.get_by_role("button", name="Delete view RDS P1s")).to_have_count(0)  # not theirs

    # Their own view, deleted again.
    page.get_by_label("Search", exact=True).fill("status:open")
    page.get_by_text("Save view", exact=True).click()
    expect(page.get_by_label("Team view (everyone sees it)")).to_have_count(0)
    page.get_by_label("View name").fill("Open ones")
    page.get_by_label("View name").press("Enter")
    expect(views.get_by_role("link", name="Open ones")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?q=status(%3A|:)open$"))
    views.get_by_role("button", name="Delete view Open ones").click()
    views.get_by_role("button", name="Yes, delete view “Open ones”").click()  # it asks first
    expect(page.get_by_text("Deleted the view “Open ones”.")).to_be_visible()
    expect(views.get_by_role("link", name="Open ones")).to_have_count(0)
    expect(views.get_by_role("link", name="RDS P1s")).to_be_visible()
