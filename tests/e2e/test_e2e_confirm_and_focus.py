"""Closing from the incident page asks first, as a dashboard row does, in place and by
keyboard; keyboard focus lands on what an action says it did (a move, a new incident from the
`c` dialog, Save view) instead of <body>; Reopen asks why in words that fit; a due date set to
the reader's today (west of UTC) does not read Overdue to them at once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from browser_steps import PASSWORD, sign_in_on
from factories import build_incident
from playwright.sync_api import Page, expect
from sqlalchemy import update

from shared.incidents import timers
from shared.incidents.models import Incident

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


@pytest.fixture
def resolved(db, users):
    return build_incident(db, users, "resolved", reporter="member", owner=None, title="Queue backlog on orders worker")


def test_closing_from_the_incident_page_asks_in_place_and_cancel_goes_back(
    page: Page, sign_in, resolved, assert_accessible
) -> None:
    key = resolved.key
    sign_in("lead@example.com")
    page.goto(f"/incidents/{key}")
    page.evaluate("() => { window.notReloaded = true; }")
    moves = page.get_by_role("region", name="Move to")
    closed = moves.get_by_role("button", name="Closed", exact=True)
    closed.focus()
    page.keyboard.press("Enter")

    question = moves.get_by_text(f"Close {key}? Closing ends the work on it.")
    expect(question).to_be_focused()  # read out first; Tab goes on to Yes
    assert page.evaluate("() => window.notReloaded === true")  # asked in place, with JavaScript
    expect(page.get_by_role("region", name="Details")).to_contain_text("StatusResolved")  # nothing happened yet
    assert_accessible("the incident page asking before closing")
    page.keyboard.press("Tab")
    expect(moves.get_by_role("button", name=f"Yes, close {key}")).to_be_focused()

    moves.get_by_role("link", name="Cancel").click()
    expect(closed).to_be_focused()  # back where the person was, not <body>
    expect(moves.get_by_text(f"Close {key}?")).to_have_count(0)

    closed.click()
    moves.get_by_role("button", name=f"Yes, close {key}").click()
    message = page.get_by_role("status").filter(has_text=f"{key} is now Closed.")
    expect(message).to_be_focused()  # the page reloaded: focus is on what happened
    expect(page.get_by_role("region", name="Details")).to_contain_text("StatusClosed")
    expect(page.get_by_role("list", name="Timeline")).to_contain_text("changed status from Resolved to Closed")
    assert_accessible("the incident page after closing")


def test_closing_an_open_incident_asks_for_the_reason_then_the_question(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Duplicate of the CDN outage")
    key = incident.key
    sign_in("lead@example.com")
    page.goto(f"/incidents/{key}")
    page.get_by_role("button", name="Closed", exact=True).click()
    reason = page.get_by_label("Reason for closing")
    expect(reason).to_be_focused()  # text first: the reason the move needs
    expect(reason).to_have_accessible_description(f"Say why {key} moves to Closed.")

    reason.fill("Duplicate of INC-7")
    page.get_by_role("button", name="Closed", exact=True).click()
    expect(page.get_by_text(f"Close {key}? Closing ends the work on it.")).to_be_focused()
    page.get_by_role("button", name=f"Yes, close {key}").click()
    expect(page.get_by_role("status").filter(has_text=f"{key} is now Closed.")).to_be_focused()
    expect(page.get_by_role("list", name="Timeline")).to_contain_text("Duplicate of INC-7")


def test_without_javascript_the_page_asks_and_cancel_lands_on_the_closed_button(open_page, resolved) -> None:
    key = resolved.key
    page = open_page(java_script_enabled=False)
    page.goto("/login")
    page.get_by_label("Email").fill("lead@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/incidents/{key}")
    closed = page.get_by_role("button", name="Closed", exact=True)
    closed.click()

    expect(page.get_by_text(f"Close {key}? Closing ends the work on it.")).to_be_focused()
    page.get_by_role("link", name="Cancel").click()
    expect(closed).to_be_focused()
    expect(page.get_by_role("region", name="Details")).to_contain_text("StatusResolved")

    closed.click()
    page.get_by_role("button", name=f"Yes, close {key}").click()
    expect(page.get_by_role("status").filter(has_text=f"{key} is now Closed.")).to_be_visible()
    expect(page.get_by_role("region", name="Details")).to_contain_text("StatusClosed")


def test_reopening_a_closed_incident_asks_why_it_is_reopened(page: Page, sign_in, db, users) -> None:
    closed = build_incident(db, users, "closed", reporter="member", owner=None, title="Queue backlog on orders worker")
    sign_in("lead@example.com")
    page.goto(f"/incidents/{closed.key}")
    page.get_by_role("button", name="Reopen", exact=True).click()
    reason = page.get_by_label("Reason for reopening")
    expect(reason).to_be_focused()
    expect(reason).to_have_accessible_description(f"Say why {closed.key} is reopened.")

    reason.fill("Backlog is growing again")
    page.get_by_role("button", name="Reopen", exact=True).click()
    expect(page.get_by_role("status").filter(has_text=f"{closed.key} is now In Progress.")).to_be_focused()
    expect(page.get_by_role("region", name="Details")).to_contain_text("StatusIn Progress")


def test_a_move_on_the_incident_page_puts_focus_on_what_happened(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Login page returns 502", reporter="member")
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    page.get_by_role("button", name="In Progress", exact=True).click()
    expect(page.get_by_role("status").filter(has_text=f"{incident.key} is now In Progress.")).to_be_focused()


def test_a_new_incident_from_the_c_dialog_puts_focus_on_its_notice(page: Page, sign_in, assert_accessible) -> None:
    sign_in("lead@example.com")
    page.get_by_role("heading", name="Incidents", exact=True).click()  # out of the search box
    page.keyboard.press("c")
    dialog = page.get_by_role("dialog", name="New incident")
    dialog.get_by_label("Title").fill("VPN drops every 10 minutes")
    dialog.get_by_label("Title").press("Enter")
    expect(dialog).to_be_hidden()

    notice = page.get_by_role("status").filter(has_text="created: VPN drops every 10 minutes.")
    expect(notice.get_by_role("paragraph")).to_be_focused()  # the notice, not <body>
    page.keyboard.press("Tab")  # and its link to the new incident is the next stop
    expect(notice.get_by_role("link", name="INC-1", exact=True)).to_be_focused()
    assert_accessible("the dashboard after creating an incident")


def test_save_view_puts_focus_on_its_confirmation(page: Page, sign_in, file_incident) -> None:
    file_incident("Primary RDS failover", component="rds", priority="P1")
    sign_in("lead@example.com")
    page.get_by_label("Search", exact=True).fill("priority:p1 rds")
    page.get_by_text("Save view", exact=True).click()
    page.get_by_label("View name").fill("RDS P1s")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("status").filter(has_text="Saved the view “RDS P1s”.")).to_be_focused()
    expect(page.get_by_role("region", name="Saved views").get_by_role("link", name="RDS P1s")).to_be_visible()


def test_a_due_date_of_the_readers_today_west_of_utc_is_not_overdue_to_them(open_page, file_incident, db) -> None:
    incident = file_incident("Rotate the TLS certificate", reporter="member")
    late = file_incident("Renew the domain", reporter="member")
    db.execute(update(Incident).where(Incident.id == late.id).values(due_date=timers.today() - timedelta(days=2)))
    db.commit()
    page = open_page(timezone_id="America/Los_Angeles")
    # 05:00 UTC today: 21:00 or 22:00 yesterday in Los Angeles, whose day is UTC's yesterday.
    page.clock.set_fixed_time(datetime.combine(timers.today(), time(5), tzinfo=UTC))
    their_today = timers.today() - timedelta(days=1)
    sign_in_on(page, "member@example.com")
    page.goto(f"/incidents/{incident.key}")
    details = page.get_by_role("region", name="Details")

    page.get_by_label("Due date").fill(their_today.isoformat())
    page.get_by_role("button", name="Save due date").click()
    expect(details).to_contain_text(f"Due{their_today.isoformat()}")  # accepted: a day of slack
    expect(details.get_by_text("Overdue", exact=True)).to_have_count(0)

    page.get_by_role("link", name="All incidents").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Rotate the TLS certificate"))
    expect(row).to_have_count(1)
    expect(row.get_by_text("Overdue", exact=True)).to_have_count(0)
    # A due day over everywhere is still overdue.
    late_row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Renew the domain"))
    expect(late_row.get_by_text("Overdue", exact=True)).to_be_visible()
