"""Run the notification pipeline in-process: outbox messages -> fan_out -> send_email / deliver_webhook.

The same service functions the worker's tasks call (worker/tasks/notifications.py), without
Celery, so a rule test runs in well under a second against the real SMTP and HTTP servers.
The Celery path itself is tested in test_notifications_worker.py.
"""

from __future__ import annotations

from sqlalchemy import select

from shared.config import Settings
from shared.db import transaction, utcnow
from shared.events import NOTIFIED_EVENTS
from shared.notifications import service
from shared.outbox.models import OutboxMessage

BASE_URL = "https://tracker.example"
SECRET_KEY = "k" * 40


def notification_settings(database_url: str, *, inbox=None, receivers=(), **overrides) -> Settings:
    values = {
        "app_env": "test",
        "database_url": database_url,
        "secret_key": SECRET_KEY,
        "base_url": BASE_URL,
        "webhook_allow_http": True,
        "webhook_allow_private_hosts": ",".join(f"127.0.0.1:{r.port}" for r in receivers),
        "webhook_timeout_seconds": 1.0,
    }
    if inbox is not None:
        values.update(smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_security="none")
    return Settings(**{**values, **overrides})


def fan_out_pending(factory, settings: Settings, *, runs: int = 1) -> service.FanOut:
    """Fan out every unpublished notification message (as the relay + fan-out task would;
    `runs`: how often each message's task runs, 2 as after a redelivery)."""
    emails: list[int] = []
    hooks: list[int] = []
    with transaction(factory) as session:
        messages = list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.published_at.is_(None), OutboxMessage.topic.in_([str(t) for t in NOTIFIED_EVENTS]))
                .order_by(OutboxMessage.created_at, OutboxMessage.id)
            )
        )
        for message in messages:
            message.published_at = utcnow()
    for message in messages * runs:
        with transaction(factory) as session:
            created = service.fan_out(
                session=session, settings=settings, topic=message.topic, payload=message.payload, message_id=message.id
            )
        emails.extend(created.email_ids)
        hooks.extend(created.webhook_ids)
    return service.FanOut(email_ids=tuple(emails), webhook_ids=tuple(hooks))


def deliver_all(factory, settings: Settings, created: service.FanOut) -> None:
    for delivery_id in created.email_ids:
        service.send_email(factory=factory, settings=settings, delivery_id=delivery_id)
    for delivery_id in created.webhook_ids:
        service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id)


def run_pipeline(factory, settings: Settings) -> service.FanOut:
    created = fan_out_pending(factory, settings)
    deliver_all(factory, settings, created)
    return created


def mailed_to(inbox) -> list[str]:
    """Recipients of what the SMTP server received, in order."""
    return [address for message in inbox.messages for address in message.rcpt_tos]
