"""Append-only, hash-chained audit events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.accounts.models import User
from shared.db import Base, utcnow


class AuditEvent(Base):
    """One change. `hash` = SHA-256(prev_hash + canonical JSON of the event); nothing in the
    app updates or deletes a row, and on PostgreSQL a trigger refuses it."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # An incident's events in order, and its newest one, by one index range (migration 0011).
        Index("ix_audit_events_incident_id_id", "incident_id", "id"),
        # The audit log (shared/audit/listing.py), newest first by (occurred_at, id): the whole
        # trail or a time window, and each filter within a window, as one index range (0016).
        Index("ix_audit_events_occurred_at_id", "occurred_at", "id"),
        Index("ix_audit_events_action_occurred_at_id", "action", "occurred_at", "id"),
        Index("ix_audit_events_actor_id_occurred_at_id", "actor_id", "occurred_at", "id"),
        Index("ix_audit_events_entity_occurred_at_id", "entity_type", "entity_id", "occurred_at", "id"),
        Index("ix_audit_events_entity_type_occurred_at_id", "entity_type", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), default=None)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    actor: Mapped[User | None] = relationship(lazy="joined")


class AuditCheckpoint(Base):
    """Where a full walk of the chain last ended intact: `audit verify` resumes from the newest
    one instead of re-hashing millions of events. Trusting it is safe because verification
    re-checks that the event it names still carries `last_hash` (rewriting history before it
    would have to forge that hash too); `audit verify --full` ignores checkpoints altogether."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer)  # events verified from genesis up to last_event_id
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
