"""The audit log at scale: every filter of shared/audit/listing.py is read from an index on
PostgreSQL, never by reading the audit table whole, and the pages that can come in index order
(everything, one action, one actor, one entity, one kind of entity, a time window) are never sorted.

200,000 events (generated inside PostgreSQL in seconds, spread over three years like a team's
history, most of them incident events, a few webhook and role changes, the webhook ones all long
ago) are enough for the planner to choose what it chooses at a million. Plans are asserted, not
timings (the machine is shared); README "Audit log" has the timings at a million events.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from explain import plan_database, plans_of
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.audit import listing
from shared.demo_scale import seed_scale
from shared.permissions import SYSTEM

pytestmark = pytest.mark.postgres_only

EVENTS = 200_000
INCIDENTS = 20_000

# (upper bound of a random number in [0, 1), action, entity type): the share of each action.
MIX = [
    (0.40, "incident.status_changed", "incident"),
    (0.65, "incident.commented", "incident"),
    (0.80, "incident.created", "incident"),
    (0.86, "incident.assigned", "incident"),
    (0.90, "incident.edited", "incident"),
    (0.95, "evidence.uploaded", "evidence"),
    (0.97, "evidence.downloaded", "evidence"),
    (0.985, "user.password_changed", "user"),
    (0.9955, "api_token.created", "user"),
    (0.9985, "webhook.updated", "webhook"),
    (0.9995, "user.role_changed", "user"),
    (1.01, "webhook.created", "webhook"),
]


def _case(column: str) -> str:
    """The SQL that picks each row's action (or its entity type) by MIX."""
    index = 0 if column == "action" else 1
    return "CASE " + " ".join(f"WHEN r.k < {bound} THEN '{row[index]}'" for bound, *row in MIX) + " END"


# Appended in time order (ids follow time, as in production), three years up to now; the hashes
# are placeholders (the chain is not what these plans read).
INSERT_SQL = (
    "INSERT INTO audit_events (occurred_at, actor_id, action, entity_type, entity_id, incident_id,"
    " data, prev_hash, hash)"
    " SELECT now() - interval '3 years' + (interval '3 years' / :n) * g,"
    "  CASE WHEN r.a < 0.05 THEN NULL ELSE (CAST(:users AS int[]))[1 + (g % :user_count)] END,"
    f"  {_case('action')}, {_case('entity_type')},"
    "  1 + (CAST(g AS bigint) * 7919) % :incidents,"
    "  CASE WHEN r.k < 0.97 THEN 1 + (CAST(g AS bigint) * 7919) % :incidents END,"
    "  CAST('{}' AS json), md5(g::text) || md5((g - 1)::text), md5(g::text) || md5((g + 1)::text)"
    " FROM generate_series(1, :n) AS g"
    " CROSS JOIN LATERAL (SELECT random() AS k, random() AS a WHERE g = g) AS r"
)


@pytest.fixture(scope="module")
def audit_engine(db_backend, temporary_database_url):
    engine = plan_database(temporary_database_url())
    seed_scale(engine=engine, incidents=INCIDENTS, password="plan-test-password", audit_events=False)
    with engine.begin() as connection:
        # Building the indexes once after the rows is several times faster than maintaining
        # eight of them row by row (as seed_scale does for incidents).
        definitions = connection.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE tablename = 'audit_events' AND indexname <> 'pk_audit_events'"
            )
        ).all()
        for name, _definition in definitions:
            connection.execute(text(f'ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS "{name}"'))
            connection.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
        users = connection.execute(text("SELECT array_agg(id ORDER BY id) FROM users")).scalar()
        connection.execute(text("SELECT setseed(0.42)"))
        connection.execute(
            text(INSERT_SQL), {"n": EVENTS, "users": users, "user_count": len(users), "incidents": INCIDENTS}
        )
        # The webhooks were set up once, long ago: a rare kind of event whose events are all old,
        # where walking the trail newest first and skipping the rest would read all of it.
        connection.execute(text("SET LOCAL session_replication_role = replica"))  # past the append-only trigger
        connection.execute(
            text(
                "UPDATE audit_events SET occurred_at = occurred_at - interval '5 years'"
                " WHERE entity_type = 'webhook' AND id > 100"
            )
        )
        connection.execute(text("SET LOCAL maintenance_work_mem = '128MB'"))
        for _name, definition in definitions:
            connection.execute(text(definition))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE audit_events"))
    yield engine
    engine.dispose()


