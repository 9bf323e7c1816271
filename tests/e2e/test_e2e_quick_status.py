"""Issue 8, defect 2 in the browser: a dashboard row's quick status control preselects
nothing, asks before closing, asks for the text a move needs by name, keeps keyboard focus
in the row after Apply, and offers Undo where the lifecycle has the move back."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def rows_titled(page: Page, text: str):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=text))


def focus_is_in(row) -> bool:
    return row.evaluate("row => row.contains(document.activeElement)")


@pytest.fixture
def resolved(db, users, file_incident):
    incident = file_incident("Queue backlog on orders worker", component="sqs")
    for to, reason in (("in_progress", None), ("resolved", "Scaled the consumers to 6")):
        incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to=to, reason=reason)
    db.commit()
    return incident


def test_closing_from_a_row_asks_first_then_focus_stays_on_the_row(page: Page, sign_in, resolved) -> None:
    key = resolved.key
    sign_in("lead@example.com")
    row = rows_titled(page, "Queue backlog on orders worker")
    status = row.get_by_label(f"New status for {key}")
    expect(status).to_have_value("")  # nothing preselected
    row.get_by_role("button", name=f"Apply status change to {key}").click()
    expect(row.get_by_role("alert")).to_have_text(f"Choose a new status for {key} first.")
    expect(status).to_be_focused()
    expect(status).to_have_accessible_description(f"Choose a new status for {key} first.")  # read with it

    row.get_by_label(f"New status for {key}").select_option(label="Closed")
    expect(row.get_by_label(f"Reason for closing {key}")).to_be_hidden()  # a resolved one needs none
    row.get_by_role("button", name=f"Apply status change to {key}").click()
    question = row.get_by_text(f"Close {key}?")
    expect(question).to_be_focused()
    expect(row.get_by_role("cell").nth(2)).to_have_text("Resolved")  # nothing happened yet

    row.get_by_role("link", name="Cancel").click()
    expect(row.get_by_label(f"New status for {key}")).to_have_value("")
    # Found by QA: focus dropped to <body> with the question gone; back to the row's control.
    expect(row.get_by_label(f"New status for {key}")).to_be_focused()
    row.get_by_label(f"New status for {key}").select_option(label="Closed")
    row.get_by_role("button", name=f"Apply status change to {key}").click()
    row.get_by_role("button", name=f"Yes, close {key}").click()

    expect(row.get_by_role("status")).to_have_text(f"{key} is now Closed.")
    expect(row.get_by_role("cell").nth(2)).to_have_text("Closed")
    expect(row.get_by_role("button", name="Undo")).to_have_count(0)  # Closed has no way back to Resolved
    assert focus_is_in(row) or row.evaluate("row => row === document.activeElement")


def test_a_move_that_needs_text_asks_for_it_by_name_and_can_be_undone(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Login page returns 502", component="alb", reporter="member")
    key = incident.key
    sign_in("member@example.com")
    row = rows_titled(page, "Login page returns 502")
    row.get_by_label(f"New status for {key}").select_option(label="In Progress")
    row.get_by_role("button", name=f"Apply status change to {key}").click()
    expect(row.get_by_role("status")).to_have_text(f"{key} is now In Progress.")
    expect(row).to_be_focused()

    row.get_by_label(f"New status for {key}").select_option(label="Blocked")
    reason = row.get_by_label(f"Reason for blocking {key}")
    expect(reason).to_be_visible()
    reason.fill("Waiting on the CDN vendor")
    row.get_by_role("button", name=f"Apply status change to {key}").click()
    expect(row.get_by_role("status")).to_have_text(f"{key} is now Blocked.")
    expect(row).to_be_focused()

    row.get_by_role("button", name=f"Undo: move {key} back to In Progress").click()
    expect(row.get_by_role("status")).to_have_text(f"{key} is back to In Progress.")
    expect(row.get_by_role("cell").nth(2)).to_have_text("In Progress")
    expect(row).to_be_focused()
    expect(page.get_by_role("link", name="1 In Progress")).to_be_visible()  # the counters follow


def test_resolving_without_a_summary_puts_the_cursor_in_the_named_field(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Nightly export stuck", component="s3", reporter="member")
    key = incident.key
    sign_in("member@example.com")
    row = rows_titled(page, "Nightly export stuck")
    row.get_by_label(f"New status for {key}").select_option(label="In Progress")
    row.get_by_role("button", name=f"Apply status change to {key}").click()
    expect(row.get_by_role("status")).to_be_visible()

    row.get_by_label(f"New status for {key}").select_option(label="Resolved")
    row.get_by_role("button", name=f"Apply status change to {key}").click()
    summary = row.get_by_label(f"Resolution summary for {key}")
    expect(summary).to_be_focused()
    expect(summary).to_have_accessible_description("Write a resolution summary: what fixed it.")
    expect(row.get_by_role("cell").nth(2)).to_have_text("In Progress")
