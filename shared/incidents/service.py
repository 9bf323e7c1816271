"""Incident operations. Each checks the policy, changes rows, appends audit events and
writes outbox messages in the caller's transaction — one commit makes all of it real."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from enum import Enum
from typing import Literal, NamedTuple

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.exc import StaleDataError

from shared.accounts.models import User
from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.db import utcnow
from shared.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    ValidationFailed,
)
from shared.events import EventType
from shared.incidents import timers
from shared.incidents.activity import touch_activity
from shared.incidents.lifecycle import (
    TIMESTAMP_FIELD,
    Requirement,
    Status,
    find_transition,
    transitions_from,
)
from shared.incidents.models import ENVIRONMENTS, Comment, Incident, Priority, Watcher
from shared.outbox import service as outbox
from shared.permissions import Action, can
from shared.text import is_number, one_line, unwanted_message

KEY_RE = re.compile(r"^\s*INC-(\d+)\s*$", re.IGNORECASE)
# The longest details an incident takes (the API's schemas document these same numbers).
TITLE_MAX = 200
DESCRIPTION_MAX = 50_000
COMPONENT_MAX = 80
COMPONENT_RE = re.compile(r"^[a-z0-9][a-z0-9._/-]*$")
# A reason or resolution is copied into the audit event and the outbox message: bounded like a comment.
TEXT_MAX = 20_000


def get_incident(*, session: Session, ref: str | int) -> Incident:
    """The incident with this id or key ("INC-42"), or NotFound."""
    incident_id: int | None = None
    if isinstance(ref, int):
        incident_id = ref
    else:
        match = KEY_RE.match(ref)
        if match:
            incident_id = int(match.group(1))
        elif is_number(ref.strip()):
            incident_id = int(ref)
    # Past the id column's range a look-up is an overflow error in the driver (a 500), not "no such row".
    in_range = incident_id is not None and 0 < incident_id < 2**31
    incident = session.get(Incident, incident_id) if in_range else None
    if incident is None:
        raise NotFound(f"No incident {ref}.")
    return incident


def _user_exists(session: Session, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise ValidationFailed({"owner": "Choose an active user as owner."})
    return user


def details_problems(
    *,
    title: str | None = None,
    description: str | None = None,
    component: str | None = None,
    environment: str | None = None,
    priority: str | None = None,
) -> dict[str, str]:
    """What is wrong with these details of an incident, by field, read as filing or editing reads
    them; a field given as None is not checked (the API judges the fields a request sent well)."""
    errors: dict[str, str] = {}
    if title is not None:
        title = one_line(title)
        if hidden := unwanted_message(title, "title"):
            errors["title"] = hidden
        elif not title:
            errors["title"] = "Give the incident a title."
        elif len(title) > TITLE_MAX:
            errors["title"] = f"The title is too long: use at most {TITLE_MAX} characters."
    if description is not None:
        if len(description) > DESCRIPTION_MAX:
            errors["description"] = f"The description is too long: use at most {DESCRIPTION_MAX:,} characters."
        elif hidden := unwanted_message(description, "description", multiline=True):
            errors["description"] = hidden
    if component:
        component = one_line(component).lower()
        if len(component) > COMPONENT_MAX:
            errors["component"] = f"The component is too long: use at most {COMPONENT_MAX} characters."
        elif component and not COMPONENT_RE.match(component):
            errors["component"] = "Use lower-case letters, digits, '.', '_', '/' or '-' (e.g. rds, api-gateway)."
    if environment is not None and environment not in ENVIRONMENTS:
        errors["environment"] = f"Choose one of: {', '.join(ENVIRONMENTS)}."
    if priority is not None and priority.strip().upper() not in {p.value for p in Priority}:
        errors["priority"] = "Choose a priority from P1 (highest) to P4."
    return errors


def _require(actor: User, action: Action, incident: Incident | None, message: str) -> None:
    if not can(actor, action, incident):
        raise PermissionDenied(message)


def check_version(incident: Incident, expected_version: int | None) -> None:
    """Refuse (Conflict) when the incident changed since the caller read `expected_version`."""
    if expected_version is not None and incident.version != expected_version:
        raise Conflict(f"{incident.key} was changed by someone else since you opened it.")


def _flush(session: Session, incident: Incident) -> None:
    # Read the key first: a failed flush rolls the session back and expires the incident, so
    # reading it afterwards raises PendingRollbackError instead of the Conflict a person can act on.
    key = incident.key
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(f"{key} was changed by someone else at the same moment.") from None


# Events whose change is beside the incident row: they move its last activity (`updated:`,
# `sort:recent`) without a change of its version. Filing, edits and moves set updated_at, and
# the same UPDATE sets activity_at (models.Incident); watching is one person's choice about
# their own mail, not news on the incident.
_BESIDE_THE_ROW = frozenset({EventType.INCIDENT_COMMENTED, EventType.INCIDENT_COMMENT_REDACTED})


def _record(
    session: Session,
    actor: User,
    incident: Incident,
    action: EventType,
    data: dict,
    ids: dict | None = None,
):
    """Audit the change and write its outbox message. The message carries ids (the incident,
    the actor and e.g. the comment), and the incident's state fields as this change left them
    (`as_of`: status, priority, owner, due date, version, times): the notifications are sent
    later, when the incident may have moved on, and must tell what happened at this event. No
    title, comment body or description is copied out of the database's access rules: a task
    re-reads those."""
    audit.append(
        session=session,
        actor_id=actor.id,
        action=action,
        entity_type="incident",
        entity_id=incident.id,
        incident_id=incident.id,
        data=data,
    )
    message = outbox.enqueue(
        session=session,
        topic=action,
        payload={"incident_id": incident.id, "actor_id": actor.id, **(ids or {})},
    )
    occurred_at = utcnow()
    if action in _BESIDE_THE_ROW:
        touch_activity(session=session, incident_id=incident.id, at=occurred_at)

    def add_state() -> None:
        # At COMMIT, after the flush: the version and times this change gave the incident. (Not
        # flushed here: an early INSERT would hold its title words' index locks until COMMIT.)
        message.payload = {**message.payload, "as_of": {**state_of(incident), "occurred_at": occurred_at.isoformat()}}

    audit.when_sealed(session=session, callback=add_state)


def state_of(incident: Incident) -> dict:
    """The incident's state fields (no free text), as JSON, for its outbox message."""

    def iso(value) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "status": incident.status,
        "priority": incident.priority,
        "owner_id": incident.owner_id,
        "due_date": iso(incident.due_date),
        "version": incident.version,
        "updated_at": iso(incident.updated_at),
        # The last activity as this change left it: a comment's event sent after a later move
        # still tells the comment's time (read at COMMIT: touch_activity expired the attribute).
        "activity_at": iso(incident.activity_at),
        "acknowledged_at": iso(incident.acknowledged_at),
        "in_progress_at": iso(incident.in_progress_at),
        "blocked_at": iso(incident.blocked_at),
        "resolved_at": iso(incident.resolved_at),
        "closed_at": iso(incident.closed_at),
    }


