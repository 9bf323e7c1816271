"""Disk full under the local storage backend: the upload is refused with a message, nothing kept.

Found by `make faults`: a full disk raised OSError(ENOSPC) out of the upload view, a bare 500
page. The test mounts a real 2 MiB tmpfs as LOCAL_STORAGE_PATH (mounting needs root; the CI
machine runs as root), so the kernel itself answers "No space left on device".
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from servers import unavailable
from sqlalchemy import func, select

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.config import Settings
from shared.evidence.models import Evidence
from web.app import create_app


@pytest.fixture
def small_disk(tmp_path: Path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        unavailable("mounting a tmpfs for the disk-full test needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        unavailable(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_an_upload_to_a_full_disk_is_refused_with_a_message_and_leaves_nothing(
    small_disk, database_url, users, db, make_incident, tmp_path
):
    settings = Settings(
        app_env="test", database_url=database_url, secret_key="x" * 40, data_dir=str(tmp_path),
        local_storage_path=str(small_disk),
    )  # fmt: skip
    app = create_app(settings)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    try:
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

        # A file that fits, then one that does not: the upload is all or nothing (the first
        # one's object is deleted again, its row never written).
        files = [
            (io.BytesIO(b"fits\n"), "first.log", "text/plain"),
            (io.BytesIO(b"x" * (3 * 1024 * 1024)), "big.log", "text/plain"),
        ]
        answer = client.post(
            f"/incidents/{incident.key}/evidence",
            data={"file": files},
            content_type="multipart/form-data",
            headers={"HX-Request": "true"},
        )

        assert answer.status_code == 507
        assert "The file store is full, so nothing was stored" in answer.get_data(as_text=True)
        assert db.scalar(select(func.count()).select_from(Evidence)) == 0
        assert [p for p in small_disk.rglob("*") if p.is_file()] == []  # no half-written file left
        # Once there is room again, the same upload goes through.
        small = client.post(
            f"/incidents/{incident.key}/evidence",
            data={"file": (io.BytesIO(b"fits\n"), "small.log", "text/plain")},
            content_type="multipart/form-data",
            headers={"HX-Request": "true"},
        )
        assert small.status_code == 201
    finally:
        app.extensions["db_engine"].dispose()


@pytest.mark.postgres_only
def test_through_gunicorn_the_browser_reads_the_disk_full_message(
    small_disk, database_url, users, db, make_incident, tmp_path
):
    """The refusal comes while the browser is still sending: the app reads the rest of the body
    first, so the browser gets the 507 and its message instead of a dropped connection."""
    import sys

    import requests
    from servers import REPO_ROOT, free_port, wait_for_port
    from servers import stop as stop_process

    secret = "x" * 40
    app = create_app(Settings(app_env="test", database_url=database_url, secret_key=secret, data_dir=str(tmp_path)))
    incident = make_incident()
    with app.extensions["db_session_factory"]() as session:
        token = accounts.start_session(
            session=session, user=session.get(User, users["member"].id), lifetime=timedelta(hours=1)
        )
        session.commit()
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = token
        cookie["_fresh"] = True
    name = app.config["SESSION_COOKIE_NAME"]
    session_cookie = client.get_cookie(name).value
    app.extensions["db_engine"].dispose()

    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO_ROOT), "APP_ENV": "test",
        "DATABASE_URL": database_url, "SECRET_KEY": secret, "DATA_DIR": str(tmp_path),
        "LOCAL_STORAGE_PATH": str(small_disk), "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1",
        "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "web/gunicorn_conf.py", "web.wsgi:app"],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, server, timeout=60, what="gunicorn")
        browser = requests.Session()
        browser.cookies.set(name, session_cookie, domain="127.0.0.1")
        page = browser.get(f"http://127.0.0.1:{port}/", timeout=30).text
        csrf_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        answers = [
            browser.post(
                f"http://127.0.0.1:{port}/incidents/{incident.key}/evidence",
                data={"csrf_token": csrf_token},
                files={"file": ("big.log", b"x" * (12 * 1024 * 1024), "text/plain")},
                headers={"HX-Request": "true"},
                timeout=60,
            )
            for _ in range(3)
        ]
        assert [answer.status_code for answer in answers] == [507] * 3, answers[0].text[-600:]
        assert all("The file store is full" in answer.text for answer in answers)
    finally:
        stop_process(server)
        log.close()
