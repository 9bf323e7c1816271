"""Follow-ups: the things to do after (or during) an incident ("Add an alert on replica lag").

Who may (shared/permissions.py): anyone who may comment on an incident adds follow-ups to it,
ticks them done, reopens and edits them, whatever the incident's status (most are done after
it is closed); deleting one is for leads and admins, or its creator while it is open. Follow-ups
never block a move of the incident. Every change is one audit event on the incident's trail,
with the follow-up's id and title as they were, so the timeline still reads after a delete.
Giving a follow-up to someone else (adding it with them as owner, or reassigning it to them)
also writes a follow_up.assigned outbox message: the worker mails them (shared/notifications),
and the owner it was taken from, unless they moved it themselves.

A follow-up is a row of its own: adding or ticking one leaves the incident row (and its
version) alone, so it never turns someone's pending status change into a conflict. An edit of
a follow-up checks the follow-up's own version instead.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal, NamedTuple

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from shared.accounts.models import User
from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.db import utcnow
from shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shared.events import EventType
from shared.incidents import service as incidents
from shared.incidents import timers
from shared.incidents.activity import touch_activity
from shared.incidents.models import FollowUp, Incident
from shared.outbox import service as outbox
from shared.permissions import Action, can
from shared.text import one_line, unwanted_message
from shared.timeutil import as_utc

# As long as an incident's title (the API documents the same number).
TITLE_MAX = incidents.TITLE_MAX
# The most follow-ups one incident takes: a page lists them all, and a script gone wrong
# should meet a clear refusal, not grow the page without end.
PER_INCIDENT_MAX = 200
_MAX_ID = 2**31 - 1


class _Unchanged(Enum):
    """Marks a keyword left out on purpose (None already means "nobody" or "no due date")."""

    KEEP = "keep"


KEEP = _Unchanged.KEEP


def title_problem(title: str) -> str | None:
    """What is wrong with a follow-up's title (already on one line), or None."""
    if hidden := unwanted_message(title, "title"):
        return hidden
    if not title:
        return "Give the follow-up a title: what is to be done."
    if len(title) > TITLE_MAX:
        return f"The title is too long: use at most {TITLE_MAX} characters."
    return None


def _incident(session: Session, actor: User, ref: int | str) -> Incident:
    incident = incidents.get_incident(session=session, ref=ref)
    if not can(actor, Action.VIEW, incident):
        raise PermissionDenied(f"You cannot view {incident.key}.")
    return incident


def _may_change(actor: User, incident: Incident) -> None:
    if not can(actor, Action.COMMENT, incident):
        raise PermissionDenied("Only people who may comment on an incident can change its follow-ups.")


def _follow_up(session: Session, incident: Incident, follow_up_id: int) -> FollowUp:
    follow_up = session.get(FollowUp, follow_up_id) if 0 < follow_up_id <= _MAX_ID else None
    if follow_up is None or follow_up.incident_id != incident.id:
        raise NotFound(f"{incident.key} has no follow-up {follow_up_id}.")
    return follow_up


def _owner(session: Session, owner_id: int | None) -> User | None:
    # Only a newly chosen owner must be active: update_follow_up never asks about the owner a
    # follow-up already has, so an edit keeps an owner whose account was disabled since.
    if owner_id is None:
        return None
    owner = session.get(User, owner_id) if 0 < owner_id <= _MAX_ID else None
    if owner is None or not owner.is_active:
        raise ValidationFailed({"owner": "Choose an active user as the follow-up's owner, or nobody."})
    return owner


def _flush(session: Session, incident: Incident) -> None:
    key = incident.key  # read before a failed flush expires it
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(f"A follow-up of {key} was changed by someone else at the same moment.") from None


def _record(session: Session, actor: User, incident: Incident, action: EventType, data: dict) -> None:
    audit.append(
        session=session,
        actor_id=actor.id,
        action=action,
        entity_type="incident",
        entity_id=incident.id,
        incident_id=incident.id,
        data=data,
    )
    # Added, done or undone, edited, deleted: activity on the incident (`updated:`, `sort:recent`).
    touch_activity(session=session, incident_id=incident.id)


