"""The Markdown export's summary names the incident's last activity, as the API's incident
(`last_activity_at`) and the CSV export do, in the document's own UTC times to the second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.db import clock_at
from shared.incidents import export, follow_ups
from shared.incidents import service as incidents

FILED = datetime(2026, 12, 1, 8, 5, 3, tzinfo=UTC)


def _facts(document: str) -> dict[str, str]:
    """The Summary table's rows, field -> value."""
    summary = document.split("## Summary", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split("|") for line in summary.splitlines() if line.startswith("| ")]
    return {name.strip(): value.strip() for name, value in rows[1:]}


def test_the_summary_says_when_the_incident_last_saw_activity(db, users):
    with clock_at(FILED):
        incident = incidents.create_incident(session=db, actor=users["member"], title="Disk full on log shipper")
        db.commit()
    facts = _facts(export.timeline_document(session=db, incident=incident, actor=users["lead"]))
    assert facts["Last activity"] == facts["Created"] == "2026-12-01 08:05:03 UTC"

    # A comment and a follow-up move it (the API's last_activity_at), never the incident's own clocks.
    with clock_at(FILED + timedelta(minutes=5)):
        incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="Rotated the logs.")
        db.commit()
    with clock_at(FILED + timedelta(minutes=9, seconds=30)):
        follow_ups.add_follow_up(
            session=db, actor=users["lead"], incident_id=incident.id, title="Alert on 80 % disk", owner_id=None
        )
        db.commit()
    db.refresh(incident)
    facts = _facts(export.timeline_document(session=db, incident=incident, actor=users["lead"]))
    assert facts["Last activity"] == "2026-12-01 08:14:33 UTC"
    assert facts["Created"] == "2026-12-01 08:05:03 UTC"
