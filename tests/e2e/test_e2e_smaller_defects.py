"""Issue 8, defect 6 in the browser: skip link, confirmation before disabling, landing on a
new comment, Markdown that reads as intended."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_the_first_tab_stop_skips_to_the_main_content(page: Page, sign_in) -> None:
    sign_in("member@example.com")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()


def test_disabling_a_user_asks_for_confirmation(page: Page, sign_in) -> None:
    sign_in("admin@example.com")
    page.get_by_role("link", name="Users").click()
    page.get_by_role("button", name="Disable member@example.com").click()

    expect(page.get_by_role("heading", name="Disable member@example.com?")).to_be_focused()
    row = page.get_by_role("row").filter(has_text="member@example.com")
    expect(row).to_contain_text("active")  # asking changed nothing
    page.get_by_role("button", name="Yes, disable member@example.com").click()
    expect(page.get_by_role("status").filter(has_text="member@example.com was disabled")).to_be_visible()
    expect(row).to_contain_text("disabled")


def test_a_new_comment_is_where_the_page_lands(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Checkout latency p99 > 2 s", description="\n\n".join(["Long context."] * 60))
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    page.get_by_label("Comment").fill("Rolled back the CDN config.")
    page.get_by_role("button", name="Add comment").click()

    comment = page.get_by_role("list", name="Timeline").get_by_role("listitem").last
    expect(comment).to_contain_text("Rolled back the CDN config.")
    expect(comment).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 0  # not the top of the page


def test_markdown_code_blocks_task_lists_and_headings(page: Page, sign_in, file_incident) -> None:
    description = "# Impact\n\n```\n$ kubectl get pods\n```\n\n- [x] Paged the DBA\n- [ ] Write the post-mortem\n"
    incident = file_incident("Pods crash-looping", description=description)
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")

    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.get_by_role("heading", name="Impact", level=3)).to_be_visible()
    code = page.get_by_text("$ kubectl get pods")
    assert code.evaluate("e => getComputedStyle(e.closest('pre')).backgroundColor") != "rgba(0, 0, 0, 0)"
    details = page.get_by_role("region", name="Details")
    expect(details.get_by_role("listitem")).to_have_text(["Done: Paged the DBA", "To do: Write the post-mortem"])


def test_the_api_docs_have_one_title_and_a_way_back(page: Page, sign_in) -> None:
    """The docs page loads Swagger UI's styles only: a heading of ours meant to be hidden
    showed as a second, unstyled title above Swagger UI's, and the page had no link back to
    the app or to the tokens."""
    sign_in("member@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API").click()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()  # Swagger UI has drawn the spec
    title = page.get_by_role("heading", level=1)
    expect(title).to_have_count(1)
    expect(title).to_contain_text("Incident Tracker API")
    page.get_by_role("link", name="Create an API token").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="← Back to Incident Tracker").click()
    expect(page.get_by_role("heading", name="Incidents", exact=True)).to_be_visible()