def _tell_owner(
    session: Session, actor: User, incident: Incident, follow_up: FollowUp, *, previous_owner_id: int | None = None
) -> None:
    """Queue the mails about who owns the follow-up now: to its new owner, unless they took it
    themselves, and (a reassignment) to the owner it was moved away from, unless they moved it.
    Written after the audit event, so the message carries that event's id (one mail per event
    and person)."""
    new_owner = follow_up.owner_id if follow_up.owner_id != actor.id else None
    previous = previous_owner_id if previous_owner_id not in (actor.id, follow_up.owner_id) else None
    if new_owner is None and previous is None:
        return
    payload = {
        "incident_id": incident.id,
        "follow_up_id": follow_up.id,
        "owner_id": follow_up.owner_id,
        "actor_id": actor.id,
    }
    if previous is not None:
        payload["previous_owner_id"] = previous
    outbox.enqueue(session=session, topic=EventType.FOLLOW_UP_ASSIGNED, payload=payload)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def list_follow_ups(*, session: Session, actor: User, incident_id: int | str) -> list[FollowUp]:
    """The incident's follow-ups, in the order they were added (one index range)."""
    incident = _incident(session, actor, incident_id)
    return list(session.scalars(select(FollowUp).where(FollowUp.incident_id == incident.id).order_by(FollowUp.id)))


# How many "Your follow-ups" (the dashboard) and GET /api/v1/me/follow-ups list.
MINE_LIMIT = 10


class OwnedFollowUp(NamedTuple):
    follow_up: FollowUp
    incident_key: str
    incident_title: str


def open_for_owner(*, session: Session, actor: User, limit: int = MINE_LIMIT) -> list[FollowUp]:
    """The open follow-ups `actor` owns, across incidents: soonest due first (those with no due
    date after the dated ones), then the oldest. One range of the partial index of open
    follow-ups by owner and due date (migration 0019), however many incidents there are."""
    if not can(actor, Action.VIEW):
        return []
    return list(
        session.scalars(
            select(FollowUp)
            .where(FollowUp.owner_id == actor.id, FollowUp.done_at.is_(None))
            .order_by(FollowUp.due_date.asc().nulls_last(), FollowUp.id)
            .limit(limit)
        )
    )


def mine(*, session: Session, actor: User, limit: int = MINE_LIMIT) -> list[OwnedFollowUp]:
    """`open_for_owner`, each with its incident's key and title (one look-up by primary key)."""
    return _with_incidents(session, open_for_owner(session=session, actor=actor, limit=limit))


def get_follow_up(*, session: Session, actor: User, incident_id: int | str, follow_up_id: int) -> FollowUp:
    """One of the incident's follow-ups, or NotFound."""
    return _follow_up(session, _incident(session, actor, incident_id), follow_up_id)


def open_count(follow_ups: list[FollowUp]) -> int:
    """How many of these are still open."""
    return sum(1 for follow_up in follow_ups if not follow_up.is_done)


