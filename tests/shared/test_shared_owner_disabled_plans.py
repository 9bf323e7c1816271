"""`owner:disabled` at scale: the work left with disabled accounts is found through the owner
index, never by reading the incidents (README "Search"; DESIGN.md: fast at a million). Disabled
accounts are few, and so, mostly, are the incidents still theirs: their ids go to the database
as values (shared/incidents/search.py, `_disabled_owner_ids`), so each is a probe of
ix_incidents_owner_sort and the few rows found are sorted; its negation is everyone else's work,
walked in sort order under a LIMIT as any negated qualifier is.

And the CSV download's follow-up counts (web/csv_export.py): one grouped statement per batch of
rows, reading those incidents' entries of ix_incident_follow_ups_incident, never the table.

Plans, not timings, on the 200k-incident database the plan tests share (`big_engine`, put back after).
"""

from __future__ import annotations

import pytest
from explain import PLAN_INCIDENTS, plans_of, unbounded_seq_scans
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.incidents import follow_ups, search
from shared.incidents.models import Incident
from shared.incidents.search import parse_query

pytestmark = pytest.mark.postgres_only

# Two people have left: their accounts are disabled, and a few dozen incidents are still theirs.
GONE = ("leaver1@example.com", "leaver2@example.com")
LEFT_EACH = 25  # of the 200k: one in every 8,000

QUERIES = [
    ("owner:disabled", "priority"),
    ("-status:closed owner:disabled", "priority"),  # the dashboard's default view
    ("-status:closed owner:disabled", "recent"),
    ("status:open,in_progress,blocked owner:disabled", "due"),
    ("-status:closed -owner:disabled", "priority"),
    ("-owner:disabled", "recent"),
]


@pytest.fixture(scope="module")
def engine_with_leavers(big_engine):
    """The shared database with the leavers and their incidents; as it was again afterwards."""
    every = PLAN_INCIDENTS // LEFT_EACH
    with big_engine.begin() as connection:
        owners_before = connection.execute(
            text("SELECT id, owner_id FROM incidents WHERE id % :every IN (0, 100)"), {"every": every}
        ).all()
        for offset, email in enumerate(GONE):
            connection.execute(
                text(
                    "INSERT INTO users (email, name, password_hash, role, is_active, created_at)"
                    " VALUES (:email, :email, 'x', 'member', false, now())"
                ),
                {"email": email},
            )
            connection.execute(
                text(
                    "UPDATE incidents SET owner_id = (SELECT id FROM users WHERE email = :email)"
                    " WHERE id % :every = :offset"
                ),
                {"email": email, "every": every, "offset": offset * 100},
            )
        connection.execute(text("ANALYZE users"))
        connection.execute(text("ANALYZE incidents"))
    yield big_engine
    with big_engine.begin() as connection:
        connection.execute(
            text("UPDATE incidents SET owner_id = :owner_id WHERE id = :id"),
            [{"id": id_, "owner_id": owner_id} for id_, owner_id in owners_before],
        )
        connection.execute(text("DELETE FROM users WHERE email = ANY(:emails)"), {"emails": list(GONE)})
        connection.execute(text("ANALYZE users"))
        connection.execute(text("ANALYZE incidents"))


@pytest.mark.parametrize(("query", "sort"), QUERIES, ids=[f"{q}|{s}" for q, s in QUERIES])
def test_the_work_of_disabled_owners_is_found_through_the_indexes(engine_with_leavers, query, sort):
    with Session(engine_with_leavers) as session:
        filters = parse_query(query)
        assert filters.problems == ()
        shown: list[Incident] = []

        def dashboard():
            resolved, counts = search.with_typo_fallback(session=session, filters=filters, me_id=None)
            shown.extend(
                search.search(session=session, filters=resolved, me_id=None, sort=sort, counts=counts).incidents
            )

        plans = plans_of(engine_with_leavers, dashboard, mentioning="incidents")
        gone = set(session.scalars(select(User.id).where(User.email.in_(GONE))))
    assert shown, f"{query!r} found nothing"
    left_out = "-owner:disabled" in query
    assert all((incident.owner_id in gone) is not left_out for incident in shown)
    for plan in plans:
        assert "Index" in plan, plan
        if left_out:
            # Everyone else's: the sort index walked under a LIMIT, as any negated qualifier is; a
            # count of Closed (without status:, the API's list) may scan, stopping at COUNT_CAP.
            assert unbounded_seq_scans(plan) == [], plan
        else:
            assert "Seq Scan on incidents" not in plan, plan
    if not left_out:
        # The leavers' few rows straight from the owner index, then sorted: never a walk of a sort
        # index past every other incident, looking for theirs.
        page = plans[-1]
        assert "ix_incidents_owner_sort" in page, page
        for walked in ("ix_incidents_priority_sort", "ix_incidents_activity_sort", "due_sort", "status_sort"):
            assert walked not in page, page


def test_a_csv_batch_counts_its_follow_ups_in_one_statement_over_their_index(big_engine):
    with Session(big_engine) as session:
        # A batch as the export reads it: 200 incidents in a row, some with follow-ups.
        ids = list(session.scalars(select(Incident.id).order_by(Incident.id.desc()).limit(200)))
        counted: dict = {}
        plans = plans_of(
            big_engine,
            lambda: counted.update(follow_ups.counts_by_incident(session=session, incident_ids=ids)),
            mentioning="incident_follow_ups",
        )
    assert counted, "the seed gives ~5 % of incidents a follow-up: some of 200 have one"
    (plan,) = plans
    assert "ix_incident_follow_ups_incident" in plan, plan
    assert "Seq Scan on incident_follow_ups" not in plan, plan