def create_incident(
    *,
    session: Session,
    actor: User,
    title: str,
    description: str = "",
    priority: str = "P3",
    component: str = "",
    environment: str = "prod",
    owner_id: int | None = None,
    due_date: date | None = None,
) -> Incident:
    """File a new incident; the reporter and the owner watch it."""
    _require(actor, Action.CREATE, None, "You cannot file incidents.")
    title, component = one_line(title or ""), one_line(component or "").lower()
    priority = (priority or "").strip().upper()
    errors = details_problems(
        title=title,
        description=description or "",
        component=component,
        environment=environment,
        priority=priority,
    )
    if problem := timers.due_date_problem(due_date):
        errors["due_date"] = problem
    if owner_id is not None and owner_id != actor.id and not can(actor, Action.ASSIGN):
        errors["owner"] = "Members can only make themselves the owner; a lead can assign someone else."
    if errors:
        raise ValidationFailed(errors)
    _user_exists(session, owner_id)
    now = utcnow()
    incident = Incident(
        title=title,
        description=description or "",
        priority=priority,
        component=component,
        environment=environment,
        owner_id=owner_id,
        reporter_id=actor.id,
        due_date=due_date,
        status=Status.OPEN.value,
        created_at=now,
        updated_at=now,
    )
    if session.get_bind().dialect.name == "postgresql":
        # Take the id first so the key goes in with the INSERT: setting it afterwards was an
        # UPDATE that rewrote the row and every index on it (the key's trigram index included).
        incident.id = session.execute(
            select(func.nextval(literal_column("pg_get_serial_sequence('incidents', 'id')")))
        ).scalar_one()
        incident.key = f"INC-{incident.id}"
    incident.watchers.append(Watcher(user_id=actor.id))
    if owner_id is not None and owner_id != actor.id:
        # Made the owner when it is filed is being assigned it: they watch it, as after Assign.
        incident.watchers.append(Watcher(user_id=owner_id))
    session.add(incident)
    session.flush()
    if incident.key is None:  # SQLite: no sequence to draw from; the id exists after the INSERT
        incident.key = f"INC-{incident.id}"
    _record(
        session,
        actor,
        incident,
        EventType.INCIDENT_CREATED,
        {
            "title": incident.title,
            "priority": incident.priority,
            "component": incident.component,
            "environment": incident.environment,
            "owner_id": incident.owner_id,
        },
    )
    return incident


