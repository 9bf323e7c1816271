"""A reopen is called a reopen, for the lead writing the postmortem: the incident page's
timeline and the Markdown export (/incidents/INC-n/timeline.md) say "reopened the incident (was
Resolved)" with the reason the form asked for; the export's summary says how many times and when
it was reopened and keeps the resolutions a reopen undid; the page's Details say "Reopened"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from test_web_timeline_export import Document, _statements
from web_helpers import sign_in, texts, timeline

from shared.db import clock_at
from shared.incidents import service as incidents
from shared.incidents.models import Incident

STARTED = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)
FIRST_FIX = "Bucket policy fixed (added CI role)."
AGAIN = "CI uploads failing again: the role is missing in eu-west-1."
SECOND_FIX = "Role added in every region; a check in CI now."


def _at(seconds: int):
    return clock_at(STARTED + timedelta(seconds=seconds))


def _worked(db, users, *, reopens: int = 1, resolved_again: bool = False) -> Incident:
    """An incident resolved and reopened `reopens` times (each 331 s after its resolution), by Lee Lead."""
    lead = users["lead"]
    with _at(0):
        incident = incidents.create_incident(
            session=db, actor=lead, title="S3 uploads denied", description="CI cannot upload.", priority="P2",
            component="s3", environment="prod", owner_id=lead.id,
        )  # fmt: skip
    with _at(1):
        incidents.transition(session=db, incident_id=incident.id, actor=lead, to="in_progress")
    for time in range(reopens):
        with _at(1000 * time + 200):
            incidents.transition(session=db, incident_id=incident.id, actor=lead, to="resolved", reason=FIRST_FIX)
        with _at(1000 * time + 531):
            incidents.transition(session=db, incident_id=incident.id, actor=lead, to="in_progress", reason=AGAIN)
    if resolved_again:
        with _at(5000):
            incidents.transition(session=db, incident_id=incident.id, actor=lead, to="resolved", reason=SECOND_FIX)
    db.commit()
    return incident


def _export(client, incident: Incident) -> Document:
    response = client.get(f"/incidents/{incident.key}/timeline.md")
    assert response.status_code == 200
    return Document(response.get_data(as_text=True))


def _details(html: str) -> dict[str, str]:
    """The incident page's Details: term -> value."""
    block = html.split('<dl class="facts">')[1].split("</dl>")[0]
    return dict(zip(texts(block, "dt"), texts(block, "dd"), strict=True))


def test_the_export_calls_a_reopen_a_reopen_and_keeps_the_resolution_it_undid(client, db, users):
    incident = _worked(db, users)
    sign_in(client, users["lead"])
    document = _export(client, incident)

    entries = document.entries()
    events = [(line.split(" UTC ", 1)[-1], quoted) for line, quoted in entries]  # each after its time
    assert ("Lee Lead reopened the incident (was Resolved)", ["Reason for reopening:", AGAIN]) in events
    assert not any("changed status from Resolved" in line for line, _ in events)

    facts = document.facts()
    assert facts["Resolved"] == "—"
    assert facts["Reopened"] == "1 time (2026-12-01 08:08:51 UTC, by Lee Lead)"
    headings = document.headings()
    assert headings[headings.index("Resolution summary") + 1] == "Earlier resolutions"
    assert ("2026-12-01 08:03:20 UTC by Lee Lead:", [FIRST_FIX]) in entries
    assert "Not resolved yet." in document.source


def test_resolved_again_the_export_shows_the_summary_now_and_each_earlier_one(client, db, users):
    incident = _worked(db, users, reopens=2, resolved_again=True)
    sign_in(client, users["member"])
    document = _export(client, incident)

    assert document.facts()["Reopened"] == (
        "2 times (2026-12-01 08:08:51 UTC, by Lee Lead; 2026-12-01 08:25:31 UTC, by Lee Lead)"
    )
    source = document.source
    current, earlier = source.split("## Resolution summary")[1].split("## Files")[0].split("### Earlier resolutions")
    assert SECOND_FIX in current
    assert FIRST_FIX not in current
    assert [entry for entry in document.entries() if entry[0].endswith(" by Lee Lead:")] == [
        ("2026-12-01 08:03:20 UTC by Lee Lead:", [FIRST_FIX]),
        ("2026-12-01 08:20:00 UTC by Lee Lead:", [FIRST_FIX]),
    ]
    assert SECOND_FIX not in earlier


def test_a_reopen_its_mover_undid_is_no_reopen_and_its_resolution_is_the_current_one(client, db, users):
    """Reopened from a dashboard row, then Undo (found in QA): the page and the export still said
    "Reopened: 1 time", listed the restored resolution as an earlier one, and the trail read the
    Undo as a new move to Resolved."""
    incident = _worked(db, users)
    with _at(560):
        incidents.transition(
            session=db, incident_id=incident.id, actor=users["lead"], to="resolved", reason=FIRST_FIX, is_undo=True
        )
    db.commit()
    sign_in(client, users["lead"])

    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert "Reopened" not in _details(page)
    assert any("Lee Lead undid the move: back to Resolved (from In Progress)" in line for line in timeline(page))
    document = _export(client, incident)
    assert "Reopened" not in document.facts()
    assert document.facts()["Resolved"] == "2026-12-01 08:03:20 UTC"  # when it was resolved, not the Undo
    assert "Earlier resolutions" not in document.headings()
    assert FIRST_FIX in document.source.split("## Resolution summary")[1].split("## Files")[0]
    events = [line.split(" UTC ", 1)[-1] for line, _quoted in document.entries()]
    assert "Lee Lead undid the move: back to Resolved (from In Progress)" in events


def test_an_undo_of_a_resolve_is_no_reopen(client, db, users):
    incident = _worked(db, users, reopens=0, resolved_again=True)
    with _at(5010):
        incidents.transition(
            session=db, incident_id=incident.id, actor=users["lead"], to="in_progress", reason="x", is_undo=True
        )
    db.commit()
    sign_in(client, users["lead"])
    assert "Reopened" not in _details(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    document = _export(client, incident)
    assert "Reopened" not in document.facts()
    assert "Earlier resolutions" not in document.headings()


def test_never_reopened_the_export_says_nothing_about_reopening(client, db, users, make_incident):
    incident = make_incident("resolved")
    sign_in(client, users["lead"])
    document = _export(client, incident)
    assert "Reopened" not in document.facts()
    assert "Earlier resolutions" not in document.headings()


def test_the_export_reads_the_events_once_however_many_reopens(client, db, users):
    once, thrice = _worked(db, users), _worked(db, users, reopens=3)
    sign_in(client, users["lead"])
    counts = [
        _statements(client.application, lambda key=incident.key: client.get(f"/incidents/{key}/timeline.md"))
        for incident in (once, thrice)
    ]
    assert counts[0] == counts[1]


def test_the_incident_page_says_reopened_in_its_timeline_and_details(client, db, users, make_incident):
    incident = _worked(db, users)
    sign_in(client, users["member"])
    html = client.get(f"/incidents/{incident.key}").get_data(as_text=True)

    entries = timeline(html)
    assert f"Lee Lead reopened the incident (was Resolved): {AGAIN}" in entries
    assert not any("changed status from Resolved" in entry for entry in entries)
    assert _details(html)["Reopened"] == "1 time"

    never = make_incident("resolved")
    assert "Reopened" not in _details(client.get(f"/incidents/{never.key}").get_data(as_text=True))
