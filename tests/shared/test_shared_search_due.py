"""The due-date qualifier and sort: `due:overdue` (the Overdue badge's rule), `due:today`,
`due:week`, `due:none`, `due:any`, their negations, `is:overdue`, and `sort:due` with cursor pages
that cross from the dated rows into the undated ones, on both backends.

The clock is fixed (shared.db.clock_at): the day boundaries are UTC midnight, one second apart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from seeding import built_once
from sqlalchemy import select

from shared.db import clock_at
from shared.errors import ValidationFailed
from shared.incidents import listing, search, timers
from shared.incidents import service as incidents
from shared.incidents.models import Incident
from shared.incidents.search import Filters, parse_query

DAY = date(2026, 12, 10)
EVENING = datetime(2026, 12, 10, 23, 59, 59, tzinfo=UTC)  # the last second of DAY
MIDNIGHT = datetime(2026, 12, 11, 0, 0, 0, tzinfo=UTC)  # the first second of the day after
FILED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # when the incidents were filed and worked

# name -> (status, due date as days from DAY or None, priority, minutes after FILED it was filed)
INCIDENTS = {
    "open-late": ("open", -1, "P2", 0),
    "working-late": ("in_progress", -10, "P1", 1),
    "blocked-late": ("blocked", -1, "P3", 2),
    "resolved-late": ("resolved", -1, "P2", 0),  # same day, priority and moment as open-late
    "closed-late": ("closed", -3, "P1", 3),
    "open-today": ("open", 0, "P3", 4),
    "open-today-p1": ("open", 0, "P1", 5),
    "open-week": ("open", 7, "P2", 6),
    "open-week-twin": ("open", 7, "P2", 6),  # a tie on everything but the id
    "open-later": ("open", 8, "P4", 7),
    "undated-p1": ("open", None, "P1", 8),
    "undated-p3": ("in_progress", None, "P3", 9),
    "undated-p3-twin": ("open", None, "P3", 9),
    "closed-undated": ("closed", None, "P2", 10),
}
LATE = {"open-late", "working-late", "blocked-late"}
DATED = {name for name, (_s, due, _p, _m) in INCIDENTS.items() if due is not None}
UNDATED = set(INCIDENTS) - DATED
WALKS = {
    "open": [],
    "in_progress": [("in_progress", None)],
    "blocked": [("in_progress", None), ("blocked", "Waiting on AWS support")],
    "resolved": [("in_progress", None), ("resolved", "Restarted the writer")],
    "closed": [("in_progress", None), ("resolved", "Restarted the writer"), ("closed", None)],
}


@pytest.fixture
def seeded(db, users, database_url) -> dict[str, str]:
    """The incidents above, filed and worked through the services on FILED (when every due date
    still lay ahead); returns name -> key."""

    def build() -> dict[str, str]:
        keys = {}
        for name, (status, days, priority, minutes) in INCIDENTS.items():
            with clock_at(FILED + timedelta(minutes=minutes)):
                incident = incidents.create_incident(
                    session=db,
                    actor=users["lead"],
                    title=f"Incident {name}",
                    priority=priority,
                    due_date=None if days is None else DAY + timedelta(days=days),
                )
                for target, reason in WALKS[status]:
                    incidents.transition(
                        session=db, incident_id=incident.id, actor=users["lead"], to=target, reason=reason
                    )
            db.commit()
            keys[name] = incident.key
        return keys

    return built_once(db, database_url, "test_shared_search_due.seeded", build)


def found(db, query: str, *, at: datetime, sort: str = "priority", zone=UTC) -> list[str]:
    with clock_at(at):
        filters = replace(parse_query(query), days_in=zone)
        page = search.search(session=db, filters=filters, me_id=None, sort=sort, page_size=50)
    return [incident.key for incident in page.incidents]


def named(seeded, names) -> set[str]:
    return {seeded[name] for name in names}


# --- what each value finds, either side of midnight UTC ------------------------------------


@pytest.mark.parametrize(
    ("query", "at", "expected"),
    [
        ("due:overdue", EVENING, LATE),
        ("is:overdue", EVENING, LATE),
        ("IS:Overdue", EVENING, LATE),
        ("due:overdue", MIDNIGHT, LATE | {"open-today", "open-today-p1"}),  # due yesterday now
        ("due:today", EVENING, {"open-today", "open-today-p1"}),
        ("due:today", MIDNIGHT, set()),
        ("due:week", EVENING, {"open-today", "open-today-p1", "open-week", "open-week-twin"}),
        ("due:week", MIDNIGHT, {"open-week", "open-week-twin", "open-later"}),
        ("due:none", EVENING, UNDATED),
        ("due:any", EVENING, DATED),
        ("-due:none", EVENING, DATED),
        ("-due:any", EVENING, UNDATED),
        ("-due:overdue", EVENING, set(INCIDENTS) - LATE),  # the undated ones included
        ("-is:overdue", EVENING, set(INCIDENTS) - LATE),
        ("-due:today", EVENING, set(INCIDENTS) - {"open-today", "open-today-p1"}),
        ("due:today,overdue", EVENING, LATE | {"open-today", "open-today-p1"}),  # either
        ("status:open due:overdue", EVENING, {"open-late"}),
        ("is:open is:overdue", EVENING, {"open-late"}),
        ("is:blocked", EVENING, {"blocked-late"}),  # is: is still status: for statuses
        ("due:overdue priority:p1", EVENING, {"working-late"}),
        ("-due:none -status:closed due:week", MIDNIGHT, {"open-week", "open-week-twin", "open-later"}),
    ],
)
def test_due_values_find_what_they_say_in_utc_days(db, seeded, query, at, expected):
    assert sorted(found(db, query, at=at)) == sorted(named(seeded, expected))


@pytest.mark.parametrize(
    "at",
    [FILED, EVENING, MIDNIGHT, datetime(2026, 12, 9, 23, 59, 59, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)],
)
def test_due_overdue_finds_exactly_the_incidents_that_show_the_overdue_badge(db, seeded, at):
    with clock_at(at):
        badged = {incident.key for incident in db.scalars(select(Incident)) if timers.is_overdue(incident)}
    assert set(found(db, "due:overdue", at=at)) == badged
    assert set(found(db, "-due:overdue", at=at)) == set(seeded.values()) - badged


@pytest.mark.parametrize(
    ("zone", "at", "query", "expected"),
    [
        # Midnight UTC is still the afternoon of DAY in Los Angeles: due today, not overdue.
        ("America/Los_Angeles", MIDNIGHT, "due:overdue", LATE),
        ("America/Los_Angeles", MIDNIGHT, "due:today", {"open-today", "open-today-p1"}),
        # The last second of DAY in UTC is the next morning in Tokyo: DAY is over there.
        ("Asia/Tokyo", EVENING, "due:overdue", LATE | {"open-today", "open-today-p1"}),
        ("Asia/Tokyo", EVENING, "due:today", set()),
        ("Asia/Tokyo", EVENING, "due:week", {"open-week", "open-week-twin", "open-later"}),
    ],
)
def test_due_values_count_the_readers_days(db, seeded, zone, at, query, expected):
    assert sorted(found(db, query, at=at, zone=ZoneInfo(zone))) == sorted(named(seeded, expected))


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata"])
@pytest.mark.parametrize("at", [EVENING, MIDNIGHT, datetime(2026, 12, 10, 12, 0, tzinfo=UTC)])
def test_due_overdue_in_a_zone_is_the_badge_that_readers_see(db, seeded, zone, at):
    with clock_at(at):
        today = timers.today(ZoneInfo(zone))
        badged = {incident.key for incident in db.scalars(select(Incident)) if timers.is_overdue(incident, on=today)}
    assert set(found(db, "due:overdue", at=at, zone=ZoneInfo(zone))) == badged


def test_the_counters_count_only_the_overdue(db, seeded):
    with clock_at(EVENING):
        counts = search.count_by_status(session=db, filters=parse_query("due:overdue"), me_id=None)
        page = search.search(session=db, filters=parse_query("due:overdue"), me_id=None)
    assert counts == {"open": 1, "in_progress": 1, "blocked": 1, "resolved": 0, "closed": 0}
    assert page.total_label == "3"


# --- the search box: values, messages, canonical text, "why nothing matched" ---------------


@pytest.mark.parametrize(
    ("query", "due", "not_due", "statuses"),
    [
        ("due:overdue", ("overdue",), (), ()),
        ("is:overdue", ("overdue",), (), ()),
        ("-is:overdue", (), ("overdue",), ()),
        ("due:Today,WEEK due:today", ("today", "week"), (), ()),
        ("-due:none", (), ("none",), ()),
        ("due:any -due:overdue", ("any",), ("overdue",), ()),
        ("is:open is:overdue", ("overdue",), (), ("open",)),
        ("is:open", (), (), ("open",)),
    ],
)
def test_the_due_qualifier_and_is_overdue_are_read(query, due, not_due, statuses):
    parsed = parse_query(query)
    assert (parsed.due, parsed.not_due, parsed.statuses) == (due, not_due, statuses)
    assert parsed.problems == ()
    assert parsed.text == ""


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("due:soon", "Unknown due date 'soon' (use one of: overdue, today, week, none, any)."),
        ("-due:later", "Unknown due date 'later' (use one of: overdue, today, week, none, any)."),
        ("due:", "'due:' needs a value, e.g. due:overdue."),
        (
            "is:overdeu",
            "Unknown status 'overdeu' "
            "(use one of: open, in_progress, blocked, resolved, closed; or overdue or watching).",
        ),
        (
            "is:open,overdue",
            "'is:open,overdue' mixes overdue with statuses: write them apart "
            "(is:open is:overdue finds the open incidents that are overdue).",
        ),
        ("dues:today", "Unknown qualifier 'dues:' (did you mean due:?): 'dues:today' was searched as words."),
        ("sort:soon", "Unknown sort 'soon' (use priority, recent, oldest, due)."),
    ],
)
def test_a_bad_due_value_is_named_with_the_ones_allowed(query, problem):
    assert parse_query(query).problems == (problem,)


@pytest.mark.parametrize(
    ("query", "sort", "problems"),
    [
        ("sort:recent sort:due", "due", ("Give sort: once: sorting by due (the last one given), not recent.",)),
        ("sort:due sort:due", "due", ()),  # the same twice is one order
        ("sort:due sort:soon", "due", ("Unknown sort 'soon' (use priority, recent, oldest, due).",)),
    ],
)
def test_two_sorts_say_which_one_is_used(query, sort, problems):
    """The last one was used in silence (found in QA)."""
    filters = parse_query(query)
    assert (filters.sort, filters.problems) == (sort, problems)


def test_sort_due_is_read_and_a_status_typo_still_names_only_statuses():
    assert parse_query("sort:due").sort == "due"
    assert parse_query("status:overdue").problems == (
        "Unknown status 'overdue' (use one of: open, in_progress, blocked, resolved, closed).",
    )


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("is:overdue", "due:overdue"),
        ("disk -due:none status:open", "status:open -due:none disk"),
        ("due:week,today -is:overdue owner:me sort:due", "due:week,today -due:overdue owner:me sort:due"),
    ],
)
def test_the_due_qualifier_has_one_canonical_text(query, canonical):
    assert search.canonical_query(parse_query(query)) == canonical
    assert search.canonical_query(parse_query(canonical)) == canonical


def test_the_active_default_still_applies_to_a_due_search():
    scoped = search.active_by_default(parse_query("due:overdue"))
    assert scoped.not_statuses == ("closed",)
    assert scoped.due == ("overdue",)


def test_why_nothing_matched_names_the_due_qualifier(db, users, seeded):
    with clock_at(MIDNIGHT):
        alone = search.explain_no_match(session=db, filters=parse_query("due:today"), me_id=None)
        together = search.explain_no_match(
            session=db, filters=parse_query("due:week status:blocked"), me_id=users["member"].id
        )
    assert alone == ["Nothing matches due:today on its own."]
    assert together == [
        "status:blocked excludes every incident the rest of the search finds.",
        "due:week excludes every incident the rest of the search finds.",
    ]


# --- sort:due, and cursor pages across the undated rows --------------------------------------


def _due_order_key(incident: Incident):
    """sort:due as the README states it: soonest due first, undated last, then priority, the
    latest change, the highest id."""
    due = incident.due_date
    return (due is None, due or date.min, incident.priority, -incident.updated_at.timestamp(), -incident.id)


def test_sort_due_puts_the_soonest_first_and_the_undated_last(db, seeded):
    keys = found(db, "", at=EVENING, sort="due")
    by_key = {incident.key: incident for incident in db.scalars(select(Incident))}
    assert keys == [i.key for i in sorted(by_key.values(), key=_due_order_key)]
    assert keys[0] == seeded["working-late"]
    assert set(keys[-len(UNDATED) :]) == named(seeded, UNDATED)
    assert keys[-len(UNDATED)] == seeded["undated-p1"]  # the undated ones in priority order
    # Ties on due date, priority and time: the higher id first, as the priority sort does.
    twins = [k for k in keys if k in named(seeded, {"open-week", "open-week-twin"})]
    assert twins == [seeded["open-week-twin"], seeded["open-week"]]
    # The dashboard's walk (free text, PostgreSQL) pages in the same order.
    assert found(db, "incident", at=EVENING, sort="due") == keys


def _cursor_pages(db, query: str, limit: int, between=None) -> list[str]:
    keys: list[str] = []
    cursor = None
    while True:
        page = listing.page_after(
            session=db, filters=parse_query(query), me_id=None, sort="due", cursor=cursor, limit=limit
        )
        keys += [incident.key for incident in page.incidents]
        if page.next_cursor is None:
            return keys
        cursor = page.next_cursor
        if between:
            between()


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5])
def test_cursor_pages_in_due_order_cross_into_the_undated_rows_without_a_skip_or_a_repeat(db, seeded, limit):
    rows = sorted(db.scalars(select(Incident)), key=_due_order_key)
    everything = [incident.key for incident in rows]
    assert _cursor_pages(db, "", limit) == everything
    assert found(db, "", at=EVENING, sort="due") == everything  # the API's order is the dashboard's
    active = [incident.key for incident in rows if incident.status != "closed"]
    assert _cursor_pages(db, "-status:closed", limit) == active


def test_cursor_pages_in_due_order_hold_while_incidents_are_filed_between_them(db, users, seeded):
    """New rows land before and after the cursor, dated and undated, at every priority: each
    incident that was there comes exactly once, in order."""
    originals = [incident.key for incident in sorted(db.scalars(select(Incident)), key=_due_order_key)]
    made = iter(range(100))

    def file_more():
        n = next(made)
        with clock_at(FILED + timedelta(hours=1, minutes=n)):
            for days in (None, -10, 0, 30):
                incidents.create_incident(
                    session=db,
                    actor=users["lead"],
                    title=f"Filed meanwhile {n}",
                    priority="P1" if n % 2 else "P4",
                    due_date=None if days is None else DAY + timedelta(days=days),
                )
        db.commit()

    seen = _cursor_pages(db, "", 2, between=file_more)
    assert [key for key in seen if key in originals] == originals


def test_a_due_cursor_carries_its_due_date_and_belongs_to_its_sort(db, seeded):
    first = listing.page_after(session=db, filters=Filters(), me_id=None, sort="due", limit=1)
    assert first.next_cursor is not None
    with pytest.raises(ValidationFailed) as refused:
        listing.page_after(session=db, filters=Filters(), me_id=None, sort="priority", cursor=first.next_cursor)
    assert "another sort" in refused.value.field_errors["cursor"]
    by_priority = listing.page_after(session=db, filters=Filters(), me_id=None, sort="priority", limit=1)
    assert by_priority.next_cursor is not None
    with pytest.raises(ValidationFailed):
        listing.page_after(session=db, filters=Filters(), me_id=None, sort="due", cursor=by_priority.next_cursor)
