"""Timers on the incident page, due dates and "Overdue", and the insights page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from web_helpers import definitions, parse, sign_in

from shared.incidents import timers
from shared.incidents.models import Incident


def _set(db, incident, **values) -> None:
    db.execute(update(Incident).where(Incident.id == incident.id).values(**values))
    db.commit()


def _due_dates(page: str) -> list[str]:
    """The machine-readable dates shown under "Due" on an incident page."""
    due = next(dd for dt, dd in _terms(parse(page)) if dt.text == "Due")
    return [time.attrs["datetime"] for time in due.find_all("time")]


def _terms(tree):
    for listing in tree.find_all("dl"):
        elements = [child for child in listing.children if not isinstance(child, str)]
        yield from zip(elements[::2], elements[1::2], strict=False)


def _row_text(page: str, key: str) -> str:
    return parse(page).find("tr", id=f"row-{key}").text


def test_the_incident_page_shows_time_to_acknowledge_and_to_resolve(client, db, users, make_incident):
    incident = make_incident("resolved")
    created = timers.as_utc(incident.created_at)
    _set(db, incident, acknowledged_at=created + timedelta(minutes=12), resolved_at=created + timedelta(hours=3))
    waiting = make_incident("open", title="Nobody looked yet")
    sign_in(client, users["member"])

    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    shown = definitions(page)
    assert (shown["Time to acknowledge"], shown["Time to resolve"]) == ("12 min", "3 h")
    shown = definitions(client.get(f"/incidents/{waiting.key}").get_data(as_text=True))
    assert (shown["Time to acknowledge"], shown["Time to resolve"]) == ("Not acknowledged yet", "Not resolved yet")


def test_times_are_time_elements_in_utc(client, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    created = timers.as_utc(incident.created_at)
    created_times = parse(page).find_all("time", datetime=created.isoformat())
    assert created_times, "the creation time is a machine-readable <time>"
    assert f"{created:%Y-%m-%d %H:%M} UTC" in [time.text for time in created_times]


def test_due_date_set_on_the_page_and_overdue_shown_on_page_and_dashboard(client, db, users, make_incident):
    incident = make_incident("in_progress", owner="member")
    sign_in(client, users["member"])
    today = timers.today()
    response = client.post(
        f"/incidents/{incident.key}/due-date", data={"due_date": today.isoformat(), "version": incident.version}
    )
    assert response.status_code == 302
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert today.isoformat() in _due_dates(page)
    assert "Overdue" not in definitions(page)["Due"]

    _set(db, incident, due_date=today - timedelta(days=3))
    assert "Overdue" in definitions(client.get(f"/incidents/{incident.key}").get_data(as_text=True))["Due"]
    assert "Overdue" in _row_text(client.get("/").get_data(as_text=True), incident.key)

    make_incident("resolved", title="Done in time")
    _set(db, incident, status="resolved")
    assert "Overdue" not in _row_text(client.get("/").get_data(as_text=True), incident.key)  # finished work never is


def test_a_due_date_in_the_past_is_refused_beside_the_field(client, users, make_incident):
    incident = make_incident("open", owner="member")
    sign_in(client, users["member"])
    past = (timers.today() - timedelta(days=10)).isoformat()
    response = client.post(f"/incidents/{incident.key}/due-date", data={"due_date": past, "version": incident.version})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    earliest = timers.today() - timedelta(days=1)  # a day of slack for readers west of UTC
    assert parse(page).find(id="due-date-error").text == f"Choose {earliest} or a later day as the due date."
    assert f'value="{past}"' in page  # what was typed is kept


def test_someone_unrelated_cannot_set_a_due_date(client, users, make_incident):
    incident = make_incident("open", owner="member")
    sign_in(client, users["other"])
    form = {"due_date": timers.today().isoformat(), "version": incident.version}
    response = client.post(f"/incidents/{incident.key}/due-date", data=form)
    assert response.status_code == 403


def test_a_new_incident_takes_a_due_date(client, db, users):
    sign_in(client, users["member"])
    due = (timers.today() + timedelta(days=2)).isoformat()
    response = client.post(
        "/incidents/new", data={"title": "Cert expires", "priority": "P2", "environment": "prod", "due_date": due}
    )
    assert response.status_code == 302
    assert f'datetime="{due}"' in client.get(response.headers["Location"]).get_data(as_text=True)


def test_insights_page_charts_and_tables(client, db, users, make_incident):
    incident = make_incident("resolved", priority="P1", component="rds")
    created = timers.as_utc(incident.created_at)
    _set(db, incident, acknowledged_at=created + timedelta(minutes=5), resolved_at=created + timedelta(hours=1))
    make_incident("open", priority="P2", component="alb")
    sign_in(client, users["member"])

    page = client.get("/insights?days=7").get_data(as_text=True)
    tree = parse(page)
    assert tree.find("h1").text == "Insights"
    window = tree.find("select", id="window")
    assert [option.text for option in window.find_all("option") if "selected" in option.attrs] == ["Last 7 days"]
    assert page.count('role="img"') == 3
    assert "P1: 1 filed, MTTA 5 min, MTTR 1 h" in page  # the chart's text description
    rows = [[cell.text for cell in row.find_all() if cell.tag in ("th", "td")] for row in tree.find_all("tr")]
    assert ["rds", "1", "1", "5 min", "1", "1 h"] in rows
    assert "1 incident open now" in page
    assert client.get("/insights?days=9999").status_code == 200  # an odd window falls back to 30 days


def test_the_component_chart_says_it_shows_the_busiest_and_the_table_lists_them_all(client, users, make_incident):
    """Twelve components: the chart draws the ten with most incidents filed, says so, and the
    table lists all twelve (it used to drop two without a word)."""
    for number in range(12):
        for _ in range(2 if number < 10 else 1):
            make_incident("open", component=f"component-{number:02d}")
    sign_in(client, users["member"])

    page = client.get("/insights").get_data(as_text=True)
    section = parse(page).find("section", aria_labelledby="by-component-heading")
    chart_names = [label.text for label in section.find("svg").find_all("text", class_="axis-label")]
    assert chart_names == [f"component-{number:02d}" for number in range(10)]
    assert section.find(id="by-component-note").text == (
        "The chart shows the 10 components with the most incidents filed in this window; the table lists all 12."
    )
    table_names = [row.find("th").text for row in section.find("tbody").find_all("tr")]
    assert table_names == [f"component-{number:02d}" for number in range(12)]


def test_insights_needs_a_sign_in(client):
    response = client.get("/insights")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_past_due_date_on_a_new_incident_is_named_beside_the_field(client, users):
    sign_in(client, users["member"])
    past = (timers.today() - timedelta(days=30)).isoformat()
    response = client.post("/incidents/new", data={"title": "Cert expired", "environment": "prod", "due_date": past})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    earliest = timers.today() - timedelta(days=1)  # a day of slack for readers west of UTC
    assert parse(page).find(id="due_date-error").text == f"Choose {earliest} or a later day as the due date."
    assert f'value="{past}"' in page


def test_a_window_the_page_does_not_have_is_said_above_the_one_it_shows(client, users):
    """Found by QA: `?window=7` (the parameter is `days`) silently showed 30 days, as if it were
    what was asked; so did `?days=14`."""
    sign_in(client, users["lead"])
    for query, said in (
        ("window=7", "This page does not take 'window' (the window is days, e.g. ?days=7). Showing the last 30 days."),
        ("days=14", "There is no '14'-day window: choose 7, 30 or 90. Showing the last 30 days."),
        ("days=7&days=90", "Give days once (this address gives 7, 90): choose 7, 30 or 90. Showing the last 7 days."),
        ("days=7&utm_source=chat", "This page does not take 'utm_source'. Showing the last 7 days."),
        (
            "days=7&env=prod&env=dev",
            "Give env once: several environments go in one, comma-separated (env=prod,dev); counting env=prod. "
            "Showing the last 7 days.",
        ),
        ("tz=UTC&tz=Asia/Tokyo", "Give tz once; reading the days in the first, UTC. Showing the last 30 days."),
    ):
        page = client.get(f"/insights?{query}").get_data(as_text=True)
        notice = parse(page).find(id="window-problems")
        assert notice is not None, query
        assert notice.attrs.get("role") == "status"
        assert " ".join(notice.text.split()) == said
    for fine in ("", "?days=90"):
        assert 'id="window-problems"' not in client.get(f"/insights{fine}").get_data(as_text=True)


def _open_by_day(page: str) -> dict[str, str]:
    section = parse(page).find("section", aria_labelledby="open-heading")
    return {row.find("th").text: row.find("td").text for row in section.find("tbody").find_all("tr")}


def test_insights_counts_the_readers_days(client, db, users, make_incident):
    """Filed a minute after midnight UTC: the evening before in Los Angeles. The page counts the
    days of the zone the address names, else the one the reader's browser keeps (it_tz), and says
    which; it used to count UTC days for everyone."""
    incident = make_incident("open")
    filed = datetime.now(UTC).replace(hour=0, minute=1, second=0, microsecond=0)
    _set(db, incident, created_at=filed)
    utc_day, evening_there = filed.date(), filed.astimezone(ZoneInfo("America/Los_Angeles")).date()
    sign_in(client, users["member"])

    def shown(page: str, day) -> str:
        return _open_by_day(page)[day.isoformat()]

    in_utc = client.get("/insights?days=7").get_data(as_text=True)
    assert "(UTC days)" in in_utc
    assert (shown(in_utc, evening_there), shown(in_utc, utc_day)) == ("0", "1")

    there = client.get("/insights?days=7&tz=America/Los_Angeles").get_data(as_text=True)
    assert "(America/Los_Angeles days)" in there
    assert "Day (America/Los_Angeles)" in [cell.text for cell in parse(there).find_all("th")]
    assert shown(there, evening_there) == "1"
    assert shown(there, evening_there - timedelta(days=1)) == "0"
    assert 'id="window-problems"' not in there  # tz is the page's own parameter
    # The form keeps the zone for the next window chosen.
    assert parse(there).find("input", name="tz").attrs["value"] == "America/Los_Angeles"

    client.set_cookie("it_tz", "America/Los_Angeles")  # what app.js keeps for the top bar's plain link
    remembered = client.get("/insights?days=7").get_data(as_text=True)
    assert "(America/Los_Angeles days)" in remembered
    assert shown(remembered, evening_there) == "1"
    assert "(UTC days)" in client.get("/insights?days=7&tz=UTC").get_data(as_text=True)  # the address wins


def test_an_unknown_zone_is_said_and_the_days_are_utc(client, users):
    sign_in(client, users["member"])
    client.set_cookie("it_tz", "Nowhere/Stale")
    assert "(UTC days)" in client.get("/insights").get_data(as_text=True)  # a stale cookie is quietly UTC

    page = client.get("/insights?tz=Mars/Olympus_Mons").get_data(as_text=True)
    notice = parse(page).find(id="window-problems")
    assert " ".join(notice.text.split()) == (
        "Unknown time zone 'Mars/Olympus_Mons': use a name such as America/Los_Angeles, or UTC. "
        "The days are UTC days. Showing the last 30 days."
    )
    assert "(UTC days)" in page


def test_insights_for_one_environment(client, users, make_incident):
    """On-call teams read MTTR for production, not for every dev incident: an Environment choice
    beside the window, the page saying which it counts."""
    make_incident("open", priority="P1", environment="prod")
    make_incident("open", priority="P1", environment="dev")
    sign_in(client, users["member"])

    page = client.get("/insights?days=7&env=prod").get_data(as_text=True)

    tree = parse(page)
    environment = tree.find("select", id="environment")
    assert [option.text for option in environment.find_all("option") if "selected" in option.attrs] == ["prod"]
    assert "in prod. MTTA" in " ".join(page.split())
    assert "1 incident in prod open now" in page
    rows = [[cell.text for cell in row.find_all() if cell.tag in ("th", "td")] for row in tree.find_all("tr")]
    assert ["P1", "1", "0", "—", "0", "—"] in rows
    assert "2 incidents open now" in client.get("/insights?days=7").get_data(as_text=True)
    several = parse(client.get("/insights?env=prod,DEV").get_data(as_text=True)).find("select", id="environment")
    options = several.find_all("option")
    chosen = [(option.attrs["value"], option.text) for option in options if "selected" in option.attrs]
    assert chosen == [("prod,dev", "prod, dev")]  # shown as chosen, so Show keeps them

    refused = client.get("/insights?env=production").get_data(as_text=True)
    notice = parse(refused).find(id="window-problems")
    assert " ".join(notice.text.split()) == (
        "There is no environment 'production': choose prod, staging, dev, preview or shared. Showing the last 30 days."
    )
