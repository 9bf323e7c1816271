"""`flask --app web audit verify` checks the chain against the latest anchor in storage;
`audit anchor` writes one now, as the beat does."""

from __future__ import annotations

from sqlalchemy import func, select, text
from web_helpers import build_app, make_settings

from shared.audit import anchors
from shared.audit.models import AuditEvent
from shared.evidence.storage import LocalStorage
from shared.incidents import service as incidents


def delete_newest_events(engine, keep_through: int) -> None:
    """Switch the append-only trigger off and cut the chain's tail, as a table owner could."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("DELETE FROM audit_events WHERE id > :id"), {"id": keep_through})


def test_audit_verify_says_when_the_chain_is_shorter_than_the_anchor_promised(make_app, db, engine, users, tmp_path):
    storage_path = tmp_path / "evidence"
    app = make_app(local_storage_path=str(storage_path))
    runner = app.test_cli_runner()
    incident = incidents.create_incident(session=db, actor=users["member"], title="Anchored")
    db.commit()
    for number in range(3):
        incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=f"note {number}")
        db.commit()
    anchor = anchors.write_anchor(session=db, storage=LocalStorage(storage_path))
    db.commit()

    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0
    assert ok.output.startswith("OK:")

    delete_newest_events(engine, anchor.event_id - 1)
    broken = runner.invoke(args=["audit", "verify", "--full"])
    assert broken.exit_code == 1
    assert "BROKEN: the chain is shorter than anchored" in broken.output
    assert f"promised event {anchor.event_id}" in broken.output


def test_audit_anchor_writes_the_head_now_and_verify_then_holds_the_chain_to_it(make_app, db, engine, users, tmp_path):
    storage_path = tmp_path / "evidence"
    runner = make_app(local_storage_path=str(storage_path)).test_cli_runner()
    incidents.create_incident(session=db, actor=users["member"], title="Anchored by hand")
    db.commit()
    newest, total = db.execute(select(func.max(AuditEvent.id), func.count(AuditEvent.id))).one()

    result = runner.invoke(args=["audit", "anchor"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Anchored event {newest} ({total} events) in audit-anchors/latest.json, ")
    anchor = anchors.latest_anchor(storage=LocalStorage(storage_path))
    assert (anchor.event_id, anchor.events) == (newest, total)
    assert runner.invoke(args=["audit", "verify", "--require-anchor"]).exit_code == 0

    delete_newest_events(engine, newest - 1)
    broken = runner.invoke(args=["audit", "verify", "--full"])
    assert broken.exit_code == 1
    assert f"BROKEN: the chain is shorter than anchored: it ends at event {newest - 1}" in broken.output


def test_audit_anchor_with_no_events_writes_nothing(db, database_url, tmp_path):
    storage_path = tmp_path / "evidence"
    app = build_app(make_settings(database_url, local_storage_path=str(storage_path)))
    try:
        result = app.test_cli_runner().invoke(args=["audit", "anchor"])
    finally:
        app.extensions["db_engine"].dispose()
    assert (result.exit_code, result.output) == (0, "No audit events yet: nothing to anchor.\n")
    assert anchors.latest_anchor(storage=LocalStorage(storage_path)) is None


def test_audit_anchor_never_anchors_a_broken_chain(make_app, db, engine, users, tmp_path):
    storage_path = tmp_path / "evidence"
    runner = make_app(local_storage_path=str(storage_path)).test_cli_runner()
    first = db.scalar(select(func.min(AuditEvent.id)))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("UPDATE audit_events SET data = :data WHERE id = :id"), {"data": "{}", "id": first})

    result = runner.invoke(args=["audit", "anchor"])
    assert (result.exit_code, result.output) == (
        1,
        f"Error: No anchor written: the chain is broken at audit event {first}: its content does not match its "
        "hash. Run `flask --app web audit verify --full`.\n",
    )
    assert anchors.latest_anchor(storage=LocalStorage(storage_path)) is None
