"""Fault: the broker (Redis) goes away for ~20 s while files are uploaded.

The test starts a redis-server of its OWN on a free 127.0.0.1 port (append-only file in a temp
folder, so what was queued before the stop survives the restart) — never the machine's shared
Redis — and points the web app and a real Celery worker (one process, real clamd) at it. Then:
one upload with Redis up, Redis stopped, several uploads, Redis back on the same port.

Expected (issue 7, "Tests → Faults"): every upload is accepted (201) without hanging (< 5 s
each), and once Redis is back every file is processed, none twice (one verdict event each).

The web app publishes each outbox message right after its COMMIT; while the broker is down
that attempt fails fast and the message stays in `outbox_messages`, unpublished. The beat's
outbox sweep (`incident_tracker.outbox.sweep`, every 5 s in production) republishes it: the
test sends that task itself once Redis is back, as the beat would, instead of waiting for it.
PostgreSQL only (the backend that runs in
production; the outage alone is ~20 s and the whole test must stay under a minute).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from samples import image_bytes
from servers import CeleryWorker, clamd_server, free_port, stop, unavailable, wait_for_port
from sqlalchemy import func, select

from shared.audit.models import AuditEvent
from shared.config import Settings
from shared.evidence import events
from shared.evidence.models import Evidence
from shared.metrics import DEFAULT_QUEUE
from web.app import create_app
from worker.celery_app import make_celery
from worker.tasks.outbox import SWEEP

OUTAGE_SECONDS = 20
UPLOADS_DURING_OUTAGE = 4
UPLOAD_LIMIT_SECONDS = 5
RECOVERY_SECONDS = 20


class RedisServer:
    """A redis-server of the test's own; `stop()` and `start()` keep its port and its data."""

    def __init__(self, workdir: Path) -> None:
        self.program = shutil.which("redis-server")
        if self.program is None:
            unavailable("redis-server is not installed (apt-get install redis-server)")
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.program, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.workdir),
            "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no",
        ]  # fmt: skip
        log = self.workdir / "redis.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, timeout=30, what="redis-server", log=log)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.workdir.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stack(database_url, own_redis, tmp_path) -> Iterator[tuple[Settings, CeleryWorker]]:
    with clamd_server(tmp_path / "clamd") as clamd_address:
        env = {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": own_redis.url,
            "STORAGE_BACKEND": "local",
            "SCANNING_ENABLED": "true",
            "CLAMD_ADDRESS": clamd_address,
            "CLAMD_TIMEOUT_SECONDS": "30",
            "TASK_MAX_RETRIES": "2",
            "BROKER_PUBLISH_TIMEOUT_SECONDS": "1",
            "SECRET_KEY": "x" * 40,
            "DATA_DIR": str(tmp_path / "data"),
        }
        (tmp_path / "worker").mkdir()
        worker = CeleryWorker(tmp_path / "worker", env, queue=DEFAULT_QUEUE)
        try:
            worker.wait_until_ready()
            yield Settings.from_env(env), worker
        finally:
            worker.stop()


def client_as(app, user):
    from datetime import timedelta

    from shared.accounts import service as accounts
    from shared.accounts.models import User

    client = app.test_client()
    with app.extensions["db_session_factory"]() as session:
        token = accounts.start_session(session=session, user=session.get(User, user.id), lifetime=timedelta(hours=1))
        session.commit()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = token
        cookie["_fresh"] = True
    return client


def timed_upload(client, incident, name: str, data: bytes) -> tuple[int, float]:
    started = time.monotonic()
    answer = client.post(
        f"/incidents/{incident.key}/evidence",
        data={"file": (io.BytesIO(data), name, "image/png")},
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
    )
    return answer.status_code, time.monotonic() - started


def final_states(db, incident) -> list[Evidence]:
    db.expire_all()
    return list(db.scalars(select(Evidence).where(Evidence.incident_id == incident.id).order_by(Evidence.id)))


def wait_all_final(db, incident, expected: int, timeout: float) -> list[Evidence]:
    deadline = time.monotonic() + timeout
    while True:
        items = final_states(db, incident)
        if len(items) == expected and all(item.state != "pending" for item in items):
            return items
        if time.monotonic() > deadline:
            return items
        time.sleep(0.25)


@pytest.mark.postgres_only
def test_redis_down_for_20_s_while_uploading_every_upload_accepted_and_processed_once(
    stack, own_redis, db, users, make_incident
):
    settings, worker = stack
    app = create_app(settings)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    try:
        incident = make_incident()
        client = client_as(app, users["member"])

        # Redis up: the path works end to end (so a failure below is the outage's, not the setup's).
        status, _ = timed_upload(client, incident, "before.png", image_bytes("PNG", (64, 48)))
        assert status == 201
        (first,) = wait_all_final(db, incident, 1, timeout=30)
        assert first.state == "clean", worker.output()[-2000:]

        own_redis.stop()
        down_at = time.monotonic()
        answers = [
            timed_upload(client, incident, f"during-{n}.png", image_bytes("PNG", (64 + n, 48)))
            for n in range(UPLOADS_DURING_OUTAGE)
        ]
        assert [status for status, _ in answers] == [201] * UPLOADS_DURING_OUTAGE
        assert max(seconds for _, seconds in answers) < UPLOAD_LIMIT_SECONDS, answers
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        own_redis.start()
        beat = make_celery(settings)  # what the beat does every 30 s: trigger the outbox sweep
        try:
            beat.send_task(SWEEP, queue=DEFAULT_QUEUE)
        finally:
            beat.close()

        expected = 1 + UPLOADS_DURING_OUTAGE
        items = wait_all_final(db, incident, expected, timeout=RECOVERY_SECONDS)
        states = {item.display_name: item.state for item in items}
        assert len(items) == expected
        assert all(item.state == "clean" for item in items), f"not all processed after Redis returned: {states}"
        for item in items:
            verdicts = db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == events.EVIDENCE_VERDICT, AuditEvent.entity_id == item.id)
            )
            assert verdicts == 1, (item.id, verdicts)
        queue = redis.Redis.from_url(own_redis.url)
        try:
            assert queue.llen(DEFAULT_QUEUE) == 0
        finally:
            queue.close()
    finally:
        app.extensions["db_engine"].dispose()
