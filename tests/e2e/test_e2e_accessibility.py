"""axe-core (vendored from npm) on every main page state: zero violations."""

from __future__ import annotations

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import Page, expect

from shared.accounts import tokens
from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_sign_in_page(page: Page, assert_accessible) -> None:
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert_accessible("the sign-in page")


def test_dashboard_dialog_and_incident_page(page: Page, sign_in, file_incident, assert_accessible) -> None:
    file_incident("Disk full on db-1", component="rds", priority="P1")
    file_incident("Slow deploys", component="ci", priority="P3")
    sign_in("lead@example.com")
    assert_accessible("the dashboard")

    page.get_by_role("button", name="New incident").click()
    expect(page.get_by_role("dialog", name="New incident")).to_be_visible()
    assert_accessible("the New incident dialog")
    page.get_by_role("button", name="Create incident").click()
    expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    assert_accessible("the New incident dialog with errors")
    page.keyboard.press("Escape")

    page.get_by_role("link", name="Disk full on db-1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Disk full on db-1")
    assert_accessible("the incident page")


def test_admin_users_page(page: Page, sign_in, assert_accessible) -> None:
    sign_in("admin@example.com")
    page.goto("/admin/users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    assert_accessible("the users page")


def test_the_check_finds_a_problem_when_there_is_one(page: Page, sign_in, assert_accessible) -> None:
    sign_in("member@example.com")
    page.evaluate("() => document.querySelector('main').append(document.createElement('button'))")
    with pytest.raises(AssertionError, match="button-name"):
        assert_accessible("a page with a nameless button")


def test_insights_page(page: Page, sign_in, file_incident, assert_accessible) -> None:
    file_incident("Disk full on db-1", component="rds", priority="P1")
    sign_in("member@example.com")
    page.get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Insights", level=1)).to_be_visible()
    chart = page.get_by_role("img", name="MTTA and MTTR by priority, incidents filed in the last 30 days")
    expect(chart).to_be_visible()
    assert_accessible("the insights page")
    page.get_by_text("MTTA and MTTR by priority as a table").click()
    expect(page.get_by_role("table", name="MTTA and MTTR by priority")).to_be_visible()
    page.get_by_label("Window").select_option(label="Last 7 days")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("img", name="Open incidents at the end of each day, last 7 days")).to_be_visible()
    assert_accessible("the insights page, 7 days, table open")


def test_edit_page_refusals_and_row_questions(page: Page, sign_in, file_incident, assert_accessible) -> None:
    incident = file_incident("Disk full on db-1", component="rds", reporter="lead")
    sign_in("lead@example.com")
    page.get_by_label(f"New status for {incident.key}").select_option(label="Closed")
    expect(page.get_by_label(f"Reason for closing {incident.key}")).to_be_visible()
    assert_accessible("a dashboard row asking for a reason")

    page.goto(f"/incidents/{incident.key}")
    page.get_by_role("button", name="In Progress", exact=True).click()
    page.get_by_role("button", name="Blocked", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible("the incident page with a refused move")

    page.get_by_role("link", name="Edit details").click()
    expect(page.get_by_role("heading", name=f"Edit {incident.key}")).to_be_visible()
    assert_accessible("the edit page")


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
WIDE_CODE = "```\n" + "kubectl -n checkout rollout undo deployment/checkout-web --to-revision=4821 " * 3 + "\n```"


def test_wide_code_and_tables_on_a_phone_scroll_by_keyboard(open_page, db, users, file_incident, axe_source) -> None:
    """Found by QA (axe, phone only): a code block or an insights table wider than the screen
    scrolled sideways but could not be reached by keyboard (scrollable-region-focusable)."""
    incident = file_incident("Checkout 502s", description=f"Rolled back:\n\n{WIDE_CODE}", priority="P1")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body=WIDE_CODE)
    db.commit()
    page = open_page(**PHONE)
    sign_in_on(page, "member@example.com")
    page.goto(f"/incidents/{incident.key}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Checkout 502s")
    check_accessible(page, axe_source, "wide code blocks on a phone")

    page.goto("/insights")
    for table in ("MTTA and MTTR by priority", "MTTA and MTTR by component", "Open incidents over time"):
        page.get_by_text(f"{table} as a table").click()
    check_accessible(page, axe_source, "the insights tables open on a phone")


def _focus_is_in_the_dialog(page: Page) -> bool:
    return page.evaluate("() => Boolean(document.activeElement.closest('[role=dialog][aria-modal=true]'))")


def test_api_docs_authorize_and_try_a_request(page: Page, sign_in, db, users, file_incident, assert_accessible) -> None:
    """The vendored Swagger UI had axe violations of its own: low-contrast method badges and
    links, a link inside each operation's button, two main landmarks, an unnamed close button
    and a credentials button named "Apply credentials" under the word "Authorize".

    By keyboard (found by QA): Escape or Close left focus on <body> instead of the Authorize
    button, Tab from Close left the modal dialog, Enter in the token field dropped focus to
    <body>, the field was named "auth-bearer-value" instead of its label "Value:", and after
    Execute focus dropped to <body> instead of the response."""
    file_incident("Queue depth alarm on orders")
    _, bearer = tokens.create_token(session=db, user=users["member"], name="docs try-out", scope="read")
    db.commit()
    sign_in("member@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API").click()
    expect(page.get_by_role("heading", name="Operations", level=2)).to_be_visible()
    assert_accessible("the API docs")

    opener = page.locator(".auth-wrapper").get_by_role("button", name="Authorize")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Available authorizations")
    field = dialog.get_by_role("textbox", name="Value:", exact=True)  # its visible label, not Swagger UI's id
    expect(field).to_be_focused()
    assert_accessible("the Authorize dialog")
    # Tab and Shift+Tab go round the dialog, never to the page behind it.
    for key in ["Tab"] * 6 + ["Shift+Tab"] * 6:
        page.keyboard.press(key)
        assert _focus_is_in_the_dialog(page), key
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    page.keyboard.press("Enter")
    expect(field).to_be_focused()
    page.keyboard.type(bearer)
    page.keyboard.press("Enter")  # authorizes: the field becomes "******"
    expect(dialog).to_contain_text("Authorized")
    assert _focus_is_in_the_dialog(page)
    close = dialog.get_by_role("button", name="Close", exact=True).last
    close.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    page.get_by_role("button", name="GET /api/v1/incidents", exact=False).first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("combobox", name="sort").select_option("recent")
    page.get_by_role("button", name="Execute").press("Enter")
    responses = page.locator(".live-responses-table")
    expect(responses).to_contain_text("Queue depth alarm on orders")  # the token was sent
    expect(page.get_by_role("heading", name="Server response")).to_be_focused()
    assert_accessible("a request tried out")

    opener.click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
