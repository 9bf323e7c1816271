"""The audit log for a lead in Los Angeles: From and To are labelled with their zone and read in
it (the times the table shows, to the second), so nobody converts to UTC in their head; an
offset typed still means what it says; each event reads as a sentence with its recorded data
one click away; without JavaScript the labels say UTC and the filter reads UTC. axe-core finds
nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import Page, expect

from shared.audit import service as audit

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

LOS_ANGELES = "America/Los_Angeles"
AT = datetime(2026, 12, 1, 15, 35, 30, tzinfo=UTC)  # 07:35:30 PST
LATER = datetime(2026, 12, 1, 15, 37, 10, tzinfo=UTC)  # 07:37:10 PST, outside the minute filtered


@pytest.fixture
def two_events(db, users):
    for when, active in ((AT, True), (LATER, False)):
        audit.append(
            session=db,
            actor_id=users["admin"].id,
            action="user.enabled" if active else "user.disabled",
            entity_type="user",
            entity_id=users["other"].id,
            data={"email": "other@example.com"},
            occurred_at=when,
        )
    db.commit()


def _filter(page: Page, zone: str, start: str, end: str) -> None:
    page.get_by_label(f"From ({zone})").fill(start)
    page.get_by_label(f"To ({zone})").fill(end)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state("load")


def test_a_lead_in_los_angeles_filters_in_their_own_time(open_page, two_events, axe_source):
    page = open_page(timezone_id=LOS_ANGELES, locale="en-US")
    sign_in_on(page, "lead@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    page.wait_for_load_state("load")
    events = page.get_by_role("table", name="Audit events, newest first")
    enabled = events.get_by_role("row").filter(has_text="Ada Admin enabled Oti Other (other@example.com)")
    when = enabled.locator("time")
    expect(when).to_contain_text(re.compile(r"7:35:30\s*AM PST"))  # seconds, in the reader's zone
    expect(when).to_have_attribute("title", "2026-12-01 15:35:30 UTC")  # UTC on hover stays
    check_accessible(page, axe_source, "the audit log in Los Angeles")

    _filter(page, LOS_ANGELES, "2026-12-01T07:35", "2026-12-01T07:36")
    expect(events.get_by_role("row")).to_have_count(1 + 1)
    expect(events).to_contain_text("Ada Admin enabled Oti Other (other@example.com)")
    expect(page.get_by_label(f"From ({LOS_ANGELES})")).to_have_value("2026-12-01T07:35")
    disclosure = events.get_by_text(re.compile(r"^Recorded data"))
    disclosure.click()
    expect(events.get_by_text("other@example.com", exact=False).last).to_be_visible()
    check_accessible(page, axe_source, "the audit log filtered in Los Angeles time")

    # An offset typed means just that, whatever zone the form is in.
    _filter(page, LOS_ANGELES, "2026-12-01T15:37:00+00:00", "2026-12-01T15:38:00+00:00")
    expect(events.get_by_role("row")).to_have_count(1 + 1)
    expect(events).to_contain_text("Ada Admin disabled Oti Other (other@example.com)")


def test_without_javascript_the_filter_says_and_reads_utc(open_page, two_events):
    page = open_page(timezone_id=LOS_ANGELES, locale="en-US", java_script_enabled=False)
    sign_in_on(page, "lead@example.com")
    page.goto("/audit")
    _filter(page, "UTC", "2026-12-01T15:35", "2026-12-01T15:36")
    events = page.get_by_role("table", name="Audit events, newest first")
    expect(events.get_by_role("row")).to_have_count(1 + 1)
    expect(events).to_contain_text("Ada Admin enabled Oti Other (other@example.com)")
    expect(events.locator("time")).to_have_text("2026-12-01 15:35:30 UTC")
