"""Found by QA walking the tracker as the person on call at 03:00: keyboard focus dropped to
<body> after Watch, Change priority and Add comment, with nothing read out; Escape neither left
the search box nor answered "Close INC-n?"; Revoke and Change role acted in one tap; the Redact
buttons named comments by a UTC time the page did not show; /api/docs had no main landmark and
no h1 until its JavaScript ran; and on a phone the comment box, priority and owner were screens
down."""

from __future__ import annotations

import re

import pytest
from browser_steps import PASSWORD, check_accessible, sign_in_on
from playwright.sync_api import Page, expect

from shared.accounts import tokens
from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _focused(page: Page):
    return page.locator(":focus")


def test_watch_priority_and_comment_land_focus_on_what_happened(
    page: Page, sign_in, file_incident, assert_accessible
) -> None:
    incident = file_incident("Checkout latency above SLO", component="api-gateway", priority="P3")
    key = incident.key
    sign_in("lead@example.com")
    page.goto(f"/incidents/{key}")

    page.get_by_role("button", name="Watch", exact=True).click()
    expect(_focused(page)).to_have_text(f"You are watching {key}.")
    expect(_focused(page)).to_have_role("status")
    assert_accessible("the incident page after Watch")
    page.get_by_role("button", name="Unwatch", exact=True).click()
    expect(_focused(page)).to_have_text(f"You are no longer watching {key}.")

    page.get_by_label("Priority", exact=True).select_option("P1")
    page.get_by_role("button", name="Change priority").click()
    expect(_focused(page)).to_have_text(f"Priority of {key} is now P1 (was P3).")
    page.get_by_role("button", name="Change priority").click()  # nothing to change
    expect(_focused(page)).to_have_text(f"Priority of {key} is already P1.")
    assert_accessible("the incident page after Change priority")

    page.get_by_label("Comment", exact=True).fill("Paged the payments team")
    page.get_by_role("button", name="Add comment").click()
    new_comment = page.get_by_role("list", name="Timeline").get_by_role("listitem").last
    expect(new_comment).to_be_focused()
    expect(new_comment).to_contain_text("Paged the payments team")
    expect(page.locator("#announcer")).to_have_text("Comment added.")
    assert_accessible("the incident page after Add comment")


def test_assign_due_date_and_edit_details_land_focus_on_what_happened(page: Page, sign_in, file_incident) -> None:
    """They came back without a word, focus on <body> (found in QA)."""
    key = file_incident("Checkout latency above SLO", component="api-gateway").key
    sign_in("lead@example.com")
    page.goto(f"/incidents/{key}")

    page.get_by_label("Owner", exact=True).select_option(label="Mo Member (member@example.com)")
    page.get_by_role("button", name="Assign").click()
    expect(_focused(page)).to_have_text(f"{key} is now assigned to Mo Member (was unassigned).")
    expect(_focused(page)).to_have_role("status")

    page.get_by_label("Due date", exact=True).fill("2099-12-31")
    page.get_by_role("button", name="Save due date").click()
    expect(_focused(page)).to_have_text(f"{key} is now due 2099-12-31 (was no due date).")

    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Title").fill("Checkout latency above SLO in eu-west-1")
    page.get_by_role("button", name="Save changes").click()
    expect(_focused(page)).to_have_text(f"Saved your changes to {key}.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("eu-west-1")


def test_escape_leaves_the_search_box_so_j_moves_through_rows(page: Page, sign_in, file_incident) -> None:
    file_incident("Disk full on db-1", component="rds")
    sign_in("member@example.com")
    search = page.get_by_role("searchbox", name="Search")
    page.keyboard.press("/")
    expect(search).to_be_focused()
    page.keyboard.type("disk")
    expect(page).to_have_url(re.compile(r"q=disk"))
    page.keyboard.press("Escape")  # the browser empties the box first (and the list is searched again)
    expect(search).to_have_value("")
    expect(page).not_to_have_url(re.compile(r"q="))
    expect(search).to_be_focused()
    page.keyboard.press("Escape")
    expect(search).not_to_be_focused()
    page.keyboard.press("j")
    expect(search).to_have_value("")  # not typed into the box
    expect(page.get_by_role("link", name="INC-1", exact=True)).to_be_focused()  # the first row's key


@pytest.fixture
def resolved(db, users, file_incident):
    incident = file_incident("Queue backlog on orders worker", component="sqs")
    for to, reason in (("in_progress", None), ("resolved", "Scaled the consumers to 6")):
        incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to=to, reason=reason)
    db.commit()
    return incident