def add_follow_up(
    *,
    session: Session,
    actor: User,
    incident_id: int | str,
    title: str,
    owner_id: int | None = None,
    due_date: date | None = None,
) -> FollowUp:
    """Add a follow-up (open) to an incident, whatever its status."""
    incident = _incident(session, actor, incident_id)
    _may_change(actor, incident)
    title = one_line(title or "")
    errors = {}
    if problem := title_problem(title):
        errors["title"] = problem
    if problem := timers.due_date_problem(due_date):
        errors["due_date"] = problem
    if errors:
        raise ValidationFailed(errors)
    owner = _owner(session, owner_id)
    count = session.scalar(select(func.count()).where(FollowUp.incident_id == incident.id)) or 0
    if count >= PER_INCIDENT_MAX:
        raise ValidationFailed(
            {"title": f"{incident.key} has {PER_INCIDENT_MAX} follow-ups, the most it takes: delete done ones first."}
        )
    now = utcnow()
    follow_up = FollowUp(
        incident_id=incident.id,
        title=title,
        owner_id=owner_id,
        due_date=due_date,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    follow_up.owner = owner
    session.add(follow_up)
    session.flush()
    _record(
        session,
        actor,
        incident,
        EventType.FOLLOW_UP_CREATED,
        {"follow_up_id": follow_up.id, "title": title, "owner_id": owner_id, "due_date": _iso(due_date)},
    )
    _tell_owner(session, actor, incident, follow_up)
    return follow_up


def set_done(*, session: Session, actor: User, incident_id: int | str, follow_up_id: int, done: bool) -> FollowUp:
    """Mark a follow-up done, or open again. Asking for the state it is in changes nothing
    (two people ticking the same box is one tick)."""
    incident = _incident(session, actor, incident_id)
    follow_up = _follow_up(session, incident, follow_up_id)
    _may_change(actor, incident)
    if follow_up.is_done == done:
        return follow_up
    now = utcnow()
    try:
        # In a savepoint (begun before the change: beginning one flushes): losing the race to
        # another change of the follow-up undoes this tick alone, not what the caller did before.
        with session.begin_nested():
            follow_up.done_at = now if done else None
            follow_up.done_by_id = actor.id if done else None
            follow_up.updated_at = now
            _flush(session, incident)
    except Conflict:
        return _after_lost_race(session, actor, incident, follow_up, follow_up_id, done=done)
    # Read again when asked for: the loaded relationship does not follow done_by_id.
    session.expire(follow_up, ["done_by"])
    _record(
        session,
        actor,
        incident,
        EventType.FOLLOW_UP_COMPLETED if done else EventType.FOLLOW_UP_REOPENED,
        {"follow_up_id": follow_up.id, "title": follow_up.title},
    )
    return follow_up


def _after_lost_race(
    session: Session, actor: User, incident: Incident, follow_up: FollowUp, follow_up_id: int, *, done: bool
) -> FollowUp:
    """A tick or reopen that met another change of the follow-up at the same moment. When that
    change left it as asked (two Mark done at once, by one person or two), it is one tick, as
    when they come one after the other; otherwise the refusal names who changed it and how."""
    try:
        session.refresh(follow_up)
    except ObjectDeletedError:
        raise NotFound(
            f"{incident.key} has no follow-up {follow_up_id} any more: it was deleted at the same moment."
        ) from None
    if follow_up.is_done == done:
        return follow_up
    last = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.incident_id == incident.id, AuditEvent.action.in_(_VERSIONED_EVENTS))
        .order_by(AuditEvent.id.desc())
        .limit(_RACE_LOOK_BACK)
    )
    event = next((e for e in last if (e.data or {}).get("follow_up_id") == follow_up_id), None)
    who, where = ("Someone else" if event is None or event.actor is None else event.actor.name), ""
    if event is not None and event.actor_id == actor.id:
        who, where = "You", " in another request or tab"
    did = {
        EventType.FOLLOW_UP_COMPLETED.value: "marked it done",
        EventType.FOLLOW_UP_REOPENED.value: "reopened it",
    }.get(event.action if event is not None else "", "changed it")
    state = "done" if follow_up.is_done else "open"
    again = "Mark it done" if done else "Reopen it"
    raise Conflict(
        f"{who} {did}{where} at the same moment: the follow-up “{follow_up.title}” of {incident.key} is {state} now. "
        f"{again} again if you still mean to."
    )


