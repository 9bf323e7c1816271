"""The incident page's timeline reads an incident's events by one index range, whatever the
size of the audit table: its newest event (the timeline cache's key) and its events in order.

Before migration 0011 the newest-event query was planned as a backward walk of the whole
primary key filtering on incident_id (19 ms at 100k incidents for an incident with old events,
growing with the table). Plans are asserted, not timings (the machine is shared).
"""

from __future__ import annotations

import pytest
from explain import plans_of
from sqlalchemy import text
from sqlalchemy.orm import Session

from shared import migrate
from shared.audit import service as audit
from shared.db import make_engine
from shared.demo_scale import seed_scale

pytestmark = pytest.mark.postgres_only

INCIDENTS = 30_000  # + INC-1's 400-event timeline, the oldest events in the table


@pytest.fixture(scope="module")
def audit_engine(db_backend, temporary_database_url):
    url = temporary_database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    seed_scale(engine=engine, incidents=INCIDENTS, password="plan-test-password")
    with engine.begin() as connection:
        connection.execute(text("ANALYZE audit_events"))
    yield engine
    engine.dispose()


def _plans_of(engine, work) -> list[str]:
    def in_a_session() -> None:
        with Session(engine) as session:
            work(session)

    return plans_of(engine, in_a_session, mentioning="audit_events")


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda session: audit.incident_events_marker(session=session, incident_id=1), id="newest"),
        pytest.param(lambda session: audit.incident_events(session=session, incident_id=1), id="in-order"),
    ],
)
def test_an_incidents_events_come_from_its_own_index_range(audit_engine, read):
    for plan in _plans_of(audit_engine, read):
        assert "ix_audit_events_incident_id_id" in plan, plan
        assert "pk_audit_events" not in plan, plan
        assert "Seq Scan on audit_events" not in plan, plan
