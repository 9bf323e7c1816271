"""Audit events in words: one sentence per event, for the incident timeline and the audit log.

The trail records people by number (an owner's id) or by email (an assignment), as hashed; a
reader wants names. The timeline (web/incidents/timeline.py) already knows everyone on its
page and reads an event as what follows its actor ("changed status from Open to Blocked"). The
audit log (/audit, its CSV) lists events of every kind and incident at once: `name_people` finds
everyone a page mentions in one query, and `describe` makes the whole sentence ("Lee Lead
reopened INC-34 (was Resolved): “fixed only on one node”") and the event's data as lines with
people by name. Text only: the page escapes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.events import EventType
from shared.incidents.lifecycle import STATUS_LABELS, Status, is_reopen

NO_OWNER = "no owner"


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.email})"


@dataclass(frozen=True)
class People:
    """Everyone a set of events names, by id and by email (found by `name_people`)."""

    by_id: Mapping[int, Person] = field(default_factory=dict)
    by_email: Mapping[str, Person] = field(default_factory=dict)


@dataclass(frozen=True)
class Names:
    """What a presenter needs besides the event's data. The timeline is on one incident ("the
    incident", "it"); the audit log names what each event is on (`entity`: "INC-34", "webhook
    endpoint 3") and the account an account event is about (`user`: "Dana Dev (dana@example.com)";
    `own`: the actor acted on their own account)."""

    names: Mapping[str, str] = field(default_factory=dict)  # email -> display name (assignments record emails)
    names_by_id: Mapping[int, str] = field(default_factory=dict)  # user id -> display name (owners by id)
    entity: str | None = None
    user: str = "an account"
    own: bool = False

    @property
    def of(self) -> str:
        return f" of {self.entity}" if self.entity else ""

    @property
    def on(self) -> str:
        return f" on {self.entity}" if self.entity else ""


Presenter = Callable[[Mapping, Names], tuple[str, str | None]]


def status_label(value: Any) -> str:
    try:
        return STATUS_LABELS[Status(value)]
    except ValueError:
        return str(value)


def _size(value: Any) -> str:
    try:
        size: float = int(value)
    except (TypeError, ValueError):
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def _file(d: Mapping) -> str:
    name = d.get("name") or d.get("filename") or (f"file {d['evidence_id']}" if d.get("evidence_id") else "a file")
    return f"“{name}”"


def _custody(d: Mapping) -> str:
    parts = [p for p in (_size(d.get("size")), f"SHA-256 {d['sha256']}" if d.get("sha256") else "") if p]
    return f" ({', '.join(parts)})" if parts else ""


def _created(d, c):
    # The owner chosen when filing is in this event alone (no assignment event follows it).
    owner = c.names_by_id.get(d.get("owner_id")) if d.get("owner_id") is not None else None
    # The timeline is the incident's page, under its title; the audit log names it, with its title then.
    what = f"{c.entity} “{d['title']}”" if c.entity and d.get("title") else c.entity or "the incident"
    text = f"created {what} ({d.get('priority')}, {d.get('environment')})"
    return text + (f" and assigned it to {owner}" if owner else ""), None


def _status_changed(d, c):
    was, to = d.get("from"), d.get("to")
    if d.get("undo"):
        # The mover's Undo of their own latest move (shared.incidents.service.transition).
        return f"undid the move{c.of}: back to {status_label(to)} (from {status_label(was)})", None
    # The form says "Reopen": so does the trail, with what it was (the resolution it undoes is in
    # the move to Resolved before it).
    if is_reopen(was, to):
        return f"reopened {c.entity or 'the incident'} (was {status_label(was)})", d.get("reason") or None
    return f"changed status{c.of} from {status_label(was)} to {status_label(to)}", d.get("reason") or None


def _assigned(d, c):
    to, was = d.get("to"), d.get("from")
    text = f"assigned {c.entity or 'it'} to {c.names.get(to, to) or 'nobody'}"
    return (text + (f" (was {c.names.get(was, was)})" if was else "")), None


def _priority_changed(d, c):
    return f"changed priority{c.of} from {d.get('from')} to {d.get('to')}", None


def _edited(d, c):
    # The timeline offers what changed in a description beside this (web/incidents/timeline.py).
    changes = d.get("changes") or {}
    described = isinstance(changes.get("description"), Mapping)
    parts = [
        "the description"
        if described and name == "description"
        else f"{name} from “{change.get('from')}” to “{change.get('to')}”"
        for name, change in changes.items()
    ]
    return f"edited {', '.join(parts)}{c.on}", None


def _evidence(verb: str) -> Presenter:
    return lambda d, c: (f"{verb} {_file(d)}{_custody(d)}{c.on}", None)


def _evidence_processed(d, c):
    verdict = str(d.get("state") or d.get("verdict") or "processed").replace("_", " ")
    return f"checked {_file(d)}{_custody(d)}{c.on}: {verdict}", d.get("reason") or None


def _legal_hold(d, c):
    text = f"put {_file(d)} on legal hold" if d.get("legal_hold") else f"lifted the legal hold on {_file(d)}"
    return text + c.on, d.get("reason") or None


def _follow_up_title(d: Mapping) -> str:
    return f"the follow-up “{d.get('title') or 'untitled'}”"


def _follow_up_person(c: Names, user_id: object) -> str:
    if user_id is None:
        return "nobody"
    return c.names_by_id.get(user_id, "someone") if isinstance(user_id, int) else "someone"


def _follow_up_created(d, c):
    details = []
    if d.get("owner_id") is not None:
        details.append(f"owner {_follow_up_person(c, d.get('owner_id'))}")
    if d.get("due_date"):
        details.append(f"due {d['due_date']}")
    return f"added {_follow_up_title(d)}" + (f" ({', '.join(details)})" if details else "") + c.on, None


def _follow_up_updated(d, c):
    parts = []
    for name, change in (d.get("changes") or {}).items():
        change = change if isinstance(change, Mapping) else {}
        old, new = change.get("from"), change.get("to")
        if name == "owner":
            parts.append(f"owner from {_follow_up_person(c, old)} to {_follow_up_person(c, new)}")
        elif name == "due date":
            parts.append(f"due date from {old or 'none'} to {new or 'none'}")
        else:
            parts.append(f"{name} from “{old}” to “{new}”")
    was = (d.get("changes") or {}).get("title")
    which = _follow_up_title({"title": was.get("from")} if isinstance(was, Mapping) else d)
    return f"edited {which}{c.on}: {', '.join(parts) or 'no details recorded'}", None


def _follow_up(verb: str) -> Presenter:
    return lambda d, c: (f"{verb.format(_follow_up_title(d))}{c.on}", None)


def _watching(verb: str) -> Presenter:
    return lambda _d, c: (f"{verb} {c.entity}" if c.entity else verb, None)


# -- Events about an account, a token or a webhook: only the audit log shows these ------------


def _their(c: Names, what: str) -> str:
    return f"their {what}" if c.own else f"the {what} of {c.user}"


def _password_changed(d, c):
    if d.get("first"):
        return ("chose their first password" if c.own else f"chose the first password of {c.user}"), None
    return f"changed {_their(c, 'password')}", None


def _user_disabled(d, c):
    revoked = d.get("tokens_revoked")
    tokens = f", revoking {revoked} API token{'s' * (revoked != 1)}" if isinstance(revoked, int) and revoked else ""
    return f"disabled {c.user}{tokens}", None


def _test_email(d, _c):
    outcome = "it was sent" if d.get("outcome") == "sent" else f"it failed: {d.get('error') or 'no reason given'}"
    through = f" through {d['through']}" if d.get("through") else ""
    return f"sent a test email to {d.get('to')}{through}; {outcome}", None


def _token(verb: str) -> Presenter:
    def present(d, c):
        token = f"API token “{d.get('name')}”" + (f" ({d['scope']})" if d.get("scope") else "")
        return (f"{verb} their {token}" if c.own else f"{verb} the {token} of {c.user}"), None

    return present


def _webhook_url(d: Mapping) -> str:
    url = d.get("url")
    return f" ({url})" if isinstance(url, str) and url else ""


def _webhook_updated(d, c):
    if "enabled" in d and set(d) <= {"enabled", "reason"}:
        verb = "enabled" if d.get("enabled") else "disabled"
        return f"{verb} {c.entity}", d.get("reason") or None
    parts = []
    for name, change in (d.get("changes") or {}).items():
        if name.endswith("_sha256"):
            continue  # the digest of a change already shown (the URL, masked)
        if isinstance(change, Mapping) and set(change) == {"from", "to"}:
            parts.append(f"{name} from “{_plain(change['from'])}” to “{_plain(change['to'])}”")
        else:
            parts.append(f"{name} to “{_plain(change)}”")
    return f"changed {c.entity}: {', '.join(parts) or 'no details recorded'}", None


def _webhook_secret_rotated(d, c):
    until = d.get("old_secret_signs_until")
    return f"rotated the signing secret of {c.entity}" + (
        f" (the old one signs until {until})" if until else " (the old one stopped at once)"
    ), None


PRESENTERS: dict[str, Presenter] = {
    EventType.INCIDENT_CREATED: _created,
    EventType.INCIDENT_STATUS_CHANGED: _status_changed,
    EventType.INCIDENT_ASSIGNED: _assigned,
    EventType.INCIDENT_PRIORITY_CHANGED: _priority_changed,
    EventType.INCIDENT_EDITED: _edited,
    # The timeline draws the comment itself; the event holds only its id and a hash of its body.
    EventType.INCIDENT_COMMENTED: lambda _d, c: (f"commented{c.on}", None),
    EventType.INCIDENT_COMMENT_REDACTED: lambda d, c: (f"redacted a comment{c.on}", d.get("reason") or None),
    EventType.INCIDENT_WATCHED: _watching("started watching"),
    EventType.INCIDENT_UNWATCHED: _watching("stopped watching"),
    EventType.EVIDENCE_UPLOADED: _evidence("uploaded"),
    EventType.EVIDENCE_VERDICT: _evidence_processed,
    EventType.EVIDENCE_PROCESSED: _evidence_processed,
    EventType.EVIDENCE_DOWNLOADED: _evidence("downloaded"),
    EventType.EVIDENCE_LEGAL_HOLD_CHANGED: _legal_hold,
    EventType.EVIDENCE_RETRIED: _evidence("retried the checks of"),
    EventType.FOLLOW_UP_CREATED: _follow_up_created,
    EventType.FOLLOW_UP_COMPLETED: _follow_up("marked {} done"),
    EventType.FOLLOW_UP_REOPENED: _follow_up("reopened {}"),
    EventType.FOLLOW_UP_UPDATED: _follow_up_updated,
    EventType.FOLLOW_UP_DELETED: _follow_up("deleted {}"),
    EventType.USER_CREATED: lambda d, c: (f"created the account {c.user} with the role {d.get('role')}", None),
    EventType.USER_ROLE_CHANGED: lambda d, c: (
        f"changed the role of {c.user} from {d.get('from')} to {d.get('to')}",
        None,
    ),
    EventType.USER_ENABLED: lambda _d, c: (f"enabled {c.user}", None),
    EventType.USER_DISABLED: _user_disabled,
    EventType.USER_PASSWORD_CHANGED: _password_changed,
    EventType.USER_PASSWORD_RESET: lambda _d, c: (f"set a new password for {c.user}", None),
    EventType.USER_PASSWORD_RESET_REQUESTED: lambda _d, c: (f"asked for a password reset link for {c.user}", None),
    EventType.USER_INVITE_RESENT: lambda _d, c: (f"sent {c.user} a new invitation link", None),
    EventType.USER_TEST_EMAIL_SENT: _test_email,
    "api_token.created": _token("created"),
    "api_token.revoked": _token("revoked"),
    EventType.WEBHOOK_CREATED: lambda d, c: (
        f"created {c.entity}{_webhook_url(d)} for {_plain(d.get('events')) or 'no events'}",
        None,
    ),
    EventType.WEBHOOK_UPDATED: _webhook_updated,
    EventType.WEBHOOK_SECRET_ROTATED: _webhook_secret_rotated,
    EventType.WEBHOOK_DELETED: lambda d, c: (f"deleted {c.entity}{_webhook_url(d)}", None),
}


# -- The audit log: a page of events, its people named in one query ----------------------------

# Keys of an event's data that hold a person: by id (an owner), or by email (an assignment).
_PERSON_ID_KEYS = frozenset({"owner_id", "previous_owner_id"})
_PERSON_EMAIL_ACTIONS = frozenset({EventType.INCIDENT_ASSIGNED.value})


@dataclass(frozen=True)
class Described:
    """An event in words: the sentence, and its data as (key, value) lines with people by name."""

    sentence: str
    lines: list[tuple[str, str]]
    user: str | None  # the account an account event is about, by name (None: not about an account)


def _mentioned(events: Iterable[Any]) -> tuple[set[int], set[str]]:
    ids: set[int] = set()
    emails: set[str] = set()
    for event in events:
        data = event.data or {}
        if event.entity_type == "user":
            ids.add(event.entity_id)
        for key in _PERSON_ID_KEYS:
            if isinstance(data.get(key), int):
                ids.add(data[key])
        owner = (data.get("changes") or {}).get("owner") if isinstance(data.get("changes"), Mapping) else None
        if event.action == EventType.FOLLOW_UP_UPDATED and isinstance(owner, Mapping):
            ids.update(value for value in owner.values() if isinstance(value, int))
        if event.action in _PERSON_EMAIL_ACTIONS:
            emails.update(data[key] for key in ("from", "to") if isinstance(data.get(key), str))
    return ids, emails


def name_people(*, session: Session, events: Sequence[Any]) -> People:
    """Everyone these events mention (owners, assignees, the accounts they are about), in one
    query by primary key and unique email, however many events there are."""
    ids, emails = _mentioned(events)
    if not ids and not emails:
        return People()
    rows = session.execute(
        select(User.id, User.email, User.name).where(or_(User.id.in_(sorted(ids)), User.email.in_(sorted(emails))))
    ).all()
    people = [Person(row.id, row.email, row.name) for row in rows]
    return People(by_id={p.id: p for p in people}, by_email={p.email: p for p in people})


def describe(event: Any, people: People) -> Described:
    """The event (a shared.audit.listing.ListedEvent) in words, with `people` from `name_people`."""
    data = event.data or {}
    about = people.by_id.get(event.entity_id) if event.entity_type == "user" else None
    user = None
    if event.entity_type == "user":
        user = about.label if about else (f"{data['email']}" if data.get("email") else f"user {event.entity_id}")
    names = Names(
        names={email: person.name for email, person in people.by_email.items()},
        names_by_id={person_id: person.name for person_id, person in people.by_id.items()},
        entity=_entity(event),
        user=user or "an account",
        own=event.entity_type == "user" and event.actor_id is not None and event.actor_id == event.entity_id,
    )
    presenter = PRESENTERS.get(event.action)
    if presenter is None:
        text, quote = f"recorded {event.action} on {event.entity_type} {event.entity_id}", None
    else:
        text, quote = presenter(data, names)
    if event.actor is not None:
        subject = event.actor.name
    elif event.action == EventType.USER_PASSWORD_RESET_REQUESTED:
        subject = "Someone not signed in"  # whoever typed the address on the sign-in page
    else:
        subject = "The system"  # the worker, the command line
    sentence = f"{subject} {text}" + (f": “{quote}”" if quote else "")
    return Described(sentence=sentence, lines=_lines(event, data, people), user=user)


def _entity(event: Any) -> str | None:
    if event.incident_key:
        return event.incident_key
    if event.entity_type == "webhook":
        return f"webhook endpoint {event.entity_id}"
    if event.entity_type == "incident":
        return f"incident {event.entity_id}"
    return None


def describe_all(*, session: Session, events: Iterable[Any], batch: int = 200) -> Iterator[tuple[Any, Described]]:
    """Each event with its words, `batch` events at a time: one query names a batch's people,
    and memory stays flat however long the stream (a CSV export)."""
    stream = iter(events)
    while chunk := list(islice(stream, batch)):
        people = name_people(session=session, events=chunk)
        for event in chunk:
            yield event, describe(event, people)


def _lines(event: Any, data: Mapping, people: People, prefix: str = "") -> list[tuple[str, str]]:
    """The event's data as (key, value) lines a person reads: nested keys joined with dots, a
    change as "old → new", lists comma-separated, people as "Name (email)", no owner in words."""
    lines: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key in _PERSON_ID_KEYS and not prefix:
            lines.append((key.removesuffix("_id"), _by_id(value, people)))
        elif name == "changes.owner" and event.action == EventType.FOLLOW_UP_UPDATED and isinstance(value, Mapping):
            lines.append((name, f"{_by_id(value.get('from'), people)} → {_by_id(value.get('to'), people)}"))
        elif key in ("from", "to") and not prefix and event.action in _PERSON_EMAIL_ACTIONS:
            lines.append((key, _by_email(value, people)))
        elif isinstance(value, Mapping) and set(value) == {"from", "to"}:
            lines.append((name, f"{_plain(value['from'])} → {_plain(value['to'])}"))
        elif isinstance(value, Mapping) and value:
            lines.extend(_lines(event, value, people, f"{name}."))
        else:
            lines.append((name, _plain(value)))
    return lines


def _by_id(value: object, people: People) -> str:
    if value is None:
        return NO_OWNER
    person = people.by_id.get(value) if isinstance(value, int) else None
    # The id stays beside the name: it is what the trail holds (and an account may be renamed).
    return f"{person.label}, user {person.id}" if person else f"user {value} (no longer on record)"


def _by_email(value: object, people: People) -> str:
    if value is None:
        return NO_OWNER
    person = people.by_email.get(value) if isinstance(value, str) else None
    return person.label if person else str(value)


def _plain(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value) or "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) or "none"
    return str(value)