def update_follow_up(
    *,
    session: Session,
    actor: User,
    incident_id: int | str,
    follow_up_id: int,
    title: str | Literal[_Unchanged.KEEP] = KEEP,
    owner_id: int | Literal[_Unchanged.KEEP] | None = KEEP,
    due_date: date | Literal[_Unchanged.KEEP] | None = KEEP,
    expected_version: int | None = None,
) -> FollowUp:
    """Change a follow-up's title, owner or due date (those given); the audit records old -> new."""
    incident = _incident(session, actor, incident_id)
    follow_up = _follow_up(session, incident, follow_up_id)
    _may_change(actor, incident)
    if expected_version is not None and follow_up.version != expected_version:
        raise Conflict(
            f"The follow-up “{follow_up.title}” was changed by someone else since you opened it: "
            "reload the page and try again."
        )
    errors = {}
    new_title = follow_up.title if title is KEEP else one_line(title or "")
    if new_title != follow_up.title and (problem := title_problem(new_title)):
        errors["title"] = problem
    new_due = follow_up.due_date if due_date is KEEP else due_date
    # Only a due date being changed must lie ahead: an overdue one left as it is never blocks a
    # change of the title.
    if new_due != follow_up.due_date and (problem := timers.due_date_problem(new_due)):
        errors["due_date"] = problem
    if errors:
        raise ValidationFailed(errors)
    new_owner = follow_up.owner_id if owner_id is KEEP else owner_id
    previous_owner_id = follow_up.owner_id
    changes: dict[str, dict[str, object]] = {}
    if new_title != follow_up.title:
        changes["title"] = {"from": follow_up.title, "to": new_title}
        follow_up.title = new_title
    if new_owner != follow_up.owner_id:
        owner = _owner(session, new_owner)
        changes["owner"] = {"from": follow_up.owner_id, "to": new_owner}
        follow_up.owner_id, follow_up.owner = new_owner, owner
    if new_due != follow_up.due_date:
        changes["due date"] = {"from": _iso(follow_up.due_date), "to": _iso(new_due)}
        follow_up.due_date = new_due
    if not changes:
        return follow_up
    follow_up.updated_at = utcnow()
    _flush(session, incident)
    _record(
        session,
        actor,
        incident,
        EventType.FOLLOW_UP_UPDATED,
        {"follow_up_id": follow_up.id, "title": follow_up.title, "changes": changes},
    )
    if "owner" in changes:
        _tell_owner(session, actor, incident, follow_up, previous_owner_id=previous_owner_id)
    return follow_up


def can_delete(actor: User, follow_up: FollowUp) -> bool:
    """Whether the page offers Delete on this follow-up (the policy's answer)."""
    return can(actor, Action.DELETE_FOLLOW_UP, follow_up=follow_up)


def _require_delete(actor: User, follow_up: FollowUp) -> None:
    if can_delete(actor, follow_up):
        return
    if follow_up.created_by_id == actor.id:
        raise PermissionDenied(
            f"The follow-up “{follow_up.title}” is done: only a lead or an admin can delete it now. "
            "Reopen it if it is not done."
        )
    raise PermissionDenied("Only whoever added a follow-up (while it is open), a lead or an admin can delete it.")


def deletable(*, session: Session, actor: User, incident_id: int | str, follow_up_id: int) -> FollowUp:
    """The follow-up, if this person may delete it (checked before the page asks "Delete …?"),
    or PermissionDenied saying why not."""
    follow_up = _follow_up(session, _incident(session, actor, incident_id), follow_up_id)
    _require_delete(actor, follow_up)
    return follow_up


def delete_follow_up(
    *, session: Session, actor: User, incident_id: int | str, follow_up_id: int, expected_version: int | None = None
) -> FollowUp:
    """Remove a follow-up added by mistake: leads and admins any, its creator while it is open.
    `expected_version`: the version the person saw when they confirmed (changed since: Conflict).
    The audit trail keeps that it existed and who removed it."""
    incident = _incident(session, actor, incident_id)
    follow_up = _follow_up(session, incident, follow_up_id)
    _require_delete(actor, follow_up)
    if expected_version is not None and follow_up.version != expected_version:
        raise Conflict(f"The follow-up “{follow_up.title}” was changed by someone else since you asked to delete it.")
    data = {"follow_up_id": follow_up.id, "title": follow_up.title, "was_done": follow_up.is_done}
    session.delete(follow_up)
    _flush(session, incident)
    _record(session, actor, incident, EventType.FOLLOW_UP_DELETED, data)
    return follow_up


_FOLLOW_UP_EVENTS = [
    event.value
    for event in (
        EventType.FOLLOW_UP_CREATED,
        EventType.FOLLOW_UP_COMPLETED,
        EventType.FOLLOW_UP_REOPENED,
        EventType.FOLLOW_UP_UPDATED,
        EventType.FOLLOW_UP_DELETED,
    )
]


# The changes that make a new version of a follow-up (adding it is version 1; a delete leaves none).
_VERSIONED_EVENTS = [
    event.value for event in (EventType.FOLLOW_UP_COMPLETED, EventType.FOLLOW_UP_REOPENED, EventType.FOLLOW_UP_UPDATED)
]
# How many of the incident's newest follow-up events a lost race looks through for the winner's.
_RACE_LOOK_BACK = 50


