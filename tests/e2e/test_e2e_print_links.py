"""Links in typed Markdown, on paper and to a screen reader: a printed link is followed by its
address only where its text is not already the address (a bare URL is not printed twice), long
comments and code may run on to the next page, and a link that opens a new tab says so as its
description, not as part of its text (which is what copying the comment copies)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

GRAFANA = "https://grafana.example.com/d/abc?x=1&y=2"
DESCRIPTION = (
    f"Dashboard: {GRAFANA}\n\n"
    "Mail mailto:ops@example.org or [the on-call lead](mailto:lead@example.org).\n\n"
    "See the [runbook](https://runbooks.example.com/rds)."
)


def _after(link) -> str:
    return link.evaluate("link => getComputedStyle(link, '::after').content")


def test_printed_links_show_an_address_only_where_the_text_is_not_it(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Checkout 502s", description=DESCRIPTION)
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    page.emulate_media(media="print")
    description = page.locator(".markdown").first

    # A bare URL and a bare mailto: are printed once, as typed.
    for text in (GRAFANA, "mailto:ops@example.org"):
        link = description.locator(f'a[href="{text}"]')
        expect(link).to_be_visible()
        assert _after(link) == "none", f"{text} is followed on paper by {_after(link)}"
    assert description.inner_text().count(GRAFANA) == 1
    # A link whose text is something else is followed by its address.
    assert "https://runbooks.example.com/rds" in _after(description.get_by_role("link", name="runbook"))
    assert "mailto:lead@example.org" in _after(description.get_by_role("link", name="the on-call lead"))


def test_long_comments_and_code_may_break_across_printed_pages(page: Page, sign_in, db, users, file_incident) -> None:
    incident = file_incident("Checkout 502s")
    log = "\n".join(f"08:{n:02d}:00 ERROR payments-api upstream timed out" for n in range(60))
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=f"```\n{log}\n```")
    db.commit()
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    page.emulate_media(media="print")
    code = page.locator(".timeline .markdown.comment pre")
    expect(code).to_be_visible()
    item = code.locator("xpath=ancestor::li[1]")
    # Kept whole, a long entry starts on a fresh page and leaves the last one mostly blank.
    assert code.evaluate("e => getComputedStyle(e).breakInside") == "auto"
    assert item.evaluate("e => getComputedStyle(e).breakInside") == "auto"
    # A heading still stays with what follows it.
    heading = page.get_by_role("heading", name="Timeline")
    assert heading.evaluate("e => getComputedStyle(e).breakAfter") == "avoid"


def test_a_new_tab_link_says_so_as_its_description_not_in_its_text(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Checkout 502s", description=DESCRIPTION)
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    description = page.locator(".markdown").first
    link = description.locator(f'a[href="{GRAFANA}"]')
    expect(link).to_have_attribute("target", "_blank")
    # Its name is its text; "Opens in a new tab" is what a screen reader adds after it.
    expect(link).to_have_accessible_name(GRAFANA)
    expect(link).to_have_accessible_description("Opens in a new tab")
    runbook = description.locator('a[href="https://runbooks.example.com/rds"]')
    expect(runbook).to_have_accessible_name("runbook")
    expect(runbook).to_have_accessible_description("Opens in a new tab")
    # What a reader copies is the address as typed, with nothing after it.
    assert link.evaluate("link => link.textContent") == GRAFANA
    assert description.inner_text().startswith(f"Dashboard: {GRAFANA}\n")
    # A mailto: link opens no tab and says nothing of one.
    expect(description.get_by_role("link", name="mailto:ops@example.org")).not_to_have_attribute("target", "_blank")
