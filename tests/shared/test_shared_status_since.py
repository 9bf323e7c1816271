"""The "In status for" column reads when the incident entered its status: Blocked has a stamp of its own
(blocked_at), so an edit of a blocked incident does not restart it, and an Undo goes back to the
time the status it returns to was entered, not to the moment of the Undo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from shared import migrate
from shared.db import clock_at, make_engine
from shared.incidents import service as incidents
from shared.incidents.lifecycle import status_since
from shared.incidents.models import Incident
from shared.timeutil import as_utc

MORNING = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return MORNING + timedelta(hours=hours)


def move(db, users, incident: Incident, to: str, when: datetime, *, reason="", is_undo=False, who="lead"):
    with clock_at(when):
        incidents.transition(
            session=db, incident_id=incident.id, actor=users[who], to=to, reason=reason, is_undo=is_undo
        )
    db.commit()


def blocked_incident(db, users) -> Incident:
    with clock_at(at(0)):
        incident = incidents.create_incident(session=db, actor=users["lead"], title="Queue backlog")
    db.commit()
    move(db, users, incident, "in_progress", at(1))
    move(db, users, incident, "blocked", at(2), reason="Waiting on the vendor")
    return incident


def test_editing_a_blocked_incident_does_not_restart_its_time_in_blocked(db, users):
    incident = blocked_incident(db, users)
    with clock_at(at(3)):
        incidents.change_priority(session=db, incident_id=incident.id, actor=users["lead"], priority="P1")
    with clock_at(at(4)):
        incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users["member"].id)
    db.commit()
    assert as_utc(status_since(db.get_one(Incident, incident.id))) == at(2)


def test_an_undone_unblock_is_blocked_since_the_first_block(db, users):
    incident = blocked_incident(db, users)
    move(db, users, incident, "in_progress", at(3))
    move(db, users, incident, "blocked", at(3.01), reason="Waiting on the vendor", is_undo=True)
    assert as_utc(status_since(db.get_one(Incident, incident.id))) == at(2)


def test_an_undone_block_is_in_progress_since_it_was_first_taken(db, users):
    incident = blocked_incident(db, users)
    move(db, users, incident, "in_progress", at(3), is_undo=True)
    assert as_utc(status_since(db.get_one(Incident, incident.id))) == at(1)


def test_an_undone_resolve_is_in_progress_since_it_was_taken_and_not_resolved(db, users):
    incident = blocked_incident(db, users)
    move(db, users, incident, "in_progress", at(3))
    move(db, users, incident, "resolved", at(4), reason="Vendor fixed the queue")
    move(db, users, incident, "in_progress", at(4.01), reason="Resolved by mistake", is_undo=True)
    reverted = db.get_one(Incident, incident.id)
    assert as_utc(status_since(reverted)) == at(3)
    assert reverted.resolved_at is None


def resolved_then_reopened(db, users, *, reopened_by="lead") -> Incident:
    incident = blocked_incident(db, users)
    move(db, users, incident, "in_progress", at(3))
    move(db, users, incident, "resolved", at(4), reason="Vendor fixed the queue")
    move(db, users, incident, "in_progress", at(5), reason="Reopened by mistake", who=reopened_by)
    return incident


def test_an_undone_reopen_is_resolved_since_it_was_resolved(db, users):
    """A reopen clears the resolved time; its Undo puts back the first one, so time to resolve
    (and MTTR) does not count the minutes it spent reopened by mistake."""
    incident = resolved_then_reopened(db, users)
    assert db.get_one(Incident, incident.id).resolved_at is None
    move(db, users, incident, "resolved", at(5.01), reason="Vendor fixed the queue", is_undo=True)
    undone = db.get_one(Incident, incident.id)
    assert as_utc(undone.resolved_at) == at(4)
    assert as_utc(status_since(undone)) == at(4)
    assert undone.resolution_summary == "Vendor fixed the queue"


def test_resolving_a_reopened_incident_again_is_resolved_from_then(db, users):
    incident = resolved_then_reopened(db, users)
    move(db, users, incident, "resolved", at(7), reason="Fixed for good")
    assert as_utc(db.get_one(Incident, incident.id).resolved_at) == at(7)


def test_an_undo_of_someone_elses_reopen_is_resolved_from_then(db, users):
    incident = resolved_then_reopened(db, users, reopened_by="admin")
    move(db, users, incident, "resolved", at(6), reason="Vendor fixed the queue", is_undo=True)
    assert as_utc(db.get_one(Incident, incident.id).resolved_at) == at(6)


def test_a_move_that_is_no_undo_starts_the_time_again(db, users):
    incident = blocked_incident(db, users)
    move(db, users, incident, "in_progress", at(3))
    move(db, users, incident, "blocked", at(5), reason="Waiting again")
    assert as_utc(status_since(db.get_one(Incident, incident.id))) == at(5)


def test_an_undo_of_someone_elses_move_starts_the_time_again(db, users):
    """The form's "undo" counts only for the way back of the person's own latest move: sent with
    another person's unblock, it is an ordinary block, Blocked from now."""
    incident = blocked_incident(db, users)
    move(db, users, incident, "in_progress", at(3), who="admin")
    move(db, users, incident, "blocked", at(4), reason="Waiting on the vendor", is_undo=True)
    assert as_utc(status_since(db.get_one(Incident, incident.id))) == at(4)