def changes_since_version(
    *, session: Session, incident_id: int, follow_up: FollowUp, version: int, limit: int = 200
) -> list[AuditEvent]:
    """The changes of one follow-up since its version `version` (an API client's If-Match),
    oldest first: what a refused stale write names. Each change of the follow-up is one event
    and one more version, so they are its newest `follow_up.version - version` events."""
    missed = follow_up.version - version
    if missed <= 0:
        return []
    newest = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.incident_id == incident_id, AuditEvent.action.in_(_VERSIONED_EVENTS))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    own = [event for event in newest if (event.data or {}).get("follow_up_id") == follow_up.id]
    return own[:missed][::-1]


class ChangesSince(NamedTuple):
    people: list[User]  # who changed the follow-up, each once, in the order they did
    deleted_title: str | None  # its title when someone deleted it, else None


def changes_since(
    *, session: Session, incident_id: int, follow_up_id: int, after_event_id: int, limit: int = 200
) -> ChangesSince:
    """Who changed (or deleted) one follow-up after the incident's event `after_event_id` (the
    newest when the page was drawn): the names a refused edit or delete gives. One range of the
    incident's own events index; the follow-up is picked out of the events' data."""
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.incident_id == incident_id,
            AuditEvent.id > after_event_id,
            AuditEvent.action.in_(_FOLLOW_UP_EVENTS),
        )
        .order_by(AuditEvent.id)
        .limit(limit)
    )
    people: dict[int, User] = {}
    deleted_title = None
    for event in events:
        if (event.data or {}).get("follow_up_id") != follow_up_id:
            continue
        if event.actor is not None:
            people.setdefault(event.actor.id, event.actor)
        if event.action == EventType.FOLLOW_UP_DELETED.value:
            deleted_title = event.data.get("title")
    return ChangesSince(list(people.values()), deleted_title)


# -- The follow-ups a person owns, page by page (GET /follow-ups, GET /api/v1/me/follow-ups) --

# What the list shows: the open ones (soonest due first, those with no due date last, then the
# oldest), the done ones (most recently done first), or both (in the open ones' order).
OWNED_STATES = ("open", "done", "all")
OWNED_PAGE_SIZE = 50
OWNED_MAX_LIMIT = 200
_BAD_CURSOR = "This cursor is not one this list gave out (or was made for another state)."


class OwnedPage(NamedTuple):
    items: list[OwnedFollowUp]
    next_cursor: str | None  # None: this is the last page


def state_problem(state: str) -> str | None:
    """What is wrong with a list's `state` ("open", "done" or "all"), or None."""
    if state in OWNED_STATES:
        return None
    return f"state {state!r} is not one of open, done, all."


def _encode_owned(state: str, item: FollowUp) -> str:
    if state == "done":
        key: list[object] = [state, as_utc(item.done_at).isoformat() if item.done_at else None, item.id]
    else:
        key = [state, item.due_date.isoformat() if item.due_date else None, item.id]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _read_cursor(state: str, cursor: str) -> tuple[date | datetime | None, int]:
    """The sort key a cursor names (a due date or None, or a done time) and its row's id."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        cursor_state, value, row_id = raw
        if cursor_state != state or not isinstance(row_id, int) or isinstance(row_id, bool):
            raise ValueError
        if not 0 < row_id <= _MAX_ID or not (value is None or isinstance(value, str)):
            raise ValueError
        if state == "done":
            if value is None:
                raise ValueError
            return as_utc(datetime.fromisoformat(value)), row_id
        return (None if value is None else date.fromisoformat(value)), row_id
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError, OverflowError):
        raise ValidationFailed({"cursor": _BAD_CURSOR}) from None


def _with_incidents(session: Session, follow_ups: list[FollowUp]) -> list[OwnedFollowUp]:
    """Each follow-up with its incident's key and title (one look-up by primary key)."""
    ids = {item.incident_id for item in follow_ups}
    labels: dict[int, tuple[str, str]] = {}
    if ids:
        found = session.execute(select(Incident.id, Incident.key, Incident.title).where(Incident.id.in_(ids)))
        labels = {incident_id: (key or f"INC-{incident_id}", title) for incident_id, key, title in found}
    return [OwnedFollowUp(item, *labels.get(item.incident_id, (f"INC-{item.incident_id}", ""))) for item in follow_ups]


