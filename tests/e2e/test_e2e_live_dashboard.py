"""The live dashboard: someone else's changes appear without a reload, and the person's focus,
typing and scroll position stay where they were."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def rows_titled(page: Page, text: str):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=text))


def test_other_peoples_changes_appear_without_stealing_focus(page: Page, sign_in, file_incident, db, users):
    mine = file_incident("Cache hit rate dropping", component="redis", priority="P2", owner_id=users["member"].id)
    theirs = file_incident("Nightly backup failed", component="s3", priority="P3", reporter="lead")
    page.clock.install()  # the poll's timer runs when the test says so
    sign_in("member@example.com")
    page.evaluate("window.__marker = 1")

    # The person is in the middle of a quick status change on their own row.
    row = rows_titled(page, "Cache hit rate dropping")
    picker = row.get_by_label(f"New status for {mine.key}")
    picker.select_option(label="In Progress")
    picker.focus()

    # Meanwhile the lead files an incident and moves another one.
    file_incident("Payments API 500s", component="payments", priority="P1", reporter="lead")
    incidents.transition(session=db, incident_id=theirs.id, actor=users["lead"], to="in_progress")
    db.commit()

    page.clock.fast_forward(11_000)
    expect(rows_titled(page, "Payments API 500s")).to_have_count(1)
    expect(rows_titled(page, "Nightly backup failed").get_by_role("cell").nth(2)).to_have_text("In Progress")
    expect(page.get_by_role("link", name="1 In Progress")).to_be_visible()
    expect(page.get_by_text("3 incidents", exact=True)).to_be_visible()
    # Their own row kept its choice and the focus; nothing reloaded.
    expect(picker).to_be_focused()
    expect(picker).to_have_value("in_progress")
    assert page.evaluate("window.__marker") == 1

    # Nothing changed since: the next poll is a 304 and changes nothing.
    with page.expect_response(lambda r: r.url.endswith("/changes")) as answer:
        page.clock.fast_forward(11_000)
    assert answer.value.status == 304


def test_a_refresh_for_the_search_the_person_has_left_is_not_drawn(page: Page, sign_in, file_incident):
    """The live refresh asks for the page's results; if the person searches something else
    before the answer comes, that answer is for a page no longer shown and must not put its
    rows, counters and total into the new search's."""
    file_incident("Disk full on reporting db", component="rds")
    file_incident("Kafka consumer lag", component="msk")
    page.clock.install()  # the poll's timer runs when the test says so
    sign_in("member@example.com")
    search = page.get_by_label("Search", exact=True)
    search.fill("disk")
    search.press("Enter")
    expect(page.get_by_text("1 incident", exact=True)).to_be_visible()

    held = []

    def hold_the_refresh(route) -> None:
        # htmx's own requests say where they come from; the refresh's fetch does not.
        if "hx-current-url" in route.request.headers:
            route.continue_()
        else:
            held.append(route)

    page.route(lambda url: "q=disk" in url, hold_the_refresh)
    file_incident("Disk latency on db-2", component="rds")  # someone else's change
    with page.expect_request(lambda request: "q=disk" in request.url):
        page.clock.fast_forward(11_000)
    search.fill("kafka")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/\?q=kafka$"))
    expect(rows_titled(page, "Kafka consumer lag")).to_have_count(1)

    assert len(held) == 1, "the refresh did not ask for the results it shows"
    with page.expect_response(lambda response: "q=disk" in response.url):
        held[0].continue_()
    page.wait_for_timeout(300)  # the answer is read and (not) drawn
    expect(rows_titled(page, "Kafka consumer lag")).to_have_count(1)
    expect(page.get_by_role("row").filter(has_text="Disk")).to_have_count(0)
    expect(page.get_by_text("1 incident", exact=True)).to_be_visible()


def test_a_row_kept_through_a_live_refresh_still_names_who_changed_it(page: Page, sign_in, file_incident, db, users):
    """Found by QA: the live refresh renewed the list's marker while a busy row kept the version
    it was drawn with, so a change made before the refresh came back as "someone else"."""
    mine = file_incident("Queue consumers stalled", component="sqs", priority="P2", owner_id=users["member"].id)
    page.clock.install()
    sign_in("member@example.com")
    row = rows_titled(page, "Queue consumers stalled")
    row.get_by_label(f"New status for {mine.key}").select_option(label="In Progress")  # busy: kept as drawn

    incidents.change_priority(session=db, incident_id=mine.id, actor=users["lead"], priority="P1")
    db.commit()
    file_incident("Another alarm", component="sns")  # and the list refreshes
    page.clock.fast_forward(11_000)
    expect(rows_titled(page, "Another alarm")).to_have_count(1)

    row.get_by_role("button", name=f"Apply status change to {mine.key}").click()
    expect(row.get_by_role("alert")).to_contain_text(f"Lee Lead changed {mine.key} since you opened it.")
