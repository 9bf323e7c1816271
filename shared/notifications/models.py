"""Notification rows: email preferences and deliveries, webhook endpoints, deliveries and attempts.

A delivery row is the unit of "send once": it is unique per (event, recipient) for email and per
(endpoint, webhook id) for webhooks, so a fan-out task that runs twice inserts nothing new, and
its status moves by compare-and-set (`pending` -> `sending` -> `sent`/`delivered`/...) so two
workers holding the same delivery never both send it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, utcnow


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"
    FAILED = "failed"  # the server refused it for good, or the retries ran out


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at
    SENDING = "sending"  # claimed by a worker until lease_until
    DELIVERED = "delivered"
    FAILED = "failed"  # refused at send time, 410, or the schedule ran out
    CANCELLED = "cancelled"  # the endpoint was disabled or deleted before it went out


class NotificationPreference(Base):
    """A user's email choice (/profile). No row means "all"."""

    __tablename__ = "notification_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    email: Mapped[str] = mapped_column(String(10), default="all")  # rules.EmailPreference
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EmailDelivery(Base):
    __tablename__ = "email_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id", name="uq_email_deliveries_event_recipient"),
        Index("ix_email_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(80))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))  # rules.EventKind, or "webhook_disabled"
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), default=None)
    # What the mail is about, frozen at fan-out (a later edit does not rewrite a queued mail).
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=EmailStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The retry schedule lives here, not in Celery countdowns: the beat hands out what is due.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    sent_to: Mapped[str | None] = mapped_column(String(500), default=None)  # smtp://host:port or the .eml path
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        # One endpoint per URL even when two requests add it at once (a double click on Add,
        # two admins): the look-up before the insert cannot see the other's uncommitted row.
        Index("uq_webhook_endpoints_url_digest", "url_digest", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    # sha256 of the URL as the receiver gets it (service.url_digest): fixed length for the
    # unique index. NULL only on duplicates saved before migration 0012 (they keep working).
    url_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list] = mapped_column(JSON, default=list)  # public names: "incident.created", ...
    payload_format: Mapped[str] = mapped_column(String(10), default="standard")  # webhooks.PayloadFormat
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Encrypted with a key derived from SECRET_KEY (shared/notifications/secrets.py): a database
    # dump alone does not let anyone forge our signatures.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # The secret before the last rotation; it keeps signing until previous_secret_expires_at.
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint; its attempts are WebhookAttempt rows."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "webhook_id", name="uq_webhook_deliveries_endpoint_webhook_id"),
        # The beat's sweep asks for due rows; the log lists an endpoint's newest first.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    webhook_id: Mapped[str] = mapped_column(String(255))  # the webhook-id header: same on every retry
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, fixed at fan-out so retries send the same bytes
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # When a task was last published for it; the sweep does not hand it out again for a while.
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        order_by="WebhookAttempt.attempt", cascade="all, delete-orphan", passive_deletes=True
    )


class WebhookAttempt(Base):
    """One POST: the delivery log row an admin reads."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt", name="uq_webhook_attempts_delivery_attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(10))  # webhooks.Outcome
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, default=None)
