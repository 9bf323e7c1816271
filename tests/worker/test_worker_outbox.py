"""The outbox relay end to end: a real Celery worker on the real Redis (DB 13) consumes what
the service wrote, once, after the commit; with Redis down the request answers at once and
the sweep publishes later.

The web side publishes through web/outbox_publisher.py, as a request does; the route of
`incident.created` points at a test task that leaves one marker file per delivery.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from servers import CeleryWorker, free_port, redis_url_or_skip
from sqlalchemy import select

from shared.accounts.models import User
from shared.config import Settings
from shared.db import make_session_factory, utcnow
from shared.incidents import service as incidents
from shared.outbox import service as outbox
from shared.outbox.models import OutboxMessage
from web.outbox_publisher import CeleryPublisher

TEST_REDIS_URL = os.environ.get("TEST_OUTBOX_REDIS_URL", "redis://127.0.0.1:6379/13")
RECORD = "incident_tracker.test.record"
ROUTES = {"incident.created": (RECORD,)}


@pytest.fixture(scope="module")
def redis_url() -> str:
    return redis_url_or_skip(TEST_REDIS_URL)


@pytest.fixture(scope="module")
def queue(redis_url: str) -> Iterator[str]:
    name = f"outbox-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def markers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the file: the tests look for their own messages' markers (by id)."""
    return tmp_path_factory.mktemp("markers")


@pytest.fixture(scope="module")
def worker(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, queue: str, markers: Path, database_url: str
) -> Iterator[CeleryWorker]:
    """One worker per database backend for the file's tests, instead of one per test."""
    env = {
        "APP_ENV": "test",
        "CELERY_BROKER_URL": redis_url,
        "DATABASE_URL": database_url,
        "OUTBOX_TEST_MARKERS": str(markers),
    }
    started = CeleryWorker(tmp_path_factory.mktemp("worker"), env, queue=queue)
    try:
        started.wait_until_ready()
        yield started
    finally:
        started.stop()


def deliveries(markers: Path, message_id: str, *, wait: float = 20) -> list[Path]:
    """Marker files of this message, after waiting for the first (and a moment for any second)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not list(markers.glob(f"{message_id}.*")):
        time.sleep(0.1)
    time.sleep(1.0)
    return list(markers.glob(f"{message_id}.*"))


def _file_incident(factory, users, title: str):
    session = factory()
    try:
        incident = incidents.create_incident(session=session, actor=session.get(User, users["member"].id), title=title)
        session.commit()
        message = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.topic == "incident.created")
            .order_by(OutboxMessage.created_at.desc())
        ).first()
        return incident, message
    finally:
        session.close()


def test_an_incident_filed_through_the_service_is_published_after_commit_and_consumed_once(
    db, engine, users, redis_url, queue, markers, worker
):
    publisher = CeleryPublisher(Settings(app_env="test", celery_broker_url=redis_url), queue=queue)
    factory = make_session_factory(engine)
    outbox.publish_after_commit(factory, publisher, routes=ROUTES)
    try:
        incident, message = _file_incident(factory, users, "Published after commit")
        db.expire_all()
        assert db.get(OutboxMessage, message.id).published_at is not None
        (delivered,) = deliveries(markers, message.id)
        assert f'"incident_id": {incident.id}' in delivered.read_text()
        # A sweep afterwards does not publish it again (only the users' unrouted messages are left).
        outbox.relay_in_transaction(factory, publisher, routes=ROUTES)
        assert len(deliveries(markers, message.id, wait=0)) == 1
    finally:
        publisher.close()


def test_with_redis_down_the_request_returns_at_once_and_the_sweep_publishes_later(
    db, engine, users, redis_url, queue, markers, worker
):
    dead = Settings(
        app_env="test", celery_broker_url=f"redis://127.0.0.1:{free_port()}/0", broker_publish_timeout_seconds=1
    )
    down = CeleryPublisher(dead, queue=queue)
    factory = make_session_factory(engine)
    outbox.publish_after_commit(factory, down, routes=ROUTES)
    started = time.monotonic()
    _, first = _file_incident(factory, users, "Filed while Redis is down")
    first_took = time.monotonic() - started
    started = time.monotonic()
    _, second = _file_incident(factory, users, "Filed right after")
    second_took = time.monotonic() - started
    assert first_took < 3  # one bounded connect attempt
    assert second_took < 0.5  # the publisher's cool-down: not even tried
    db.expire_all()
    for message in (first, second):
        kept = db.get(OutboxMessage, message.id)
        assert kept.published_at is None
        assert kept.attempts == 1
        assert kept.last_error

    # Redis is back (the live one): the sweep publishes both, each consumed once.
    live = CeleryPublisher(Settings(app_env="test", celery_broker_url=redis_url), queue=queue)
    try:
        result = outbox.relay_in_transaction(
            make_session_factory(engine), live, routes=ROUTES, now=utcnow() + timedelta(minutes=1)
        )
        assert result.published >= 2
        assert result.failed == 0
        for message in (first, second):
            assert len(deliveries(markers, message.id)) == 1
    finally:
        live.close()
        down.close()
