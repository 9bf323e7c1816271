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
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from shared.accounts.models import User
from shared.db import Base, utcnow


class Priority(enum.StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


ENVIRONMENTS = ("prod", "staging", "dev", "preview", "shared")


def _activity_default(context) -> datetime:
    """A new incident's last activity is its updated_at (its creation)."""
    updated_at = context.get_current_parameters().get("updated_at")
    return updated_at if updated_at is not None else utcnow()


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_environment", "environment"),)

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
    # The last activity of any kind: its own changes, and its comments, follow-ups and evidence
    # (shared.incidents.activity), for `updated:` and the recency sorts. Setting updated_at sets
    # it (below); anything else moves it by an UPDATE of this column alone, never through this
    # attribute, so a comment does not bump `version`. A row inserted without it takes its
    # updated_at; the server default covers SQL that names neither (migration 0022).
    activity_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_activity_default, server_default=func.now()
    )
    in_progress_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The first move to In Progress (time to acknowledge). in_progress_at moves on every return
    # to In Progress (unblocked, reopened); this one is stamped once.
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The latest move to Blocked ("Blocked since"; migration 0025).
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # Optimistic locking: every write bumps it; a stale write raises instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id], lazy="joined")
    # Loaded when asked for (the incident page): list pages never show watchers.
    watchers: Mapped[list[Watcher]] = relationship(cascade="all, delete-orphan", lazy="select")

    # SQLAlchemy types __mapper_args__ as an instance variable: a ClassVar annotation fails mypy.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    def watcher_ids(self) -> set[int]:
        return {w.user_id for w in self.watchers}

    @validates("updated_at")
    def _change_is_activity(self, _key: str, value: datetime) -> datetime:
        # A change of the incident is activity too, written by the same UPDATE (one version).
        self.activity_at = value
        return value


# The dashboard's sorts, each served in order by an index so a page reads ~50 entries: the
# default (priority, most recently updated first), recency both ways (scanned backwards for
# "oldest"), and the same order under the selective qualifiers (status, owner, component).
_PRIORITY_ORDER = (Incident.priority, Incident.updated_at.desc(), Incident.id.desc())
Index("ix_incidents_priority_sort", *_PRIORITY_ORDER)
# `sort:recent`/`sort:oldest`, `updated:` and the live dashboard's change marker (migration 0022).
Index("ix_incidents_activity_sort", Incident.activity_at, Incident.id)
Index("ix_incidents_status_sort", Incident.status, *_PRIORITY_ORDER)
Index("ix_incidents_owner_sort", Incident.owner_id, *_PRIORITY_ORDER)
Index("ix_incidents_reporter_sort", Incident.reporter_id, *_PRIORITY_ORDER)  # `reporter:` (migration 0020)
Index("ix_incidents_component_sort", Incident.component, *_PRIORITY_ORDER)
# `sort:due` (soonest due first, none last: ascending, as PostgreSQL orders NULLs) and the `due:`
# date ranges. The partial one serves the dashboard's default view (everything but Closed) in due
# order without walking past the Closed incidents whose due dates are long gone (migration 0017).
_ACTIVE_ONLY = text("status <> 'closed'")
Index("ix_incidents_due_sort", Incident.due_date, *_PRIORITY_ORDER)
Index(
    "ix_incidents_active_due_sort",
    Incident.due_date,
    *_PRIORITY_ORDER,
    postgresql_where=_ACTIVE_ONLY,
    sqlite_where=_ACTIVE_ONLY,
)
# Insights read a bounded window of days: incidents filed, resolved or closed since then.
Index("ix_incidents_created_at", Incident.created_at)
Index("ix_incidents_resolved_at", Incident.resolved_at)
Index("ix_incidents_closed_at", Incident.closed_at)


class Watcher(Base):
    __tablename__ = "incident_watchers"
    __table_args__ = (UniqueConstraint("incident_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# `is:watching`: the incidents one person watches, from their rows alone (migration 0020).
Index("ix_incident_watchers_user", Watcher.user_id, Watcher.incident_id)


class Comment(Base):
    __tablename__ = "incident_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set when an admin replaced the body with a redaction notice (audited with the reason).
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    redacted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    redaction_reason: Mapped[str | None] = mapped_column(Text, default=None)

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    redacted_by: Mapped[User | None] = relationship(foreign_keys=[redacted_by_id], lazy="joined")


class FollowUp(Base):
    """Something to do after (or during) an incident: "Add an alert on replica lag". Open until
    someone marks it done (`done_at`); closing the incident leaves it as it is."""

    __tablename__ = "incident_follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    title: Mapped[str] = mapped_column(String(200))  # as long as an incident's title
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Optimistic locking, as on the incident: an edit from a stale form raises instead of
    # silently undoing someone else's change.
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="joined")
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


# The incident page and the API list an incident's follow-ups in the order they were added.
Index("ix_incident_follow_ups_incident", FollowUp.incident_id, FollowUp.id)
# "Your follow-ups": each person's open ones, soonest due first; by id within a due date, where
# a page resumes (migration 0024 added the id).
_OPEN_ONLY = text("done_at IS NULL")
Index(
    "ix_incident_follow_ups_open_by_owner",
    FollowUp.owner_id,
    FollowUp.due_date,
    FollowUp.id,
    postgresql_where=_OPEN_ONLY,
    sqlite_where=_OPEN_ONLY,
)
# "Your follow-ups" (/follow-ups, GET /api/v1/me/follow-ups): the done ones, most recently done
# first, and all of them, soonest due first (migration 0023).
_DONE_ONLY = text("done_at IS NOT NULL")
Index(
    "ix_incident_follow_ups_done_by_owner",
    FollowUp.owner_id,
    FollowUp.done_at.desc(),
    FollowUp.id.desc(),
    postgresql_where=_DONE_ONLY,
    sqlite_where=_DONE_ONLY,
)
Index("ix_incident_follow_ups_by_owner", FollowUp.owner_id, FollowUp.due_date, FollowUp.id)
# Everyone's follow-ups (/follow-ups?owner=all, GET /api/v1/follow-ups; migration 0024): open
# (and overdue) by due date, done by when, all by due date.
Index(
    "ix_incident_follow_ups_open_by_due",
    FollowUp.due_date,
    FollowUp.id,
    postgresql_where=_OPEN_ONLY,
    sqlite_where=_OPEN_ONLY,
)
Index(
    "ix_incident_follow_ups_done",
    FollowUp.done_at.desc(),
    FollowUp.id.desc(),
    postgresql_where=_DONE_ONLY,
    sqlite_where=_DONE_ONLY,
)
Index("ix_incident_follow_ups_by_due", FollowUp.due_date, FollowUp.id)
