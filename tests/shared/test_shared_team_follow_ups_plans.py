"""Query plans of anyone's follow-ups (/follow-ups?owner=…, GET /api/v1/follow-ups) at 200,000
follow-ups: everyone's, one person's and those with no owner, open, overdue, done and all, the
first page, the next, the page that runs out of dated rows into the undated ones (due last) and
a page among the undated ones. Each statement is one range of one index (migrations 0023 and
0024), read in the page's order under a Limit: no Sort, no Bitmap, no Seq Scan of the table. The
incidents are read by primary key. Timings are not asserted (the machine is shared); plans are.
"""

from __future__ import annotations

import pytest
from explain import plan_database, plans_of
from sqlalchemy import text
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.demo_scale import seed_scale
from shared.incidents import follow_ups
from shared.incidents.models import FollowUp

pytestmark = pytest.mark.postgres_only

INCIDENTS = 20_000
FOLLOW_UPS = 200_000
PAGE = 20


@pytest.fixture(scope="module")
def big_engine(db_backend, temporary_database_url):
    engine = plan_database(temporary_database_url())
    seed_scale(engine=engine, incidents=INCIDENTS, password="plan-test-password", audit_events=False)
    with engine.begin() as connection:
        # Ten follow-ups an incident: a tenth with no owner, the rest spread over the team; two in
        # three with a due date (from 200 days ago on: many overdue); three in seven done.
        connection.execute(
            text(
                "INSERT INTO incident_follow_ups (incident_id, title, owner_id, due_date, done_at, done_by_id,"
                " created_by_id, created_at, updated_at, version)"
                " SELECT 1 + g % :incidents, 'Follow-up ' || g,"
                " CASE WHEN g % 10 <> 0 THEN u.ids[1 + g % cardinality(u.ids)] END,"
                " CASE WHEN g % 3 <> 0 THEN current_date - 200 + g % 400 END,"
                " CASE WHEN g % 7 < 3 THEN now() - make_interval(mins => g) END,"
                " CASE WHEN g % 7 < 3 THEN u.ids[1] END,"
                " u.ids[1], now(), now(), 1"
                " FROM generate_series(1, :rows) AS g, (SELECT array_agg(id ORDER BY id) AS ids FROM users) AS u"
            ),
            {"incidents": INCIDENTS, "rows": FOLLOW_UPS},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE incident_follow_ups"))
    yield engine
    engine.dispose()


# (owner, state, due, the index each page reads)
VIEWS = [
    ("all", "open", None, "ix_incident_follow_ups_open_by_due"),
    ("all", "open", "overdue", "ix_incident_follow_ups_open_by_due"),
    ("all", "done", None, "ix_incident_follow_ups_done"),
    ("all", "all", None, "ix_incident_follow_ups_by_due"),
    ("none", "open", None, "ix_incident_follow_ups_open_by_owner"),
    ("none", "open", "overdue", "ix_incident_follow_ups_open_by_owner"),
    ("none", "done", None, "ix_incident_follow_ups_done_by_owner"),
    ("none", "all", None, "ix_incident_follow_ups_by_owner"),
    ("person", "open", None, "ix_incident_follow_ups_open_by_owner"),
    ("person", "open", "overdue", "ix_incident_follow_ups_open_by_owner"),
    ("person", "done", None, "ix_incident_follow_ups_done_by_owner"),
    ("person", "all", None, "ix_incident_follow_ups_by_owner"),
]


def _owner(session: Session, owner: str) -> follow_ups.Owner:
    if owner != "person":
        return follow_ups.find_owner(session=session, actor=_someone(session), owner=owner)
    busiest = session.scalar(
        text(
            "SELECT owner_id FROM incident_follow_ups WHERE owner_id IS NOT NULL"
            " GROUP BY owner_id ORDER BY count(*) DESC LIMIT 1"
        )
    )
    return follow_ups.Owner(session.get(User, busiest))


def _someone(session: Session) -> User:
    user = session.scalar(text("SELECT id FROM users WHERE role = 'lead' ORDER BY id LIMIT 1"))
    found = session.get(User, user)
    assert found is not None
    return found


def _cursors(session: Session, owner: follow_ups.Owner, state: str, due: str | None) -> dict[str, str | None]:
    """Where the pages to plan start: the beginning, the second page, and (in a due date order)
    a few rows before the undated ones and among them."""
    actor = _someone(session)
    first = follow_ups.listed_page(session=session, actor=actor, owner=owner, state=state, due=due, limit=PAGE)
    assert len(first.items) == PAGE
    assert first.next_cursor
    starts: dict[str, str | None] = {"first": None, "next": first.next_cursor}
    if state == "done":
        return starts
    mine = "owner_id IS NULL" if owner.nobody else "true" if owner.everyone else f"owner_id = {owner.user.id}"
    still = "done_at IS NULL" if state == "open" else "true"
    late = "due_date < current_date" if due else "due_date IS NOT NULL"
    # The last dated rows of the view: a page from the third-last runs into the undated ones.
    dated = session.scalars(
        text(
            f"SELECT id FROM incident_follow_ups WHERE {mine} AND {still} AND {late}"
            " ORDER BY due_date DESC, id DESC LIMIT 3"
        )
    ).all()
    starts["into the undated"] = follow_ups._encode_owned(state, session.get(FollowUp, dated[-1]))
    if not due:
        undated = session.scalar(
            text(f"SELECT min(id) FROM incident_follow_ups WHERE {mine} AND {still} AND due_date IS NULL")
        )
        starts["among the undated"] = follow_ups._encode_owned(state, session.get(FollowUp, undated))
    return starts


def _scan_of_follow_ups(plan: str) -> list[str]:
    """The plan's node reading incident_follow_ups: its line and its details (Index Cond, Filter)."""
    lines = plan.split("\n")
    [start] = [n for n, line in enumerate(lines) if " on incident_follow_ups " in line]
    details = []
    for line in lines[start + 1 :]:
        if "->" in line:
            break
        details.append(line)
    return [lines[start], *details]


@pytest.mark.parametrize(("owner", "state", "due", "index"), VIEWS, ids=["-".join(filter(None, v[:3])) for v in VIEWS])
def test_each_page_of_anyones_follow_ups_is_one_range_of_one_index(big_engine, owner, state, due, index):
    with Session(big_engine) as session:
        chosen = _owner(session, owner)
        actor = _someone(session)
        for where, cursor in _cursors(session, chosen, state, due).items():
            pages: list[follow_ups.ListedPage] = []
            plans = plans_of(
                big_engine,
                lambda cursor=cursor, pages=pages: pages.append(
                    follow_ups.listed_page(
                        session=session, actor=actor, owner=chosen, state=state, due=due, cursor=cursor, limit=PAGE
                    )
                ),
                mentioning="incident_follow_ups",
            )
            [page] = pages
            assert page.items, where
            if where != "first":
                assert len(page.items) == PAGE or page.next_cursor is None, where
            for plan in plans:
                scan = _scan_of_follow_ups(plan)
                assert f"using {index} on incident_follow_ups " in scan[0], (where, plan)
                # Every condition bounds the range: none is a Filter over rows read and dropped.
                assert not [line for line in scan if "Filter:" in line], (where, plan)
                assert plan.startswith("Limit"), (where, plan)
                for unwanted in ("Sort", "Bitmap", "Seq Scan"):
                    assert unwanted not in plan, (where, plan)
            # A page that runs out of dated rows reads the undated ones as a second range.
            assert len(plans) == (2 if where == "into the undated" and not due else 1), (where, plans)


def test_the_incidents_of_a_page_are_read_by_primary_key(big_engine):
    with Session(big_engine) as session:
        actor = _someone(session)
        plans = plans_of(
            big_engine,
            lambda: follow_ups.listed_page(session=session, actor=actor, owner=follow_ups.EVERYONE, limit=PAGE),
            mentioning="FROM incidents",
        )
    for plan in plans:
        assert "Index Scan using pk_incidents on incidents" in plan, plan
        assert "Seq Scan" not in plan, plan
