"""Incidents, their comments and watchers."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.accounts.models import User
from shared.db import Base, utcnow


class Priority(enum.StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


ENVIRONMENTS = ("prod", "staging", "dev", "preview", "shared")


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        # Serve the dashboard: filter by status, sort by priority or recency.
        Index("ix_incidents_status_priority_updated", "status", "priority", "updated_at"),
        Index("ix_incidents_updated_at", "updated_at"),
        Index("ix_incidents_owner_id", "owner_id"),
        Index("ix_incidents_component", "component"),
        Index("ix_incidents_environment", "environment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(20), unique=True)  # "INC-42", set from id
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[str] = mapped_column(String(2), default=Priority.P3.value)
    component: Mapped[str] = mapped_column(String(80), default="")
    environment: Mapped[str] = mapped_column(String(40), default="prod")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    blocked_reason: Mapped[str | None] = mapped_column(Text, default=None)
    resolution_summary: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    in_progress_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # Optimistic locking: every write bumps it; a stale write raises instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id], lazy="joined")
    watchers: Mapped[list[Watcher]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}

    def watcher_ids(self) -> set[int]:
        return {w.user_id for w in self.watchers}


class Watcher(Base):
    __tablename__ = "incident_watchers"
    __table_args__ = (UniqueConstraint("incident_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Comment(Base):
    __tablename__ = "incident_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")
