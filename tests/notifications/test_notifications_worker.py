"""Notifications end to end on the real worker: the service writes the change and its outbox
message, the web publisher relays it after commit to Redis, `celery worker` fans it out and
sends the mail to aiosmtpd and the webhook to a receiver on 127.0.0.1, and `celery beat` hands
out retries. Every key lives under a random REDIS_KEY_PREFIX, so parallel runs never meet.
PostgreSQL only: the worker and the test share the database from two processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from notification_helpers import BASE_URL, SECRET_KEY, notification_settings
from notification_servers import Reply
from servers import REPO_ROOT, CeleryWorker, redis_url_or_skip, stop
from sqlalchemy import select
from standardwebhooks import Webhook

from shared.accounts.models import User
from shared.db import make_session_factory
from shared.incidents import service as incidents
from shared.metrics import DEFAULT_QUEUE
from shared.notifications import service
from shared.notifications.models import EmailDelivery, WebhookAttempt, WebhookDelivery
from shared.outbox import service as outbox
from web.outbox_publisher import CeleryPublisher

pytestmark = pytest.mark.postgres_only

TEST_REDIS_URL = os.environ.get("TEST_NOTIFY_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture(scope="module")
def redis_url() -> str:
    return redis_url_or_skip(TEST_REDIS_URL)


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"nt-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


class Stack:
    """The worker and the beat as child processes, with the settings the test also uses."""

    def __init__(self, tmp_path: Path, environment: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.environment = environment
        self.worker: CeleryWorker | None = None
        self.beat: subprocess.Popen | None = None

    def start_worker(self) -> CeleryWorker:
        self.worker = CeleryWorker(self.tmp_path, self.environment, queue=DEFAULT_QUEUE)
        self.worker.wait_until_ready()
        return self.worker

    def kill_worker(self) -> None:
        """SIGKILL the worker and its pool process at once, as a Spot reclaim or an OOM kill would."""
        assert self.worker is not None
        for pid in [*self.worker.children(), self.worker.pid]:
            os.kill(pid, signal.SIGKILL)
        self.worker.process.wait(timeout=10)

    def start_beat(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(REPO_ROOT),
            "DATA_DIR": str(self.tmp_path),
            **self.environment,
        }
        command = [
            sys.executable, "-m", "celery", "--app", "worker.celery_app", "beat", "--loglevel", "INFO",
            "--schedule", str(self.tmp_path / "beat-schedule"),
        ]  # fmt: skip
        with (self.tmp_path / "beat.log").open("wb") as out:
            self.beat = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.beat is not None:
            stop(self.beat)
        if self.worker is not None and self.worker.process.poll() is None:
            self.worker.stop()


@pytest.fixture
def stack_for(tmp_path, redis_url, key_prefix, database_url):
    started: list[Stack] = []

    def make(*, inbox, receiver, timeout: float = 1.0, lease_margin: float = 15.0) -> Stack:
        environment = {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": redis_url,
            "REDIS_KEY_PREFIX": key_prefix,
            "SECRET_KEY": SECRET_KEY,
            "BASE_URL": BASE_URL,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(inbox.port),
            "SMTP_SECURITY": "none",
            "WEBHOOK_ALLOW_HTTP": "true",
            "WEBHOOK_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{receiver.port}",
            "WEBHOOK_TIMEOUT_SECONDS": str(timeout),
            "NOTIFICATION_LEASE_MARGIN_SECONDS": str(lease_margin),
            # A killed worker's unacknowledged message comes back within seconds, not an hour.
            "TASK_TIME_LIMIT_SECONDS": "60",
            "BROKER_VISIBILITY_TIMEOUT_SECONDS": "70",
        }
        stack = Stack(tmp_path, environment)
        started.append(stack)
        return stack

    yield make
    for stack in started:
        stack.stop()


@pytest.fixture
def publishing(engine, redis_url, key_prefix):
    """Sessions of this factory relay their outbox messages after commit, as a web request does."""
    publisher = CeleryPublisher(notification_settings("", celery_broker_url=redis_url, redis_key_prefix=key_prefix))
    factory = make_session_factory(engine)
    outbox.publish_after_commit(factory, publisher)
    yield factory
    publisher.close()


def wait_for(condition, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _endpoint(db, users, settings, receiver):
    endpoint, secret = service.create_endpoint(
        session=db, actor=users["admin"], settings=settings, url=receiver.url(), event_types=["incident.created"]
    )
    db.commit()
    return endpoint, secret


def _file_p1(factory, users):
    with factory() as session:
        incident = incidents.create_incident(
            session=session,
            actor=session.get(User, users["member"].id),
            title="Disk full on log shipper",
            priority="P1",
        )
        session.commit()
        return incident


def test_a_new_p1_is_mailed_and_posted_by_the_worker_and_a_failed_post_is_retried_by_the_beat(
    db, users, database_url, inbox, receiver, stack_for, publishing
):
    settings = notification_settings(database_url, inbox=inbox, receivers=[receiver])
    _, secret = _endpoint(db, users, settings, receiver)
    stack = stack_for(inbox=inbox, receiver=receiver)
    stack.start_worker()
    stack.start_beat()
    receiver.reply(Reply(status=503, body=b"warming up"))

    incident = _file_p1(publishing, users)

    wait_for(lambda: inbox.messages, timeout=30, what="the mail to the lead")
    delivered = wait_for(
        lambda: (
            db.scalars(select(WebhookDelivery).where(WebhookDelivery.status == "delivered")).all() or db.expire_all()
        ),
        timeout=40,
        what="the retried webhook",
    )
    (delivery,) = delivered
    assert delivery.attempts == 2
    time.sleep(2)  # anything duplicated would show up now
    assert [m.rcpt_tos for m in inbox.messages] == [["lead@example.com"]]
    assert inbox.messages[0].message["Subject"] == f"[{incident.key}] New P1: Disk full on log shipper"
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert Webhook(secret).verify(second.body, second.headers)["data"]["incident"]["key"] == incident.key
    codes = [a.status_code for a in db.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempt))]
    assert codes == [503, 200]


def test_the_worker_killed_mid_delivery_delivers_once_after_a_restart(
    db, users, database_url, inbox, receiver, stack_for, publishing
):
    settings = notification_settings(database_url, inbox=inbox, receivers=[receiver])
    _, secret = _endpoint(db, users, settings, receiver)
    # A 3 s timeout: the worker is killed while it waits for the silent receiver's answer (the
    # kill follows the POST's arrival within milliseconds). The lease then lapses after 3 x 3 + 2 s
    # (not 3 x 3 + 15 s): only that wait, nothing it proves.
    stack = stack_for(inbox=inbox, receiver=receiver, timeout=3.0, lease_margin=2.0)
    stack.start_worker()
    stack.start_beat()
    receiver.reply(Reply(stall="silent"))

    _file_p1(publishing, users)
    wait_for(lambda: receiver.requests, timeout=30, what="the first POST")
    stack.kill_worker()
    db.expire_all()
    assert db.scalars(select(WebhookDelivery)).one().status == "sending"

    stack.start_worker()
    (delivery,) = wait_for(
        lambda: (
            db.scalars(select(WebhookDelivery).where(WebhookDelivery.status == "delivered")).all() or db.expire_all()
        ),
        timeout=90,
        what="the delivery after the restart",
    )
    time.sleep(3)
    db.expire_all()
    # One delivery, one recorded success; the receiver saw one event id (the POST the kill cut
    # short is repeated with the same webhook-id, which is how a receiver drops duplicates).
    assert db.scalars(select(WebhookDelivery)).all() == [delivery]
    outcomes = [a.outcome for a in db.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempt))]
    assert outcomes == ["delivered"]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    Webhook(secret).verify(receiver.requests[-1].body, receiver.requests[-1].headers)
    assert [m.rcpt_tos for m in inbox.messages] == [["lead@example.com"]]
    assert db.scalars(select(EmailDelivery.status)).all() == ["sent"]
