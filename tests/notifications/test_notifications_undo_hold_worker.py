"""A row move's held notifications on the real stack: the web app's own after-commit relay
(Celery over Redis) leaves a held message alone, the beat's outbox sweep publishes it once its
Undo window has passed, and `celery worker` mails it to aiosmtpd and posts it to a receiver. An
Undo in the window leaves nothing for any of them to send. Every Redis key lives under a random
REDIS_KEY_PREFIX. PostgreSQL only, as the neighbouring worker tests: the worker and the test
share the database from two processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import redis
from notification_helpers import BASE_URL, SECRET_KEY, notification_settings
from servers import REPO_ROOT, CeleryWorker, redis_url_or_skip, stop
from sqlalchemy import select

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.db import make_session_factory, transaction
from shared.events import EventType
from shared.incidents import service as incidents
from shared.incidents.models import Incident
from shared.metrics import DEFAULT_QUEUE
from shared.notifications import service
from shared.outbox import service as outbox
from shared.outbox.models import OutboxMessage
from shared.timeutil import as_utc
from web.app import create_app

pytestmark = pytest.mark.postgres_only

TEST_REDIS_URL = os.environ.get("TEST_NOTIFY_REDIS_URL", "redis://127.0.0.1:6379/13")
HTMX = {"HX-Request": "true"}
TITLE = "Disk full on log shipper"


@pytest.fixture(scope="module")
def redis_url() -> str:
    return redis_url_or_skip(TEST_REDIS_URL)


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"uh-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def stack(tmp_path, redis_url, key_prefix, database_url, inbox, receiver) -> Iterator[None]:
    """`celery worker` and `celery beat` as child processes, as the containers run them."""
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
        "WEBHOOK_TIMEOUT_SECONDS": "2",
    }
    worker = CeleryWorker(tmp_path, environment, queue=DEFAULT_QUEUE)
    beat_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO_ROOT),
        "DATA_DIR": str(tmp_path),
        **environment,
    }
    command = [
        sys.executable, "-m", "celery", "--app", "worker.celery_app", "beat", "--loglevel", "INFO",
        "--schedule", str(tmp_path / "beat-schedule"),
    ]  # fmt: skip
    with (tmp_path / "beat.log").open("wb") as out:
        beat = subprocess.Popen(command, cwd=REPO_ROOT, env=beat_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        worker.wait_until_ready()
        yield
    finally:
        stop(beat)
        worker.stop()


@pytest.fixture
def web_for(db, users, database_url, redis_url, key_prefix, inbox, receiver):
    """The web app with its after-commit relay to Redis, and a member signed in; INC-1 is filed
    by the lead (who watches it) for the member, and In Progress."""
    apps = []

    def make(*, hold: float):
        settings = notification_settings(
            database_url,
            inbox=inbox,
            receivers=[receiver],
            celery_broker_url=redis_url,
            redis_key_prefix=key_prefix,
            notification_undo_hold_seconds=hold,
        )
        factory = make_session_factory(db.get_bind())
        with transaction(factory) as session:
            service.create_endpoint(
                session=session,
                actor=session.get(User, users["admin"].id),
                settings=settings,
                url=receiver.url(),
                event_types=["incident.status_changed"],
            )
            incident = incidents.create_incident(
                session=session, actor=session.get(User, users["lead"].id), title=TITLE, owner_id=users["member"].id
            )
            session.flush()
            incidents.transition(
                session=session, incident_id=incident.id, actor=session.get(User, users["member"].id), to="in_progress"
            )
            # Settled as history: this test is about what comes after.
            outbox.settle_new_as_history(session=session)
            key = incident.key
        app = create_app(settings)
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        apps.append(app)
        client = app.test_client()
        with factory() as session:
            token = accounts.start_session(
                session=session, user=session.get(User, users["member"].id), lifetime=timedelta(hours=1)
            )
            session.commit()
        with client.session_transaction() as cookie:
            cookie["_user_id"] = token
            cookie["_fresh"] = True
        return client, key

    yield make
    for app in apps:
        app.extensions["outbox_publisher"].close()
        app.extensions["db_engine"].dispose()


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.fields[found["name"]] = found.get("value") or ""


def _undo_fields(html: str) -> dict[str, str]:
    form = re.search(r"<form[^>]*>(?:(?!</form>).)*>Undo</button>\s*</form>", html, re.S)
    assert form is not None, "the row offers no Undo"
    parser = _Inputs()
    parser.feed(form.group(0))
    return parser.fields


def _version(db, key: str) -> int:
    db.expire_all()
    return db.scalars(select(Incident.version).where(Incident.key == key)).one()


def _post(client, key: str, data: dict, headers=HTMX) -> str:
    response = client.post(f"/incidents/{key}/transition", data=data, headers=headers)
    assert response.status_code in (200, 302), response.get_data(as_text=True)
    return response.get_data(as_text=True)


def wait_for(condition, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_held_row_move_is_sent_by_the_beat_once_its_undo_window_is_over(db, stack, web_for, inbox, receiver):
    client, key = web_for(hold=1)
    html = _post(client, key, {"from_row": "1", "version": _version(db, key), "to": "blocked", "reason": "Vendor"})
    assert f"{key} is now Blocked." in html

    wait_for(lambda: inbox.messages and receiver.requests, timeout=60, what="the mail and the webhook")
    time.sleep(2)  # anything duplicated would show up now
    assert [(m.rcpt_tos, m.message["Subject"]) for m in inbox.messages] == [
        (["lead@example.com"], f"[{key}] Blocked: {TITLE}")
    ]
    (posted,) = [json.loads(request.body) for request in receiver.requests]
    assert (posted["type"], posted["data"]["status_change"]["to"]) == ("incident.status_changed", "blocked")
    db.expire_all()
    message = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.topic == EventType.INCIDENT_STATUS_CHANGED)
        .order_by(OutboxMessage.created_at.desc())
        .limit(1)
    ).one()
    # Held for the window, then published by the sweep (the request's relay publishes only what is due).
    assert as_utc(message.available_at) >= as_utc(message.created_at) + timedelta(seconds=1)
    assert as_utc(message.published_at) >= as_utc(message.available_at)


def test_an_undo_in_the_window_leaves_nothing_for_the_worker_to_send(db, stack, web_for, inbox, receiver):
    client, key = web_for(hold=120)
    moved = _post(client, key, {"from_row": "1", "version": _version(db, key), "to": "blocked", "reason": "Vendor"})
    _post(client, key, _undo_fields(moved))
    # Then a move on the incident page, sent at once. Had the Blocked one still been held, this
    # one would wait behind it (a later status change never overtakes a held one).
    _post(client, key, {"version": _version(db, key), "to": "resolved", "reason": "Vendor fixed it"}, headers={})

    wait_for(lambda: inbox.messages and receiver.requests, timeout=60, what="the mail and the webhook")
    time.sleep(2)  # anything else would show up now
    assert [(m.rcpt_tos, m.message["Subject"]) for m in inbox.messages] == [
        (["lead@example.com"], f"[{key}] Resolved: {TITLE}")
    ]
    assert [json.loads(request.body)["data"]["status_change"]["to"] for request in receiver.requests] == ["resolved"]
