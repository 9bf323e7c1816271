"""An incident event's webhook tells the incident's last activity (`last_activity_at`), as the
API's incident and the CSV export do: a comment moves it, and leaves `updated_at` where it was."""

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


@pytest.fixture
def hooks(db, users, database_url, session_factory, receiver):
    """(settings, factory): one Standard Webhooks endpoint on the receiver, for every incident event."""
    settings = notification_settings(database_url, receivers=[receiver])
    service.create_endpoint(
        session=db,
        actor=users["admin"],
        settings=settings,
        url=receiver.url(),
        event_types=["incident.created", "comment.created"],
    )
    db.commit()
    return settings, session_factory


def _incident_sent(db, event_type: str) -> dict:
    db.expire_all()
    delivery = db.scalars(select(WebhookDelivery).where(WebhookDelivery.event_type == event_type)).one()
    return json.loads(delivery.body)["data"]["incident"]


def test_incident_events_carry_the_last_activity_in_utc_as_the_other_times(db, users, hooks):
    settings, factory = hooks
    with clock_at(FILED):
        incident = incidents.create_incident(session=db, actor=users["member"], title="Disk full on log shipper")
        db.commit()
    fan_out_pending(factory, settings)

    filed = _incident_sent(db, "incident.created")
    assert filed["last_activity_at"] == filed["updated_at"] == filed["created_at"] == "2026-12-01T08:05:03Z"

    with clock_at(COMMENTED):
        incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="Rotated the logs.")
        db.commit()
    fan_out_pending(factory, settings)

    commented = _incident_sent(db, "comment.created")
    assert commented["last_activity_at"] == "2026-12-01T08:47:10Z"
    assert commented["updated_at"] == "2026-12-01T08:05:03Z"  # a comment leaves the incident row alone
