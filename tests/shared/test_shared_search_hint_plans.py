"""Where a search matched (the hints under the titles) at scale: for a page of 50 results it adds
at most one statement, which reads the page's incidents' comments by incident id, never the
comments' whole full-text index or table (README "Search"; DESIGN.md: fast at a million)."""

from __future__ import annotations

import pytest
from explain import plans_of
from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.incidents import search
from shared.incidents.search import parse_query

pytestmark = pytest.mark.postgres_only

# Words of the seeded discussions that titles lack ("postmortem", "handover": ~1 in 40 incidents
# each, so a page of 50 is all comment matches), a comment word beside a title word (three
# incidents, the rare word in one comment) and words every title holds (no hint, no statement).
QUERIES = [
    ("postmortem", True),
    ("handover runbook", True),
    ("kerberos keytab", True),
    ("kerberos", False),
]


def _page(engine, query: str):
    with Session(engine) as session:
        filters = search.active_by_default(parse_query(query))
        filters, counts = search.with_typo_fallback(session=session, filters=filters, me_id=None)
        page = search.search(session=session, filters=filters, me_id=None, counts=counts)
        for incident in page.incidents:  # what the row reads, loaded before the hints
            _ = (incident.title, incident.description, incident.blocked_reason, incident.resolution_summary)
        return filters, page


@pytest.mark.parametrize(("query", "from_comments"), QUERIES)
def test_hints_add_at_most_one_statement_reading_comments_by_incident(big_engine, query, from_comments):
    filters, page = _page(big_engine, query)
    assert page.incidents, f"{query!r} found nothing"
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    hints: dict = {}

    def work():
        with Session(big_engine) as session:
            session.add_all(page.incidents)
            hints.update(search.match_hints(session=session, filters=filters, incidents=page.incidents))

    event.listen(big_engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(big_engine, "before_cursor_execute", count)
    assert len(statements) <= 1, statements
    if not from_comments:
        assert statements == []
        assert hints == {}
        return
    assert any(hint.place == "comment" for hint in hints.values()), hints
    plans = plans_of(big_engine, work, mentioning="incident_comments")
    assert len(plans) == 1
    plan = plans[0]
    assert "ix_incident_comments_incident_id" in plan, plan
    assert "Seq Scan on incident_comments" not in plan, plan
    # The comments' GIN index would collect every matching comment of the table first.
    assert "ix_incident_comments_search_vector" not in plan, plan