def owned_page(
    *,
    session: Session,
    actor: User,
    state: str = "open",
    cursor: str | None = None,
    limit: int = OWNED_PAGE_SIZE,
) -> OwnedPage:
    """Up to `limit` of the follow-ups `actor` owns across incidents, after `cursor` (the last
    row's sort key, so a follow-up added or ticked meanwhile never makes a page repeat or skip
    one), each with its incident's key and title: listed_page of the actor's own. Each view is
    one range of an index of the owner's follow-ups in its order (migrations 0019, 0023, 0024)."""
    page = listed_page(session=session, actor=actor, owner=Owner(actor), state=state, cursor=cursor, limit=limit)
    items = [OwnedFollowUp(item.follow_up, item.incident_key, item.incident_title) for item in page.items]
    return OwnedPage(items, page.next_cursor)


# -- Anyone's follow-ups: everyone's, one person's or nobody's (GET /follow-ups?owner=…, GET /api/v1/follow-ups) --

# Whose (find_owner): `all`, `me`, `none` (no owner), or a person by user id or email, as the
# dashboard's owner filter takes them. Whoever may view incidents may read every follow-up: every
# role views every incident (shared/permissions.py), so there is nothing to hide from a member.

# `due=overdue`: the open ones due before today (UTC), as the Overdue badge says.
DUE_FILTERS = ("overdue",)
_OWNER_PROBLEM = "owner {value!r} is not all, me, none, a user id or the email of a user."
_OVERDUE_IS_OPEN = "due=overdue lists open follow-ups (due before today): leave state out, or send state=open."


class Owner(NamedTuple):
    """Whose follow-ups a list shows: `user` is set for one person, else `everyone` says which
    of everyone's (True) or those with no owner (False)."""

    user: User | None
    everyone: bool = False

    @property
    def nobody(self) -> bool:
        return self.user is None and not self.everyone


EVERYONE = Owner(None, everyone=True)
NOBODY = Owner(None)


class ListedFollowUp(NamedTuple):
    """A follow-up in a list across incidents: its incident named (key, title, status), and
    whether the reader may tick it (the incident page's rule: whoever may comment on it)."""

    follow_up: FollowUp
    incident_key: str
    incident_title: str
    incident_status: str | None
    may_change: bool


class ListedPage(NamedTuple):
    items: list[ListedFollowUp]
    next_cursor: str | None  # None: this is the last page


def find_owner(*, session: Session, actor: User, owner: str) -> Owner:
    """The `owner` a list was asked for (any case, spaces around ignored): all, me, none, a user
    id or an email. Disabled accounts are found too: their open follow-ups are work nobody will
    do. ValidationFailed naming `owner` for anything else."""
    value = (owner or "").strip()
    word = value.lower()
    if word == "all":
        return EVERYONE
    if word == "none":
        return NOBODY
    if word == "me":
        return Owner(actor)
    user = None
    if value.isascii() and value.isdigit():
        user = session.get(User, int(value)) if 0 < int(value) <= _MAX_ID else None
    elif "@" in value:
        user = session.scalar(select(User).where(User.email == word))  # stored lower-cased
    if user is None:
        shown = value if len(value) <= 80 else value[:79] + "…"
        raise ValidationFailed({"owner": _OWNER_PROBLEM.format(value=shown)})
    return Owner(user)


def owner_choices(*, session: Session) -> list[User]:
    """The people a list may be narrowed to, by name (the users table is small): those disabled
    too, since their open follow-ups are orphaned."""
    return list(session.scalars(select(User).order_by(User.name, User.id)))


def due_problem(due: str | None, state: str) -> str | None:
    """What is wrong with a list's `due` filter ("overdue", or none) beside its `state`, or None."""
    if not due:
        return None
    if due not in DUE_FILTERS:
        return f"due {due!r} is not one of {', '.join(DUE_FILTERS)}."
    if state != "open":
        return _OVERDUE_IS_OPEN
    return None


