"""The incident page: moves that need a reason, comments, and what a hostile title looks like."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_blocked_asks_for_a_reason_beside_the_field(page: Page, sign_in, file_incident) -> None:
    file_incident("Payments webhook retries pile up", component="sqs")
    sign_in("member@example.com")
    page.get_by_role("link", name="Payments webhook retries pile up").click()
    page.get_by_role("button", name="In Progress", exact=True).click()
    page.get_by_role("button", name="Blocked", exact=True).click()

    reason = page.get_by_label("Reason", exact=True)
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description("Say why INC-1 moves to Blocked.")
    expect(page.get_by_role("alert")).to_have_text("Check the highlighted field below.")
    expect(page.get_by_role("region", name="Details")).to_contain_text("In Progress")

    page.get_by_label("Comment").fill("Seen again at **10:05**, see <https://status.example.com>")
    page.get_by_role("button", name="Add comment").click()
    comment = page.get_by_role("list", name="Timeline").get_by_role("listitem").last
    expect(comment).to_contain_text("Mo Member commented")
    expect(comment.locator(".comment strong")).to_have_text("10:05")  # Markdown rendered
    expect(comment.get_by_role("link", name="https://status.example.com")).to_be_visible()


def test_a_script_in_a_title_or_description_is_only_text(page: Page, sign_in, file_incident) -> None:
    file_incident(
        "<script>alert(1)</script> in the title",
        description='<img src=x onerror="alert(2)"> and <script>alert(3)</script>',
    )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in("member@example.com")
    expect(page.get_by_role("link", name="<script>alert(1)</script> in the title")).to_be_visible()
    page.get_by_role("link", name="<script>alert(1)</script> in the title").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("<script>alert(1)</script> in the title")
    expect(page.locator(".markdown img[onerror]")).to_have_count(0)
    assert dialogs == []


def test_the_full_page_new_incident_form_lands_on_the_incident(page: Page, sign_in) -> None:
    sign_in("lead@example.com")
    page.goto("/incidents/new")  # where "New incident" leads before the dialog's script has loaded
    page.get_by_role("button", name="Create incident").click()
    expect(page.get_by_label("Title")).to_have_accessible_description("Give the incident a title.")
    page.get_by_label("Title").fill("Grafana dashboards blank")
    page.get_by_label("Owner").select_option(label="Mo Member (member@example.com)")
    page.get_by_role("button", name="Create incident").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Grafana dashboards blank")
    expect(page.get_by_role("region", name="Details")).to_contain_text("Mo Member")


def test_lead_assigns_reprioritises_and_edits(page: Page, sign_in, file_incident) -> None:
    file_incident("Backups older than 24 h", component="rds", priority="P3")
    sign_in("lead@example.com")
    page.get_by_role("link", name="Backups older than 24 h").click()

    page.get_by_label("Owner").select_option(label="Mo Member (member@example.com)")
    page.get_by_role("button", name="Assign").click()
    page.get_by_label("Priority").select_option("P1")
    page.get_by_role("button", name="Change priority").click()
    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Title").fill("Backups older than 48 h")
    page.get_by_role("button", name="Save changes").click()

    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("Mo Member")
    expect(details).to_contain_text("P1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Backups older than 48 h")
    events = page.get_by_role("list", name="Timeline").get_by_role("listitem")
    expect(events.nth(1)).to_contain_text("Lee Lead assigned it to Mo Member")
    expect(events.nth(2)).to_contain_text("Lee Lead changed priority from P3 to P1")
    expect(events.nth(3)).to_contain_text("Lee Lead edited title from “Backups older than 24 h” to “Backups older")
    page.get_by_role("button", name="Watch").click()
    expect(page.get_by_role("button", name="Unwatch")).to_be_visible()
    page.screenshot(path="/tmp/e2e-incident-lead.png", full_page=True, caret="initial")
