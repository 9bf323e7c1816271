"""Filing an incident, posting a comment or adding a follow-up, once however often the request is sent.

An alert bridge that times out waiting for our answer sends again; a person double-clicks
File, or goes Back and submits again. With an Idempotency-Key (the API's header, the forms'
hidden field) every repeat within KEY_LIFETIME gets what the first request made, instead of a
second page for the same outage, the same comment or the same follow-up twice
(draft-ietf-httpapi-idempotency-key-header).

Keys belong to the person sending them: two people (or two bridges with their own accounts)
using the same key make two. The same key sent with different details is refused, since it
can only be a client's bug, and neither answer would be right."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.accounts.models import User
from shared.db import Base, utcnow
from shared.errors import ValidationFailed
from shared.incidents.models import Comment, FollowUp, Incident
from shared.timeutil import as_utc

KEY_MAX = 255
KEY_LIFETIME = timedelta(hours=24)
HEADER = "Idempotency-Key"


class IdempotencyKey(Base):
    """A key someone filed an incident with, and a digest of what they sent with it."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        # Each use clears the sender's expired keys: read in creation order per sender.
        Index("ix_idempotency_keys_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(KEY_MAX))
    request_digest: Mapped[str] = mapped_column(String(64))
    # What the key made, set in the transaction that claims it (never seen empty): an incident,
    # a comment or a follow-up.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("incident_comments.id", ondelete="CASCADE"))
    # A follow-up can be deleted (one added by mistake): its key goes with it.
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("incident_follow_ups.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Deleting a follow-up finds its key through this, not by reading every key (only a few keys
# are for follow-ups: the rest stay out of the index).
Index(
    "ix_idempotency_keys_follow_up",
    IdempotencyKey.follow_up_id,
    postgresql_where=text("follow_up_id IS NOT NULL"),
    sqlite_where=text("follow_up_id IS NOT NULL"),
)


@dataclass(frozen=True)
class Filed:
    incident: Incident
    replayed: bool  # True: an earlier request with this key filed it; nothing new was made


@dataclass(frozen=True)
class Commented:
    comment: Comment
    replayed: bool  # True: an earlier request with this key posted it


@dataclass(frozen=True)
class AddedFollowUp:
    follow_up: FollowUp
    replayed: bool  # True: an earlier request with this key added it


def key_problem(key: str, field: str = HEADER) -> str | None:
    """Why `key` cannot be an idempotency key, or None. Visible ASCII: it travels in a header."""
    if not key:
        return f"{field} is empty; send a unique value per incident, such as a UUID, or leave it out."
    if len(key) > KEY_MAX:
        return f"{field} is {len(key):,} characters long; keep it to {KEY_MAX}."
    if any(not (0x20 < ord(char) < 0x7F) for char in key):
        return f"{field} can only hold visible ASCII characters (no spaces), such as a UUID."
    return None


def request_digest(details: dict) -> str:
    """The same details, sent in any order, give the same digest."""
    canonical = json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def file_once(
    *,
    session: Session,
    actor: User,
    key: str,
    details: dict,
    file: Callable[[], Incident],
    field: str = HEADER,
) -> Filed:
    """Run `file` (which files the incident from `details`) unless `actor` already did with `key`."""
    made = _once(session, actor, key, {"kind": "incident", **details}, field, file, "incident_id")
    if isinstance(made, IdempotencyKey):
        return Filed(session.get_one(Incident, made.incident_id), replayed=True)
    return Filed(made, replayed=False)


def comment_once(
    *,
    session: Session,
    actor: User,
    key: str,
    details: dict,
    comment: Callable[[], Comment],
    field: str = HEADER,
) -> Commented:
    """Run `comment` (which posts the comment in `details`) unless `actor` already did with `key`."""
    made = _once(session, actor, key, {"kind": "comment", **details}, field, comment, "comment_id")
    if isinstance(made, IdempotencyKey):
        return Commented(session.get_one(Comment, made.comment_id), replayed=True)
    return Commented(made, replayed=False)


def follow_up_once(
    *,
    session: Session,
    actor: User,
    key: str,
    details: dict,
    follow_up: Callable[[], FollowUp],
    field: str = HEADER,
) -> AddedFollowUp:
    """Run `follow_up` (which adds the follow-up in `details`) unless `actor` already did with `key`."""
    made = _once(session, actor, key, {"kind": "follow_up", **details}, field, follow_up, "follow_up_id")
    if isinstance(made, IdempotencyKey):
        return AddedFollowUp(session.get_one(FollowUp, made.follow_up_id), replayed=True)
    return AddedFollowUp(made, replayed=False)


_Made = TypeVar("_Made", Incident, Comment, FollowUp)


def _once(
    session: Session,
    actor: User,
    key: str,
    details: dict,
    field: str,
    make: Callable[[], _Made],
    column: str,
) -> _Made | IdempotencyKey:
    """What `make` made, or the earlier claim when `key` was used before.

    The key is claimed before anything is made: a second request with the same key waits on
    the claim (PostgreSQL holds the unique index entry until the first commits) and is
    answered with the first one's result, never a duplicate."""
    if problem := key_problem(key, field):
        raise ValidationFailed({field: problem})
    digest = request_digest(details)
    now = utcnow()
    session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.user_id == actor.id, IdempotencyKey.created_at < now - KEY_LIFETIME)
    )
    earlier = _earlier(session, actor, key)
    if earlier is None:
        claim = IdempotencyKey(user_id=actor.id, key=key, request_digest=digest, created_at=now)
        try:
            # Before making anything, so that losing the race leaves nothing behind (no row, no
            # pending audit event or outbox message) to roll back.
            with session.begin_nested():
                session.add(claim)
                session.flush()
        except IntegrityError:
            # A request with this key committed first (the insert waited for it).
            earlier = _earlier(session, actor, key)
            if earlier is None:
                raise
        else:
            made = make()
            setattr(claim, column, made.id)
            session.flush()
            return made
    if earlier.request_digest != digest:
        what = _what_it_made(earlier)
        raise ValidationFailed(
            {
                field: f"This {field} was used at {as_utc(earlier.created_at):%H:%M UTC} for {what} with other "
                "details. Use a new key for a new request."
            }
        )
    return earlier


def _earlier(session: Session, actor: User, key: str) -> IdempotencyKey | None:
    return session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.user_id == actor.id, IdempotencyKey.key == key)
    ).one_or_none()


def _what_it_made(earlier: IdempotencyKey) -> str:
    if earlier.incident_id is not None:
        return "an incident"
    return "a comment" if earlier.comment_id is not None else "a follow-up"