def allowed_transitions(*, actor: User, incident: Incident):
    """The moves this user may make on this incident now (what the UI offers)."""
    return [t for t in transitions_from(incident.status) if can(actor, t.action, incident)]


def transition(
    *,
    session: Session,
    incident_id: int,
    actor: User,
    to: str,
    reason: str | None = None,
    expected_version: int | None = None,
    undo_window_seconds: float = 0,
    is_undo: bool = False,
) -> Incident:
    """Move an incident to another status, if the lifecycle and the policy allow it.

    `undo_window_seconds`: the move is offered an Undo for this long (a dashboard row's quick
    move), so its notifications wait as long when the mover may make the move back (0: no
    wait). `is_undo`: this is that Undo; while the move's notifications still wait, neither it
    nor the Undo notifies anyone (see `_notify_later_or_never`)."""
    incident = get_incident(session=session, ref=incident_id)
    try:
        target = Status(to)
    except ValueError:
        raise TransitionNotAllowed(f"There is no status {to!r}.") from None
    # A move chosen on a stale page is judged against what changed since, first: "Ada changed it"
    # says more than "Closed is not a move from In Progress" to someone who still sees Resolved.
    check_version(incident, expected_version)
    current = Status(incident.status)
    move = find_transition(current, target)
    if move is None:
        allowed = ", ".join(t.label for t in transitions_from(current)) or "none"
        raise TransitionNotAllowed(
            f"{incident.key} is {current.label}; it cannot move to {target.label}. From {current.label}: {allowed}."
        )
    if not can(actor, move.action, incident):
        who = "a lead or admin" if move.action != Action.WORK else "its owner, its reporter, a lead or an admin"
        raise PermissionDenied(f"Only {who} can move {incident.key} from {current.label} to {target.label}.")
    reason = (reason or "").strip()
    if move.requires == Requirement.REASON and not reason:
        # "Reopen" names a button, not a status: "Say why INC-19 is reopened."
        what = "is reopened" if move.label == "Reopen" else f"moves to {move.label}"
        raise ValidationFailed({"reason": f"Say why {incident.key} {what}."})
    if move.requires == Requirement.RESOLUTION and not reason:
        raise ValidationFailed({"resolution": "Write a resolution summary: what fixed it."})
    field = "resolution" if move.requires == Requirement.RESOLUTION else "reason"
    what = "resolution summary" if field == "resolution" else "reason"
    if len(reason) > TEXT_MAX:
        raise ValidationFailed({field: f"The {what} is too long: use at most {TEXT_MAX:,} characters."})
    if hidden := unwanted_message(reason, what, multiline=True):
        raise ValidationFailed({field: hidden})
    # An Undo goes back to where the incident was: the status it returns to keeps the time it was
    # entered, for "In status for" as for the API, so a Blocked incident unblocked by mistake and
    # put back is still "Blocked since" this morning. A reopen clears resolved_at: its Undo takes
    # the time of the move to Resolved from the trail, or time to resolve would count the minutes
    # it spent reopened by mistake. "undo" is the form's word: it counts only for the move back
    # of this person's own latest move, or anyone could keep an old "Blocked since".
    keeps_stamp = is_undo and _reverses_latest_move(session, incident=incident, actor=actor, back=(current, target))
    stamp = TIMESTAMP_FIELD.get(target)
    kept = getattr(incident, stamp) if stamp and keeps_stamp else None
    if keeps_stamp and target == Status.RESOLVED and kept is None:
        kept = _latest_move_time(session, incident=incident, to=target)
    now = utcnow()
    incident.status = target.value
    incident.updated_at = now
    if stamp:
        setattr(incident, stamp, kept or now)
    if target == Status.IN_PROGRESS and incident.acknowledged_at is None:
        incident.acknowledged_at = now
    if target == Status.BLOCKED:
        incident.blocked_reason = reason
    elif current == Status.BLOCKED:
        incident.blocked_reason = None
    if target == Status.RESOLVED:
        incident.resolution_summary = reason
    if current in (Status.RESOLVED, Status.CLOSED) and target == Status.IN_PROGRESS:
        incident.resolved_at = None
        incident.closed_at = None
        # A reopened incident is not resolved: its old summary stays in the timeline (the
        # audit event of the move to Resolved), not on the page as the current resolution.
        incident.resolution_summary = None
    version_drawn = incident.version
    _flush(session, incident)
    data: dict[str, object] = {"from": current.value, "to": target.value}
    if reason:
        data["reason"] = reason
    if keeps_stamp:
        # The way back of this person's own latest move: the trail says it was an Undo (a reopen
        # undone is no reopen, and the resolution it restores is no new one).
        data["undo"] = True
    _record(session, actor, incident, EventType.INCIDENT_STATUS_CHANGED, data)
    _notify_later_or_never(
        session,
        actor=actor,
        incident=incident,
        move=(current, target),
        version_drawn=version_drawn,
        undo_window=timedelta(seconds=0 if is_undo else undo_window_seconds),
        is_undo=is_undo,
    )
    return incident


