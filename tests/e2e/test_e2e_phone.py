"""A phone (390x844): the first incident row above the fold, filters one tap away, the users
table within the screen, an incident's moves before its description; axe-clean there too."""

from __future__ import annotations

import re

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}


WIDEST = """() => Array.from(document.querySelectorAll("body *"))
  .filter((e) => e.getBoundingClientRect().right > 391)
  .map((e) => `${e.tagName.toLowerCase()}.${e.className} right=${Math.round(e.getBoundingClientRect().right)}`)
  .slice(0, 8)"""


def _fits_the_screen(page) -> None:
    page.wait_for_load_state()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width} px): {page.evaluate(WIDEST)}"


def test_dashboard_on_a_phone(open_page, file_incident, axe_source) -> None:
    file_incident("Disk full on db-1", priority="P1", component="rds")
    page = open_page(**PHONE)
    sign_in_on(page, "lead@example.com")

    first_row = page.get_by_role("link", name="Disk full on db-1")
    expect(first_row).to_be_in_viewport()
    box = first_row.bounding_box()
    assert box, "the first incident has no bounding box"
    assert box["y"] + box["height"] <= 844, "the first incident is below the fold"
    _fits_the_screen(page)

    status = page.get_by_label("Status", exact=True)
    expect(status).to_be_hidden()
    filters = page.get_by_role("button", name="Filters")
    expect(filters).to_have_attribute("aria-expanded", "false")
    filters.click()
    expect(filters).to_have_attribute("aria-expanded", "true")
    expect(status).to_be_visible()
    status.select_option(label="Open")
    expect(page).to_have_url(re.compile(r"/\?q=status(:|%3A)open$"))  # the box is the one filter
    expect(page.get_by_label("Search")).to_be_visible()
    check_accessible(page, axe_source, "the dashboard on a phone, filters open")


def test_users_table_fits_a_phone(open_page, axe_source) -> None:
    page = open_page(**PHONE)
    sign_in_on(page, "admin@example.com")
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    _fits_the_screen(page)
    disable = page.get_by_role("button", name="Disable member@example.com")
    expect(disable).to_be_visible()
    box = disable.bounding_box()
    assert box["x"] + box["width"] <= 390
    expect(page.get_by_role("combobox", name="Role for member@example.com")).to_be_visible()
    check_accessible(page, axe_source, "the users page on a phone")


def test_incident_moves_come_before_the_description_on_a_phone(open_page, file_incident, axe_source) -> None:
    incident = file_incident("Disk full on db-1", description="A long story. " * 200)
    page = open_page(**PHONE)
    sign_in_on(page, "lead@example.com")
    page.goto(f"/incidents/{incident.key}")
    move = page.get_by_role("button", name="In Progress", exact=True)
    description = page.get_by_role("heading", name="Description")
    expect(move).to_be_in_viewport()
    assert move.bounding_box()["y"] < description.bounding_box()["y"]
    _fits_the_screen(page)
    check_accessible(page, axe_source, "the incident page on a phone")


def test_insights_on_a_phone(open_page, file_incident, axe_source) -> None:
    file_incident("Disk full on db-1", priority="P1", component="a-component-with-a-very-long-name")
    page = open_page(**PHONE)
    sign_in_on(page, "member@example.com")
    page.get_by_role("link", name="Insights").click()
    chart = page.get_by_role("img", name="MTTA and MTTR by component, incidents filed in the last 30 days")
    expect(chart).to_be_visible()
    # Measured once the page has loaded: the chart can be laid out before app.css has arrived
    # (no person sees that layout: the first paint waits for the stylesheet; CI measured it).
    page.wait_for_load_state()
    assert chart.bounding_box()["width"] >= 500, "the chart shrank its text instead of scrolling"
    _fits_the_screen(page)
    check_accessible(page, axe_source, "the insights page on a phone")
