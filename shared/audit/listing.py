"""The audit log: every event of the hash-chained trail, filtered and paged, for auditors.

The /audit page, GET /api/v1/audit/events and `flask audit export` read it here. Events come
newest first by (occurred_at, id) (the export: oldest first), so the times read in order even
where the chain's order differs (a transaction that committed after a later one; loaded history).
A page's cursor is its last event's id: events are never changed, so that event's
(occurred_at, id) is a fixed point to continue from, and events appended meanwhile never make a
page repeat or skip one. Each filter is read from an index (migration 0016): the whole trail, an
action, an actor, an entity or a kind of entity as one range in page order, within a time window
too; a family as one such range per action. Actor and incident come in the same query.

Who may read it: leads and admins (Action.VIEW_AUDIT), and the operator at the command line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, literal, select, tuple_, union_all
from sqlalchemy.orm import Session

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.errors import NotFound, PermissionDenied, ValidationFailed
from shared.events import EventType
from shared.incidents import service as incidents
from shared.incidents.models import Incident
from shared.permissions import Action, SystemPrincipal, can
from shared.timeutil import as_utc, time_zone, zone_name

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
EXPORT_CHUNK = 1000  # events per query when a whole filtered trail is streamed out

# Appended as plain strings rather than EventType members (shared/accounts/tokens.py). A test
# reads shared/ for every action string, so a new one cannot be missing here.
OTHER_ACTIONS = ("api_token.created", "api_token.revoked")
# EventType names the outbox topics too. These are only ever topics (shared/events.py marks them
# "outbox:"), never an audit row: offered as filters, they could only ever list nothing. (A file's
# verdict is on the trail as evidence.verdict, an invited account as user.created; a webhook
# delivery is in the endpoint's delivery log.) Every other member is an audit action.
OUTBOX_ONLY: frozenset[str] = frozenset(
    {
        EventType.EVIDENCE_PROCESSED,
        EventType.USER_INVITED,
        EventType.WEBHOOK_DELIVERY_REQUESTED,
        EventType.FOLLOW_UP_ASSIGNED,  # on the trail as follow_up.created / follow_up.updated
    }
)
ACTIONS: tuple[str, ...] = tuple(
    sorted({event.value for event in EventType if event not in OUTBOX_ONLY} | set(OTHER_ACTIONS))
)
FAMILIES: tuple[str, ...] = tuple(sorted({action.partition(".")[0] for action in ACTIONS}))
ENTITY_TYPES = ("evidence", "incident", "user", "webhook")
SYSTEM_ACTOR = "system"  # the actor filter's word for events no user made (worker, CLI, a reset request)
FILTERS = ("action", "actor", "entity_type", "entity_id", "incident", "from", "to")
_MAX_ID = 2**31 - 1  # the integer columns' range: past it, no row (and no overflow in the driver)
DATE_HINT = "a date such as 2026-12-01, or a time such as 2026-12-01T09:30"
# The time zone a from/to without an offset is read in: the page's form sends its reader's
# (app.js), so a lead types the times the table shows them. Without it (no JavaScript, the API,
# the command line): UTC. A value with an offset (2026-12-01T07:35:00-08:00) means just that.
ZONE = "tz"


@dataclass(frozen=True)
class AuditFilters:
    """What to list; empty fields filter nothing. `before` is exclusive."""

    actions: tuple[str, ...] = ()
    actor_id: int | None = None
    system_actor: bool = False  # events no user made (actor_id NULL)
    entity_type: str | None = None
    entity_id: int | None = None
    incident_id: int | None = None
    since: datetime | None = None
    before: datetime | None = None


@dataclass(frozen=True)
class ActorRef:
    id: int
    email: str
    name: str


@dataclass(frozen=True)
class ListedEvent:
    """One event as the audit log shows it: the row, its actor and its incident's key."""

    id: int
    occurred_at: datetime
    actor: ActorRef | None  # None: the system (worker, CLI operator, a signed-out request)
    action: str
    entity_type: str
    entity_id: int
    incident_id: int | None
    incident_key: str | None
    data: dict
    prev_hash: str
    hash: str

    @property
    def actor_id(self) -> int | None:
        return self.actor.id if self.actor else None


@dataclass(frozen=True)
class AuditPage:
    events: list[ListedEvent]
    next_cursor: int | None  # the last event's id when there are older ones; None on the last page