def undo_takes_back_latest_move(session: Session, *, incident: Incident, actor: User, to: str) -> bool:
    """Whether moving `incident` to `to` would take back its latest status change, made by
    `actor`: an Undo refused as stale is offered again only while so (not once someone else
    moved it away and back, which leaves the status as the Undo expects but the move theirs)."""
    try:
        back = (Status(incident.status), Status(to))
    except ValueError:
        return False
    return _reverses_latest_move(session, incident=incident, actor=actor, back=back)


def _reverses_latest_move(session: Session, *, incident: Incident, actor: User, back: tuple[Status, Status]) -> bool:
    """Whether `back` (from, to) is the way back of the incident's latest status change, made by
    `actor` (one indexed read of the incident's newest events)."""
    latest = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.incident_id == incident.id, AuditEvent.action == EventType.INCIDENT_STATUS_CHANGED.value)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if latest is None or latest.actor_id != actor.id:
        return False
    source, target = back
    return (latest.data or {}).get("from") == target.value and (latest.data or {}).get("to") == source.value


def _latest_move_time(session: Session, *, incident: Incident, to: Status):
    """When `incident` last moved to `to`, from its trail (None when the trail has no such move)."""
    moves = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.incident_id == incident.id, AuditEvent.action == EventType.INCIDENT_STATUS_CHANGED.value)
        .order_by(AuditEvent.id.desc())
        .limit(20)
    )
    return next((event.occurred_at for event in moves if (event.data or {}).get("to") == to.value), None)


def _notify_later_or_never(
    session: Session,
    *,
    actor: User,
    incident: Incident,
    move: tuple[Status, Status],
    version_drawn: int,
    undo_window: timedelta,
    is_undo: bool,
) -> None:
    """When this status change's notifications (mail and webhooks, its outbox message) go out.

    An Undo of the mover's own move whose notifications still wait takes them back, and tells
    no one itself: for the readers nothing happened (the timeline keeps both moves). A move
    offered an Undo waits out the window ("Undo send"). Any other status change goes out as
    soon as it may: never before one of the same incident that still waits, or a reader would
    be told "In Progress" before the "Blocked" it followed."""
    topic = EventType.INCIDENT_STATUS_CHANGED
    if is_undo and _withdraw_undone_move(session, actor=actor, incident=incident, move=move, version=version_drawn):
        outbox.withdraw_new(session=session, topic=topic)
        return
    waiting = outbox.due_after(session=session, topic=topic, incident_id=incident.id, now=utcnow())
    source, target = move
    back = find_transition(target, source)
    offers_undo = undo_window > timedelta(0) and back is not None and can(actor, back.action, incident)
    # From now, after the query above wrote the message (its created_at): held the whole window.
    until = utcnow() + undo_window if offers_undo else None
    if waiting is not None and (until is None or waiting > until):
        until = waiting
    if until is not None:
        outbox.hold_new(session=session, topic=topic, until=until, withdrawable=offers_undo)