def test_the_migration_gives_blocked_incidents_their_latest_block_and_goes_back(temporary_database_url):
    """0025 on a database with history: a blocked incident takes the time of its latest move to
    Blocked from the audit trail (or its last change when the trail has none); no other row is
    written."""
    url = temporary_database_url()
    migrate.upgrade(url, "0024")
    engine = make_engine(url)

    def stored(moment: datetime) -> datetime | str:
        # SQLite stores what SQLAlchemy writes there: naive UTC text.
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if url.startswith("sqlite") else moment

    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, role, is_active, created_at)"
                    " VALUES (1, 'lead@example.com', 'Lee', 'x', 'lead', true, :t)"
                ),
                {"t": stored(at(-100))},
            )
            for id_, status in ((1, "blocked"), (2, "blocked"), (3, "in_progress")):
                connection.execute(
                    text(
                        "INSERT INTO incidents (id, key, title, description, status, priority, component,"
                        " environment, reporter_id, created_at, updated_at, version)"
                        " VALUES (:id, :key, 't', '', :status, 'P2', '', 'prod', 1, :t, :u, 1)"
                    ),
                    {"id": id_, "key": f"INC-{id_}", "status": status, "t": stored(at(0)), "u": stored(at(9))},
                )
            events = [  # (incident, moved to, when): INC-1 blocked twice, INC-3 once before it moved on
                (1, "blocked", at(2)),
                (1, "in_progress", at(3)),
                (1, "blocked", at(5)),
                (3, "blocked", at(4)),
                (3, "in_progress", at(6)),
            ]
            for number, (incident_id, to, when) in enumerate(events, start=1):
                connection.execute(
                    text(
                        "INSERT INTO audit_events (occurred_at, actor_id, action, entity_type, entity_id,"
                        " incident_id, data, prev_hash, hash)"
                        " VALUES (:t, 1, 'incident.status_changed', 'incident', :i, :i, :data, :prev, :hash)"
                    ),
                    {
                        "t": stored(when),
                        "i": incident_id,
                        "data": f'{{"from": "x", "to": "{to}"}}',
                        "prev": f"{number - 1:064d}",
                        "hash": f"{number:064d}",
                    },
                )
        engine.dispose()
        migrate.upgrade(url)
        engine = make_engine(url)
        with engine.connect() as connection:
            rows = connection.execute(select(Incident.id, Incident.blocked_at).order_by(Incident.id)).all()
        assert {id_: as_utc(when) for id_, when in rows} == {
            1: at(5),  # its latest move to Blocked
            2: at(9),  # no move in the trail: its last change
            3: None,  # not blocked now: left alone
        }
        engine.dispose()
        migrate.downgrade(url, "0024")
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 3
        engine.dispose()
        migrate.upgrade(url)
    finally:
        engine.dispose()