def test_escape_answers_no_to_close_on_the_incident_page_and_in_a_row(page: Page, sign_in, resolved) -> None:
    key = resolved.key
    sign_in("lead@example.com")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Queue backlog on orders worker"))
    status = row.get_by_label(f"New status for {key}")
    status.select_option(label="Closed")
    row.get_by_role("button", name=f"Apply status change to {key}").click()
    expect(row.get_by_text(f"Close {key}?")).to_be_focused()
    page.keyboard.press("Escape")
    expect(row.get_by_text(f"Close {key}?")).to_have_count(0)
    expect(status).to_be_focused()  # where Cancel puts it
    expect(row.get_by_role("cell").nth(2)).to_have_text("Resolved")

    page.goto(f"/incidents/{key}")
    closed = page.get_by_role("button", name="Closed", exact=True)
    closed.click()
    expect(page.get_by_text(f"Close {key}? Closing ends the work on it.")).to_be_focused()
    page.keyboard.press("Tab")  # on Yes: Escape still means No
    page.wait_for_load_state("load")  # (when the question came as a page of its own)
    page.keyboard.press("Escape")
    expect(page.get_by_text(f"Close {key}?")).to_have_count(0)
    expect(closed).to_be_focused()
    expect(page.get_by_role("region", name="Details")).to_contain_text("StatusResolved")


def test_escape_answers_no_to_close_before_htmx_has_settled_the_question(page: Page, sign_in, resolved) -> None:
    """Found in CI on a busy machine: Escape left "Close INC-1?" standing for good. htmx settles
    the question it swapped in a moment later (a timer), and the browser's own autofocus can put
    focus on it before that; meanwhile it wore the replaced form's class, and its Cancel was a
    plain link to this same page: Escape found no question, and Cancel would have done nothing."""
    key = resolved.key
    page.clock.install()
    sign_in("lead@example.com")
    page.goto(f"/incidents/{key}")
    closed = page.get_by_role("button", name="Closed", exact=True)
    expect(closed).to_be_visible()
    page.clock.pause_at(page.evaluate("Date.now() / 1000") + 1)  # no timer fires: htmx's settle waits
    closed.click()
    question = page.get_by_text(f"Close {key}? Closing ends the work on it.")
    expect(question).to_be_focused()  # by the browser, htmx has not settled it
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=f"Yes, close {key}")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_text(f"Close {key}?")).to_have_count(0)
    page.clock.resume()
    expect(closed).to_be_focused()
    expect(page).not_to_have_url(re.compile("#"))
    expect(page.get_by_role("region", name="Details")).to_contain_text("StatusResolved")

    page.clock.pause_at(page.evaluate("Date.now() / 1000") + 1)
    closed.click()
    expect(question).to_be_visible()  # (the browser autofocuses once a page: htmx will focus it)
    page.get_by_role("link", name="Cancel").click()  # as quickly, with the mouse
    expect(page.get_by_text(f"Close {key}?")).to_have_count(0)
    page.clock.resume()
    expect(closed).to_be_focused()


