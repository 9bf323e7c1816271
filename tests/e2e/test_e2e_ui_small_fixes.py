"""Small defects found in the browser: an incident's header on a phone names its priority as it
names its owner; a card says in words that the reader has no status change to make; signing
out with an unposted comment asks first, and signing in again after a session ended puts the
cursor back at the end of the kept comment; a search result moved from its row keeps its
"Matched in …" hint; "Mark done" on a follow-up reassigned since "Your follow-ups" was drawn
says whose it is now."""

from __future__ import annotations

import pytest
from browser_steps import PASSWORD, check_accessible, sign_in_on
from playwright.sync_api import Dialog, Locator, Page, expect
from sqlalchemy import update

from shared.accounts.models import LoginSession
from shared.db import utcnow
from shared.incidents import follow_ups
from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
DRAFT = "Rolled back the canary at 03:05; error rate falling"


def _row(page: Page, title: str) -> Locator:
    return page.locator("#incident-rows > tr").filter(has=page.get_by_role("link", name=title, exact=True))


class Dialogs:
    """Every dialog the page opens (its message), answered as `accept` says at the time."""

    def __init__(self, page: Page) -> None:
        self.seen: list[str] = []
        self.accept = False
        page.on("dialog", self._answer)

    def _answer(self, dialog: Dialog) -> None:
        self.seen.append(dialog.message)
        if self.accept:
            dialog.accept()
        else:
            dialog.dismiss()


def test_the_incident_header_on_a_phone_names_the_priority_as_it_names_the_owner(
    open_page, file_incident, users, axe_source
) -> None:
    incident = file_incident("Disk full on db-1", reporter="lead", priority="P1", owner_id=users["lead"].id)
    page = open_page(**PHONE)
    sign_in_on(page, "lead@example.com")
    page.goto(f"/incidents/{incident.key}")
    expect(page.get_by_text("Priority: P1 · Owner: Lee Lead", exact=True)).to_be_visible()
    check_accessible(page, axe_source, "the incident page's header on a phone")


def test_a_card_says_there_is_no_status_change_for_the_reader(open_page, file_incident, axe_source) -> None:
    file_incident("Nightly backup failed", reporter="lead", priority="P3")  # not the member's to move
    own = file_incident("Disk full on db-1", reporter="member", priority="P1")  # the member reported it
    page = open_page(**PHONE)
    sign_in_on(page, "member@example.com")
    theirs = _row(page, "Nightly backup failed")
    expect(theirs.get_by_role("cell", name="Change status: None available to you", exact=True)).to_be_visible()
    expect(theirs.get_by_role("combobox")).to_have_count(0)
    expect(_row(page, "Disk full on db-1").get_by_role("combobox", name=f"New status for {own.key}")).to_be_visible()
    check_accessible(page, axe_source, "a card with no status change for the reader on a phone")

    # The wide table's cell says the same.
    desktop = open_page()
    sign_in_on(desktop, "member@example.com")
    cell = _row(desktop, "Nightly backup failed").get_by_role("cell", name="None available to you", exact=True)
    expect(cell).to_be_visible()


