"""An incident's last activity, on both backends: at the 18:00 handover, `updated:12h sort:recent`
lists an incident only commented on this shift (first, when that comment is the latest thing that
happened), and `-updated:7d` no longer calls it quiet. Comments, follow-ups and files move it;
none of them changes the incident's version, so an edit form opened before them still saves.

Found at a shift handover: an incident edited three days ago and discussed an hour before the
handover was missing from "what moved this shift", and listed among the quiet ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from shared import migrate
from shared.db import clock_at, make_engine
from shared.evidence import service as evidence_service
from shared.evidence.models import EvidenceState
from shared.evidence.storage import StoredObject
from shared.incidents import follow_ups, search
from shared.incidents import service as incidents
from shared.incidents.models import Incident
from shared.incidents.search import parse_query
from shared.timeutil import as_utc

HANDOVER = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
SHA = "a" * 64


def hours_before(hours: float) -> datetime:
    return HANDOVER - timedelta(hours=hours)


def file(db, users, title: str, at: datetime) -> Incident:
    with clock_at(at):
        incident = incidents.create_incident(session=db, actor=users["lead"], title=title, component="rds")
    db.commit()
    return incident


def edit(db, users, incident: Incident, at: datetime, description: str) -> None:
    with clock_at(at):
        incidents.update_details(
            session=db,
            incident_id=incident.id,
            actor=users["lead"],
            title=incident.title,
            description=description,
            component=incident.component,
            environment=incident.environment,
            expected_version=incident.version,
        )
    db.commit()


def comment(db, users, incident: Incident, at: datetime, body: str = "Failover looks healthy now."):
    with clock_at(at):
        made = incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=body)
    db.commit()
    return made


def titles(db, users, query: str, sort: str = "priority") -> list[str]:
    with clock_at(HANDOVER):
        page = search.search(session=db, filters=parse_query(query), me_id=users["member"].id, sort=sort)
    return [incident.title for incident in page.incidents]


def last_activity(db, incident: Incident) -> datetime:
    db.expire_all()
    return as_utc(db.get_one(Incident, incident.id).activity_at)


@pytest.fixture
def shift(db, users) -> dict[str, Incident]:
    """'Discussed': filed four days ago, edited three days ago, commented on at 17:00 (an hour
    before the handover). 'Edited': filed five days ago, edited at 14:00. 'Quiet': filed ten days
    ago, nothing since."""
    made = {
        "Discussed": file(db, users, "Discussed", hours_before(96)),
        "Edited": file(db, users, "Edited", hours_before(120)),
        "Quiet": file(db, users, "Quiet", hours_before(240)),
    }
    edit(db, users, made["Discussed"], hours_before(72), "Replica lag on the writer.")
    edit(db, users, made["Edited"], hours_before(4), "Raised the pool size.")
    comment(db, users, made["Discussed"], hours_before(1))
    return made


def test_an_incident_only_commented_this_shift_is_in_the_handover_newest_first(db, users, shift):
    assert titles(db, users, "updated:12h", sort="recent") == ["Discussed", "Edited"]
    assert titles(db, users, "", sort="recent") == ["Discussed", "Edited", "Quiet"]
    assert titles(db, users, "", sort="oldest") == ["Quiet", "Edited", "Discussed"]
    assert titles(db, users, "updated:today", sort="recent") == ["Discussed", "Edited"]
    # "Not touched for a week": the one discussed an hour ago is not among them.
    assert titles(db, users, "-updated:7d") == ["Quiet"]
    assert titles(db, users, "-updated:2d", sort="recent") == ["Quiet"]
    # The incident's own last change is still three days ago (the API's updated_at).
    discussed = db.get_one(Incident, shift["Discussed"].id)
    assert as_utc(discussed.updated_at) == hours_before(72)
    assert last_activity(db, discussed) == hours_before(1)


def test_a_comment_leaves_an_edit_form_opened_before_it_saveable(db, users, shift):
    """The lead opens the edit form of 'Edited'; the member comments; the lead saves."""
    opened = db.get_one(Incident, shift["Edited"].id).version
    comment(db, users, shift["Edited"], hours_before(0.5), "Pool change rolled out to every host.")
    assert last_activity(db, shift["Edited"]) == hours_before(0.5)
    assert db.get_one(Incident, shift["Edited"].id).version == opened
    with clock_at(hours_before(0.25)):
        saved = incidents.update_details(
            session=db,
            incident_id=shift["Edited"].id,
            actor=users["lead"],
            title="Edited: pool exhausted",
            description="Raised the pool size.",
            component="rds",
            environment="prod",
            expected_version=opened,
        )
    db.commit()
    assert saved.version == opened + 1
    # The save is the latest activity now, and its own change too.
    assert last_activity(db, saved) == hours_before(0.25)
    assert titles(db, users, "", sort="recent")[0] == "Edited: pool exhausted"


def test_a_redaction_is_activity_and_watching_is_not(db, users, shift):
    said = comment(db, users, shift["Quiet"], hours_before(3), "password=hunter2hunter2")
    with clock_at(hours_before(2)):
        incidents.redact_comment(
            session=db, incident_id=shift["Quiet"].id, comment_id=said.id, actor=users["admin"], reason="A password"
        )
    db.commit()
    assert last_activity(db, shift["Quiet"]) == hours_before(2)
    # Watching is one person's choice about their own mail: the handover does not list it.
    with clock_at(hours_before(0.1)):
        incidents.set_watching(session=db, incident_id=shift["Quiet"].id, actor=users["other"], watching=True)
    db.commit()
    assert last_activity(db, shift["Quiet"]) == hours_before(2)
    assert titles(db, users, "", sort="recent") == ["Discussed", "Quiet", "Edited"]


def test_follow_ups_move_the_last_activity_and_not_the_version(db, users, shift):
    quiet = shift["Quiet"]
    version = db.get_one(Incident, quiet.id).version
    with clock_at(hours_before(6)):
        added = follow_ups.add_follow_up(
            session=db, actor=users["lead"], incident_id=quiet.id, title="Alert on replica lag"
        )
    db.commit()
    assert last_activity(db, quiet) == hours_before(6)
    assert titles(db, users, "updated:12h", sort="recent") == ["Discussed", "Edited", "Quiet"]
    with clock_at(hours_before(0.5)):
        follow_ups.set_done(session=db, actor=users["lead"], incident_id=quiet.id, follow_up_id=added.id, done=True)
    db.commit()
    assert last_activity(db, quiet) == hours_before(0.5)
    assert titles(db, users, "", sort="recent")[0] == "Quiet"
    with clock_at(hours_before(0.4)):
        follow_ups.update_follow_up(
            session=db, actor=users["lead"], incident_id=quiet.id, follow_up_id=added.id, title="Alert on lag"
        )
    db.commit()
    assert last_activity(db, quiet) == hours_before(0.4)
    with clock_at(hours_before(0.3)):
        follow_ups.delete_follow_up(session=db, actor=users["lead"], incident_id=quiet.id, follow_up_id=added.id)
    db.commit()
    assert last_activity(db, quiet) == hours_before(0.3)
    assert db.get_one(Incident, quiet.id).version == version


def test_a_file_attached_and_its_scan_move_the_last_activity_and_not_the_version(db, users, shift):
    quiet = shift["Quiet"]
    version = db.get_one(Incident, quiet.id).version
    with clock_at(hours_before(5)):
        item = evidence_service.attach(
            session=db,
            incident_id=quiet.id,
            actor=users["member"],
            stored=StoredObject(key="incoming/activity-test", size=10, sha256=SHA),
            file_name="pg.log",
        )
    db.commit()
    assert last_activity(db, quiet) == hours_before(5)
    assert titles(db, users, "updated:12h", sort="recent") == ["Discussed", "Edited", "Quiet"]
    with clock_at(hours_before(0.5)):
        evidence_service.record_verdict(
            session=db, evidence_id=item.id, verdict=evidence_service.Verdict(state=EvidenceState.CLEAN)
        )
    db.commit()
    assert last_activity(db, quiet) == hours_before(0.5)
    assert db.get_one(Incident, quiet.id).version == version


def test_a_comment_refreshes_the_live_dashboard(db, users, shift):
    """The dashboard's poll compares this marker: a comment reorders `sort:recent`, so it moves it."""
    before = search.latest_change(session=db)
    comment(db, users, shift["Quiet"], hours_before(0.1))
    assert search.latest_change(session=db) != before