def _plans(engine, work) -> list[str]:
    def in_a_session() -> None:
        with Session(engine) as session:
            work(session)

    return plans_of(engine, in_a_session, mentioning="FROM audit_events")


def _engineer(engine) -> str:
    with Session(engine) as session:
        return session.scalar(select(User.email).where(User.email.like("engineer%")).order_by(User.id).limit(1))


OLD_MONTH = {"from": "{three_years_ago}", "to": "{three_years_ago_plus_a_month}"}
BY_TIME = "ix_audit_events_occurred_at_id"
BY_ACTION = "ix_audit_events_action_occurred_at_id"
BY_ACTOR = "ix_audit_events_actor_id_occurred_at_id"
BY_ENTITY = "ix_audit_events_entity_occurred_at_id"
BY_ENTITY_TYPE = "ix_audit_events_entity_type_occurred_at_id"

# (id, filter parameters, the indexes a page may be read from, comes in index order: no Sort).
# Where a filter keeps one event in twenty or more (the system's), walking the time index and
# skipping the others reads a page's worth as cheaply: the planner may take either.
CASES = [
    ("everything", {}, (BY_TIME,), True),
    ("one rare action", {"action": "user.role_changed"}, (BY_ACTION,), True),
    ("one common action", {"action": "incident.commented"}, (BY_ACTION,), True),
    # One index range per action, merged: at most a page per action is read, then sorted.
    ("a rare family", {"action": "webhook."}, (BY_ACTION,), False),
    ("a common family", {"action": "incident."}, (BY_ACTION,), False),
    ("an actor", {"actor": "{engineer}"}, (BY_ACTOR,), True),
    ("the system", {"actor": "system"}, (BY_ACTOR, BY_TIME), True),
    ("an entity", {"entity_type": "user", "entity_id": "3"}, (BY_ENTITY,), True),
    ("a rare entity type", {"entity_type": "webhook"}, (BY_ENTITY_TYPE,), True),
    ("an incident", {"incident": "INC-4242"}, ("ix_audit_events_incident_id_id",), False),
    ("a month three years ago", OLD_MONTH, (BY_TIME,), True),
    ("an action in that month", {**OLD_MONTH, "action": "incident.created"}, (BY_ACTION,), False),
    ("an actor in that month", {**OLD_MONTH, "actor": "{engineer}"}, (BY_ACTOR,), True),
]


def _params(engine, params: dict[str, str]) -> dict[str, str]:
    with engine.connect() as connection:
        oldest = connection.execute(
            text("SELECT min(occurred_at) FROM audit_events WHERE entity_type <> 'webhook'")
        ).scalar()
    values = {
        "engineer": _engineer(engine),
        "three_years_ago": (oldest + timedelta(days=1)).date().isoformat(),
        "three_years_ago_plus_a_month": (oldest + timedelta(days=31)).date().isoformat(),
    }
    return {name: value.format(**values) for name, value in params.items()}


@pytest.mark.parametrize(("params", "indexes", "ordered"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_filter_reads_an_index_never_the_whole_table(audit_engine, params, indexes, ordered):
    params = _params(audit_engine, params)

    def first_and_second_page(session):
        filters = listing.parse_filters(session=session, params=params)
        first = listing.page(session=session, actor=SYSTEM, filters=filters)
        assert first.events
        if first.next_cursor:
            listing.page(session=session, actor=SYSTEM, filters=filters, cursor=first.next_cursor)

    pages = [plan for plan in _plans(audit_engine, first_and_second_page) if plan.startswith("Limit")]
    assert pages  # (the cursor's own look-up is a primary-key probe)
    for plan in pages:
        assert "Seq Scan on audit_events" not in plan, plan
        assert "Seq Scan on incidents" not in plan, plan
        assert "Bitmap Heap Scan on audit_events" not in plan or not ordered, plan
        assert any(index in plan for index in indexes), plan
        if ordered:
            assert "Sort" not in plan, plan


def test_an_export_streams_each_chunk_from_an_index_range(audit_engine):
    def export(session):
        for count, _item in enumerate(
            listing.iterate(
                session=session, actor=SYSTEM, filters=listing.AuditFilters(), oldest_first=True, chunk=500
            ),
            start=1,
        ):
            if count == 1_200:  # three chunks: the second and third start after a position
                break

    plans = _plans(audit_engine, export)
    assert len(plans) == 3
    for plan in plans:
        assert "Seq Scan on audit_events" not in plan, plan
        assert "ix_audit_events_occurred_at_id" in plan, plan
        assert "Sort" not in plan, plan
