"""`make run` (scripts/run.sh) without SMTP: it says where mail goes, and the worker it starts
writes a new P1's mail to the lead there as an .eml file."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from email import policy
from email.parser import BytesParser

from servers import REPO_ROOT, free_port, stop

from shared.accounts.models import User
from shared.config import Settings
from shared.incidents import service as incidents
from web.app import create_app


def test_make_run_writes_notification_mail_to_a_folder_and_says_where(tmp_path):
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "PORT": str(port), "DEMO_PASSWORD": "demo-password-for-run"}
    for name in ("CLAMD_ADDRESS", "SMTP_HOST", "MAIL_DIR"):
        env.pop(name, None)
    log_path = tmp_path / "run.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        ["./scripts/run.sh"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                    break
            except OSError:
                assert process.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "make run did not get ready"
                time.sleep(0.5)
        mail_dir = tmp_path / "mail"
        assert f"Notification email: written to {mail_dir}" in log_path.read_text()

        # A change made through the same database and broker folder the script uses.
        app = create_app(Settings(data_dir=str(tmp_path), secret_key="x" * 40))
        factory = app.extensions["db_session_factory"]
        with factory() as session:
            member = session.query(User).filter_by(email="member@example.com").one()
            incidents.create_incident(session=session, actor=member, title="Make-run mail check", priority="P1")
            session.commit()
        app.extensions["db_engine"].dispose()

        # The worker first works through the demo seed's own events (their mail lands here too).
        deadline = time.monotonic() + 300
        found = []
        while not found:
            for path in mail_dir.glob("*.eml"):
                message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
                if "Make-run mail check" in str(message["Subject"]):
                    found.append(message)
            assert time.monotonic() < deadline, "no mail about the new P1 in " + str(mail_dir)
            time.sleep(0.5)
        assert [str(m["To"]) for m in found] == ["Lee Lead <lead@example.com>"]
        assert f"http://127.0.0.1:{port}/incidents/" in found[0].get_body(("plain",)).get_content()

        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        stop(process, timeout=30)
        log.close()