def test_signing_out_with_an_unposted_comment_asks_first(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Checkout latency above SLO", component="api-gateway")
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    comment = page.get_by_label("Comment", exact=True)
    comment.fill(DRAFT)
    dialogs = Dialogs(page)

    with page.expect_event("dialog"):  # Cancel: still signed in, on the page, the comment there
        page.get_by_role("button", name="Sign out").click()
    assert dialogs.seen == [f"Sign out and discard your unposted comment on {incident.key}?"]
    expect(page.get_by_role("heading", level=1)).to_contain_text(incident.key)
    expect(comment).to_have_value(DRAFT)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    dialogs.accept = True  # OK: signed out, the comment discarded
    with page.expect_event("dialog"):
        page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert len(dialogs.seen) == 2, dialogs.seen  # asked once each time, no "leave the page?" on top
    sign_in("member@example.com", navigate=False)
    page.goto(f"/incidents/{incident.key}")
    expect(comment).to_have_value("")

    # Nothing typed: signing out asks nothing.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert len(dialogs.seen) == 2, dialogs.seen


def test_signing_in_again_puts_the_cursor_at_the_end_of_the_kept_comment(
    page: Page, sign_in, file_incident, db, assert_accessible
) -> None:
    incident = file_incident("Queue depth climbing on orders", component="sqs")
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    comment = page.get_by_label("Comment", exact=True)
    comment.fill(DRAFT)

    db.execute(update(LoginSession).values(expires_at=utcnow()))  # the session ends meanwhile
    db.commit()
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill("member@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(incident.key)
    expect(comment).to_have_value(DRAFT)
    expect(comment).to_be_focused()
    caret = comment.evaluate("(box) => [box.selectionStart, box.selectionEnd]")
    assert caret == [len(DRAFT), len(DRAFT)], caret
    assert_accessible("the incident page after signing in again, the comment kept")


def test_a_search_result_keeps_its_hint_after_a_move_from_its_row(
    page: Page, sign_in, file_incident, db, users
) -> None:
    title = "Checkout latency after the deploy"
    incident = file_incident(title, priority="P1", component="payments")
    incidents.add_comment(
        session=db, incident_id=incident.id, actor=users["lead"], body="We rolled back CHG-4411 at 02:10."
    )
    db.commit()
    sign_in("lead@example.com")
    page.goto("/?q=CHG-4411")
    page.wait_for_load_state("load")
    row = _row(page, title)
    hint = row.get_by_text("Matched in a comment by Lee Lead")
    expect(hint).to_be_visible()

    status = row.get_by_role("combobox", name=f"New status for {incident.key}")
    apply = row.get_by_role("button", name=f"Apply status change to {incident.key}")

    # Closing asks first in the row; Cancel draws the row again.
    status.select_option(label="Closed")
    row.get_by_label(f"Reason for closing {incident.key}").fill("Duplicate of the CDN incident")
    apply.click()
    expect(row.get_by_text(f"Close {incident.key}? Closing ends the work on it.")).to_be_focused()
    row.get_by_role("link", name="Cancel").click()
    expect(status).to_be_focused()
    expect(hint).to_be_visible()

    status.select_option(label="In Progress")
    apply.click()
    expect(row.get_by_role("status")).to_have_text(f"{incident.key} is now In Progress.")
    expect(hint).to_be_visible()
    expect(hint.locator("mark")).to_have_text(["CHG", "4411"])

    status.select_option(label="Blocked")
    row.get_by_label(f"Reason for blocking {incident.key}").fill("Waiting on the CDN vendor")
    apply.click()
    expect(row.get_by_role("status")).to_have_text(f"{incident.key} is now Blocked.")
    expect(hint).to_be_visible()
    row.get_by_role("button", name=f"Undo: move {incident.key} back to In Progress").click()
    expect(row.get_by_role("status")).to_have_text(f"{incident.key} is back to In Progress.")
    expect(hint).to_be_visible()


def test_marking_done_a_follow_up_reassigned_meanwhile_says_whose_it_is(
    open_page, db, users, file_incident, axe_source
) -> None:
    incident = file_incident("Key pushed to a public repo", reporter="lead")

    def give(title: str):
        item = follow_ups.add_follow_up(
            session=db, actor=users["lead"], incident_id=incident.id, title=title, owner_id=users["member"].id
        )
        db.commit()
        return item

    rotate = give("Rotate the leaked key")
    postmortem = give("Write the postmortem")
    page = open_page()
    sign_in_on(page, "member@example.com")
    page.goto("/follow-ups")
    other_tab = page.context.new_page()  # the same list, drawn at the same time
    other_tab.goto("/follow-ups")
    for tab in (page, other_tab):
        expect(tab.get_by_role("list", name="Open follow-ups").get_by_role("listitem")).to_have_count(2)

    # Meanwhile the lead gives one to Ada and marks the other done.
    follow_ups.update_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=rotate.id, owner_id=users["admin"].id
    )
    follow_ups.set_done(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=postmortem.id, done=True)
    db.commit()

    page.get_by_role("button", name="Mark done “Rotate the leaked key”").click()
    notice = page.get_by_role("status").filter(
        has_text="“Rotate the leaked key” is now Ada Admin's follow-up, not yours; marked it done."
    )
    expect(notice).to_be_focused()
    check_accessible(page, axe_source, "a follow-up reassigned meanwhile, marked done")

    other_tab.get_by_role("button", name="Mark done “Write the postmortem”").click()
    notice = other_tab.get_by_role("status").filter(
        has_text="“Write the postmortem” was already marked done by Lee Lead."
    )
    expect(notice).to_be_focused()