def _withdraw_undone_move(
    session: Session, *, actor: User, incident: Incident, move: tuple[Status, Status], version: int
) -> bool:
    """Take back the held notifications of the move this Undo reverses: the actor's own, the
    incident's latest change (its message states the version the Undo was drawn on), from where
    the Undo goes back to. False when there is none (sent already, someone else's, not held)."""
    source, target = move
    for message in outbox.held(session=session, topic=EventType.INCIDENT_STATUS_CHANGED, incident_id=incident.id):
        payload = message.payload
        if payload.get("actor_id") != actor.id or (payload.get("as_of") or {}).get("version") != version:
            continue
        event_id = payload.get("event_id")
        event = session.get(AuditEvent, event_id) if isinstance(event_id, int) else None
        undone = (event.data or {}) if event is not None else {}
        if undone.get("from") == target.value and undone.get("to") == source.value:
            return outbox.withdraw_held(session=session, message=message)
    return False


def assign(
    *,
    session: Session,
    incident_id: int,
    actor: User,
    owner_id: int | None,
    expected_version: int | None = None,
) -> Incident:
    """Make a user (or nobody) the owner; the new owner starts watching."""
    incident = get_incident(session=session, ref=incident_id)
    _require(actor, Action.ASSIGN, incident, "Only a lead or an admin can assign incidents.")
    check_version(incident, expected_version)
    # Before the owner is checked: keeping an owner whose account was disabled since is no change.
    if incident.owner_id == owner_id:
        return incident
    owner = _user_exists(session, owner_id)
    # Look the previous owner up by id: the loaded `owner` relationship can be stale when the
    # incident was assigned earlier in this session (setting owner_id does not refresh it).
    previous = session.get(User, incident.owner_id) if incident.owner_id is not None else None
    old = previous.email if previous else None
    # Loaded before the row changes: a lazy load after them would autoflush the UPDATE outside
    # `_flush`, and a stale version would surface as a raw StaleDataError instead of a Conflict.
    watching = incident.watcher_ids()
    incident.owner_id = owner_id
    incident.owner = owner
    incident.updated_at = utcnow()
    if owner is not None and owner.id not in watching:
        incident.watchers.append(Watcher(user_id=owner.id))
    _flush(session, incident)
    _record(
        session,
        actor,
        incident,
        EventType.INCIDENT_ASSIGNED,
        {"from": old, "to": owner.email if owner else None, "owner_id": owner_id},
        ids={"owner_id": owner_id},
    )
    return incident


def change_priority(
    *,
    session: Session,
    incident_id: int,
    actor: User,
    priority: str,
    expected_version: int | None = None,
) -> Incident:
    """Re-prioritise an incident."""
    incident = get_incident(session=session, ref=incident_id)
    _require(
        actor,
        Action.PRIORITISE,
        incident,
        "Only a lead or an admin can change the priority.",
    )
    check_version(incident, expected_version)
    priority = (priority or "").strip().upper()
    if priority not in {p.value for p in Priority}:
        raise ValidationFailed({"priority": "Choose a priority from P1 (highest) to P4."})
    if incident.priority == priority:
        return incident
    old = incident.priority
    incident.priority = priority
    incident.updated_at = utcnow()
    _flush(session, incident)
    _record(
        session,
        actor,
        incident,
        EventType.INCIDENT_PRIORITY_CHANGED,
        {"from": old, "to": priority},
    )
    return incident


class _Unchanged(Enum):
    """Marks a keyword left out on purpose (None already means "clear the due date")."""

    KEEP = "keep"


KEEP_DUE_DATE = _Unchanged.KEEP


