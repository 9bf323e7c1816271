"""Query plans at scale: every statement the dashboard and the insights page run is served by
an index.

A database of a few hundred thousand incidents (seeded inside PostgreSQL in seconds by the same
code as `make bench`) is big enough for the planner to choose what it will choose at a million:
if a change makes any dashboard query read the whole table (a Seq Scan on incidents) or sort
it, the plan shows it and this fails. Timings are not asserted (the machine is shared); plans are.

Insights too: filed over three years, a 90-day window is ~8 % of the rows, and the planner must
still choose the timestamp indexes. (They had a 100k-row database of their own, seeded on another
test process: ~20 s of PostgreSQL's CPU per run for the same plans.)
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from explain import PLAN_INCIDENTS, plans_of, unbounded_seq_scans
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.db import utcnow
from shared.incidents import follow_ups, insights, search, timers
from shared.incidents.models import Watcher
from shared.incidents.search import parse_query

pytestmark = pytest.mark.postgres_only

ROWS = PLAN_INCIDENTS  # in `big_engine` (tests/shared/conftest.py), shared with two more files


def _plans(engine, work) -> list[str]:
    return plans_of(engine, work, mentioning="incidents")


DASHBOARD_QUERIES = [
    ("", "priority"),
    ("-status:closed", "priority"),  # the dashboard's default view: the active incidents
    ("-status:closed", "recent"),
    ("-status:closed -env:dev owner:engineer07", "priority"),
    ("", "recent"),
    ("", "oldest"),
    ("status:open", "priority"),
    ("status:blocked", "priority"),
    ("status:open,in_progress", "recent"),
    ("priority:p1", "priority"),
    ("status:open priority:p1", "priority"),
    ("owner:me", "priority"),
    ("owner:none", "priority"),
    ("owner:engineer07", "priority"),
    ("component:rds-3", "priority"),
    ("env:staging", "priority"),
    ("env:preview component:kafka status:open", "recent"),
    ("INC-4242", "priority"),
    ("due:overdue", "priority"),
    ("due:week", "priority"),
    ("due:today", "priority"),
    ("-due:none", "priority"),
    ("-status:closed due:overdue", "due"),
    ("-status:closed sort:due", "due"),
    ("-status:closed", "due"),  # the default view, sorted by due date
    ("", "due"),  # the API's default (every status), sorted by due date
    # The shift handover: what changed, what I filed, what I watch.
    ("updated:12h", "recent"),
    ("-status:closed updated:12h", "recent"),
    ("updated:12h", "priority"),
    ("updated:30m", "recent"),
    ("updated:7d", "recent"),
    ("updated:today", "priority"),
    ("created:2w", "priority"),
    ("created:yesterday", "recent"),
    ("reporter:me", "priority"),
    ("reporter:engineer07", "recent"),
    ("-status:closed reporter:me", "priority"),
    ("is:watching", "priority"),
    ("-status:closed is:watching", "recent"),
    ("-is:watching status:blocked", "priority"),
    ("is:watching updated:12h", "recent"),
]
TEXT_QUERIES = [
    ("disk full", "walk"),  # broad phrases: a bounded walk in sort order
    ("status:open priority:p1 disk full", "walk"),
    ("certificate expired", "walk"),
    ("kerberos", "full text"),  # a rare word: the full-text index
    ("certficate", "typo"),
    ("-status:closed title:certificate expired", "walk"),
]


@pytest.mark.parametrize(
    ("query", "sort"), DASHBOARD_QUERIES, ids=[f"{q or 'default'}|{s}" for q, s in DASHBOARD_QUERIES]
)
def test_every_dashboard_query_is_index_served(big_engine, query, sort):
    with Session(big_engine) as session:
        me = session.scalar(select(User.id).where(User.email == "member@example.com"))
        filters = parse_query(query)
        assert filters.problems == ()  # each is read as the qualifiers it names, not as words

        def dashboard():
            resolved, counts = search.with_typo_fallback(session=session, filters=filters, me_id=me)
            search.search(session=session, filters=resolved, me_id=me, sort=sort, counts=counts)
            search.distinct_components(session=session)

        plans = _plans(big_engine, dashboard)
    for plan in plans:
        assert "Seq Scan on incidents" not in plan, plan
        assert "Seq Scan on incident_watchers" not in plan, plan  # `is:watching`: one person's rows
        assert "Index" in plan, plan


def _ticketed_incident(engine) -> tuple[str, str]:
    """A change ticket that one seeded comment names (CHG-<100000 + id>), and its incident's key."""
    with engine.connect() as connection:
        incident_id = connection.scalar(
            text(
                "SELECT incident_id FROM incident_comments WHERE body LIKE '%Change ticket CHG-%'"
                " ORDER BY incident_id DESC LIMIT 1"
            )
        )
    return f"CHG-{100000 + incident_id}", f"INC-{incident_id}"


