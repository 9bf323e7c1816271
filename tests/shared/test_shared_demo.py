"""The demo seed `make run` uses: three users, thirty realistic incidents, once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from shared import demo
from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.db import utcnow
from shared.incidents import insights, search
from shared.incidents.models import Incident
from shared.outbox.models import OutboxMessage
from shared.timeutil import as_utc

PASSWORD = "demo-password-for-tests"


def test_the_seed_builds_a_realistic_demo_once(db):
    """One seed per backend (it takes a second), then everything a first-time user would notice."""
    assert demo.seed(session=db, password=PASSWORD) is True
    db.commit()
    # The demo is history, not news: nothing of it is left for the worker (no mails, no webhooks).
    assert db.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))) == 0

    users = {u.email: u.role for u in db.scalars(select(User))}
    assert users == {"admin@example.com": "admin", "lead@example.com": "lead", "member@example.com": "member"}
    assert accounts.authenticate(session=db, email="member@example.com", password=PASSWORD).role == "member"

    incidents = db.scalars(select(Incident)).all()
    assert len(incidents) == 30
    assert sorted(i.key for i in incidents) == sorted(f"INC-{n}" for n in range(1, 31))
    statuses = Counter(i.status for i in incidents)
    assert set(statuses) == {"open", "in_progress", "blocked", "resolved", "closed"}
    assert min(statuses.values()) >= 3
    assert {i.priority for i in incidents} == {"P1", "P2", "P3", "P4"}
    assert len({i.component for i in incidents}) >= 8
    assert len({i.environment for i in incidents}) >= 3
    assert any(i.owner_id is None for i in incidents)
    assert any(i.owner_id for i in incidents)
    assert all(i.blocked_reason for i in incidents if i.status == "blocked")
    assert all(i.resolution_summary for i in incidents if i.status in ("resolved", "closed"))

    # Spread over time, so sorting by recency shows something.
    recent = search.search(session=db, filters=search.Filters(), me_id=None, sort="recent", page_size=30)
    times = [i.updated_at for i in recent.incidents]
    assert len(set(times)) == 30
    assert times == sorted(times, reverse=True)

    # Weeks of history, each step at the moment it happened: the dashboard's ages and times in
    # status, MTTA/MTTR and the open-incident chart show something on the first `make run`.
    now = utcnow()
    for incident in incidents:
        stamps = [as_utc(incident.created_at)] + [
            as_utc(stamp)
            for stamp in (incident.acknowledged_at, incident.resolved_at, incident.closed_at)
            if stamp is not None
        ]
        assert stamps == sorted(stamps), incident.key
        assert stamps[-1] <= as_utc(incident.updated_at) <= now, incident.key
        history = db.scalars(
            select(AuditEvent.occurred_at).where(AuditEvent.incident_id == incident.id).order_by(AuditEvent.id)
        ).all()
        assert [as_utc(t) for t in history] == sorted(as_utc(t) for t in history), incident.key
        assert as_utc(history[0]) == stamps[0]
        assert as_utc(history[-1]) == as_utc(incident.updated_at)
    filed = sorted(as_utc(incident.created_at) for incident in incidents)
    assert timedelta(days=20) < now - filed[0] < timedelta(days=30)
    assert len({moment.date() for moment in filed}) >= 15
    assert all(now - as_utc(i.created_at) < timedelta(days=2) for i in incidents if i.status == "open")
    report = insights.compute(session=db, days=30)
    mtta = {timing.label: timing.mtta for timing in report.by_priority}
    mttr = {timing.label: timing.mttr for timing in report.by_priority}
    assert 60 < mtta["P1"] < mtta["P2"] < mtta["P3"] < mtta["P4"] < 86_400
    assert 3_600 < mttr["P2"] < mttr["P3"] < mttr["P4"]  # no P1 is resolved yet
    assert len({day.open for day in report.open_over_time}) >= 5  # not a flat line and a jump

    for query, title in [
        ("disk full", "Disk full on log shipper"),
        ("status:open priority:p1 rds", "RDS primary CPU pinned at 100%"),
    ]:
        found = search.search(session=db, filters=search.parse_query(query), me_id=None)
        assert title in [i.title for i in found.incidents], query

    report = audit.verify_chain(session=db)
    assert report.ok
    assert report.checked > 30

    # `make run` a second time: the seed sees the data and leaves it alone.
    assert demo.seed(session=db, password="another-password-123") is False
    db.commit()
    counts = (db.scalar(select(func.count(User.id))), db.scalar(select(func.count(Incident.id))))
    assert counts == (3, 30)
    assert accounts.authenticate(session=db, email="lead@example.com", password="another-password-123") is None
