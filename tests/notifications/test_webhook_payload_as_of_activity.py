"""A webhook's incident is "as this event left it" for every time it carries, the last activity
and the acknowledgement included: a worker behind (Redis down, a queue) sends a comment's event
after a later move, and the receiver must still read the comment's time as the last activity,
not the move's; `acknowledged_at` is there as the API's incident has it (found by an integrator:
the README says the webhook's incident is the API's, and it lacked both)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from notification_helpers import fan_out_pending, notification_settings
from sqlalchemy import select

from shared.db import clock_at
from shared.incidents import service as incidents
from shared.notifications import service
from shared.notifications.models import WebhookDelivery

FILED = datetime(2026, 12, 1, 8, 5, 3, tzinfo=UTC)
COMMENTED = FILED + timedelta(minutes=42, seconds=7)
PICKED_UP = COMMENTED + timedelta(minutes=3)


@pytest.fixture
def hooks(db, users, database_url, session_factory, receiver):
    settings = notification_settings(database_url, receivers=[receiver])
    service.create_endpoint(
        session=db,
        actor=users["admin"],
        settings=settings,
        url=receiver.url(),
        event_types=["comment.created", "incident.status_changed"],
    )
    db.commit()
    return settings, session_factory


def _incident_sent(db, event_type: str) -> dict:
    db.expire_all()
    delivery = db.scalars(select(WebhookDelivery).where(WebhookDelivery.event_type == event_type)).one()
    return json.loads(delivery.body)["data"]["incident"]


def test_a_comment_sent_after_a_later_move_tells_the_comment_s_activity_and_no_acknowledgement(db, users, hooks):
    settings, factory = hooks
    with clock_at(FILED):
        incident = incidents.create_incident(session=db, actor=users["member"], title="Disk full on log shipper")
        db.commit()
    with clock_at(COMMENTED):
        incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="Rotated the logs.")
        db.commit()
    with clock_at(PICKED_UP):
        incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
        db.commit()
    fan_out_pending(factory, settings)  # the worker sends both only now, after the move

    commented = _incident_sent(db, "comment.created")
    assert commented["last_activity_at"] == "2026-12-01T08:47:10Z"
    assert commented["acknowledged_at"] is None  # not yet, when the comment was written
    assert commented["status"] == "open"

    moved = _incident_sent(db, "incident.status_changed")
    assert moved["last_activity_at"] == moved["acknowledged_at"] == "2026-12-01T08:50:10Z"
