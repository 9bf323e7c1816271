"""A lead's postmortem walk, in the browser: once an admin disables the account of the person an
incident was left with, the dashboard row and the incident page say the owner is disabled, in
words a screen reader reads out with the name (not a colour), and the pages stay axe-clean."""

from __future__ import annotations

import re

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}


def test_a_disabled_owner_is_named_so_on_the_dashboard_and_the_incident_page(
    page: Page, sign_in, file_incident, users, assert_accessible, open_page, axe_source
) -> None:
    incident = file_incident("Replica lag on db-2", reporter="lead", owner_id=users["member"].id)
    sign_in("admin@example.com")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Replica lag on db-2"))
    expect(row.get_by_role("cell", name="Mo Member", exact=True)).to_be_visible()  # drawn (and kept) before

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    page.get_by_role("button", name="Disable member@example.com").click()
    page.get_by_role("button", name="Yes, disable member@example.com").click()
    expect(page.get_by_role("status").filter(has_text="member@example.com was disabled")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents", exact=True).click()
    expect(row.get_by_role("cell", name="Mo Member (disabled)", exact=True)).to_be_visible()
    owner_filter = page.get_by_role("search").get_by_label("Owner", exact=True)
    expect(owner_filter.get_by_role("option", name="Mo Member (disabled)")).to_have_count(1)
    assert_accessible("the dashboard with a disabled owner's incident")

    owner_filter.select_option(label="Any disabled account")
    expect(page).to_have_url(re.compile(r"/\?q=owner(:|%3A)disabled$"))
    expect(page.get_by_role("link", name="Replica lag on db-2")).to_be_visible()

    row.get_by_role("link", name="Replica lag on db-2").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(incident.title)
    details = page.get_by_role("region", name="Details")
    expect(details.get_by_role("definition").filter(has_text="Mo Member")).to_have_text("Mo Member (disabled)")
    assert_accessible("the incident page of a disabled owner's incident")

    # On a phone: the row is a card, and the page's header names the owner beside the priority.
    phone = open_page(**PHONE)
    sign_in_on(phone, "lead@example.com")
    card = phone.get_by_role("row").filter(has=phone.get_by_role("link", name="Replica lag on db-2"))
    expect(card.get_by_role("cell").filter(has_text="Mo Member")).to_contain_text("Mo Member (disabled)")
    phone.goto(f"/incidents/{incident.key}")
    expect(phone.get_by_text("Owner: Mo Member (disabled)")).to_be_visible()
    check_accessible(phone, axe_source, "the incident page of a disabled owner's incident on a phone")
