"""The dashboard as a person uses it: the new-incident dialog, live search, quick status."""

from __future__ import annotations

import re

import pytest
from browser_steps import sign_in_on
from playwright.sync_api import Page, expect

from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

TITLE = "Checkout latency spike on eu-west"


def screenshot(page: Page, name: str) -> None:
    # caret="initial": hiding the caret means an inline style, which the CSP (rightly) refuses.
    page.screenshot(path=f"/tmp/e2e-{name}.png", full_page=True, caret="initial")


def rows_titled(page: Page, text: str):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=text))


def test_create_search_and_work_an_incident(page: Page, sign_in, file_incident, tmp_path) -> None:
    file_incident("Disk full on reporting db", component="rds", priority="P1")
    sign_in("member@example.com")
    page.evaluate("window.__marker = 1")  # survives only if nothing reloads the page

    page.get_by_role("button", name="New incident").click()
    dialog = page.get_by_role("dialog", name="New incident")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Title").fill(TITLE)
    dialog.get_by_label("Description").fill("p99 above **2 s** since 09:40 on the *checkout* service.")
    dialog.get_by_label("Priority").select_option("P2")
    dialog.get_by_label("Component").fill("alb")
    dialog.get_by_label("Environment").select_option("staging")
    dialog.get_by_role("button", name="Create incident").click()

    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/$"))  # the dialog's fields are not dashboard filters
    created = rows_titled(page, TITLE)
    expect(created).to_have_count(1)
    expect(created).to_contain_text("P2")
    expect(created).to_contain_text("alb")
    expect(created).to_contain_text("staging")
    expect(created).to_contain_text("Open")
    expect(rows_titled(page, "Disk full on reporting db")).to_have_count(1)
    expect(page.get_by_role("link", name="2 Open")).to_be_visible()  # counters follow
    expect(page.get_by_text("2 incidents", exact=True)).to_be_visible()
    assert page.evaluate("window.__marker") == 1, "creating an incident reloaded the page"

    screenshot(page, "dashboard")

    search = page.get_by_label("Search", exact=True)
    search.press_sequentially("disk", delay=40)
    expect(rows_titled(page, TITLE)).to_have_count(0)
    expect(rows_titled(page, "Disk full on reporting db")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/\?q=disk$"))  # bookmarkable, no empty filters
    search.press("Enter")  # Enter keeps this search in the history; typing pauses alone don't

    search.fill("")
    search.press_sequentially("latency", delay=40)
    expect(rows_titled(page, "Disk full on reporting db")).to_have_count(0)
    expect(rows_titled(page, TITLE)).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]q=latency(&|$)"))
    assert page.evaluate("window.__marker") == 1, "searching reloaded the page"

    page.go_back()
    expect(page).to_have_url(re.compile(r"[?&]q=disk(&|$)"))
    expect(page.get_by_label("Search", exact=True)).to_have_value("disk")
    expect(rows_titled(page, "Disk full on reporting db")).to_have_count(1)
    expect(rows_titled(page, TITLE)).to_have_count(0)
    page.go_forward()
    expect(page.get_by_label("Search", exact=True)).to_have_value("latency")
    expect(rows_titled(page, TITLE)).to_have_count(1)
    assert page.evaluate("window.__marker") == 1, "back/forward reloaded the page"

    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
    expect(page.locator(".markdown strong")).to_have_text("2 s")  # Markdown rendered

    page.get_by_role("button", name="In Progress", exact=True).click()
    expect(page.get_by_role("button", name="Blocked", exact=True)).to_be_visible()
    page.get_by_label("Reason", exact=True).fill("Waiting on AWS support case 1234")
    page.get_by_role("button", name="Blocked", exact=True).click()
    expect(page.get_by_role("button", name="Resolved", exact=True)).to_be_visible()
    page.get_by_label("Resolution summary").fill("Rolled back the ALB listener rule")
    page.get_by_role("button", name="Resolved", exact=True).click()

    timeline = page.get_by_role("list", name="Timeline")
    events = timeline.get_by_role("listitem")
    expect(events).to_have_count(4)
    expect(events.nth(0)).to_contain_text("Mo Member created the incident")
    expect(events.nth(1)).to_contain_text("Mo Member changed status from Open to In Progress")
    expect(events.nth(2)).to_contain_text("Mo Member changed status from In Progress to Blocked")
    expect(events.nth(2)).to_contain_text("Waiting on AWS support case 1234")
    expect(events.nth(3)).to_contain_text("Mo Member changed status from Blocked to Resolved")
    expect(events.nth(3)).to_contain_text("Rolled back the ALB listener rule")
    screenshot(page, "incident")


