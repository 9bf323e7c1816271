"""`flask --app web audit verify` checks the chain against the latest anchor in storage."""

from __future__ import annotations

from sqlalchemy import text

from shared.audit import anchors
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
