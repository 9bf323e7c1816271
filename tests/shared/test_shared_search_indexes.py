"""PostgreSQL's text search uses its indexes (a test that loads rows of its own, on the
per-test database; the read-only search tests share a data set in test_shared_search.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text

from shared.db import utcnow
from shared.incidents import search
from shared.incidents.models import Incident
from shared.incidents.search import parse_query


@pytest.mark.postgres_only
def test_text_search_can_use_the_gin_indexes(db, users):
    rows = [
        {
            "key": f"INC-{n}",
            "title": f"Synthetic incident number {n} on host-{n % 97}",
            "description": "filler " * (n % 7),
            "status": "open",
            "priority": f"P{1 + n % 4}",
            "component": f"svc{n % 13}",
            "environment": "prod",
            "reporter_id": users["lead"].id,
            "created_at": utcnow(),
            "updated_at": utcnow(),
            "version": 1,
        }
        for n in range(1, 2001)
    ]
    db.execute(insert(Incident), rows)
    db.commit()
    db.execute(text("ANALYZE incidents"))
    db.execute(text("SET LOCAL enable_seqscan = off"))

    def plan(query: str) -> str:
        filters = parse_query(query)
        if query == "synthtic":
            filters = search.with_typo_fallback(session=db, filters=filters, me_id=None)[0]
        statement = search.apply_filters(db, select(Incident.id), filters, None)
        compiled = statement.compile(dialect=db.get_bind().dialect)
        return "\n".join(row[0] for row in db.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))

    # Known words go to the full-text index alone. A typo nobody wrote is looked up among the
    # titles' distinct words (a small table, migration 0009) and searched as the word it is
    # close to, through the full-text index again: never by re-checking every title.
    assert "ix_incidents_search_vector" in plan("synthetic host"), plan("synthetic host")
    assert "ix_incidents_title_trgm" not in plan("synthetic host")
    typo_plan = plan("synthtic")
    assert "ix_incidents_search_vector" in typo_plan, typo_plan
    assert "'synthet'" in typo_plan, typo_plan
    assert "ix_incidents_title_trgm" not in typo_plan
