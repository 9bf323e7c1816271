"""/audit in words: each event reads as a sentence with people by name (never "owner_id: 4"),
what it recorded stays one click away; times show seconds; From and To are read in the reader's
zone (the form's tz, filled by app.js), UTC without it, and an offset typed wins; the CSV gains
the sentence and the named details as its last columns. A page names its people in one query."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import event as sa_event
from web_helpers import sign_in

from shared.accounts import service as accounts
from shared.audit import service as audit
from shared.incidents import follow_ups
from shared.incidents import service as incidents
from web import csv_export

PAGE = "/audit"
CSV = "/audit.csv"
AT = datetime(2026, 12, 1, 15, 35, 30, tzinfo=UTC)  # 07:35:30 in Los Angeles (PST, UTC-8)


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def _text(html: str) -> str:
    """What a reader sees of some HTML: tags dropped, entities of quotes put back, spaces folded."""
    text = re.sub(r"<[^>]+>", " ", html).replace("&#34;", '"').replace("&#39;", "'")
    return " ".join(text.split())


def _row(client, action: str) -> str:
    html = client.get(PAGE, query_string={"action": action}).get_data(as_text=True)
    rows = _rows(html)
    assert rows, f"no {action} row"
    return rows[0]


def test_people_are_named_never_numbered_and_each_event_reads_as_a_sentence(client, db, users, make_incident):
    incident = make_incident(reporter="lead", owner=None, title="Disk full on db-1")
    incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users["member"].id)
    follow_ups.add_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, title="Add alerting", owner_id=users["other"].id
    )
    accounts.set_active(session=db, actor=users["admin"], user_id=users["other"].id, active=False)
    db.commit()
    sign_in(client, users["lead"])

    created = _row(client, "incident.created")
    assert f"Lee Lead created {incident.key} “Disk full on db-1” (P3, prod)" in _text(created)
    assert "owner: no owner" in _text(created)  # in words, not "owner_id: none"
    assert "owner_id" not in created

    follow_up = _row(client, "follow_up.created")
    assert f"Lee Lead added the follow-up “Add alerting” (owner Oti Other) on {incident.key}" in _text(follow_up)
    assert f"owner: Oti Other (other@example.com), user {users['other'].id}" in _text(follow_up)
    assert "owner_id" not in follow_up

    assigned = _row(client, "incident.assigned")
    assert f"Lee Lead assigned {incident.key} to Mo Member" in _text(assigned)
    assert "to: Mo Member (member@example.com)" in _text(assigned)

    disabled = _row(client, "user.disabled")
    assert "Ada Admin disabled Oti Other (other@example.com)" in _text(disabled)
    # What the event recorded stays there for an auditor, behind a disclosure.
    assert "<details><summary>Recorded data" in disabled
    assert "email: other@example.com" in _text(disabled)


def test_a_reopen_names_the_incident_and_quotes_the_reason(client, db, users, make_incident):
    incident = make_incident("resolved", reporter="lead")
    incidents.transition(
        session=db, incident_id=incident.id, actor=users["lead"], to="in_progress", reason="Fixed on one node only"
    )
    db.commit()
    sign_in(client, users["admin"])
    row = _row(client, "incident.status_changed")
    assert f"Lee Lead reopened {incident.key} (was Resolved): “Fixed on one node only”" in _text(row)


def test_a_sentence_is_escaped(client, db, users, make_incident):
    incident = make_incident(reporter="lead", title="db-1")
    follow_ups.add_follow_up(session=db, actor=users["lead"], incident_id=incident.id, title="<img src=x onerror=1>")
    db.commit()
    sign_in(client, users["admin"])
    html = client.get(PAGE).get_data(as_text=True)
    assert "“&lt;img src=x onerror=1&gt;”" in html
    assert "<img src=x" not in html


def test_times_show_seconds_with_utc_kept_for_the_hover(client, db, users):
    audit.append(
        session=db,
        actor_id=users["admin"].id,
        action="user.enabled",
        entity_type="user",
        entity_id=users["other"].id,
        data={"email": "other@example.com"},
        occurred_at=AT,
    )
    db.commit()
    sign_in(client, users["lead"])
    row = _row(client, "user.enabled")
    # app.js draws data-seconds times in the reader's zone to the second (the timeline's way).
    assert '<time datetime="2026-12-01T15:35:30+00:00" data-seconds>2026-12-01 15:35:30 UTC</time>' in row


@pytest.fixture
def event_at_735_in_los_angeles(db, users):
    audit.append(
        session=db,
        actor_id=users["admin"].id,
        action="user.enabled",
        entity_type="user",
        entity_id=users["other"].id,
        data={"email": "other@example.com"},
        occurred_at=AT,
    )
    db.commit()


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ({"from": "2026-12-01T07:35", "to": "2026-12-01T07:36", "tz": "America/Los_Angeles"}, True),
        ({"from": "2026-12-01T07:35", "to": "2026-12-01T07:36"}, False),  # no zone sent: UTC
        ({"from": "2026-12-01T15:35", "to": "2026-12-01T15:36"}, True),
        ({"from": "2026-12-01T07:35:00-08:00", "to": "2026-12-01T07:36:00-08:00", "tz": "Europe/Berlin"}, True),
        ({"from": "2026-12-01", "to": "2026-12-01", "tz": "America/Los_Angeles"}, True),  # its whole day there
        ({"from": "2026-12-02", "tz": "Asia/Tokyo"}, True),  # Dec 2 began in Tokyo at 15:00 UTC on Dec 1
        ({"from": "2026-12-02"}, False),
    ],
    ids=["los-angeles", "utc-by-default", "utc", "offset-typed-wins", "a-day-there", "tokyo-day", "utc-day"],
)
def test_from_and_to_are_read_in_the_zone_the_form_names(client, users, event_at_735_in_los_angeles, query, listed):
    sign_in(client, users["lead"])
    answer = client.get(PAGE, query_string={**query, "action": "user.enabled"})
    assert answer.status_code == 200
    assert (len(_rows(answer.get_data(as_text=True))) == 1) is listed


def test_the_labels_name_the_zone_and_links_keep_it(client, users, event_at_735_in_los_angeles):
    sign_in(client, users["lead"])
    html = client.get(PAGE).get_data(as_text=True)
    # Without JavaScript nothing fills tz: the labels say UTC, and so does the form.
    assert re.search(r'<label for="audit-from">From \(<span data-audit-zone-name>UTC</span>\)</label>', html)
    assert '<input type="hidden" name="tz" value="" data-reader-zone>' in html
    html = client.get(PAGE, query_string={"from": "2026-12-01", "tz": "America/Los_Angeles"}).get_data(as_text=True)
    assert re.search(r"From \(<span data-audit-zone-name>America/Los_Angeles</span>\)", html)
    assert re.search(r"To \(<span data-audit-zone-name>America/Los_Angeles</span>\)", html)
    assert 'name="tz" value="America/Los_Angeles"' in html
    csv_link = re.search(r'<a href="([^"]+)" download>Download CSV', html).group(1)
    assert "tz=America/Los_Angeles" in csv_link.replace("%2F", "/")
    assert "Clear filters" in html
    # A zone sent without From or To filters nothing: the page is the unfiltered one.
    html = client.get(PAGE, query_string={"tz": "America/Los_Angeles"}).get_data(as_text=True)
    assert "Clear filters" not in html
    assert "of the whole trail" in html


def test_an_unknown_zone_is_refused_by_name(client, users):
    sign_in(client, users["lead"])
    answer = client.get(PAGE, query_string={"from": "2026-12-01", "tz": "Mars/Olympus"})
    assert answer.status_code == 400
    assert "Time zone: Unknown time zone &#39;Mars/Olympus&#39;" in answer.get_data(as_text=True)


def test_the_csv_adds_the_sentence_and_named_details_at_the_end(client, db, users, make_incident):
    incident = make_incident(reporter="lead", owner=None)
    incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users["member"].id)
    accounts.set_active(session=db, actor=users["admin"], user_id=users["other"].id, active=False)
    db.commit()
    sign_in(client, users["lead"])
    rows = list(csv.DictReader(io.StringIO(client.get(CSV).get_data(as_text=True))))
    header = list(csv_export.AUDIT_COLUMNS)
    assert header[:13] == [
        "id",
        "occurred_at",
        "actor_id",
        "actor_email",
        "actor_name",
        "action",
        "entity_type",
        "entity_id",
        "incident_id",
        "incident",
        "data",
        "prev_hash",
        "hash",
    ]
    assert header[13:] == ["summary", "details"]
    by_action = {row["action"]: row for row in rows}
    assert by_action["user.disabled"]["summary"] == "Ada Admin disabled Oti Other (other@example.com)"
    assert by_action["incident.assigned"]["summary"] == f"Lee Lead assigned {incident.key} to Mo Member"
    assert "to: Mo Member (member@example.com)" in by_action["incident.assigned"]["details"]
    assert "owner: no owner" in by_action["incident.created"]["details"]
    assert by_action["incident.created"]["occurred_at"].endswith("+00:00")  # ISO, UTC, as before


def test_a_page_names_its_people_in_one_query_however_many_rows(client, app, db, users, make_incident):
    sign_in(client, users["lead"])
    engine = app.extensions["db_engine"]
    counted: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _many):
        counted.append(statement)

    def queries() -> int:
        counted.clear()
        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(PAGE).status_code == 200
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        return len(counted)

    make_incident(reporter="lead", owner="member")
    db.commit()
    one = queries()
    for owner in ("lead", "other", "admin", "member"):
        incident = make_incident(reporter="lead", owner=owner)
        for follow_up_owner in ("admin", "other", "member"):
            follow_ups.add_follow_up(
                session=db,
                actor=users["lead"],
                incident_id=incident.id,
                title=f"Check {follow_up_owner}",
                owner_id=users[follow_up_owner].id,
            )
    db.commit()
    assert queries() == one
    html = client.get(PAGE).get_data(as_text=True)
    assert "owner: Ada Admin (admin@example.com)" in _text(html)
