"""Disk full under the local storage backend: the upload is refused with a message, nothing kept.

Found by `make faults`: a full disk raised OSError(ENOSPC) out of the upload view, a bare 500
page. The test mounts a real 2 MiB tmpfs as LOCAL_STORAGE_PATH (mounting needs root; the CI
machine runs as root), so the kernel itself answers "No space left on device".
"""

from __future__ import annotations

import io
import os
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

        answer = client.post(
            f"/incidents/{incident.key}/evidence",
            data={"file": (io.BytesIO(b"x" * (3 * 1024 * 1024)), "big.log", "text/plain")},
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
