"""Transactional outbox: messages written with the change, relayed to Celery after commit."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, utcnow


def new_message_id() -> str:
    return uuid.uuid4().hex


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        # Only unpublished rows are ever looked up (by the relay, oldest due first): the partial
        # index stays as small as the backlog however many messages were ever sent. SQLite
        # supports partial indexes too.
        Index(
            "ix_outbox_messages_unpublished",
            "available_at",
            "created_at",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_message_id)
    topic: Mapped[str] = mapped_column(String(60))  # an EventType value; TASK_ROUTES maps it to tasks
    payload: Mapped[dict] = mapped_column(JSON, default=dict)  # ids only, never copies of text
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Not published before this: a failed publish backs off exponentially, and a move offered an
    # Undo is held for its window (`service.hold_new`; payload `held: true` while it may be withdrawn).
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
