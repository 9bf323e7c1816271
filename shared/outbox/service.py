"""Writing outbox messages in the caller's transaction (the relay lives in the worker)."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.outbox.models import OutboxMessage


def enqueue(*, session: Session, topic: str, payload: dict) -> OutboxMessage:
    """Record a message to publish after commit; it commits or rolls back with the change."""
    message = OutboxMessage(topic=topic, payload=json.loads(json.dumps(payload, default=str)))
    session.add(message)
    return message


def pending(*, session: Session, limit: int = 100) -> list[OutboxMessage]:
    """Unpublished messages, oldest first."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(limit)
        )
    )