def _listed(session: Session, actor: User, follow_ups: list[FollowUp]) -> list[ListedFollowUp]:
    """Each follow-up with its incident (one look-up by primary key for the page)."""
    ids = {item.incident_id for item in follow_ups}
    # Only the incidents' own columns: the policy reads its owner and reporter by id.
    statement = select(Incident).where(Incident.id.in_(ids)).options(lazyload("*"))
    found = {row.id: row for row in session.scalars(statement)} if ids else {}
    listed = []
    for item in follow_ups:
        incident = found.get(item.incident_id)
        if incident is None:  # deleted under the list: named, never offered
            listed.append(ListedFollowUp(item, f"INC-{item.incident_id}", "", None, False))
            continue
        listed.append(
            ListedFollowUp(
                item,
                incident.key or f"INC-{incident.id}",
                incident.title,
                incident.status,
                can(actor, Action.COMMENT, incident),
            )
        )
    return listed


def listed_page(
    *,
    session: Session,
    actor: User,
    owner: Owner,
    state: str = "open",
    due: str | None = None,
    cursor: str | None = None,
    limit: int = OWNED_PAGE_SIZE,
    today: date | None = None,
) -> ListedPage:
    """Up to `limit` follow-ups across incidents, of `owner` (everyone's, one person's or those
    with no owner), in `state`, only the overdue ones with due="overdue" (due before `today`, the
    reader's; UTC's without it), after `cursor`; in
    owned_page's orders (its cursors are these too). Each page is one range of one index that
    stops after the page (migrations 0023 and 0024): the owner's (an index's first column, so
    the sort names it: "no owner" is an IS NULL the planner would not otherwise see as a constant)
    or everyone's; the page after a dated row is a row comparison, then the undated rows (due
    last) a second range if the page is not full."""
    if problem := state_problem(state):
        raise ValidationFailed({"state": problem})
    if problem := due_problem(due, state):
        raise ValidationFailed({"due": problem})
    if not can(actor, Action.VIEW):
        return ListedPage([], None)
    after = _read_cursor(state, cursor) if cursor else None
    limit = max(1, min(limit, OWNED_MAX_LIMIT))
    statement = select(FollowUp)
    lead = []
    if owner.user is not None:
        statement, lead = statement.where(FollowUp.owner_id == owner.user.id), [FollowUp.owner_id]
    elif owner.nobody:
        statement, lead = statement.where(FollowUp.owner_id.is_(None)), [FollowUp.owner_id]
    if state == "open":
        statement = statement.where(FollowUp.done_at.is_(None))
    elif state == "done":
        statement = statement.where(FollowUp.done_at.is_not(None))
    if due == "overdue":
        statement = statement.where(FollowUp.due_date < (today or timers.today()))

    if state == "done":
        order: list[Any] = [*lead, FollowUp.done_at.desc(), FollowUp.id.desc()]
    else:
        order = [*lead, FollowUp.due_date.asc().nulls_last(), FollowUp.id]

    def read(where: list[Any], count: int) -> list[FollowUp]:
        return list(session.scalars(statement.where(*where).order_by(*order).limit(count)))

    wanted = limit + 1
    if after is None:
        rows = read([], wanted)
    elif state == "done":
        rows = read([tuple_(FollowUp.done_at, FollowUp.id) < after], wanted)
    elif after[0] is None:  # the page ended among those with no due date: only they are left
        rows = read([FollowUp.due_date.is_(None), FollowUp.id > after[1]], wanted)
    else:
        rows = read([tuple_(FollowUp.due_date, FollowUp.id) > after], wanted)
        if len(rows) < wanted and due != "overdue":
            rows += read([FollowUp.due_date.is_(None)], wanted - len(rows))
    page = rows[:limit]
    next_cursor = _encode_owned(state, page[-1]) if len(rows) > limit else None
    return ListedPage(_listed(session, actor, page), next_cursor)


class FollowUpCounts(NamedTuple):
    open: int
    total: int


def counts_by_incident(*, session: Session, incident_ids: list[int]) -> dict[int, FollowUpCounts]:
    """How many follow-ups each incident of `incident_ids` has, and how many of them are open:
    one grouped query (ix_incident_follow_ups_incident) for a batch of rows, as the CSV export
    reads them, never one per incident. An incident with none is absent."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(
            FollowUp.incident_id,
            func.count(FollowUp.id).filter(FollowUp.done_at.is_(None)),
            func.count(FollowUp.id),
        )
        .where(FollowUp.incident_id.in_(incident_ids))
        .group_by(FollowUp.incident_id)
    )
    return {incident_id: FollowUpCounts(still_open, total) for incident_id, still_open, total in rows}
