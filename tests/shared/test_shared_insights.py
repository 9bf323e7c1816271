"""Insights on both backends: MTTA/MTTR per priority and component, open incidents per day,
and the per-incident clocks they are built from."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import build_incident
from sqlalchemy import create_engine, text, update

from shared import migrate
from shared.errors import ValidationFailed
from shared.incidents import insights, timers
from shared.incidents import service as incidents
from shared.incidents.models import Incident

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _stamp(db, incident, **times) -> None:
    db.execute(update(Incident).where(Incident.id == incident.id).values(**times))
    db.commit()
    db.expire_all()


def test_mtta_and_mttr_per_priority_and_component_over_the_window(db, users):
    fast = build_incident(db, users, "resolved", reporter="lead", owner=None, priority="P1", component="rds")
    slow = build_incident(db, users, "in_progress", reporter="lead", owner=None, priority="P1", component="rds")
    waiting = build_incident(db, users, "open", reporter="lead", owner=None, priority="P2", component="alb")
    old = build_incident(db, users, "resolved", reporter="lead", owner=None, priority="P1", component="rds")
    day = NOW - timedelta(days=2)
    _stamp(db, fast, created_at=day, acknowledged_at=day + timedelta(minutes=10), resolved_at=day + timedelta(hours=2))
    _stamp(db, slow, created_at=day, acknowledged_at=day + timedelta(minutes=30))
    _stamp(db, waiting, created_at=day)
    old_day = NOW - timedelta(days=40)  # outside a 30-day window
    _stamp(db, old, created_at=old_day, acknowledged_at=old_day + timedelta(days=1), resolved_at=old_day)

    result = insights.compute(session=db, days=30, now=NOW)

    p1, p2, p3, p4 = result.by_priority
    assert (p1.label, p1.filed, p1.acknowledged, p1.resolved) == ("P1", 2, 2, 1)
    assert p1.mtta == pytest.approx(20 * 60, abs=1)
    assert p1.mttr == pytest.approx(2 * 3600, abs=1)
    assert (p2.filed, p2.acknowledged, p2.mtta, p2.mttr) == (1, 0, None, None)
    assert p3.filed == p4.filed == 0
    assert [(c.label, c.filed) for c in result.by_component] == [("rds", 2), ("alb", 1)]

    wider = insights.compute(session=db, days=90, now=NOW)
    assert wider.by_priority[0].filed == 3


def test_past_the_listed_components_the_count_still_names_them_all(db, users, monkeypatch):
    monkeypatch.setattr(insights, "LISTED_COMPONENTS", 3)
    for component in ("rds", "rds", "alb", "alb", "s3", "kafka", None):
        build_incident(db, users, "open", reporter="lead", owner=None, component=component)

    result = insights.compute(session=db, days=30)

    assert [(c.label, c.filed) for c in result.by_component] == [("alb", 2), ("rds", 2), ("(no component)", 1)]
    assert result.components == 5  # alb, rds, kafka, s3 and the incidents without one


def test_open_incidents_at_the_end_of_each_day(db, users):
    def stamp_days(incident, filed: int, ended: int | None = None, *, closed_only: bool = False) -> None:
        times = {"created_at": NOW - timedelta(days=filed)}
        if ended is not None:
            times["closed_at" if closed_only else "resolved_at"] = NOW - timedelta(days=ended)
        _stamp(db, incident, **times)

    stamp_days(build_incident(db, users, "open", reporter="lead", owner=None), filed=20)  # open all along
    stamp_days(build_incident(db, users, "in_progress", reporter="lead", owner=None), filed=3)
    stamp_days(build_incident(db, users, "resolved", reporter="lead", owner=None), filed=5, ended=2)
    stamp_days(build_incident(db, users, "closed", reporter="lead", owner=None), filed=10, ended=1)
    duplicate = incidents.create_incident(session=db, actor=users["lead"], title="Same as INC-1")
    incidents.transition(session=db, incident_id=duplicate.id, actor=users["lead"], to="closed", reason="Duplicate")
    db.commit()
    stamp_days(duplicate, filed=4, ended=4, closed_only=True)

    result = insights.compute(session=db, days=7, now=NOW)

    by_day = {c.day: c.open for c in result.open_over_time}
    today = NOW.date()
    assert len(by_day) == 7
    assert min(by_day) == today - timedelta(days=6)
    assert result.open_now == 2
    assert by_day[today] == 2
    assert by_day[today - timedelta(days=1)] == 2  # the closed one ended that day
    assert by_day[today - timedelta(days=2)] == 3  # the resolved one ended that day; the closed one still open
    assert by_day[today - timedelta(days=3)] == 4  # everyone but the duplicate
    assert by_day[today - timedelta(days=4)] == 3  # in-progress one not filed yet; duplicate closed that day
    assert by_day[today - timedelta(days=5)] == 3  # the resolved one filed that day
    assert by_day[today - timedelta(days=6)] == 2


def _open_from(result) -> date | None:
    """The first day of the window that ends with an incident open (one was filed, none ended)."""
    return next((c.day for c in result.open_over_time if c.open), None)


def test_days_are_the_readers_days(db, users):
    """Filed at 20:00 in Los Angeles on the 27th (04:00 UTC on the 28th): open from the 27th for
    a reader there, from the 28th in UTC; the window's first day starts at the reader's midnight."""
    los_angeles = ZoneInfo("America/Los_Angeles")
    evening = build_incident(db, users, "open", reporter="lead", owner=None, component="rds")
    _stamp(db, evening, created_at=datetime(2026, 11, 28, 4, 0, tzinfo=UTC))

    in_utc = insights.compute(session=db, days=7, now=NOW)
    there = insights.compute(session=db, days=7, now=NOW, zone=los_angeles)

    assert (in_utc.zone, there.zone) == ("UTC", "America/Los_Angeles")
    assert _open_from(in_utc) == date(2026, 11, 28)
    assert _open_from(there) == date(2026, 11, 27)
    # 12:00 UTC on the 29th is 04:00 on the 29th there: both windows end on the 29th.
    assert (there.first_day, there.last_day) == (date(2026, 11, 23), date(2026, 11, 29))

    # Filed a minute before the reader's first day began (08:00 UTC on the 23rd): outside it.
    _stamp(db, evening, created_at=datetime(2026, 11, 23, 7, 59, tzinfo=UTC))
    assert insights.compute(session=db, days=7, now=NOW, zone=los_angeles).by_priority[2].filed == 0
    _stamp(db, evening, created_at=datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    assert insights.compute(session=db, days=7, now=NOW, zone=los_angeles).by_priority[2].filed == 1


@pytest.mark.parametrize(
    ("zone", "filed", "day"),
    [
        # Berlin leaves summer time at 01:00 UTC on 25 October 2026 (+2 h, then +1 h).
        ("Europe/Berlin", datetime(2026, 10, 24, 22, 30, tzinfo=UTC), date(2026, 10, 25)),  # 00:30 summer time
        ("Europe/Berlin", datetime(2026, 10, 25, 22, 30, tzinfo=UTC), date(2026, 10, 25)),  # 23:30 winter time
        # Half-hour offsets stay whole: 18:45 UTC is 00:15 the next day in Kolkata (+5:30).
        ("Asia/Kolkata", datetime(2026, 10, 24, 18, 45, tzinfo=UTC), date(2026, 10, 25)),
    ],
)
def test_a_day_follows_the_readers_offset_on_that_day(db, users, zone, filed, day):
    incident = build_incident(db, users, "open", reporter="lead", owner=None)
    _stamp(db, incident, created_at=filed)

    result = insights.compute(session=db, days=7, now=datetime(2026, 10, 28, 12, 0, tzinfo=UTC), zone=ZoneInfo(zone))

    assert _open_from(result) == day


def test_the_zone_is_the_address_s_then_the_browser_s_then_utc():
    los_angeles, berlin = ZoneInfo("America/Los_Angeles"), ZoneInfo("Europe/Berlin")
    assert insights.reader_zone("America/Los_Angeles", "Europe/Berlin") == (los_angeles, [])
    assert insights.reader_zone("", "Europe/Berlin") == (berlin, [])
    assert insights.reader_zone(None, None) == (UTC, [])
    assert insights.reader_zone("Etc/UTC", "Europe/Berlin") == (UTC, [])
    assert insights.reader_zone(None, "Mars/Olympus_Mons") == (UTC, [])  # a stale cookie is not the reader's fault
    assert insights.reader_zone("Mars/Olympus_Mons", "Europe/Berlin") == (
        UTC,
        [
            "Unknown time zone 'Mars/Olympus_Mons': use a name such as America/Los_Angeles, or UTC."
            " The days are UTC days."
        ],
    )


def test_a_window_outside_the_choice_is_the_default():
    assert insights.window_days("7") == 7
    assert insights.window_days("365") == insights.DEFAULT_WINDOW
    assert insights.window_days("nope") == insights.DEFAULT_WINDOW


def test_time_to_acknowledge_is_the_first_move_to_in_progress(db, users):
    incident = build_incident(db, users, "blocked", reporter="lead", owner=None)
    first = incident.acknowledged_at
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    db.commit()
    assert incident.acknowledged_at == first  # unblocking does not restart the clock
    assert incident.in_progress_at >= first
    assert timers.time_to_acknowledge(incident) == timers.as_utc(first) - timers.as_utc(incident.created_at)
    assert timers.time_to_resolve(incident) is None


def test_due_dates_and_overdue(db, users):
    incident = build_incident(db, users, "in_progress", reporter="member", owner="member")
    today = timers.today()
    incidents.set_due_date(session=db, incident_id=incident.id, actor=users["member"], due_date=today)
    db.commit()
    assert not timers.is_overdue(incident)
    assert timers.is_overdue(incident, on=today + timedelta(days=1))
    with pytest.raises(ValidationFailed) as refused:
        incidents.set_due_date(
            session=db, incident_id=incident.id, actor=users["member"], due_date=today - timedelta(days=5)
        )
    # A day of slack for readers west of UTC: the message names the earliest day accepted.
    assert f"Choose {today - timedelta(days=1)} or a later day" in refused.value.field_errors["due_date"]
    with pytest.raises(ValidationFailed):
        timers.parse_due_date("31/12/2026")
    assert timers.parse_due_date(" ") is None
    assert timers.parse_due_date("2026-12-31") == date(2026, 12, 31)


def test_the_migration_takes_acknowledged_at_from_the_first_move_in_the_audit_trail(temporary_database_url):
    url = temporary_database_url()
    migrate.upgrade(url, "0002")
    engine = create_engine(url)
    filed, first, again = "2026-11-01 10:00:00", "2026-11-01 10:20:00", "2026-11-03 09:00:00"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, email, name, password_hash, role, is_active, created_at)"
                " VALUES (1, 'lead@example.com', 'Lee', 'x', 'lead', true, :t)"
            ),
            {"t": filed},
        )
        for id_, in_progress_at in ((1, again), (2, None), (3, first)):
            connection.execute(
                text(
                    "INSERT INTO incidents (id, key, title, description, status, priority, component, environment,"
                    " reporter_id, created_at, updated_at, in_progress_at, version)"
                    " VALUES (:id, :key, 't', '', :status, 'P2', '', 'prod', 1, :filed, :filed, :ip, 1)"
                ),
                {
                    "id": id_,
                    "key": f"INC-{id_}",
                    "status": "in_progress" if in_progress_at else "open",
                    "filed": filed,
                    "ip": in_progress_at,
                },
            )
        # INC-1 went to In Progress, was blocked, and came back: the first move counts.
        for n, (when, to) in enumerate(((first, "in_progress"), (again, "blocked"), (again, "in_progress"))):
            connection.execute(
                text(
                    "INSERT INTO audit_events (occurred_at, actor_id, action, entity_type, entity_id, incident_id,"
                    " data, prev_hash, hash) VALUES (:when, 1, 'incident.status_changed', 'incident', 1, 1,"
                    " :data, :prev, :hash)"
                ),
                {"when": when, "data": f'{{"from": "x", "to": "{to}"}}', "prev": str(n), "hash": str(n + 1)},
            )
    migrate.upgrade(url)
    with engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT id, acknowledged_at FROM incidents ORDER BY id")).all())
    engine.dispose()
    assert str(rows[1]).startswith("2026-11-01 10:20")  # from the audit trail, not in_progress_at
    assert rows[2] is None  # never picked up
    assert str(rows[3]).startswith("2026-11-01 10:20")  # no trail: in_progress_at


def test_only_the_environments_asked_are_counted(db, users):
    prod = build_incident(db, users, "resolved", reporter="lead", owner=None, priority="P1", environment="prod")
    build_incident(db, users, "open", reporter="lead", owner=None, priority="P1", environment="staging")
    build_incident(db, users, "open", reporter="lead", owner=None, priority="P2", environment="dev")
    _stamp(db, prod, created_at=NOW - timedelta(days=1), resolved_at=NOW - timedelta(hours=1))

    everywhere = insights.compute(session=db, days=7)
    in_prod = insights.compute(session=db, days=7, environments=("prod",))
    not_dev = insights.compute(session=db, days=7, environments=("prod", "staging"))

    assert (everywhere.by_priority[0].filed, everywhere.open_now) == (2, 2)
    assert (in_prod.environments, in_prod.by_priority[0].filed, in_prod.by_priority[0].resolved) == (("prod",), 1, 1)
    assert in_prod.open_now == 0
    assert [c.open for c in in_prod.open_over_time][-1] == 0
    assert (not_dev.by_priority[0].filed, not_dev.by_priority[1].filed, not_dev.open_now) == (2, 0, 1)


def test_environments_are_read_in_any_case_and_an_unknown_one_is_said():
    assert insights.environments_given("PROD, staging,prod") == (("prod", "staging"), [])
    assert insights.environments_given("") == ((), [])
    known, problems = insights.environments_given("prod,production")
    assert known == ("prod",)
    assert problems == ["There is no environment 'production': choose prod, staging, dev, preview or shared."]
