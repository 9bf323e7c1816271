"""The transactional outbox: writing messages in the caller's transaction, and relaying them.

`enqueue` adds a message to the caller's transaction. `relay` publishes due messages: it claims
them with `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL), so two relays running at once (two
web processes, or a web process and the beat sweep) never publish the same message twice,
publishes each to the tasks `shared.events.TASK_ROUTES` names and marks it published in the
same transaction. A failed publish keeps the message, counts the attempt, records the error and
backs off (`available_at`).

Publishing itself is a callable `publish(task_name, kwargs, message_id)` that the caller brings
(web/outbox_publisher.py, worker/tasks/outbox.py): this module never imports Celery. Task kwargs
come from the route (`shared.events.Route`): the payload plus `message_id`, or only the payload
keys the task takes.

`publish_after_commit(factory, publish)` makes every session of that factory relay the
messages it wrote right after its COMMIT, never inside the transaction.

`hold_new` keeps a message back until a later `available_at` (a move offered an Undo, "Undo
send"): the after-commit relay leaves it and the beat's sweep publishes it once due, unless
`withdraw_held` took it back first; then nothing is ever sent for it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, false, func, select, update
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session, sessionmaker

from shared.audit import service as audit
from shared.db import utcnow
from shared.events import EventType, Route, tasks_for
from shared.outbox.models import OutboxMessage, new_message_id
from shared.timeutil import as_utc

log = logging.getLogger(__name__)

Publish = Callable[[str, dict, str], None]

BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 600
_NEW_IDS = "outbox_new_message_ids"


def enqueue(*, session: Session, topic: EventType | str, payload: dict) -> OutboxMessage:
    """Record a message to publish after commit; it commits or rolls back with the change.

    The payload carries ids (incident_id, comment_id, evidence_id, ...), never copies of titles,
    bodies or diffs: the task re-reads the current rows, and a redacted text is not left behind
    in the outbox.

    A message written with an audit event (every service appends the event, then enqueues its
    message) also carries that event's id as `event_id`: the one consumers outside, such as
    webhooks, can use to recognise a delivery. The id exists only once the event is sealed at
    COMMIT, so it is filled in then, in the same transaction."""
    message = OutboxMessage(id=new_message_id(), topic=str(topic), payload=json.loads(json.dumps(payload, default=str)))
    session.add(message)
    event = audit.latest_pending(session=session)
    if event is not None:

        def add_event_id() -> None:
            # A new dict (not an in-place change) so the JSON column is seen as changed.
            message.payload = {**message.payload, "event_id": event.id}

        audit.when_sealed(session=session, callback=add_event_id)
    # Remembered for the after-commit relay (publish_after_commit), forgotten on rollback.
    session.info.setdefault(_NEW_IDS, []).append((message.id, message.topic))
    return message


def settle_new_as_history(*, session: Session) -> int:
    """Mark the messages this transaction wrote so far as published without sending them.

    For data that is history, not news (the demo seed of `make run`): no task runs for it, so
    nobody is mailed about thirty made-up incidents and the worker's queue starts empty."""
    new = session.info.pop(_NEW_IDS, None) or []
    ids = [message_id for message_id, _ in new]
    if ids:
        session.flush()
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(published_at=utcnow()),
            execution_options={"synchronize_session": "fetch"},
        )
    return len(ids)


def hold_new(*, session: Session, topic: EventType | str, until: datetime, withdrawable: bool) -> list[OutboxMessage]:
    """Keep the latest `topic` message this transaction wrote unpublished until `until`.

    The after-commit relay leaves it; the beat's sweep publishes it once due. Only a
    `withdrawable` one (payload `held: true`) may be taken back by `withdraw_held` before then:
    a message merely waiting its turn behind a held one, or backing off after a failed publish,
    is news that goes out."""
    messages = _new_messages(session, topic)
    for message in messages:
        message.available_at = until
        if withdrawable:
            # A new dict (not an in-place change) so the JSON column is seen as changed.
            message.payload = {**message.payload, "held": True}
    _forget_new(session, {message.id for message in messages})
    return messages


