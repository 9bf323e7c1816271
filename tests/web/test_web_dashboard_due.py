"""The dashboard's due-date search: `due:overdue` (or `is:overdue`) lists exactly the incidents
that show the Overdue badge, counted; `sort:due` puts the soonest first and the undated last; a
bad value is named under the box; an empty result says which part excluded everything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from web_helpers import parse, row_keys, sign_in, status_counters, texts

from shared.db import clock_at, utcnow
from shared.incidents import timers

# name -> (status, due date as days from today or None); the past ones are set on the row
# afterwards, as if set while still ahead (the service refuses a due date in the past).
INCIDENTS = {
    "late-resolved": ("resolved", -3),
    "late-open": ("open", -2),
    "late-blocked": ("blocked", -1),
    "late-closed": ("closed", -1),
    "due-today": ("open", 0),
    "undated": ("open", None),
}
OVERDUE = {"late-open", "late-blocked"}


@pytest.fixture
def now():
    """The moment every request of the test runs at: no midnight passes in between."""
    return utcnow()


@pytest.fixture
def seeded(db, make_incident, now) -> dict[str, str]:
    keys = {}
    with clock_at(now):
        today = timers.today()
        for name, (status, days) in INCIDENTS.items():
            due = None if days is None else today + timedelta(days=days)
            incident = make_incident(status, title=f"Incident {name}", owner=None, due_date=due and max(due, today))
            incident.due_date = due
            db.commit()
            keys[name] = incident.key
    return keys


@pytest.fixture
def member_client(client, users):
    sign_in(client, users["member"])
    return client


def _get(client, now, query: str) -> str:
    with clock_at(now):
        response = client.get("/", query_string={"q": query})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["due:overdue", "is:overdue"])
def test_due_overdue_lists_exactly_the_overdue_incidents_and_counts_them(member_client, seeded, now, query):
    html = _get(member_client, now, query)
    assert set(row_keys(html)) == {seeded[name] for name in OVERDUE}
    assert parse(html).find("p", class_="summary").text == "2 incidents"
    counters = status_counters(html)
    assert (counters["Open"], counters["Blocked"], counters["Resolved"]) == (1, 1, 0)
    assert texts(html, "strong", "class", "overdue") == ["Overdue", "Overdue"]  # every row shows the badge
    assert texts(html, "div", "class", "problems") == []
    assert f'value="{query}"' in html  # the box keeps what was typed


def test_the_overdue_badge_rows_outside_the_filter_are_left_out(member_client, seeded, now):
    """The complement: -due:overdue shows the active rest, none with the badge."""
    html = _get(member_client, now, "-due:overdue")
    assert set(row_keys(html)) == {seeded[n] for n in ("late-resolved", "due-today", "undated")}
    assert texts(html, "strong", "class", "overdue") == []


def test_sort_due_lists_the_soonest_first_and_the_undated_last(member_client, seeded, now):
    html = _get(member_client, now, "sort:due")
    order = ["late-resolved", "late-open", "late-blocked", "due-today", "undated"]  # Closed left out
    assert row_keys(html) == [seeded[name] for name in order]
    # The sort control says so too: the box and the controls are one source of truth.
    sort_control = parse(html).find("select", id="f-sort")
    chosen = [option for option in sort_control.find_all("option") if "selected" in option.attrs]
    assert [(option.attrs["value"], option.text) for option in chosen] == [("due", "Due date")]


def test_a_bad_due_value_is_named_under_the_box(member_client, seeded, now):
    html = _get(member_client, now, "due:soon")
    assert "Unknown due date &#39;soon&#39; (use one of: overdue, today, week, none, any)." in html


def test_an_empty_result_names_the_due_part_that_excluded_everything(member_client, seeded, now):
    html = _get(member_client, now, "due:today status:blocked")
    assert "No incidents match." in html
    explained = " ".join(texts(html, "ul", "class", "why-empty"))
    assert "status:blocked excludes every incident the rest of the search finds." in explained
    assert "due:today excludes every incident the rest of the search finds." in explained
