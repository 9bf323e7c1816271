"""Keyboard shortcuts (/, c, j, k, ?) and times in the reader's time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from browser_steps import sign_in_on
from playwright.sync_api import Page, expect
from sqlalchemy import update

from shared.incidents import service as incidents
from shared.incidents.models import Incident

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_shortcuts_search_new_incident_rows_and_the_list(page: Page, sign_in, file_incident, assert_accessible) -> None:
    file_incident("Disk full on db-1", priority="P1")
    file_incident("Slow deploys", priority="P2")
    sign_in("member@example.com")

    page.keyboard.press("?")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts).to_be_visible()
    expect(shortcuts).to_contain_text("Next / previous incident in the list")
    escape = 'Leave the search box for the list; answer No to a question ("Close INC-n?", "Delete …?", "Revoke …?")'
    expect(shortcuts).to_contain_text(escape)
    assert_accessible("the keyboard shortcuts dialog")
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()

    page.keyboard.press("j")
    expect(page.get_by_role("link", name="INC-1", exact=True)).to_be_focused()
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="INC-2", exact=True)).to_be_focused()
    page.keyboard.press("k")
    expect(page.get_by_role("link", name="INC-1", exact=True)).to_be_focused()

    page.keyboard.press("/")
    search = page.get_by_label("Search")
    expect(search).to_be_focused()
    page.keyboard.type("c j ?")  # typing in a field is typing, not shortcuts
    expect(search).to_have_value("c j ?")
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.get_by_role("heading", name="Incidents", exact=True).click()
    page.keyboard.press("c")
    new_incident = page.get_by_role("dialog", name="New incident")
    expect(new_incident).to_be_visible()
    expect(page.get_by_label("Title")).to_be_focused()


def test_shortcuts_button_and_slash_from_another_page(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Disk full on db-1")
    sign_in("lead@example.com")
    page.goto(f"/incidents/{incident.key}")
    page.get_by_role("button", name="Shortcuts").click()
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts).to_be_visible()
    shortcuts.get_by_role("button", name="Close").click()
    expect(shortcuts).to_be_hidden()
    page.keyboard.press("/")
    expect(page.get_by_label("Search")).to_be_focused()

    page.goto(f"/incidents/{incident.key}")
    page.keyboard.press("c")
    expect(page).to_have_url(re.compile(r"/incidents/new"))
    expect(page.get_by_label("Title")).to_be_focused()


def test_times_show_in_the_readers_time_zone_with_utc_on_hover(open_page, file_incident) -> None:
    incident = file_incident("Disk full on db-1")
    page = open_page(timezone_id="Asia/Tokyo", locale="en-GB")
    sign_in_on(page, "member@example.com")
    page.goto(f"/incidents/{incident.key}")
    created = page.get_by_role("region", name="Details").locator("time").first
    utc = incident.created_at.strftime("%Y-%m-%d %H:%M UTC")
    expect(created).to_have_attribute("title", utc)
    expect(created).to_contain_text(re.compile(r"GMT\+9|JST"))
    expect(created).not_to_contain_text("UTC")
    timeline_time = page.get_by_role("list", name="Timeline").locator("time").first
    expect(timeline_time).to_contain_text(re.compile(r"GMT\+9|JST"))


def test_dashboard_ages_stay_ages_with_the_local_time_on_hover(open_page, file_incident) -> None:
    incident = file_incident("Disk full on db-1")
    page = open_page(timezone_id="Asia/Tokyo", locale="en-GB")
    sign_in_on(page, "member@example.com")
    headers = [text.strip() for text in page.get_by_role("columnheader").all_inner_texts()]
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=incident.key, exact=True))
    cells = row.get_by_role("cell")
    age = cells.nth(headers.index("Age")).locator("time")
    in_status = cells.nth(headers.index("In status for")).locator("time")
    updated = cells.nth(headers.index("Updated")).locator("time")
    utc = incident.created_at.strftime("%Y-%m-%d %H:%M UTC")

    expect(age).to_have_text(re.compile(r"^\d+ min$"))
    expect(age).to_have_attribute("title", re.compile(rf"^Created .*(GMT\+9|JST).* \({utc}\)$"))
    expect(in_status).to_have_text(re.compile(r"^\d+ min$"))
    expect(in_status).to_have_attribute("title", re.compile(rf"^Open since .*(GMT\+9|JST).* \({utc}\)$"))
    expect(updated).to_contain_text(re.compile(r"GMT\+9|JST"))


LOCAL_TOKYO = re.compile(r"GMT\+9|JST")
SERVER_UTC_TEXT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")


def test_rows_the_live_dashboard_redraws_keep_local_times(open_page, file_incident, db, users) -> None:
    """The live refresh merges fresh server rows into the table; their Updated times used to
    stay in the server's UTC text while the rows drawn with the page were local."""
    first = file_incident("Disk full on db-1", priority="P1")
    file_incident("Slow deploys", priority="P2")
    page = open_page(timezone_id="Asia/Tokyo", locale="en-GB")
    page.clock.install()  # the live poll runs when the test says so
    sign_in_on(page, "member@example.com")
    updated = page.get_by_role("row").filter(has=page.get_by_role("link", name=first.key, exact=True)).locator("time")
    expect(updated.last).to_contain_text(LOCAL_TOKYO)

    incidents.transition(session=db, incident_id=first.id, actor=users["lead"], to="in_progress")
    db.commit()
    page.clock.fast_forward(11_000)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=first.key, exact=True))
    expect(row.get_by_role("cell").nth(2)).to_have_text("In Progress")
    for time in page.get_by_role("table", name="Incidents").locator("tbody time").all():
        if time.get_attribute("data-relative") is None:
            expect(time).to_contain_text(LOCAL_TOKYO)
        else:  # an age keeps its text and gets the local moment on hover
            expect(time).to_have_attribute("title", LOCAL_TOKYO)