def test_revoking_a_token_asks_first_and_cancel_keeps_it(page: Page, sign_in, db, users, assert_accessible) -> None:
    tokens.create_token(session=db, user=users["member"], name="ci-deploy", scope="write")
    db.commit()
    sign_in("member@example.com")
    page.goto("/profile")
    tokens_table = page.get_by_role("table", name="Your API tokens")
    page.get_by_role("button", name="Revoke token ci-deploy").click()
    question = page.get_by_role("heading", name="Revoke token ci-deploy?")
    expect(question).to_be_focused()
    expect(page.get_by_text("Scripts using it")).to_contain_text("stop working at once")
    expect(tokens_table.get_by_role("cell", name="active")).to_be_visible()  # nothing happened yet
    assert_accessible("the profile page asking before revoking a token")

    page.get_by_role("link", name="Cancel").click()
    expect(question).to_have_count(0)
    expect(tokens_table.get_by_role("cell", name="active")).to_be_visible()
    page.get_by_role("button", name="Revoke token ci-deploy").click()
    expect(question).to_be_focused()
    page.wait_for_load_state("load")  # the page's script listens for Escape (focus came first, from autofocus)
    page.keyboard.press("Escape")  # No, as Cancel
    expect(question).to_have_count(0)
    expect(tokens_table.get_by_role("cell", name="active")).to_be_visible()

    page.get_by_role("button", name="Revoke token ci-deploy").click()
    page.get_by_role("button", name="Yes, revoke ci-deploy").click()
    expect(_focused(page)).to_contain_text("Token ci-deploy")
    expect(_focused(page)).to_contain_text("is revoked.")
    expect(tokens_table.get_by_role("cell", name="revoked")).to_be_visible()


def test_changing_a_role_asks_first_naming_the_sign_out(page: Page, sign_in, assert_accessible) -> None:
    sign_in("admin@example.com")
    page.goto("/admin/users")
    page.get_by_label("Role for member@example.com").select_option("lead")
    page.get_by_role("button", name="Change role of member@example.com").click()
    question = page.get_by_role("heading", name="Make member@example.com lead?")
    expect(question).to_be_focused()
    expect(page.get_by_text("is signed out everywhere at once")).to_be_visible()
    assert_accessible("the users page asking before changing a role")

    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("row").filter(has_text="member@example.com").first).to_contain_text("member")
    expect(page.get_by_label("Role for member@example.com")).to_have_value("member")  # unchanged
    expect(page.get_by_label("Role for member@example.com")).to_be_focused()  # back where it was asked from
    page.get_by_label("Role for member@example.com").select_option("lead")
    page.get_by_role("button", name="Change role of member@example.com").click()
    expect(question).to_be_focused()
    page.wait_for_load_state("load")  # the page's script listens for Escape (focus came first, from autofocus)
    page.keyboard.press("Escape")  # No, as Cancel
    expect(question).to_have_count(0)
    expect(page.get_by_label("Role for member@example.com")).to_have_value("member")
    expect(page.get_by_label("Role for member@example.com")).to_be_focused()

    page.get_by_role("button", name="Disable member@example.com").click()
    expect(page.get_by_role("heading", name="Disable member@example.com?")).to_be_focused()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("button", name="Disable member@example.com")).to_be_focused()
    page.get_by_role("link", name="Set password for member@example.com").click()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("link", name="Set password for member@example.com")).to_be_focused()

    page.get_by_label("Role for member@example.com").select_option("lead")
    page.get_by_role("button", name="Change role of member@example.com").click()
    page.get_by_role("button", name="Yes, make member@example.com lead").click()
    expect(_focused(page)).to_have_text("member@example.com is now lead; their sessions were signed out.")
    expect(page.get_by_label("Role for member@example.com")).to_have_value("lead")


def test_redact_names_a_comment_by_the_time_the_reader_sees(open_page, db, users, file_incident) -> None:
    incident = file_incident("Payments webhook retries pile up", component="sqs")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body="password=hunter2")
    db.commit()
    page = open_page(timezone_id="America/Los_Angeles")
    sign_in_on(page, "admin@example.com")
    page.goto(f"/incidents/{incident.key}")
    entry = page.get_by_role("list", name="Timeline").get_by_role("listitem").filter(has_text="commented")
    shown = entry.get_by_role("link", name="Link to this comment").locator("time").inner_text()
    assert "UTC" not in shown, shown
    assert "PST" in shown or "PDT" in shown, shown
    which = f"comment 1 (Mo Member, {shown})"
    entry.locator("summary").click()  # opens the disclosure
    expect(entry.get_by_role("button", name=f"Redact {which}", exact=True)).to_be_visible()
    expect(entry.get_by_label(f"Reason for redacting {which}", exact=True)).to_be_visible()