def update_details(
    *,
    session: Session,
    incident_id: int,
    actor: User,
    title: str,
    description: str,
    component: str,
    environment: str,
    due_date: date | Literal[_Unchanged.KEEP] | None = KEEP_DUE_DATE,
    expected_version: int | None = None,
) -> Incident:
    """Edit title, description, component, environment and (if given) the due date; the audit records old -> new."""
    incident = get_incident(session=session, ref=incident_id)
    _require(
        actor,
        Action.WORK,
        incident,
        "Only its owner, its reporter, a lead or an admin can edit this incident.",
    )
    check_version(incident, expected_version)
    title, component = one_line(title or ""), one_line(component or "").lower()
    errors = details_problems(
        title=title,
        description=description or "",
        component=component,
        environment=environment,
    )
    # Only a due date being changed must lie ahead: an overdue one left as it is never blocks
    # an edit of the title.
    new_due = incident.due_date if due_date is _Unchanged.KEEP else due_date
    if new_due != incident.due_date and (problem := timers.due_date_problem(new_due)):
        errors["due_date"] = problem
    if errors:
        raise ValidationFailed(errors)
    new = {
        "title": title,
        "description": description or "",
        "component": component,
        "environment": environment,
    }
    changes: dict[str, dict[str, object]] = {
        f: {"from": getattr(incident, f), "to": v} for f, v in new.items() if getattr(incident, f) != v
    }
    for name, change in changes.items():
        setattr(incident, name, change["to"])
    if new_due != incident.due_date:
        old_due, incident.due_date = incident.due_date, new_due
        # Worded as set_due_date words it, so the timeline reads the same either way.
        changes["due date"] = {
            "from": old_due.isoformat() if old_due else "none",
            "to": new_due.isoformat() if new_due else "none",
        }
    if not changes:
        return incident
    incident.updated_at = utcnow()
    _flush(session, incident)
    _record(session, actor, incident, EventType.INCIDENT_EDITED, {"changes": changes})
    return incident


# Blank lines before the first line of text, and how they end (CRLF from a form).
_LEADING_BLANK_LINES = re.compile(r"\A(?:[^\S\r\n]*(?:\r\n|\r|\n))+")


def _comment_body(body: str | None) -> str:
    """A comment as it is stored: without blank lines before it or whitespace after it. Its first
    line keeps its indent: four spaces make the code block Markdown shows (a pasted command)."""
    return _LEADING_BLANK_LINES.sub("", (body or "").rstrip())


def add_comment(*, session: Session, incident_id: int, actor: User, body: str) -> Comment:
    """Comment on an incident."""
    incident = get_incident(session=session, ref=incident_id)
    _require(actor, Action.COMMENT, incident, "You cannot comment.")
    body = _comment_body(body)
    if not body:
        raise ValidationFailed({"body": "Write something to comment."})
    if len(body) > TEXT_MAX:
        # A pasted log is the usual cause: say how far over it is and where such text belongs.
        raise ValidationFailed(
            {
                "body": f"This comment is {len(body):,} characters; comments can be up to {TEXT_MAX:,}. "
                "Attach a long log as a file instead, under Evidence on the incident page."
            }
        )
    if hidden := unwanted_message(body, "comment", multiline=True):
        raise ValidationFailed({"body": hidden})
    comment = Comment(incident_id=incident.id, author_id=actor.id, body=body)
    session.add(comment)
    # A comment leaves the incident row (and its version) alone, so commenting never turns
    # someone else's pending status change into a conflict.
    session.flush()
    # The body lives in incident_comments only, where an admin can redact it; the append-only
    # chain keeps its SHA-256, which still proves what was said to whoever holds the text.
    _record(
        session,
        actor,
        incident,
        EventType.INCIDENT_COMMENTED,
        {"comment_id": comment.id, "body_sha256": body_sha256(body)},
        ids={"comment_id": comment.id},
    )
    return comment


def comments_by_id(*, session: Session, incident_id: int) -> dict[int, Comment]:
    """The incident's comments (as they read now: redacted ones show the notice), by id.

    Authors are not joined in: the timeline names people from its events, and the redactor is
    read only for the few redacted comments (a join of two users per comment was a third of a
    400-event incident page's time)."""
    statement = (
        select(Comment)
        .where(Comment.incident_id == incident_id)
        .options(lazyload(Comment.author), lazyload(Comment.redacted_by))
    )
    return {c.id: c for c in session.scalars(statement)}


# The events that change the incident row itself (and its version): what makes an edit stale.
ROW_CHANGES = (
    EventType.INCIDENT_STATUS_CHANGED,
    EventType.INCIDENT_ASSIGNED,
    EventType.INCIDENT_PRIORITY_CHANGED,
    EventType.INCIDENT_EDITED,
)