def test_your_follow_ups_read_one_owners_open_range_of_their_index(big_engine):
    """The dashboard's "Your follow-ups" (and GET /api/v1/me/follow-ups): the open ones of the
    person with the most, soonest due first, from the partial index of migration 0019."""
    with Session(big_engine) as session:
        seeded = session.scalar(text("SELECT count(*) FROM incident_follow_ups"))
        assert 0.03 * ROWS < seeded < 0.07 * ROWS  # ~5 % of the incidents have one
        busiest, open_count = session.execute(
            text(
                "SELECT owner_id, count(*) FROM incident_follow_ups WHERE done_at IS NULL"
                " GROUP BY owner_id ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
        assert open_count > follow_ups.MINE_LIMIT  # more than the list shows: its order matters
        owner = session.get(User, busiest)
        assert owner is not None
        listed: list = []
        plans = plans_of(
            big_engine,
            lambda: listed.extend(follow_ups.mine(session=session, actor=owner, limit=follow_ups.MINE_LIMIT + 1)),
            mentioning="incident",
        )
    assert len(listed) == follow_ups.MINE_LIMIT + 1
    dates = [mine.follow_up.due_date for mine in listed]
    assert [d for d in dates if d is not None] == sorted(d for d in dates if d is not None)
    assert "ix_incident_follow_ups_open_by_owner" in plans[0], plans[0]
    for plan in plans:
        assert "Seq Scan on incident_follow_ups" not in plan, plan
        assert "Seq Scan on incidents" not in plan, plan


def test_the_seeded_team_discusses_a_fair_share_of_its_incidents(big_engine):
    with big_engine.connect() as connection:
        commented = connection.scalar(text("SELECT count(DISTINCT incident_id) FROM incident_comments"))
    assert 0.15 * ROWS < commented < 0.25 * ROWS


# Words of the discussion (comments, block reasons, resolution summaries), on the seeded team's
# data: the number of incidents on the first page, and whether the counters stop at the cap.
DISCUSSION_QUERIES = [
    ("postmortem", 50, True),  # only in comments, ~5 % of the incidents: the bounded walk
    ("fix", 50, True),  # everywhere: resolution summaries, comments ("the fix")
    ("vendor", 50, True),  # block reasons and comments
    ("status:open postmortem", 50, False),  # with a filter: fewer than the cap, counted exactly
    ("kerberos keytab", 1, False),  # a title word and a comment word: the indexes, AND-ed
    ("ticket", 1, False),  # a change ticket named in one comment only: the comments' index
]


@pytest.mark.parametrize(("query", "shown", "capped"), DISCUSSION_QUERIES, ids=[q for q, *_ in DISCUSSION_QUERIES])
def test_discussion_words_are_found_without_reading_either_table(big_engine, query, shown, capped):
    """Comments double the documents a word may be in; no plan may read all of them or all the
    incidents for it, and the counters stay capped."""
    ticket, ticketed = _ticketed_incident(big_engine)
    query = query.replace("ticket", ticket)
    with Session(big_engine) as session:
        filters = parse_query(query)

        def dashboard():
            resolved, counts = search.with_typo_fallback(session=session, filters=filters, me_id=None)
            found.append((counts, search.search(session=session, filters=resolved, me_id=None, counts=counts)))

        found: list = []
        plans = _plans(big_engine, dashboard)
    (counts, page), *_ = found
    assert len(page.incidents) == shown
    assert sum(counts.values()) <= search.COUNT_CAP + 1
    assert (page.total_label == "1,000+") == capped, page.total_label
    if query == ticket:
        assert [incident.key for incident in page.incidents] == [ticketed]
        assert any("ix_incident_comments_search_vector" in plan for plan in plans), plans
    if query == "kerberos keytab":
        assert page.incidents[0].title == "Kerberos tickets expire early"
        assert any("ix_incidents_search_vector" in plan for plan in plans), plans
    for plan in plans:
        assert not unbounded_seq_scans(plan), plan
        assert "Seq Scan on incident_comments" not in plan, plan


@pytest.mark.parametrize(("query", "index"), TEXT_QUERIES, ids=[q for q, _ in TEXT_QUERIES])
def test_free_text_uses_its_index_and_never_reads_the_whole_table(big_engine, query, index):
    """Free text never reads the whole table: broad phrases walk a bounded number of rows in
    order, rare words use the full-text index, typos the trigram predicate under a LIMIT."""
    with Session(big_engine) as session:
        filters = parse_query(query)

        def dashboard():
            resolved, counts = search.with_typo_fallback(session=session, filters=filters, me_id=None)
            page = search.search(session=session, filters=resolved, me_id=None, counts=counts)
            found.extend(page.incidents)

        found: list = []
        plans = _plans(big_engine, dashboard)
    if index == "full text":
        assert any("ix_incidents_search_vector" in plan for plan in plans), plans
        assert len(found) == 3
    else:
        assert len(found) == 50
    # A typo of a common word matches densely: the planner may rightly walk the sort index
    # and stop at the first page / the cap instead of the trigram index. Bounded either way.
    for plan in plans:
        assert not unbounded_seq_scans(plan), plan


@pytest.mark.parametrize("sort", ["priority", "recent", "oldest", "due"])
def test_unfiltered_pages_come_in_index_order_without_sorting_the_table(big_engine, sort):
    """The default view and the recency sorts read ~50 index entries: no Sort node at all."""
    with Session(big_engine) as session:
        plans = _plans(
            big_engine,
            lambda: search.search(session=session, filters=parse_query(""), me_id=None, sort=sort, counts={}),
        )
    page_plan = plans[-1]
    assert "Sort" not in page_plan.split("\n")[0:3], page_plan
    assert "Sort Key" not in page_plan, page_plan
    assert "Index Scan" in page_plan, page_plan


def test_counts_stop_at_the_cap_and_say_so(big_engine):
    with Session(big_engine) as session:
        counts = search.count_by_status(session=session, filters=parse_query(""), me_id=None)
        closed = session.scalar(text("SELECT count(*) FROM incidents WHERE status = 'closed'"))
        blocked = session.scalar(text("SELECT count(*) FROM incidents WHERE status = 'blocked'"))
    assert closed > search.COUNT_CAP
    assert counts["closed"] == search.COUNT_CAP + 1
    assert search.count_label(counts["closed"]) == "1,000+"
    # Below the cap a count is exact: a small filter shows its real number.
    with Session(big_engine) as session:
        few = search.count_by_status(session=session, filters=parse_query("component:waf-4 env:shared"), me_id=None)
        exact = dict(
            session.execute(
                text(
                    "SELECT status, count(*) FROM incidents WHERE component = 'waf-4' AND environment = 'shared'"
                    " GROUP BY status"
                )
            ).all()
        )
    assert all(few[status] == exact.get(status, 0) for status in few), (few, exact)
    assert blocked > 0


def test_the_live_dashboards_marker_reads_two_index_ends(big_engine):
    """Every open dashboard asks for it every few seconds: it must not read the table."""
    with Session(big_engine) as session:
        plans = _plans(big_engine, lambda: search.latest_change(session=session))
    assert len(plans) == 1
    assert "Seq Scan" not in plans[0], plans[0]
    assert "Index Only Scan" in plans[0], plans[0]


def _in_index_order_or_a_window_sorted(plan: str) -> bool:
    """The page is read in ix_incidents_activity_sort's order (no Sort), or, when the planner
    expects the last-activity window to hold about a page or less (`-status:closed updated:12h`:
    ~50 estimated matches among 200k, either side of the LIMIT depending on ANALYZE's random
    sample), the window's range of that index is read and those few rows sorted. Either way no
    more than the window is read: a Sort over anything else (the whole table) is refused."""
    if "Sort Key" not in plan:
        return True
    return "Bitmap Index Scan on ix_incidents_activity_sort" in plan and "Index Cond: (activity_at >=" in plan


@pytest.mark.parametrize(
    ("query", "sort"),
    [("", "recent"), ("", "oldest"), ("updated:12h", "recent"), ("-status:closed updated:12h", "recent")],
)
def test_the_recency_sorts_and_updated_read_the_last_activity_index(big_engine, query, sort):
    """`sort:recent`/`sort:oldest` and `updated:` are the last activity (comments, follow-ups and
    files move it): the page is an Index Scan of ix_incidents_activity_sort in its order (no Sort),
    and no plan reads the table."""
    with Session(big_engine) as session:
        filters = parse_query(query)

        def dashboard():
            counts = search.count_by_status(session=session, filters=filters, me_id=None)
            found.append(search.search(session=session, filters=filters, me_id=None, sort=sort, counts=counts))

        found: list = []
        plans = _plans(big_engine, dashboard)
    page_plan = plans[-1]
    assert "Index Scan" in page_plan, page_plan
    assert "ix_incidents_activity_sort" in page_plan, page_plan
    assert _in_index_order_or_a_window_sorted(page_plan), page_plan
    for plan in plans:
        assert "Seq Scan on incidents" not in plan, plan
    shown = [incident.activity_at for incident in found[0].incidents]
    assert len(shown) == 50
    assert shown == sorted(shown, reverse=sort == "recent")


def test_the_live_dashboards_marker_reads_the_last_activity_index(big_engine):
    """A comment moves activity_at and not updated_at: the marker reads the newest activity_at, and
    still only the end of an index."""
    with Session(big_engine) as session:
        plans = _plans(big_engine, lambda: search.latest_change(session=session))
    assert "ix_incidents_activity_sort" in plans[0], plans[0]


def test_components_come_from_the_index_not_the_table(big_engine):
    with Session(big_engine) as session:
        components = search.distinct_components(session=session)
    assert len(components) == 200


def test_a_broad_search_never_collects_every_match(big_engine):
    """'certificate expired' matches ~1 in 10: the page and the counters come from a bounded walk
    in order (the counters say "N+"), not from the full-text index's list of every match."""
    with Session(big_engine) as session:
        filters = parse_query("certificate expired")

        def dashboard():
            counts = search.count_by_status(session=session, filters=filters, me_id=None)
            found.append((counts, search.search(session=session, filters=filters, me_id=None, counts=counts)))

        found: list = []
        plans = _plans(big_engine, dashboard)
    (counts, page), *_ = found
    assert not any("ix_incidents_search_vector" in plan for plan in plans), plans
    assert counts.at_least
    assert sum(counts.values()) == search.COUNT_CAP + 1
    assert search.count_label(counts["closed"], counts.at_least).endswith("+")
    assert page.total_label == "1,000+"
    assert len(page.incidents) == 50
    assert page.has_next
    assert all("certificate" in incident.title.lower() for incident in page.incidents)
    priorities = [incident.priority for incident in page.incidents]
    assert priorities == sorted(priorities)


@pytest.mark.parametrize(
    ("query", "sort", "page"),
    [
        ("certificate expired", "priority", 1),
        ("certificate expired", "recent", 3),
        ("status:open priority:p1 disk full", "priority", 1),
        ("env:shared component:waf-4 disk", "oldest", 1),  # few candidates: the walk sees them all
        ("postmortem", "priority", 1),  # a word of the comments: probed per row, or from their index
        ("fix restarted", "recent", 2),  # resolution summaries and comments, split
    ],
)
def test_the_walk_finds_the_same_page_as_the_full_text_index(big_engine, monkeypatch, query, sort, page):
    with Session(big_engine) as session:
        filters = parse_query(query)

        def keys() -> list[str]:
            result = search.search(session=session, filters=filters, me_id=None, sort=sort, page=page, counts={})
            return [incident.key for incident in result.incidents]

        walked = keys()
        if query in ("postmortem", "fix restarted"):
            assert walked  # words of the discussion: a page to compare
        monkeypatch.setattr(search, "_walks", lambda *_: False)
        assert walked == keys()


@pytest.mark.parametrize(
    ("days", "environments"), [*((days, ()) for days in insights.WINDOWS), (90, ("prod",)), (30, ("dev", "staging"))]
)
def test_every_insights_query_is_an_index_range(big_engine, days, environments):
    results = []

    def compute() -> None:
        with Session(big_engine) as session:
            results.append(insights.compute(session=session, days=days, environments=environments))

    plans = plans_of(big_engine, compute, mentioning="")  # every statement it sends

    result = results[0]
    assert sum(t.filed for t in result.by_priority) > 0
    assert any(t.mtta for t in result.by_priority)
    assert any(t.mttr for t in result.by_priority)
    assert len(plans) == 6
    for plan in plans:
        assert "Seq Scan on incidents" not in plan, plan
        assert "ix_incidents_" in plan, plan


@pytest.mark.parametrize(
    ("query", "sort", "index"),
    [
        ("due:overdue", "priority", "ix_incidents_"),
        ("due:week", "priority", "ix_incidents_due_sort"),
        ("due:today", "priority", "ix_incidents_due_sort"),
        ("-due:none", "priority", "ix_incidents_"),
        ("-status:closed", "due", "ix_incidents_active_due_sort"),
        ("", "due", "ix_incidents_due_sort"),
    ],
)
def test_due_queries_are_planned_on_real_due_dates(big_engine, query, sort, index):
    """The seeded team sets due dates (weeks overdue to weeks ahead): each `due:` view shows a full
    page of what it says, from a due-date index, and never sorts the whole table to do it."""
    today = timers.today()
    with Session(big_engine) as session:
        filters = parse_query(query)

        def dashboard():
            counts = search.count_by_status(session=session, filters=filters, me_id=None)
            found.append(search.search(session=session, filters=filters, me_id=None, sort=sort, counts=counts))

        found: list = []
        plans = _plans(big_engine, dashboard)
    page = found[0]
    assert len(page.incidents) == 50
    assert page.total_label == "1,000+" or query == "due:today"
    dues = [incident.due_date for incident in page.incidents]
    if query == "due:overdue":
        assert all(due is not None and due < today for due in dues), dues
        assert {incident.status for incident in page.incidents} <= timers.ACTIVE
    elif query == "due:week":
        assert all(due is not None and today <= due <= today + timedelta(days=search.WEEK_DAYS) for due in dues), dues
    elif query == "due:today":
        assert dues == [today] * 50
    elif query == "-due:none":
        assert None not in dues
    else:  # sorted by due date: the soonest first (weeks overdue, for the active ones)
        assert None not in dues
        assert dues == sorted(dues)
        assert dues[0] < today
    assert any(index in plan for plan in plans), plans
    for plan in plans:
        assert "Seq Scan on incidents" not in plan, plan
    if sort == "due":
        assert "Sort Key" not in plans[-1], plans[-1]


@pytest.mark.parametrize(
    ("query", "sort", "index"),
    [
        ("updated:12h", "recent", "ix_incidents_activity_sort"),
        ("-status:closed updated:12h", "recent", "ix_incidents_activity_sort"),
        ("reporter:me", "priority", "ix_incidents_reporter_sort"),
        ("-status:closed reporter:me", "priority", "ix_incidents_reporter_sort"),
        ("is:watching", "priority", "ix_incident_watchers_"),
        ("-status:closed is:watching", "recent", "ix_incident_watchers_"),
    ],
)
def test_the_handover_searches_read_their_indexes_not_a_table(big_engine, query, sort, index):
    """`updated:12h sort:recent` (what changed this shift, newest first), `reporter:me` and
    `is:watching`: a full page of what they say, from their indexes; the page comes in index order
    (no Sort of the matches), and no plan reads all the incidents or all the watch rows."""
    since = utcnow() - timedelta(hours=12)
    with Session(big_engine) as session:
        me = session.scalar(select(User.id).where(User.email == "member@example.com"))
        watched = set(session.scalars(select(Watcher.incident_id).where(Watcher.user_id == me)))
        filters = parse_query(query)

        def dashboard():
            counts = search.count_by_status(session=session, filters=filters, me_id=me)
            found.append(search.search(session=session, filters=filters, me_id=me, sort=sort, counts=counts))

        found: list = []
        plans = _plans(big_engine, dashboard)
    page = found[0]
    assert len(page.incidents) == 50
    if query.endswith("updated:12h"):
        assert all(incident.activity_at >= since for incident in page.incidents)
        updated = [incident.activity_at for incident in page.incidents]
        assert updated == sorted(updated, reverse=True)
        assert _in_index_order_or_a_window_sorted(plans[-1]), plans[-1]
    elif "reporter:me" in query:
        assert {incident.reporter_id for incident in page.incidents} == {me}
    else:
        assert {incident.id for incident in page.incidents} <= watched
    if query.startswith("-status:closed"):
        assert "closed" not in {incident.status for incident in page.incidents}
    assert any(index in plan for plan in plans), plans
    for plan in plans:
        assert "Seq Scan on incidents" not in plan, plan
        assert "Seq Scan on incident_watchers" not in plan, plan


# `-updated:7d -status:closed` is here since `updated:` reads activity_at (migration 0022): the Closed
# counter's rows are most of the table, and a LIMITed read from its start is the cheapest way to
# count to the cap (updated_at was in ix_incidents_status_sort; activity_at is in no status index).
@pytest.mark.parametrize(
    "query",
    ["-reporter:me", "-reporter:me status:blocked", "-is:watching", "-updated:7d", "-updated:7d -status:closed"],
)
def test_leaving_out_mine_or_the_recent_reads_a_bounded_number_of_rows(big_engine, query):
    """A negation matches most incidents: a counter may read the table from its start, under its
    LIMIT (it stops at the cap after ~1,000 rows), never the whole of it."""
    week_ago = utcnow() - timedelta(days=7)
    with Session(big_engine) as session:
        me = session.scalar(select(User.id).where(User.email == "member@example.com"))
        watched = set(session.scalars(select(Watcher.incident_id).where(Watcher.user_id == me)))
        filters = parse_query(query)
        assert filters.problems == ()

        def dashboard():
            counts = search.count_by_status(session=session, filters=filters, me_id=me)
            found.append(search.search(session=session, filters=filters, me_id=me, counts=counts))

        found: list = []
        plans = _plans(big_engine, dashboard)
    page = found[0]
    assert len(page.incidents) == 50
    if "reporter" in query:
        assert me not in {incident.reporter_id for incident in page.incidents}
    elif "watching" in query:
        assert not watched & {incident.id for incident in page.incidents}
    else:
        assert all(incident.activity_at < week_ago for incident in page.incidents)
    for plan in plans:
        assert not unbounded_seq_scans(plan), plan
        assert "Seq Scan on incident_watchers" not in plan, plan


@pytest.mark.parametrize("state", ["open", "done", "all"])
def test_your_follow_ups_page_reads_one_owners_rows_a_page_at_a_time(big_engine, state):
    """The page "Your follow-ups" (/follow-ups) and GET /api/v1/me/follow-ups, first page and the
    next: the open ones are one range of the partial index of open follow-ups (migration 0019),
    whose order (due date, then id) the next page resumes from; the done ones and `all` are ranges
    of their own indexes (migration 0023), in their order: no Sort, no scan of every follow-up.
    None reads the incidents table but by primary key."""
    with Session(big_engine) as session:
        busiest = session.scalar(
            text(
                "SELECT owner_id FROM incident_follow_ups WHERE done_at IS NOT NULL AND owner_id IS NOT NULL"
                " GROUP BY owner_id ORDER BY count(*) DESC LIMIT 1"
            )
        )
        owner = session.get(User, busiest)
        assert owner is not None
        first = follow_ups.owned_page(session=session, actor=owner, state=state, limit=20)
        assert len(first.items) == 20
        assert first.next_cursor
        pages: list = []
        plans = plans_of(
            big_engine,
            lambda: pages.append(
                follow_ups.owned_page(session=session, actor=owner, state=state, cursor=first.next_cursor, limit=20)
            ),
            mentioning="incident",
        )
    [second] = pages
    assert {mine.follow_up.id for mine in second.items}.isdisjoint(mine.follow_up.id for mine in first.items)
    for plan in plans:
        assert "Seq Scan on incidents" not in plan, plan
    index = {
        "open": "ix_incident_follow_ups_open_by_owner",
        "done": "ix_incident_follow_ups_done_by_owner",
        "all": "ix_incident_follow_ups_by_owner",
    }[state]
    assert index in plans[0], plans[0]
    assert "Seq Scan on incident_follow_ups" not in plans[0], plans[0]
    # No sort of the owner's rows: at most an incremental one within a due date (the open index
    # has no id; a day's follow-ups are few).
    assert "Sort Key" not in plans[0] or "Presorted Key: incident_follow_ups.due_date" in plans[0], plans[0]