def record(event: ListedEvent) -> dict:
    """The event as one JSON object for an archive: every field that is hashed, as it is hashed
    (`shared.audit.service.canonical_json_of` over these values gives `hash` back from
    `prev_hash`), plus who the actor and the incident are."""
    return {
        "id": event.id,
        "occurred_at": as_utc(event.occurred_at).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor": {"email": event.actor.email, "name": event.actor.name} if event.actor else None,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "incident_id": event.incident_id,
        "incident": event.incident_key,
        "data": event.data,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def family_actions(family: str) -> tuple[str, ...]:
    """The known actions of a family ("user" -> user.created, user.disabled, ...)."""
    return tuple(action for action in ACTIONS if action.partition(".")[0] == family)


def parse_filters(*, session: Session, params: Mapping[str, str | None]) -> AuditFilters:
    """Filters from request-like parameters (names in FILTERS), or ValidationFailed naming each
    parameter at fault. A value that matches nothing known (an action, a user, an incident) is
    refused rather than listed as "no events": an auditor must be able to tell a typo from an
    answer."""
    raw = {name: (params.get(name) or "").strip() for name in FILTERS}
    errors: dict[str, str] = {}
    values: dict = {}
    try:
        zone = time_zone((params.get(ZONE) or "").strip())
    except ValueError as error:
        errors[ZONE] = str(error)
        zone = UTC
    for name, parse in (
        ("action", _actions),
        ("actor", lambda value: _actor(session, value)),
        ("entity_type", _entity_type),
        ("entity_id", _entity_id),
        ("incident", lambda value: _incident(session, value)),
        ("from", lambda value: _moment(value, upper=False, zone=zone)),
        ("to", lambda value: _moment(value, upper=True, zone=zone)),
    ):
        if not raw[name]:
            continue
        try:
            values[name] = parse(raw[name])
        except ValueError as error:
            errors[name] = str(error)
    if raw["entity_id"] and not raw["entity_type"] and "entity_id" not in errors:
        errors["entity_id"] = "Give entity_type with entity_id: an id is only unique within its type."
    since, before = values.get("from"), values.get("to")
    if since is not None and before is not None and before <= since:
        errors["to"] = f"to ({raw['to']}) must be later than from ({raw['from']})."
    if errors:
        raise ValidationFailed(errors)
    actor = values.get("actor")
    return AuditFilters(
        actions=values.get("action", ()),
        actor_id=actor if isinstance(actor, int) else None,
        system_actor=actor == SYSTEM_ACTOR,
        entity_type=values.get("entity_type"),
        entity_id=values.get("entity_id"),
        incident_id=values.get("incident"),
        since=since,
        before=before,
    )


def parse_cursor(value: str | int | None) -> int | None:
    """A page cursor (the last event's id, from the previous page's `next`)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= _MAX_ID:
        raise ValidationFailed({"cursor": f"cursor {text!r} is not one this list gave out (an event id)."})
    return int(text)


def page(
    *,
    session: Session,
    actor: User | SystemPrincipal,
    filters: AuditFilters,
    cursor: str | int | None = None,
    limit: int = DEFAULT_LIMIT,
) -> AuditPage:
    """Up to `limit` events matching `filters`, newest first, older than the event `cursor`."""
    _require(actor)
    limit = max(1, min(limit, MAX_LIMIT))
    after = None
    after_id = parse_cursor(cursor)
    if after_id is not None:
        occurred = session.scalar(select(AuditEvent.occurred_at).where(AuditEvent.id == after_id))
        if occurred is None:
            raise ValidationFailed({"cursor": f"cursor {after_id} is not one this list gave out (no such event)."})
        after = (occurred, after_id)
    rows = session.execute(_select(filters, limit=limit + 1, after=after)).all()
    events = [_listed(row) for row in rows[:limit]]
    return AuditPage(events, events[-1].id if len(rows) > limit else None)


def iterate(
    *,
    session: Session,
    actor: User | SystemPrincipal,
    filters: AuditFilters,
    oldest_first: bool = False,
    max_events: int | None = None,
    chunk: int = EXPORT_CHUNK,
) -> Iterator[ListedEvent]:
    """Every event matching `filters` (up to `max_events`), read `chunk` at a time by keyset:
    memory stays flat however many there are. The permission is checked now, not at the first read."""
    _require(actor)
    return _chunks(session, filters, oldest_first, max_events, chunk)


def _chunks(
    session: Session, filters: AuditFilters, oldest_first: bool, max_events: int | None, chunk: int
) -> Iterator[ListedEvent]:
    after = None
    read = 0
    while max_events is None or read < max_events:
        size = chunk if max_events is None else min(chunk, max_events - read)
        # Plain rows, not ORM objects: nothing accumulates in the session's identity map.
        rows = session.execute(_select(filters, limit=size, after=after, oldest_first=oldest_first)).all()
        for row in rows:
            yield _listed(row)
        read += len(rows)
        if len(rows) < size:
            return
        after = (rows[-1].occurred_at, rows[-1].id)


def _require(actor: User | SystemPrincipal) -> None:
    if not can(actor, Action.VIEW_AUDIT):
        raise PermissionDenied("Only leads and admins can read the audit log.")


def _select(
    filters: AuditFilters, *, limit: int, after: tuple[datetime, int] | None = None, oldest_first: bool = False
) -> Select:
    """The next `limit` events matching `filters` after the position `after` (occurred_at, id),
    newest first (or oldest first), with their actor's and incident's names in the same query.

    Several actions (a family) are read as one branch per action, each taking its first `limit`
    events from its own (action, occurred_at, id) index range, and the page is the first `limit`
    of those: never more than `limit` events per action are read. (With `action IN (...)`
    PostgreSQL could only sort every event of the family, or walk the trail by time discarding the
    rest: everything newer is read when a family's events are all old, a webhook set up two years ago.)"""
    table = AuditEvent.__table__
    conditions = _conditions(table, filters)
    if after is not None:
        # A row comparison: PostgreSQL bounds the index range with it (an OR of the two cases it
        # would only filter with). SQLite has row values too.
        position = tuple_(table.c.occurred_at, table.c.id)
        here = tuple_(literal(as_utc(after[0]), AuditEvent.occurred_at.type), literal(after[1], AuditEvent.id.type))
        conditions.append(position > here if oldest_first else position < here)
    events: Any = table
    if len(filters.actions) > 1:
        branches = [
            select(table)
            .where(*conditions, table.c.action == action)
            .order_by(*_order(table, oldest_first))
            .limit(limit)
            for action in filters.actions
        ]
        # Each branch in a subquery of its own: SQLite takes no ORDER BY or LIMIT on a UNION's members.
        events = union_all(*(select(branch.subquery()) for branch in branches)).subquery("listed")
        conditions = []
    elif filters.actions:
        conditions.append(table.c.action == filters.actions[0])
    return (
        select(
            events.c.id,
            events.c.occurred_at,
            events.c.actor_id,
            User.email.label("actor_email"),
            User.name.label("actor_name"),
            events.c.action,
            events.c.entity_type,
            events.c.entity_id,
            events.c.incident_id,
            Incident.key.label("incident_key"),
            events.c.data,
            events.c.prev_hash,
            events.c.hash,
        )
        .select_from(events)
        .outerjoin(User, User.id == events.c.actor_id)
        .outerjoin(Incident, Incident.id == events.c.incident_id)
        .where(*conditions)
        .order_by(*_order(events, oldest_first))
        .limit(limit)
    )


def _conditions(table, filters: AuditFilters) -> list:
    """Every filter but the action's."""
    conditions = []
    if filters.system_actor:
        conditions.append(table.c.actor_id.is_(None))
    elif filters.actor_id is not None:
        conditions.append(table.c.actor_id == filters.actor_id)
    if filters.entity_type is not None:
        conditions.append(table.c.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        conditions.append(table.c.entity_id == filters.entity_id)
    if filters.incident_id is not None:
        conditions.append(table.c.incident_id == filters.incident_id)
    if filters.since is not None:
        conditions.append(table.c.occurred_at >= filters.since)
    if filters.before is not None:
        conditions.append(table.c.occurred_at < filters.before)
    return conditions


def _order(events, oldest_first: bool) -> tuple:
    if oldest_first:
        return (events.c.occurred_at.asc(), events.c.id.asc())
    return (events.c.occurred_at.desc(), events.c.id.desc())


def _listed(row) -> ListedEvent:
    return ListedEvent(
        id=row.id,
        occurred_at=as_utc(row.occurred_at),
        actor=ActorRef(row.actor_id, row.actor_email, row.actor_name) if row.actor_id is not None else None,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        incident_id=row.incident_id,
        incident_key=row.incident_key,
        data=row.data or {},
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


# -- parsing one filter each: ValueError(message) names what is wrong --------------------------


def _actions(value: str) -> tuple[str, ...]:
    found: list[str] = []
    for item in (part.strip().lower() for part in value.split(",")):
        if not item:
            continue
        family = item.removesuffix("*").removesuffix(".")
        if family in FAMILIES and (item == family or item.endswith((".", ".*"))):
            found.extend(family_actions(family))
        elif item in ACTIONS:
            found.append(item)
        elif item in OUTBOX_ONLY:
            raise ValueError(
                f"{item!r} is never recorded on the audit trail (it is only a message to the worker): "
                f"{item.partition('.')[0]} actions are {', '.join(family_actions(item.partition('.')[0]))}."
            )
        elif (known := family_actions(item.partition(".")[0])) and "." in item:
            raise ValueError(f"Unknown action {item!r}: {item.partition('.')[0]} actions are {', '.join(known)}.")
        else:
            raise ValueError(
                f"Unknown action {item!r}: use an action family ({', '.join(f + '.' for f in FAMILIES)}) "
                "or an exact action such as user.role_changed."
            )
    return tuple(dict.fromkeys(found))


def _actor(session: Session, value: str) -> int | str:
    if value.lower() == SYSTEM_ACTOR:
        return SYSTEM_ACTOR
    if value.isascii() and value.isdigit():
        try:
            return accounts.get_user(session=session, user_id=int(value)).id
        except NotFound:
            raise ValueError(f"No user with id {value}.") from None
    user = accounts.find_by_email(session=session, email=value)
    if user is None:
        raise ValueError(
            f"No user with the email {value!r} (give an email, or {SYSTEM_ACTOR} for events no user made)."
        )
    return user.id


def _entity_type(value: str) -> str:
    if value.lower() not in ENTITY_TYPES:
        raise ValueError(f"Unknown entity type {value!r}: use {', '.join(ENTITY_TYPES)}.")
    return value.lower()


def _entity_id(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= _MAX_ID:
        raise ValueError(f"entity_id {value!r} is not an id (a whole number from 1).")
    return int(value)


def _incident(session: Session, value: str) -> int:
    try:
        return incidents.get_incident(session=session, ref=value).id
    except NotFound:
        raise ValueError(f"No incident {value} (give its key, such as INC-42).") from None


def _written_precision(value: str) -> timedelta:
    """How much time a written time stands for: `08:56:54` is that whole second, as the log
    shows its events to the second (an event at 08:56:54.22 is "at 08:56:54", found by QA);
    `08:56` the whole minute; a fraction of a second only itself."""
    clock = _CLOCK.search(value[10:])
    if clock is None or clock.group("fraction"):
        return timedelta(microseconds=1)
    return timedelta(seconds=1) if clock.group("seconds") else timedelta(minutes=1)


_CLOCK = re.compile(r"\d{2}:\d{2}(?P<seconds>:\d{2})?(?P<fraction>[.,]\d+)?")


def _moment(value: str, *, upper: bool, zone: tzinfo = UTC) -> datetime | None:
    """The instant a from/to value stands for, in UTC; `upper`: the exclusive end, so a date
    takes its whole day in and a time the instant itself. A date or a time without an offset is
    read in `zone` (a date: midnight to midnight there). None: past the end of time (no bound)."""
    hint = f"{DATE_HINT} ({zone_name(zone)} unless it names its offset, as 2026-12-01T09:30:00-08:00)"
    try:
        if len(value) <= 10:
            day = date.fromisoformat(value)
            start = datetime.combine(day + timedelta(days=1) if upper else day, time(), zone)
            return as_utc(start)
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        moment = as_utc(moment)
        return moment + _written_precision(value) if upper else moment
    except OverflowError:
        if upper:
            return None  # 9999-12-31: up to the end of time
        raise ValueError(f"{value!r} is out of range: use {hint}.") from None
    except ValueError:
        raise ValueError(f"{value!r} is not a date or a time: use {hint}.") from None