def held(*, session: Session, topic: EventType | str, incident_id: int) -> list[OutboxMessage]:
    """Unpublished withdrawable messages of `topic` about this incident (see `hold_new`), newest first."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.published_at.is_(None),
            OutboxMessage.topic == str(topic),
            OutboxMessage.payload["incident_id"].as_integer() == incident_id,
        )
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    )
    return [message for message in session.scalars(query) if message.payload.get("held") is True]


def due_after(*, session: Session, topic: EventType | str, incident_id: int, now: datetime) -> datetime | None:
    """The latest moment an earlier unpublished `topic` message about this incident waits for
    (None: none waits; this transaction's own are not counted): a later message of the same
    kind must not overtake it."""
    own = [message_id for message_id, _ in session.info.get(_NEW_IDS, [])]
    latest = session.scalar(
        select(func.max(OutboxMessage.available_at)).where(
            OutboxMessage.published_at.is_(None),
            OutboxMessage.topic == str(topic),
            OutboxMessage.payload["incident_id"].as_integer() == incident_id,
            OutboxMessage.available_at > now,
            OutboxMessage.id.not_in(own),
        )
    )
    return as_utc(latest)


def withdraw_held(*, session: Session, message: OutboxMessage) -> bool:
    """Take back a held message before it is published; False when a relay published it first.

    Compare-and-set on `published_at`: on PostgreSQL a relay holding the row (it is publishing
    it) makes this wait and then find it published; a row this holds is skipped by the relays.
    A withdrawn message reads as published with no attempt (`attempts` 0): nothing was sent."""
    withdrawn = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.published_at.is_(None))
        .values(published_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    session.expire(message)
    return cast(CursorResult, withdrawn).rowcount == 1


def withdraw_new(*, session: Session, topic: EventType | str) -> int:
    """Mark the latest `topic` message this transaction wrote as published without sending it
    (a change that cancels another: nobody is told of either)."""
    messages = _new_messages(session, topic)
    for message in messages:
        message.published_at = utcnow()
    _forget_new(session, {message.id for message in messages})
    return len(messages)


def _new_messages(session: Session, topic: EventType | str) -> list[OutboxMessage]:
    """The latest `topic` message this transaction wrote (the change just made), if any."""
    ids = [message_id for message_id, new_topic in session.info.get(_NEW_IDS, []) if new_topic == str(topic)]
    known = [*session.new, *session.identity_map.values()]
    return [item for item in known if isinstance(item, OutboxMessage) and item.id in ids[-1:]]


def _forget_new(session: Session, ids: set[str]) -> None:
    # Not for the after-commit relay: it would only find them not due (or already settled).
    if ids:
        session.info[_NEW_IDS] = [entry for entry in session.info.get(_NEW_IDS, []) if entry[0] not in ids]


def pending(*, session: Session, limit: int = 100) -> list[OutboxMessage]:
    """Unpublished messages, oldest first."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(limit)
        )
    )


def backoff(attempts: int) -> timedelta:
    """How long a message waits after its `attempts`-th failed publish: 5 s, 10 s, 20 s ... 10 min."""
    return timedelta(seconds=min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)))


def claim(
    *, session: Session, limit: int = 100, ids: Iterable[str] | None = None, now: datetime | None = None
) -> list[OutboxMessage]:
    """Lock and return due unpublished messages, oldest first, skipping rows another relay holds.

    On PostgreSQL the rows stay locked until the caller's transaction ends. SQLite has no row
    locks: a write that changes nothing takes its database-wide write lock first, so a second
    relay waits until the first has marked what it published."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(OutboxMessage).where(false()).values(attempts=OutboxMessage.attempts))
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.published_at.is_(None), OutboxMessage.available_at <= (now or utcnow()))
        .order_by(OutboxMessage.available_at, OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    return list(session.scalars(query))


@dataclass(frozen=True)
class RelayResult:
    published: int = 0
    failed: int = 0
    error: str = ""


def relay(
    *,
    session: Session,
    publish: Publish,
    limit: int = 100,
    ids: Iterable[str] | None = None,
    routes: Mapping[str, Iterable[Route | str]] | None = None,
    now: datetime | None = None,
) -> RelayResult:
    """Publish due messages (all, or only `ids`) and mark them, in the caller's transaction.

    After the first failed publish the rest are left for later untouched: the broker is most
    likely down, and every further attempt would wait out the same timeout."""
    published = failed = 0
    error = ""
    now = now or utcnow()
    for message in claim(session=session, limit=limit, ids=ids, now=now):
        if error:
            break
        try:
            for route in tasks_for(message.topic, routes):
                publish(route.task, route.kwargs(message.payload, message.id), message.id)
        except Exception as failure:  # any broker error: keep the message, retry later
            error = f"{type(failure).__name__}: {failure}"[:2000]
            message.attempts += 1
            message.last_error = error
            message.available_at = now + backoff(message.attempts)
            failed += 1
            log.warning("outbox message %s (%s) not published: %s", message.id, message.topic, error)
            continue
        message.attempts += 1
        message.published_at = now
        message.last_error = None
        published += 1
    session.flush()
    return RelayResult(published=published, failed=failed, error=error)


def relay_in_transaction(
    factory: sessionmaker[Session],
    publish: Publish,
    *,
    limit: int = 100,
    ids: Iterable[str] | None = None,
    routes: Mapping[str, Iterable[Route | str]] | None = None,
    now: datetime | None = None,
) -> RelayResult:
    """`relay` in a transaction of its own (what the after-commit hook and the sweep run)."""
    session = factory()
    try:
        result = relay(session=session, publish=publish, limit=limit, ids=ids, routes=routes, now=now)
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def publish_after_commit(
    factory: sessionmaker[Session],
    publish: Publish,
    *,
    routes: Mapping[str, Iterable[Route | str]] | None = None,
) -> None:
    """Make sessions of `factory` relay the messages they wrote right after their COMMIT.

    Never inside the transaction: a message is published only once its change is real. A
    failure here never reaches the caller (the change is committed): the message stays in the
    outbox with the error, for the sweep. Messages no task listens to are left for the sweep to
    mark: a request that published nothing pays for no second transaction."""

    @orm_event.listens_for(factory, "after_commit")
    def _relay_after_commit(session: Session) -> None:
        new = session.info.pop(_NEW_IDS, None) or []
        new_ids = [message_id for message_id, topic in new if tasks_for(topic, routes)]
        if not new_ids:
            return
        try:
            relay_in_transaction(factory, publish, ids=new_ids, limit=len(new_ids), routes=routes)
        except Exception:  # the request succeeded; the sweep will publish it
            log.exception("outbox relay after commit failed; the sweep will publish %d message(s)", len(new_ids))


@orm_event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    # After a commit the hook above has taken the ids; after a rollback they name nothing.
    if transaction.parent is None:
        session.info.pop(_NEW_IDS, None)
