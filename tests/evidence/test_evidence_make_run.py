"""`make run` (scripts/run.sh): the web server, a worker and the beat on the folder broker; a
file attached there is processed (scanning off: "not scanned"); Ctrl-C stops all of them."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
import urllib.request
from datetime import timedelta

from servers import REPO_ROOT, free_port, stop

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.config import Settings
from shared.evidence.models import Evidence
from web.app import create_app


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_processes_evidence_and_ctrl_c_stops_everything(tmp_path):
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "PORT": str(port), "DEMO_PASSWORD": "demo-password-for-run"}
    env.pop("CLAMD_ADDRESS", None)
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen(
        ["./scripts/run.sh"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as ready:
                    assert b'"broker":"ok"' in ready.read()
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "make run did not get ready"
                time.sleep(0.5)
        pids = {name: int((tmp_path / "run" / f"{name}.pid").read_text()) for name in ("worker", "beat")}
        assert all(_alive(pid) for pid in pids.values())
        assert 'virus scanning off: files are shown as "not scanned"' in (tmp_path / "run.log").read_text()

        # Attach a file through the same app, database and broker folder the script uses.
        app = create_app(Settings(data_dir=str(tmp_path), secret_key="x" * 40))
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        factory = app.extensions["db_session_factory"]
        with factory() as session:
            member = session.query(User).filter_by(email="member@example.com").one()
            token = accounts.start_session(session=session, user=member, lifetime=timedelta(hours=1))
            session.commit()
        client = app.test_client()
        with client.session_transaction() as cookie:
            cookie["_user_id"] = token
        answer = client.post(
            "/incidents/INC-1/evidence",
            data={"file": (io.BytesIO(b"disk full at 03:12\n"), "syslog.txt", "text/plain")},
            content_type="multipart/form-data",
        )
        assert answer.status_code == 302
        deadline = time.monotonic() + 60
        while True:
            with factory() as session:
                state = session.query(Evidence).filter_by(display_name="syslog.txt").one().state
            if state != "pending":
                break
            assert time.monotonic() < deadline, "the worker of make run did not process the file"
            time.sleep(0.3)
        assert state == "not_scanned"
        app.extensions["db_engine"].dispose()

        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert process.wait(timeout=60) == 0
        time.sleep(1)
        assert not any(_alive(pid) for pid in pids.values())
    finally:
        stop(process, timeout=30)
        log.close()
