"""The audit log in a browser: a lead finds it in the top bar, filters it with the form, reads
times in their own zone, follows an event to its incident; a refused filter is announced and
named at its field; the page fits a phone; axe-core finds nothing; members never see it."""

from __future__ import annotations

import re

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import Page, expect

from shared.accounts import service as accounts
from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
LONG_TITLE = "Very-long-title-" + "x" * 184  # the most a title takes, without a space to wrap at


def _fits(page: Page, width: int) -> None:
    page.wait_for_load_state()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page scrolls sideways ({scroll_width} px)"


def test_a_lead_filters_the_audit_log_and_follows_an_event(
    page: Page, sign_in, file_incident, db, users, assert_accessible
):
    incident = file_incident("Disk full on db-1", reporter="member")
    accounts.change_role(session=db, actor=users["admin"], user_id=users["other"].id, role="lead")
    db.commit()
    sign_in("lead@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    events = page.get_by_role("table", name="Audit events, newest first")
    expect(events.get_by_role("row")).to_have_count(1 + 6)  # the header, four users, the incident, the role change
    first_time = events.locator("time").first
    expect(first_time).to_have_attribute("data-local", "")  # drawn in the reader's zone by app.js
    assert_accessible("the audit log")

    page.get_by_label("Action").select_option(label="user.* (every user event)")
    page.get_by_label("Actor").fill("admin@example.com")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"action=user\.&actor=admin%40example\.com"))
    expect(events.get_by_role("row")).to_have_count(2)
    expect(events).to_contain_text("user.role_changed")
    expect(events).to_contain_text("Ada Admin")
    expect(page.get_by_label("Actor")).to_have_value("admin@example.com")

    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Incident").fill(incident.key)
    page.get_by_role("button", name="Filter").click()
    expect(events.get_by_role("row")).to_have_count(2)
    events.get_by_role("link", name=incident.key).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Disk full on db-1")


def test_a_refused_filter_is_announced_and_named_at_its_field(page: Page, sign_in, assert_accessible):
    sign_in("admin@example.com")
    page.goto("/audit")
    page.get_by_label("From (UTC)").fill("31/12/2026")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("alert")).to_contain_text("From (UTC): '31/12/2026' is not a date or a time")
    expect(page.get_by_label("From (UTC)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("table")).to_have_count(0)
    assert_accessible("the audit log with a refused filter")


def test_the_audit_log_fits_a_phone(open_page, db, users, file_incident, axe_source):
    incident = file_incident(LONG_TITLE, reporter="lead")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body="Looking.")
    db.commit()
    page = open_page(**PHONE)
    sign_in_on(page, "admin@example.com")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    expect(page.get_by_text(LONG_TITLE).first).to_be_visible()  # in the sentence (and in the recorded data)
    _fits(page, 390)
    check_accessible(page, axe_source, "the audit log on a phone")


def test_members_have_no_audit_log(page: Page, sign_in):
    sign_in("member@example.com")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log")).to_have_count(0)
    page.goto("/audit")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