def test_api_docs_have_a_main_and_an_h1_without_javascript(open_page, axe_source) -> None:
    page = open_page(java_script_enabled=False)
    page.goto("/api/docs")
    main = page.get_by_role("main")
    expect(main).to_have_count(1)
    expect(main.get_by_role("heading", level=1)).to_have_text("Incident Tracker API")
    expect(main.get_by_role("link", name="/api/v1/openapi.json")).to_be_visible()

    page = open_page()  # with JavaScript: Swagger UI's own main and h1 take over, one of each
    page.goto("/api/docs")
    expect(page.get_by_role("heading", name="Operations", level=2)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    check_accessible(page, axe_source, "the API docs drawn by Swagger UI")


def test_on_a_phone_priority_owner_and_the_comment_box_are_near_the_top(
    open_page, file_incident, users, axe_source
) -> None:
    incident = file_incident(
        "Checkout latency above SLO", component="api-gateway", priority="P1", owner_id=users["member"].id
    )
    page = open_page(**PHONE)
    page.goto("/login")
    page.get_by_label("Email").fill("member@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/incidents/{incident.key}")
    head = page.locator("#incident-head")
    glance = head.get_by_text("· Owner: Mo Member")
    expect(glance).to_be_visible()
    expect(glance).to_contain_text("P1")
    moves = page.get_by_role("heading", name="Move to")
    jump = page.get_by_role("link", name="Add a comment")
    top = {
        name: (element.bounding_box() or {"y": 10_000})["y"]
        for name, element in (("glance", glance), ("jump", jump), ("moves", moves))
    }
    assert top["glance"] < top["moves"], top
    assert top["jump"] < top["moves"] < 844, top  # on the first screen
    check_accessible(page, axe_source, "the incident page on a phone")

    jump.click()
    comment = page.get_by_label("Comment", exact=True)
    expect(comment).to_be_focused()
    expect(comment).to_be_in_viewport()


def test_the_live_timeline_still_updates_while_focus_rests_on_the_new_comment(
    page: Page, sign_in, file_incident, db, users
) -> None:
    incident = file_incident("Error rate up on checkout", component="checkout", priority="P1")
    page.clock.install()
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    page.get_by_label("Comment", exact=True).fill("Rolled back v2.3")
    page.get_by_role("button", name="Add comment").click()
    timeline = page.get_by_role("list", name="Timeline")
    mine = timeline.get_by_role("listitem").filter(has_text="Rolled back v2.3")
    expect(mine).to_be_focused()

    incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="Error rate back to normal")
    db.commit()
    page.clock.fast_forward(11_000)  # one live poll
    expect(timeline).to_contain_text("Error rate back to normal")
    expect(mine).to_be_focused()  # the redrawn entry, not <body>


def test_a_move_refused_as_stale_puts_focus_on_what_changed(page: Page, sign_in, file_incident, db, users) -> None:
    """Found by QA: the refusal ("Lee Lead changed INC-2 since you opened it. What changed: …")
    was read out, but focus stayed on <body>: Tab started again at the top of the page."""
    incident = file_incident("Queue depth climbing on orders", component="sqs")
    key = incident.key
    page.clock.install()  # no live refresh: the page stays as drawn, stale
    sign_in("member@example.com")
    page.goto(f"/incidents/{key}")
    incidents.change_priority(session=db, incident_id=incident.id, actor=users["lead"], priority="P1")
    db.commit()
    page.get_by_role("button", name="In Progress", exact=True).click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text(f"Lee Lead changed {key} since you opened it. What changed: priority")
    expect(refusal).to_be_focused()