def row_changes_since(*, session: Session, incident_id: int, after_event_id: int, limit: int = 20) -> list[AuditEvent]:
    """The changes of the incident itself (moves, assignments, priority, edits) after its event
    `after_event_id` (the newest one when a page was drawn), oldest first: what a refused stale
    write names. One range of the incident's own events index."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.incident_id == incident_id,
                AuditEvent.id > after_event_id,
                AuditEvent.action.in_([event.value for event in ROW_CHANGES]),
            )
            .order_by(AuditEvent.id)
            .limit(limit)
        )
    )


def actors_of(events: list[AuditEvent]) -> list[User]:
    """Who made these events, each once, in the order they did."""
    people: dict[int, User] = {}
    for event in events:
        if event.actor is not None:
            people.setdefault(event.actor.id, event.actor)
    return list(people.values())


def changed_by_since(*, session: Session, incident_id: int, after_event_id: int, limit: int = 20) -> list[User]:
    """Who changed the incident after its event `after_event_id` (the newest one when an edit
    form was drawn), each once, in the order they did: the names a stale edit's page gives."""
    return actors_of(
        row_changes_since(session=session, incident_id=incident_id, after_event_id=after_event_id, limit=limit)
    )


def row_changes_since_version(
    *, session: Session, incident: Incident, version: int, limit: int = 20
) -> list[AuditEvent]:
    """The changes of the incident itself since its version `version` (an API client's If-Match,
    or what a write read before it collided), oldest first: what a refused stale write names.
    Every change of the row is one ROW_CHANGES event and one more version (filing is version 1),
    so version `version` is the incident as the event `incident.version - version` before the
    newest left it."""
    missed = incident.version - version
    if missed <= 0:
        return []
    made_that_version = session.scalar(
        select(AuditEvent.id)
        .where(
            AuditEvent.incident_id == incident.id,
            AuditEvent.action.in_([event.value for event in (EventType.INCIDENT_CREATED, *ROW_CHANGES)]),
        )
        .order_by(AuditEvent.id.desc())
        .offset(missed)
        .limit(1)
    )
    return row_changes_since(
        session=session, incident_id=incident.id, after_event_id=made_that_version or 0, limit=limit
    )


def _repeats(events: list[AuditEvent], actor: User, action: EventType, asked: dict) -> bool:
    """Whether the changes a write collided with were all the caller's own, and the last of them
    (the incident as it is now) made exactly the change this write asks for: the same request
    sent twice (a retry, a double submit, parallel workers), whose outcome stands. RFC 9110
    §13.1.1 lets a server answer such a repeat with success; a change by anyone else, or one
    that differs in anything asked (another summary), stays a conflict the caller must see."""
    if not events or any(event.actor_id != actor.id for event in events):
        return False
    last = events[-1]
    return last.action == action.value and all((last.data or {}).get(name) == value for name, value in asked.items())


def repeats_move(events: list[AuditEvent], *, actor: User, to: str, reason: str | None) -> bool:
    """Whether `events` (row_changes_since_version) already made this move, with the same reason
    or resolution summary, by `actor` (see _repeats)."""
    # The event keeps the reason as `transition` stores it: stripped, and left out when empty.
    return _repeats(
        events, actor, EventType.INCIDENT_STATUS_CHANGED, {"to": to, "reason": (reason or "").strip() or None}
    )


def repeats_priority(events: list[AuditEvent], *, actor: User, priority: str) -> bool:
    """Whether `events` already set this priority, by `actor` (see _repeats)."""
    return _repeats(events, actor, EventType.INCIDENT_PRIORITY_CHANGED, {"to": (priority or "").strip().upper()})


def repeats_assignment(events: list[AuditEvent], *, actor: User, owner_id: int | None) -> bool:
    """Whether `events` already gave the incident this owner (or nobody), by `actor` (see _repeats)."""
    return _repeats(events, actor, EventType.INCIDENT_ASSIGNED, {"owner_id": owner_id})


class DescriptionEdits(NamedTuple):
    before: str | None  # the description just before the first of them (None: not edited since)
    by: list[User]  # who made them, each once, in order


