"""During a long incident: a comment that names another incident ("same cause as INC-1") links
to it, and every timeline entry's time is a permalink to paste in chat, which opens the page
scrolled to that entry and highlighted, with axe-core finding nothing."""

from __future__ import annotations

import re

import pytest
from browser_steps import check_accessible
from playwright.sync_api import Page, expect

from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

# Long enough that the entries of the timeline start below the first screen.
RUNBOOK = "\n\n".join(f"{n}. Check replica {n} and its lag before failing over." for n in range(1, 31))


def test_a_key_links_to_its_incident_and_a_permalink_opens_the_entry_highlighted(
    page: Page, sign_in, db, users, file_incident, axe_source
) -> None:
    earlier = file_incident("Payments DB failover")
    current = file_incident("Checkout errors after deploy", description=RUNBOOK)
    for n in range(1, 31):
        incidents.add_comment(
            session=db, incident_id=current.id, actor=users["other"], body=f"Status check {n}: failing."
        )
    db.commit()
    sign_in("member@example.com")
    page.goto(f"/incidents/{current.key}")

    page.get_by_label("Comment").fill(f"Same root cause as {earlier.key}: the pool still points at the old primary.")
    page.get_by_role("button", name="Add comment").click()
    timeline = page.get_by_role("list", name="Timeline")
    posted = timeline.get_by_role("listitem").filter(has_text="Same root cause as")
    posted.get_by_role("link", name=earlier.key, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Payments DB failover")
    expect(page).to_have_url(re.compile(rf"/incidents/{earlier.key}$"))

    page.go_back()
    timeline = page.get_by_role("list", name="Timeline")
    created = timeline.get_by_role("listitem").first
    expect(created.get_by_role("link", name=re.compile(r"^Link to this entry, "))).to_have_attribute(
        "href", re.compile(rf"^/incidents/{current.key}#event-\d+$")
    )
    entry = timeline.get_by_role("listitem").filter(has_text="Status check 5:")
    permalink = entry.get_by_role("link", name=re.compile(r"^Link to this comment, "))
    # What "Copy link address" copies: the link's full URL.
    copied = permalink.evaluate("link => link.href")
    assert re.fullmatch(rf"http://[^/]+/incidents/{current.key}#comment-\d+", copied), copied

    # Pasted in chat and opened by someone else: the page opens at that entry, highlighted.
    opened = page.context.new_page()
    opened.goto(copied)
    target = opened.get_by_role("list", name="Timeline").get_by_role("listitem").filter(has_text="Status check 5:")
    expect(target).to_be_in_viewport(ratio=1)
    expect(opened.get_by_role("heading", level=1)).not_to_be_in_viewport()
    assert target.evaluate("entry => entry.matches(':target')")
    highlight = target.evaluate(
        "entry => getComputedStyle(entry).outlineStyle + ' ' + getComputedStyle(entry).outlineWidth"
    )
    assert highlight == "solid 2px"
    neighbour = opened.get_by_role("listitem").filter(has_text="Status check 6:")
    assert neighbour.evaluate("entry => getComputedStyle(entry).outlineStyle") == "none"
    check_accessible(opened, axe_source, "an incident opened at a comment's permalink")
