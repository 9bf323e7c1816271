"""A file whose check outlasts the task's time limit ends in `error` (retryable), never `pending`.

Found by `make faults` (16 MB files on a loaded machine during a rolling restart): the soft time
limit raised SoftTimeLimitExceeded out of the task, Celery acknowledged the failed message and
the files stayed `pending` for ever. Here clamd holds every scan (a proxy that never answers),
TASK_TIME_LIMIT_SECONDS=35 makes the soft limit 5 s, and one retry is allowed: the file must
end in `error` with the reason after two runs, with one verdict event and one outbox message.
A real worker process on a redis-server of the test's own.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from clamd_proxy import ClamdProxy
from servers import CeleryWorker, clamd_server, free_port, stop, unavailable, wait_for_port
from sqlalchemy import func, select

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.config import Settings
from shared.evidence import events
from shared.evidence.models import Evidence
from shared.metrics import DEFAULT_QUEUE
from shared.outbox.models import OutboxMessage
from web.app import create_app


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[str]:
    program = shutil.which("redis-server")
    if program is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [program, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, process, timeout=30, what="redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


@pytest.mark.postgres_only
def test_a_check_past_the_time_limit_ends_in_error_not_pending(database_url, own_redis, tmp_path, db, users,
                                                              make_incident):  # fmt: skip
    with clamd_server(tmp_path / "clamd") as clamd_address:
        proxy = ClamdProxy(clamd_address)
        proxy.mode = "hold"
        env = {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": own_redis,
            "STORAGE_BACKEND": "local",
            "SCANNING_ENABLED": "true",
            "CLAMD_ADDRESS": proxy.address,
            "CLAMD_TIMEOUT_SECONDS": "60",
            "TASK_TIME_LIMIT_SECONDS": "35",  # soft limit: 5 s (the check is at clamd ~0.1 s after the upload)
            "TASK_MAX_RETRIES": "1",
            "SECRET_KEY": "x" * 40,
            "DATA_DIR": str(tmp_path / "data"),
        }
        (tmp_path / "worker").mkdir()
        worker = CeleryWorker(tmp_path / "worker", env, queue=DEFAULT_QUEUE)
        app = create_app(Settings.from_env(env))
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        try:
            worker.wait_until_ready()
            incident = make_incident()
            client = app.test_client()
            with app.extensions["db_session_factory"]() as session:
                token = accounts.start_session(
                    session=session, user=session.get(User, users["member"].id), lifetime=timedelta(hours=1)
                )
                session.commit()
            with client.session_transaction() as cookie:
                cookie["_user_id"] = token
                cookie["_fresh"] = True
            answer = client.post(
                f"/incidents/{incident.key}/evidence",
                data={"file": (io.BytesIO(b"slow to scan\n"), "slow.log", "text/plain")},
                content_type="multipart/form-data",
                headers={"HX-Request": "true"},
            )
            assert answer.status_code == 201

            deadline = time.monotonic() + 60
            while True:
                db.expire_all()
                item = db.scalars(select(Evidence).where(Evidence.incident_id == incident.id)).one()
                if item.state != "pending" or time.monotonic() > deadline:
                    break
                time.sleep(0.25)
            assert item.state == "error", worker.output()[-3000:]
            assert "time limit" in item.reason
            assert item.attempts == 2
            verdicts = db.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == events.EVIDENCE_VERDICT)
            )
            processed = db.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.topic == events.TOPIC_PROCESSED)
            )
            assert (verdicts, processed) == (1, 1)
        finally:
            proxy.mode = "up"
            worker.stop()
            proxy.close()
            app.extensions["db_engine"].dispose()
