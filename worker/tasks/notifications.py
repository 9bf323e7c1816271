"""Notification tasks: fan an event out to deliveries, send one email, make one webhook attempt,
and the beat's sweep that hands out what is due. The rules live in shared.notifications.service."""

from __future__ import annotations

from shared import events
from shared.db import transaction
from shared.notifications import service
from worker.celery_app import app, idempotent_task
from worker.db import session_factory

SEND_EMAIL = "incident_tracker.notifications.send_email"
DELIVER_WEBHOOK = events.WEBHOOK_DELIVER_TASK
DISPATCH_DUE = "incident_tracker.notifications.dispatch_due"


def _settings():
    return app.conf.incident_tracker_settings


def _dispatch(email_ids, webhook_ids) -> None:
    # A lost publish is not lost work: the rows are due, and the sweep hands them out again.
    for delivery_id in email_ids:
        app.send_task(SEND_EMAIL, kwargs={"delivery_id": delivery_id})
    for delivery_id in webhook_ids:
        app.send_task(DELIVER_WEBHOOK, kwargs={"delivery_id": delivery_id})


def _fan_out_task(topic: str):
    # Any failure (a database blip) is retried with backoff: the fan-out inserts only what is
    # missing, and this message is the event's only way in.
    @idempotent_task(app, name=events.notify_task(topic), autoretry_for=(Exception,))
    def fan_out(message_id: str, **payload) -> dict[str, int]:
        """Create this event's email and webhook deliveries (once), then send them."""
        factory = session_factory(_settings())
        with transaction(factory) as session:
            created = service.fan_out(
                session=session, settings=_settings(), topic=topic, payload=payload, message_id=message_id
            )
        _dispatch(created.email_ids, ())
        # Each webhook's first attempt is made here rather than by a task of its own: published
        # at the back of a queue that holds the rest of a burst's fan-outs, that task waited for
        # all of them (bench/webhook_fanout.py: 1,000 events, every delivery came after the last
        # fan-out). Retries, and a delivery this process dies in, go through the beat's sweep.
        for delivery_id in created.webhook_ids:
            service.deliver_webhook(factory=factory, settings=_settings(), delivery_id=delivery_id)
        return {"emails": len(created.email_ids), "webhooks": len(created.webhook_ids)}

    return fan_out


FAN_OUT_TASKS = {topic: _fan_out_task(topic) for topic in events.NOTIFIED_EVENTS}


@idempotent_task(app, name=SEND_EMAIL)
def send_email(delivery_id: int) -> str:
    """Send one email delivery (claimed by compare-and-set, so a second run sends nothing)."""
    return service.send_email(factory=session_factory(_settings()), settings=_settings(), delivery_id=delivery_id)


@idempotent_task(app, name=DELIVER_WEBHOOK)
def deliver_webhook(delivery_id: int) -> str:
    """One attempt at a due webhook delivery; the next one is scheduled in the database."""
    return service.deliver_webhook(factory=session_factory(_settings()), settings=_settings(), delivery_id=delivery_id)


@app.task(name=DISPATCH_DUE, acks_late=False, ignore_result=True)
def dispatch_due(limit: int = 200) -> dict[str, int]:
    """Hand out due retries, lost publishes and lapsed leases. Acknowledged early: the next beat tick runs it again."""
    with transaction(session_factory(_settings())) as session:
        due = service.claim_due(session=session, limit=limit)
    _dispatch(due.email_ids, due.webhook_ids)
    return {"emails": len(due.email_ids), "webhooks": len(due.webhook_ids)}