def test_api_token_times_show_in_the_readers_time_zone(open_page) -> None:
    page = open_page(timezone_id="Asia/Tokyo", locale="en-GB")
    sign_in_on(page, "lead@example.com")
    # The way there, as the API docs tell it: the person's name, top right, looks like a link.
    profile = page.get_by_role("banner").get_by_role("link", name="Lee Lead · lead")
    assert profile.evaluate("link => getComputedStyle(link).textDecorationLine") == "underline"
    profile.click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("alerting bridge")
    page.get_by_label("Expires after (days, empty for never)").fill("30")
    page.get_by_role("button", name="Create token").click()
    row = page.get_by_role("row").filter(has_text="alerting bridge")
    # The create answers with a new page: read the headers only once it shows the new token
    # (all_inner_texts does not wait, and read the old page's or none under load).
    expect(row).to_be_visible()
    headers = [text.strip() for text in page.get_by_role("columnheader").all_inner_texts()]
    for column in ("Created", "Expires"):
        cell = row.get_by_role("cell").nth(headers.index(column))
        expect(cell).to_contain_text(LOCAL_TOKYO)
        expect(cell.locator("time")).to_have_attribute("title", SERVER_UTC_TEXT)


def test_insights_counts_the_readers_days_from_the_top_bar(open_page, file_incident, db) -> None:
    """Filed a minute after midnight UTC, which is the evening before in Los Angeles: a reader
    there who opens Insights from the top bar sees it open from their evening (the browser's zone
    travels in the it_tz cookie), and the window they choose next keeps their days."""
    incident = file_incident("Disk full on db-1")
    filed = datetime.now(UTC).replace(hour=0, minute=1, second=0, microsecond=0)
    db.execute(update(Incident).where(Incident.id == incident.id).values(created_at=filed))
    db.commit()
    evening_there = filed.astimezone(ZoneInfo("America/Los_Angeles")).date()
    page = open_page(timezone_id="America/Los_Angeles", locale="en-US")
    sign_in_on(page, "member@example.com")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
    expect(page.get_by_text("(America/Los_Angeles days)")).to_be_visible()
    page.get_by_label("Window").select_option(label="Last 7 days")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_label("Window")).to_have_value("7")
    page.get_by_text("Open incidents over time as a table").click()
    table = page.get_by_role("table", name="Open incidents at the end of each day")
    expect(table.get_by_role("columnheader", name="Day (America/Los_Angeles)")).to_be_visible()
    for day, open_then in ((evening_there - timedelta(days=1), "0"), (evening_there, "1")):
        expect(table.get_by_role("row", name=day.isoformat()).get_by_role("cell")).to_have_text(open_then)


def test_the_dashboard_search_counts_the_readers_days(open_page, file_incident, db) -> None:
    """A reader on Kiritimati (UTC+14) filed an incident a minute after their midnight, which was
    10:01 the day before in UTC: searching their today (`created:today`, or the date) finds it,
    and the day before does not (UTC days found it only under yesterday's date)."""
    zone = ZoneInfo("Pacific/Kiritimati")
    today_there = datetime.now(zone).date()
    filed = datetime.combine(today_there, datetime.min.time(), tzinfo=zone) + timedelta(minutes=1)
    incident = file_incident("Disk full on db-1")
    db.execute(update(Incident).where(Incident.id == incident.id).values(created_at=filed.astimezone(UTC)))
    db.commit()
    page = open_page(timezone_id="Pacific/Kiritimati", locale="en-US")
    sign_in_on(page, "member@example.com")

    search = page.get_by_label("Search")
    row = page.get_by_role("row").filter(has_text="Disk full on db-1")
    for query, found in (
        (f"created:{today_there.isoformat()}", True),
        ("created:today", True),
        (f"created:{(today_there - timedelta(days=1)).isoformat()}", False),
    ):
        search.fill(query)
        search.press("Enter")
        expect(page).to_have_url(re.compile("q=" + re.escape(query).replace(":", "(:|%3A)") + "$"))
        expect(row).to_have_count(1 if found else 0)
