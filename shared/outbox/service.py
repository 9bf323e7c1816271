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
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event as orm_event
from sqlalchemy import false, select, update
from sqlalchemy.orm import Session, sessionmaker

from shared.audit import service as audit
from shared.db import utcnow
from shared.events import EventType, Route, tasks_for
from shared.outbox.models import OutboxMessage, new_message_id

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