def description_edits_since(
    *, session: Session, incident_id: int, after_event_id: int, limit: int = 200
) -> DescriptionEdits:
    """The edits of the description after the incident's event `after_event_id` (the newest one
    when an edit form was drawn): what it said then, for merging a stale edit line by line, and
    who changed it since. Every change of a description is an edit event that keeps its old and
    new text (update_details), so the first one's old text is what the form showed."""
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.incident_id == incident_id,
            AuditEvent.id > after_event_id,
            AuditEvent.action == EventType.INCIDENT_EDITED.value,
        )
        .order_by(AuditEvent.id)
        .limit(limit)
    )
    changes = [
        (event, change)
        for event in events
        if isinstance(change := ((event.data or {}).get("changes") or {}).get("description"), dict)
    ]
    people: dict[int, User] = {}
    for event, _ in changes:
        if event.actor is not None:
            people.setdefault(event.actor.id, event.actor)
    before = changes[0][1].get("from") if changes else None
    return DescriptionEdits(before=before if isinstance(before, str) else None, by=list(people.values()))


def comments_marker(*, session: Session, incident_id: int) -> tuple:
    """Changes whenever the incident's comments read differently: a comment is only ever added
    (a new event) or redacted (its body replaced), so the counts and the newest redaction say it."""
    return tuple(
        session.execute(
            select(func.count(), func.count(Comment.redacted_at), func.max(Comment.redacted_at)).where(
                Comment.incident_id == incident_id
            )
        ).one()
    )


def body_sha256(body: str) -> str:
    """The hash a comment event records of its body (UTF-8, as stored)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


REDACTION_NOTICE = "[redacted]"


def redact_comment(*, session: Session, incident_id: int, comment_id: int, actor: User, reason: str) -> Comment:
    """Replace a comment's body with a redaction notice (e.g. a pasted credential); admins only.

    The audit event says who, when and why, and keeps the original body's hash; the event of
    the comment itself is untouched, so the chain still verifies."""
    incident = get_incident(session=session, ref=incident_id)
    comment = session.get(Comment, comment_id)
    if comment is None or comment.incident_id != incident.id:
        raise NotFound(f"{incident.key} has no comment {comment_id}.")
    _require(actor, Action.REDACT, incident, "Only an admin can redact a comment.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "Say why the comment is redacted."})
    if len(reason) > 2000:
        raise ValidationFailed({"reason": "The reason is too long: use at most 2,000 characters."})
    if hidden := unwanted_message(reason, "reason", multiline=True):
        raise ValidationFailed({"reason": hidden})
    if comment.redacted_at is not None:
        raise Conflict("This comment is already redacted.")
    original = body_sha256(comment.body)
    comment.body = REDACTION_NOTICE
    comment.redacted_at = utcnow()
    comment.redacted_by_id = actor.id
    comment.redaction_reason = reason
    session.flush()
    _record(
        session,
        actor,
        incident,
        EventType.INCIDENT_COMMENT_REDACTED,
        {"comment_id": comment.id, "body_sha256": original, "reason": reason},
        ids={"comment_id": comment.id},
    )
    return comment


def set_watching(*, session: Session, incident_id: int, actor: User, watching: bool) -> Incident:
    """Watch or stop watching an incident."""
    incident = get_incident(session=session, ref=incident_id)
    _require(actor, Action.WATCH, incident, "You cannot watch incidents.")
    existing = session.scalar(select(Watcher).where(Watcher.incident_id == incident.id, Watcher.user_id == actor.id))
    if watching == (existing is not None):
        return incident
    if watching:
        incident.watchers.append(Watcher(user_id=actor.id))
    elif existing is not None:
        incident.watchers.remove(existing)
    session.flush()
    _record(
        session,
        actor,
        incident,
        EventType.INCIDENT_WATCHED if watching else EventType.INCIDENT_UNWATCHED,
        {},
    )
    return incident


def set_due_date(
    *,
    session: Session,
    incident_id: int,
    actor: User,
    due_date: date | None,
    expected_version: int | None = None,
) -> Incident:
    """Set, move or clear the due date; the timeline records it as an edit."""
    incident = get_incident(session=session, ref=incident_id)
    _require(
        actor,
        Action.WORK,
        incident,
        "Only its owner, its reporter, a lead or an admin can change the due date.",
    )
    check_version(incident, expected_version)
    if incident.due_date == due_date:
        return incident
    if problem := timers.due_date_problem(due_date):
        raise ValidationFailed({"due_date": problem})
    old = incident.due_date
    incident.due_date = due_date
    incident.updated_at = utcnow()
    _flush(session, incident)
    change = {"from": old.isoformat() if old else "none", "to": due_date.isoformat() if due_date else "none"}
    _record(session, actor, incident, EventType.INCIDENT_EDITED, {"changes": {"due date": change}})
    return incident
