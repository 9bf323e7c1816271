"""`flask --app web audit export`: every matching event, oldest first, as JSON lines (exactly as
hashed: an archive re-verifies) or formula-safe CSV, streamed in chunks, to stdout or a file
that appears whole or not at all; a bad option is one line naming it, exit 1."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from shared.accounts import service as accounts
from shared.audit import listing
from shared.audit import service as audit
from shared.incidents import service as incidents
from web.csv_export import AUDIT_COLUMNS


@pytest.fixture
def trail(db, users, make_incident):
    incident = make_incident("in_progress", reporter="lead", title='=HYPERLINK("http://evil") disk full')
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body="Seen it.")
    accounts.change_role(session=db, actor=users["admin"], user_id=users["other"].id, role="lead")
    db.commit()
    return incident


def _records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_export_writes_every_event_oldest_first_as_json_lines(runner, trail):
    result = runner.invoke(args=["audit", "export"])
    assert result.exit_code == 0, result.output
    records = _records(result.stdout)
    assert len(records) == 4 + 5  # the four users' creation, then the incident's life and the role change
    assert [r["action"] for r in records[-2:]] == ["incident.commented", "user.role_changed"]
    assert [(r["occurred_at"], r["id"]) for r in records] == sorted((r["occurred_at"], r["id"]) for r in records)
    assert records[-1]["actor"] == {"email": "admin@example.com", "name": "Ada Admin"}
    assert records[-2]["incident"] == trail.key
    assert result.stderr == "Exported 9 audit events.\n"  # the summary stays out of the data


def test_a_json_lines_archive_re_verifies_on_its_own(runner, trail):
    records = _records(runner.invoke(args=["audit", "export"]).stdout)
    previous = audit.GENESIS_HASH
    for record in sorted(records, key=lambda r: r["id"]):
        canonical = audit.canonical_json_of(
            action=record["action"],
            actor_id=record["actor_id"],
            data=record["data"],
            entity_id=record["entity_id"],
            entity_type=record["entity_type"],
            incident_id=record["incident_id"],
            occurred_at=datetime.fromisoformat(record["occurred_at"]),
        )
        assert record["prev_hash"] == previous
        assert audit.chain_hash(previous, canonical) == record["hash"]
        previous = record["hash"]


def test_export_filters_like_the_page(runner, users, trail):
    result = runner.invoke(
        args=["audit", "export", "--action", "incident.", "--actor", "lead@example.com", "--since", "2000-01-01"]
    )
    assert result.exit_code == 0, result.output
    assert [r["action"] for r in _records(result.stdout)] == [
        "incident.created",
        "incident.assigned",
        "incident.status_changed",
    ]
    result = runner.invoke(args=["audit", "export", "--entity-type", "user", "--entity-id", str(users["other"].id)])
    assert [r["action"] for r in _records(result.stdout)] == ["user.created", "user.role_changed"]
    result = runner.invoke(args=["audit", "export", "--incident", trail.key, "--until", "2000-12-31"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Exported 0 audit events.\n")


def test_export_as_csv_is_formula_safe(runner, trail):
    result = runner.invoke(args=["audit", "export", "--format", "csv", "--action", "incident.created"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(AUDIT_COLUMNS)
    [row] = rows[1:]
    assert row[3:6] == ["lead@example.com", "Lee Lead", "incident.created"]
    assert json.loads(row[10])["title"] == '=HYPERLINK("http://evil") disk full'


def test_export_to_a_file_appears_whole_or_not_at_all(runner, trail, tmp_path, monkeypatch):
    archive = tmp_path / "audit-2026-11.jsonl"
    result = runner.invoke(args=["audit", "export", "--output", str(archive)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"Exported 9 audit events to {archive}.\n"
    assert len(_records(archive.read_text(encoding="utf-8"))) == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]

    written = archive.read_text(encoding="utf-8")

    def broken(**_kwargs):
        yield from []
        raise RuntimeError("the database went away half-way")

    monkeypatch.setattr(listing, "_chunks", lambda *args: broken())
    result = runner.invoke(args=["audit", "export", "--output", str(archive)])
    assert result.exit_code != 0
    assert archive.read_text(encoding="utf-8") == written  # the last whole export is still there
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]  # and no partial file


def test_export_reads_in_bounded_chunks_whatever_the_trail(runner, app, trail, monkeypatch):
    monkeypatch.setattr(listing, "EXPORT_CHUNK", 2)
    engine = app.extensions["db_engine"]
    reads: list[str] = []

    def capture(_conn, _cursor, statement, _parameters, _context, _many):
        if "FROM audit_events" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        result = runner.invoke(args=["audit", "export"])
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(_records(result.stdout)) == 9
    assert len(reads) == 5  # 2 + 2 + 2 + 2 + 1 events
    assert all("LIMIT" in statement for statement in reads)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-13-01"], "--since: '2026-13-01' is not a date or a time"),
        (["--until", "last week"], "--until: 'last week' is not a date or a time"),
        (["--action", "usr."], "--action: Unknown action 'usr.'"),
        (["--actor", "nobody@example.com"], "--actor: No user with the email 'nobody@example.com'"),
        (["--entity-id", "7"], "--entity-id: Give --entity-type with --entity-id"),
        (["--entity-type", "comment"], "--entity-type: Unknown entity type 'comment'"),
        (["--incident", "INC-999"], "--incident: No incident INC-999"),
        (["--since", "2026-12-02", "--until", "2026-12-01"], "--until (2026-12-01) must be later than --since"),
        (["--tz", "Mars/Olympus_Mons"], "--tz: Unknown time zone 'Mars/Olympus_Mons'"),
    ],
)
def test_a_bad_option_is_one_line_naming_it_and_exit_1(runner, users, tmp_path, args, message):
    archive = tmp_path / "out.jsonl"
    result = runner.invoke(args=["audit", "export", *args, "--output", str(archive)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {message}")
    assert len(result.output.splitlines()) == 1
    assert not archive.exists()


def test_an_output_it_cannot_write_is_one_line_and_exit_1(runner, users, tmp_path):
    target = tmp_path / "no-such-folder" / "audit.jsonl"
    result = runner.invoke(args=["audit", "export", "--output", str(target)])
    assert (result.exit_code, result.output) == (1, f"Error: Cannot write {target}: No such file or directory.\n")


def test_export_explains_itself(runner):
    result = runner.invoke(args=["audit", "export", "--help"])
    assert result.exit_code == 0, result.output
    options = ("--since", "--until", "--tz", "--action", "--actor", "--entity-type", "--incident", "--format")
    for option in (*options, "--output"):
        assert option in result.output
    assert "oldest first" in result.output


def test_since_and_until_are_read_in_the_zone_given(runner, db, users):
    """An auditor in Los Angeles exports 07:35 to 07:36 their time: the event at 15:35:30 UTC.
    Without --tz the same times are UTC (and an offset typed always means itself)."""
    audit.append(
        session=db,
        actor_id=users["admin"].id,
        action="user.disabled",
        entity_type="user",
        entity_id=users["other"].id,
        data={"email": "other@example.com"},
        occurred_at=datetime(2026, 12, 1, 15, 35, 30, tzinfo=UTC),
    )
    db.commit()
    window = ["--action", "user.disabled", "--since", "2026-12-01T07:35", "--until", "2026-12-01T07:36"]

    there = runner.invoke(args=["audit", "export", *window, "--tz", "America/Los_Angeles"])
    in_utc = runner.invoke(args=["audit", "export", *window])

    assert there.exit_code == 0, there.output
    assert [r["occurred_at"][:19] for r in _records(there.stdout)] == ["2026-12-01T15:35:30"]
    assert (in_utc.exit_code, in_utc.stdout) == (0, "")