def test_invalid_new_incident_keeps_the_dialog_and_what_was_typed(page: Page, sign_in) -> None:
    sign_in("member@example.com")
    expect(page.get_by_text("No incidents match")).to_be_visible()
    page.get_by_role("button", name="New incident").click()
    dialog = page.get_by_role("dialog", name="New incident")
    dialog.get_by_label("Description").fill("Nothing to see *yet*")
    dialog.get_by_label("Priority").select_option("P1")
    dialog.get_by_label("Component").fill("network")
    dialog.get_by_label("Environment").select_option("dev")
    dialog.get_by_role("button", name="Create incident").click()

    expect(dialog.get_by_role("alert")).to_contain_text("Check the highlighted fields")
    title = dialog.get_by_label("Title")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_be_focused()
    expect(title).to_have_accessible_description(re.compile(r"\S"))
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Description")).to_have_value("Nothing to see *yet*")
    expect(dialog.get_by_label("Priority")).to_have_value("P1")
    expect(dialog.get_by_label("Component")).to_have_value("network")
    expect(dialog.get_by_label("Environment")).to_have_value("dev")
    screenshot(page, "dialog-error")

    title.fill("VPN drops every 10 minutes")
    dialog.get_by_role("button", name="Create incident").click()
    expect(dialog).to_be_hidden()
    expect(rows_titled(page, "VPN drops every 10 minutes")).to_have_count(1)
    expect(page.get_by_text("No incidents match")).to_have_count(0)
    expect(page.get_by_text("1 incident", exact=True)).to_be_visible()

    # The dialog opens again empty, ready for the next incident.
    page.get_by_role("button", name="New incident").click()
    expect(dialog.get_by_label("Title")).to_have_value("")
    expect(dialog.get_by_label("Component")).to_have_value("")
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="New incident").click()
    expect(dialog.get_by_label("Title")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/$"))


def test_quick_status_change_updates_the_row_in_place(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Login page returns 502", component="alb")
    file_incident("Nightly export stuck", component="s3")
    sign_in("member@example.com")
    page.evaluate("window.__marker = 1")

    row = rows_titled(page, "Login page returns 502")
    row.get_by_label(f"New status for {incident.key}").select_option(label="In Progress")
    row.get_by_role("button", name=f"Apply status change to {incident.key}").click()

    expect(row.get_by_role("status")).to_have_text(f"{incident.key} is now In Progress.")
    expect(row.get_by_role("cell").nth(2)).to_have_text("In Progress")
    expect(page.get_by_role("link", name="1 In Progress")).to_be_visible()  # counters follow
    options = row.get_by_label(f"New status for {incident.key}").locator("option")
    expect(options).to_have_text(["Choose…", "Blocked", "Resolved"])
    expect(rows_titled(page, "Nightly export stuck")).to_have_count(1)
    assert page.evaluate("window.__marker") == 1

    # A move that needs a summary says so beside the row, and changes nothing.
    row.get_by_label(f"New status for {incident.key}").select_option(label="Resolved")
    row.get_by_role("button", name=f"Apply status change to {incident.key}").click()
    expect(row.get_by_role("alert")).to_contain_text("resolution summary")
    expect(row.get_by_role("cell").nth(2)).to_have_text("In Progress")

    row.get_by_label(f"Resolution summary for {incident.key}").fill("Restarted the stuck target group")
    row.get_by_role("button", name=f"Apply status change to {incident.key}").click()
    expect(row.get_by_role("status")).to_have_text(f"{incident.key} is now Resolved.")
    expect(row.get_by_role("cell").nth(2)).to_have_text("Resolved")
    expect(page).to_have_url(re.compile(r"/$"))  # a row's control is not a dashboard filter
    assert page.evaluate("window.__marker") == 1


def test_quick_status_on_a_stale_row_reports_the_conflict(page: Page, sign_in, file_incident, db, users) -> None:
    incident = file_incident("Certificate expires in 3 days", component="alb", priority="P3")
    sign_in("member@example.com")
    row = rows_titled(page, "Certificate expires in 3 days")
    expect(row).to_contain_text("P3")

    # Someone else changes it while this dashboard is open.
    incidents.change_priority(session=db, incident_id=incident.id, actor=users["lead"], priority="P1")
    db.commit()

    row.get_by_label(f"New status for {incident.key}").select_option(label="In Progress")
    row.get_by_role("button", name=f"Apply status change to {incident.key}").click()
    # By name: the list sends the newest event it was drawn after with the row's move (app.js).
    expect(row.get_by_role("alert")).to_contain_text(f"Lee Lead changed {incident.key} since you opened it.")
    expect(row).to_contain_text("P1")  # the row now shows what is true...
    expect(row.get_by_role("cell").nth(2)).to_have_text("Open")  # ...and nothing was overwritten
    screenshot(page, "row-conflict")

    row.get_by_role("button", name=f"Apply status change to {incident.key}").click()
    expect(row.get_by_role("cell").nth(2)).to_have_text("In Progress")


def test_filters_and_qualifiers_narrow_the_table_and_the_url(page: Page, sign_in, file_incident) -> None:
    file_incident("Primary RDS failover", component="rds", priority="P1", environment="prod")
    file_incident("Staging RDS slow queries", component="rds", priority="P3", environment="staging")
    file_incident("ALB 5xx burst", component="alb", priority="P1", environment="prod")
    sign_in("member@example.com")
    search = page.get_by_label("Search", exact=True)

    page.get_by_role("search").get_by_label("Priority").select_option("P1")
    expect(search).to_have_value("priority:p1")  # the dropdown wrote its qualifier into the box
    expect(rows_titled(page, "Staging RDS slow queries")).to_have_count(0)
    expect(rows_titled(page, "Primary RDS failover")).to_have_count(1)
    expect(rows_titled(page, "ALB 5xx burst")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/\?q=priority(%3A|:)p1$"))  # one canonical form: q only

    search.fill("priority:p1 component:rds env:prod")
    expect(rows_titled(page, "ALB 5xx burst")).to_have_count(0)
    expect(rows_titled(page, "Primary RDS failover")).to_have_count(1)
    expect(page.get_by_text("1 incident", exact=True)).to_be_visible()
    expect(page.get_by_role("search").get_by_label("Component")).to_have_value("rds")  # the box set it

    page.go_back()
    expect(page).to_have_url(re.compile(r"/\?q=priority(%3A|:)p1$"))
    expect(rows_titled(page, "ALB 5xx burst")).to_have_count(1)
    expect(page.get_by_role("search").get_by_label("Priority")).to_have_value("P1")

    # The URL is the bookmark: opening it fresh shows the same thing.
    page.goto("/?q=component%3Ards+priority%3Ap1")
    expect(search).to_have_value("component:rds priority:p1")
    expect(page.get_by_role("search").get_by_label("Priority")).to_have_value("P1")
    expect(rows_titled(page, "Primary RDS failover")).to_have_count(1)
    expect(rows_titled(page, "ALB 5xx burst")).to_have_count(0)


def test_the_search_box_and_the_dropdowns_are_one_filter(page: Page, sign_in, file_incident, db, users) -> None:
    """Defect 4: `status:open` typed + "Blocked" picked used to show both (OR), and the
    dropdown never showed what was typed."""
    file_incident("Queue backlog growing", component="sqs")
    blocked = file_incident("Vendor API down", component="payments")
    incidents.transition(session=db, incident_id=blocked.id, actor=users["lead"], to="in_progress")
    incidents.transition(session=db, incident_id=blocked.id, actor=users["lead"], to="blocked", reason="Vendor")
    db.commit()
    sign_in("member@example.com")
    search = page.get_by_label("Search", exact=True)
    status = page.get_by_role("search").get_by_label("Status")

    search.press_sequentially("status:open", delay=20)
    expect(rows_titled(page, "Vendor API down")).to_have_count(0)
    expect(status).to_have_value("open")  # typing set the dropdown

    status.select_option(label="Blocked")
    expect(search).to_have_value("status:blocked")  # picking replaced the typed qualifier
    expect(rows_titled(page, "Vendor API down")).to_have_count(1)
    expect(rows_titled(page, "Queue backlog growing")).to_have_count(0)  # not OR-ed with "open"
    expect(page).to_have_url(re.compile(r"/\?q=status(%3A|:)blocked$"))

    status.select_option(label="Active (not Closed)")
    expect(search).to_have_value("")
    expect(rows_titled(page, "Queue backlog growing")).to_have_count(1)
    expect(rows_titled(page, "Vendor API down")).to_have_count(1)


def test_a_search_that_finds_nothing_says_why_and_offers_to_clear(page: Page, sign_in, file_incident) -> None:
    file_incident("Disk full on db-1", component="rds", priority="P1", environment="prod")
    file_incident("Flaky CI runner", component="ci", priority="P3", environment="dev")
    sign_in("member@example.com")
    page.get_by_label("Search", exact=True).fill("env:dev priority:p1")
    expect(page.get_by_text("No incidents match.")).to_be_visible()
    expect(page.get_by_text("env:dev excludes every incident the rest of the search finds.")).to_be_visible()
    expect(page.get_by_text("priority:p1 excludes every incident the rest of the search finds.")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(rows_titled(page, "Disk full on db-1")).to_have_count(1)
    expect(rows_titled(page, "Flaky CI runner")).to_have_count(1)
    expect(page.get_by_label("Search", exact=True)).to_have_value("")


def test_a_new_incident_that_does_not_match_the_search_is_announced_not_listed(page: Page, sign_in, file_incident):
    """Defect 3: a P1 filed on a P4 view was added to the list ("6 incidents" above 7 rows)."""
    for number in range(2):
        file_incident(f"Low-priority noise {number}", priority="P4")
    sign_in("lead@example.com")
    page.get_by_role("search").get_by_label("Priority").select_option("P4")
    expect(page.get_by_text("2 incidents", exact=True)).to_be_visible()

    page.get_by_role("button", name="New incident").click()
    dialog = page.get_by_role("dialog", name="New incident")
    dialog.get_by_label("Title").fill("Payments down in prod")
    dialog.get_by_label("Priority").select_option("P1")
    dialog.get_by_role("button", name="Create incident").click()

    expect(dialog).to_be_hidden()
    notice = page.get_by_role("status").filter(has_text="created: Payments down in prod")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("doesn't match the current search")
    expect(rows_titled(page, "Payments down in prod")).to_have_count(0)
    expect(page.get_by_text("2 incidents", exact=True)).to_be_visible()
    expect(page.locator("#incident-rows").get_by_role("row")).to_have_count(2)
    notice.get_by_role("link", name=re.compile(r"INC-\d+")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Payments down in prod")


def test_a_signed_out_session_sends_the_search_box_to_sign_in(page: Page, sign_in, file_incident) -> None:
    file_incident("Kafka consumer lag", component="msk")
    sign_in("member@example.com")
    other_tab = page.context.new_page()
    other_tab.goto("/")
    other_tab.get_by_role("button", name="Sign out").click()
    expect(other_tab.get_by_role("heading", name="Sign in")).to_be_visible()
    other_tab.close()

    # A pause mid-word sends "ka"; its answer (held here) comes once "kafka" is typed. Signing in
    # returns to what the box said then. (Found as a flaky test: a loaded machine paused typing.)
    search = page.get_by_label("Search", exact=True)
    held = []

    def a_search(url: str) -> bool:
        return "q=" in url

    page.route(a_search, lambda route: held.append(route))
    with page.expect_request(lambda request: "q=ka" in request.url):
        search.fill("ka")  # at once: a pause after "k" would send "k" and hold that instead
    search.press_sequentially("fka", delay=20)
    assert len(held) == 1, "the search went out more than once before its answer"
    page.unroute(a_search)  # lets the held search go on
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Search", exact=True)).to_have_count(0)  # the whole page, not a piece of it
    sign_in("member@example.com", navigate=False)
    expect(page.get_by_label("Search", exact=True)).to_have_value("kafka")  # back where they were
    expect(rows_titled(page, "Kafka consumer lag")).to_have_count(1)


def test_typing_pauses_replace_the_history_entry_instead_of_adding_one_each(page: Page, sign_in, file_incident):
    file_incident("Kafka consumer lag", component="msk")
    sign_in("member@example.com")
    start = page.evaluate("history.length")
    search = page.get_by_label("Search", exact=True)
    for chunk in ("ka", "fk", "a"):  # three pauses, each long enough to search
        search.press_sequentially(chunk, delay=20)
        page.wait_for_timeout(400)
    expect(page).to_have_url(re.compile(r"/\?q=kafka$"))
    expect(rows_titled(page, "Kafka consumer lag")).to_have_count(1)
    assert page.evaluate("history.length") == start + 1  # one entry for the whole run of typing
    page.go_back()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(search).to_have_value("")


def test_back_while_a_search_is_under_way_stays_where_it_went_back_to(page: Page, sign_in, file_incident) -> None:
    """A search still on its way when the person presses Back must not land afterwards: its
    address would replace the one Back went to, over the page Back restored. (Found as a flaky
    test: on a loaded machine the search box read something else than the address it had gone
    back to.)"""
    file_incident("Kafka consumer lag", component="msk")
    file_incident("Disk full on reporting db", component="rds")
    sign_in("member@example.com")
    search = page.get_by_label("Search", exact=True)
    search.fill("disk")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/\?q=disk$"))
    search.fill("kafka")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/\?q=kafka$"))

    held = []

    def the_slow_search(url: str) -> bool:
        return "lag" in url

    page.route(the_slow_search, lambda route: held.append(route))
    with page.expect_request(lambda request: the_slow_search(request.url)):
        search.fill("kafka lag")  # at once: pauses while typing would send (and finish) prefixes
    page.go_back()
    expect(page).to_have_url(re.compile(r"/\?q=disk$"))
    expect(search).to_have_value("disk")
    with page.expect_response(lambda response: the_slow_search(response.url)):
        held[0].continue_()  # the abandoned search's answer arrives now
    page.wait_for_load_state("networkidle")

    expect(page).to_have_url(re.compile(r"/\?q=disk$"))
    expect(search).to_have_value("disk")
    expect(rows_titled(page, "Disk full on reporting db")).to_have_count(1)
    expect(rows_titled(page, "Kafka consumer lag")).to_have_count(0)


def test_a_name_with_a_space_is_searched_in_quotes_and_survives_the_dropdowns(page: Page, sign_in, db, users):
    mine = incidents.create_incident(session=db, actor=users["lead"], title="Kafka consumer lag")
    incidents.assign(session=db, incident_id=mine.id, actor=users["lead"], owner_id=users["member"].id)
    incidents.create_incident(session=db, actor=users["lead"], title="Disk full on db-1")
    db.commit()
    sign_in("lead@example.com")
    search = page.get_by_label("Search", exact=True)
    search.fill('owner:"Mo Member"')
    expect(rows_titled(page, "Disk full on db-1")).to_have_count(0)
    expect(rows_titled(page, "Kafka consumer lag")).to_have_count(1)
    expect(page.get_by_role("search").get_by_label("Owner")).to_have_value("mo member")

    page.get_by_role("search").get_by_label("Status").select_option(label="Open")
    expect(search).to_have_value('status:open owner:"Mo Member"')  # the quoted name kept whole
    expect(rows_titled(page, "Kafka consumer lag")).to_have_count(1)


def test_a_search_without_an_answer_says_the_list_is_from_before(browser, app_url, file_incident) -> None:
    """Found by QA: a search the server failed on (a 500) left the old list looking like its
    answer. A page of its own: htmx reports each failed request on the console, as it should."""
    file_incident("Kafka consumer lag", component="msk")
    file_incident("Disk full on db-1", component="rds")
    context = browser.new_context(base_url=app_url)
    try:
        page = context.new_page()
        sign_in_on(page, "member@example.com")
        search = page.get_by_label("Search", exact=True)

        page.route(re.compile(r"q=kafka"), lambda route: route.abort())
        search.fill("kafka")
        unreachable = page.get_by_role("alert").filter(has_text="The server could not be reached")
        expect(unreachable).to_be_visible()
        expect(rows_titled(page, "Disk full on db-1")).to_have_count(1)  # the old list, said to be old

        page.route(re.compile(r"q=disk"), lambda route: route.fulfill(status=429, body="Too many requests"))
        search.fill("disk")
        expect(page.get_by_role("alert")).to_have_text(
            "The search failed (the server answered 429): the list below is from before it. "
            "Try again, or change the search."
        )

        page.unroute_all()
        search.fill("kafka")
        expect(rows_titled(page, "Kafka consumer lag")).to_have_count(1)
        expect(rows_titled(page, "Disk full on db-1")).to_have_count(0)
        expect(page.get_by_role("alert")).to_be_hidden()
    finally:
        context.close()
