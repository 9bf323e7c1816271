"""A comment typed on the incident page and not posted yet is not lost (found by QA at 03:00):
a move, or a move refused because someone changed the incident meanwhile, draws the page anew,
and the comment box came back empty. The draft is kept per incident in the tab and put back,
saying so; posting it is what ends it; leaving the page with one typed asks first."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page, expect

from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

DRAFT = "Rolled back the canary at 03:05; error rate falling"
KEPT = "Your unposted comment was kept."


def _record_dialogs(page: Page, *, accept: bool) -> list[str]:
    """Every dialog the page opens (beforeunload ones included), answered as told."""
    seen: list[str] = []

    def answer(dialog: Dialog) -> None:
        seen.append(dialog.type)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", answer)
    return seen


def test_a_typed_comment_survives_a_move_and_ends_when_it_is_posted(
    page: Page, sign_in, file_incident, assert_accessible
) -> None:
    incident = file_incident("Checkout latency above SLO", component="api-gateway")
    key = incident.key
    sign_in("member@example.com")
    page.goto(f"/incidents/{key}")
    dialogs = _record_dialogs(page, accept=True)
    comment = page.get_by_label("Comment", exact=True)
    comment.fill(DRAFT)

    page.get_by_role("button", name="In Progress", exact=True).click()
    expect(page.get_by_role("status").filter(has_text=f"{key} is now In Progress.")).to_be_focused()
    expect(comment).to_have_value(DRAFT)  # put back after the page was drawn anew
    expect(page.get_by_role("status").filter(has_text=KEPT)).to_be_visible()
    assert_accessible("the incident page with a kept comment draft")

    # Another move, with its own text: the draft is still there after it.
    page.get_by_label("Reason", exact=True).fill("Waiting on the CDN vendor")
    page.get_by_role("button", name="Blocked", exact=True).click()
    expect(page.get_by_role("status").filter(has_text=f"{key} is now Blocked.")).to_be_focused()
    expect(comment).to_have_value(DRAFT)

    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("list", name="Timeline").get_by_role("listitem").last).to_contain_text(DRAFT)
    expect(comment).to_have_value("")
    page.reload()
    expect(comment).to_have_value("")  # posted: nothing to put back
    expect(page.get_by_role("status").filter(has_text=KEPT)).to_have_count(0)
    page.get_by_role("button", name="Unwatch", exact=True).click()  # the reporter watches it
    expect(page.get_by_role("status").filter(has_text=f"You are no longer watching {key}.")).to_be_visible()
    expect(comment).to_have_value("")
    assert dialogs == []  # sending a form on the page never asked "leave the page?"


def test_a_typed_comment_survives_a_move_refused_as_stale(page: Page, sign_in, file_incident, db, users) -> None:
    incident = file_incident("Queue depth climbing on orders", component="sqs")
    key = incident.key
    page.clock.install()  # no live refresh: the page stays as drawn, stale
    sign_in("member@example.com")
    page.goto(f"/incidents/{key}")
    dialogs = _record_dialogs(page, accept=True)
    comment = page.get_by_label("Comment", exact=True)
    comment.fill(DRAFT)

    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    db.commit()
    page.get_by_role("button", name="In Progress", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(f"Lee Lead changed {key}")
    expect(comment).to_have_value(DRAFT)
    expect(page.get_by_role("status").filter(has_text=KEPT)).to_be_visible()
    assert dialogs == []


def test_leaving_the_page_asks_only_while_a_comment_is_typed_and_not_sent(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Payments webhook retries pile up", component="sqs")
    key = incident.key
    sign_in("member@example.com")
    page.goto(f"/incidents/{key}")
    comment = page.get_by_label("Comment", exact=True)
    comment.fill(DRAFT)

    dialogs = _record_dialogs(page, accept=False)  # "Stay on page"
    with page.expect_event("dialog"):
        page.get_by_role("link", name="← All incidents").click()
    assert dialogs == ["beforeunload"]
    expect(page.get_by_role("heading", level=1)).to_contain_text(key)  # still here, text and all
    expect(comment).to_have_value(DRAFT)

    comment.fill("")  # nothing typed any more: nothing to lose
    page.get_by_role("link", name="← All incidents").click()
    expect(page.get_by_role("heading", name="Incidents", exact=True)).to_be_visible()
    assert dialogs == ["beforeunload"]