def test_the_migration_gives_existing_incidents_their_latest_activity_and_goes_back(temporary_database_url):
    """0022 on a database with history: each incident's last activity is the latest of its own
    change, its comments (written or redacted), follow-ups and files."""
    url = temporary_database_url()
    migrate.upgrade(url, "0021")
    engine = make_engine(url)

    def at(hours: float) -> datetime | str:
        # SQLite stores what SQLAlchemy writes there: naive UTC text.
        moment = hours_before(hours)
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if url.startswith("sqlite") else moment

    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, role, is_active, created_at)"
                    " VALUES (1, 'lead@example.com', 'Lee', 'x', 'lead', true, :t)"
                ),
                {"t": at(500)},
            )
            for id_ in (1, 2, 3, 4, 5):
                connection.execute(
                    text(
                        "INSERT INTO incidents (id, key, title, description, status, priority, component,"
                        " environment, reporter_id, created_at, updated_at, version)"
                        " VALUES (:id, :key, 't', '', 'open', 'P2', '', 'prod', 1, :t, :t, 1)"
                    ),
                    {"id": id_, "key": f"INC-{id_}", "t": at(100)},
                )
            comments = "INSERT INTO incident_comments (incident_id, author_id, body, created_at, redacted_at)"
            connection.execute(text(comments + " VALUES (2, 1, 'a', :t, NULL)"), {"t": at(10)})
            connection.execute(text(comments + " VALUES (2, 1, 'b', :t, NULL)"), {"t": at(20)})
            connection.execute(text(comments + " VALUES (3, 1, '[redacted]', :t, :r)"), {"t": at(50), "r": at(5)})
            connection.execute(
                text(
                    "INSERT INTO incident_follow_ups (incident_id, title, created_by_id, created_at, updated_at,"
                    " version) VALUES (4, 'Alert', 1, :t, :u, 1)"
                ),
                {"t": at(30), "u": at(3)},
            )
            connection.execute(
                text(
                    "INSERT INTO evidence (incident_id, uploader_id, display_name, storage_key, size, sha256,"
                    " declared_extension, declared_type, state, legal_hold, attempts, created_at, processed_at)"
                    " VALUES (5, 1, 'a.log', 'incoming/a', 1, :sha, 'log', '', 'clean', false, 0, :t, :p)"
                ),
                {"sha": SHA, "t": at(8), "p": at(7)},
            )
        engine.dispose()
        migrate.upgrade(url)
        engine = make_engine(url)
        with engine.connect() as connection:
            rows = connection.execute(select(Incident.id, Incident.activity_at).order_by(Incident.id)).all()
        assert {id_: as_utc(when) for id_, when in rows} == {
            1: hours_before(100),  # nothing but its filing
            2: hours_before(10),  # the later of its comments
            3: hours_before(5),  # redacted after it was written
            4: hours_before(3),  # its follow-up, last changed then
            5: hours_before(7),  # its file, scanned then
        }
        engine.dispose()
        migrate.downgrade(url, "0021")
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 5
        engine.dispose()
        migrate.upgrade(url)
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.execute(select(Incident.activity_at).where(Incident.id == 2)).scalar_one()
    finally:
        engine.dispose()
