"""`make run` keeps the web server up when its worker stops: the worker is started again.

Found by a new adopter: the worker stopped on a broken broker message after ~9 minutes of light
use, and `make run` ("the worker stopped (exit status 1); stopping the others") took the web
server down with it. A worker that keeps stopping still ends `make run`, saying so. And a refused
`make run` leaves nothing behind (it wrote DATA_DIR/secret_key before refusing a taken port)."""

from __future__ import annotations

import io
import os
import signal
import socket
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from servers import free_port
from test_delivery_make_run import MakeRun, _alive, _ctrl_c, _run_script, _start, _wait_ready

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.config import Settings
from shared.evidence.models import Evidence
from web.app import create_app


def _answers(run: MakeRun) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{run.port}/readyz", timeout=10) as ready:
        return ready.status


def _next_worker(run: MakeRun, after: int) -> int:
    """The worker `make run` started in place of process `after`."""
    deadline = time.monotonic() + 60
    while True:
        pid = run.pids()["worker"]
        if pid != after and _alive(pid):
            return pid
        assert run.process.poll() is None, run.output()[-3000:]
        assert time.monotonic() < deadline, "no new worker: " + run.output()[-3000:]
        time.sleep(0.05)


def _attach_a_file_and_wait_for_its_processing(data_dir: Path) -> str:
    """A member attaches a file (the web app publishes its processing to the worker); its state
    once the worker has processed it."""
    app = create_app(Settings(data_dir=str(data_dir), secret_key="x" * 40))
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    factory = app.extensions["db_session_factory"]
    try:
        with factory() as session:
            member = session.query(User).filter_by(email="member@example.com").one()
            token = accounts.start_session(session=session, user=member, lifetime=timedelta(hours=1))
            session.commit()
        client = app.test_client()
        with client.session_transaction() as cookie:
            cookie["_user_id"] = token
        answer = client.post(
            "/incidents/INC-1/evidence",
            data={"file": (io.BytesIO(b"worker restarted at 03:12\n"), "restart.txt", "text/plain")},
            content_type="multipart/form-data",
        )
        assert answer.status_code == 302
        deadline = time.monotonic() + 60
        while True:
            with factory() as session:
                state = session.query(Evidence).filter_by(display_name="restart.txt").one().state
            if state != "pending":
                return state
            assert time.monotonic() < deadline, "the restarted worker did not process the file"
            time.sleep(0.3)
    finally:
        app.extensions["db_engine"].dispose()


def test_a_worker_killed_under_make_run_is_started_again_while_the_web_server_stays_up(tmp_path):
    run = _start(tmp_path / "data")
    try:
        _wait_ready(run)
        killed = run.pids()["worker"]
        os.kill(killed, signal.SIGKILL)

        assert _answers(run) == 200
        restarted = _next_worker(run, after=killed)
        assert (
            "make run: the worker stopped unexpectedly (exit status 137); starting it again in 1 s (restart 1;"
            " make run gives up after 5 stops within 60 s)."
        ) in run.output()
        assert "stopping the others" not in run.output()
        assert _answers(run) == 200
        assert _attach_a_file_and_wait_for_its_processing(run.data_dir) == "not_scanned"
        assert run.pids()["worker"] == restarted

        # Ctrl-C still stops everything, the restarted worker included.
        assert _ctrl_c(run) == 0, run.output()[-3000:]
        assert not _alive(restarted)
        assert run.output().rstrip().endswith("make run: stopped (Ctrl-C).")
    finally:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGTERM)
            run.process.wait(timeout=60)


def test_a_worker_that_keeps_stopping_makes_make_run_give_up_and_say_so(tmp_path):
    run = _start(tmp_path / "data")
    try:
        _wait_ready(run)
        beat = run.pids()["beat"]
        killed: set[int] = set()
        deadline = time.monotonic() + 120
        while run.process.poll() is None:
            worker = run.pids()["worker"]
            if worker not in killed and _alive(worker):
                os.kill(worker, signal.SIGKILL)
                killed.add(worker)
            assert time.monotonic() < deadline, "make run did not give up: " + run.output()[-3000:]
            time.sleep(0.05)

        assert run.process.returncode == 137
        assert len(killed) == 5
        assert (
            "make run: the worker stopped (exit status 137), 5 times within 60 s: giving up (its output above"
            " says why); stopping the others.\n"
        ) in run.output()
        assert "restart 4;" in run.output()
        assert not _alive(beat)
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", run.port)) != 0  # the web server is gone too
    finally:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGTERM)
            run.process.wait(timeout=60)


def test_a_make_run_refused_for_a_taken_port_leaves_nothing_behind(tmp_path):
    """The README says it "stops it before anything starts": no data folder, no secret_key file."""
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        refused = _run_script(data_dir, str(taken.getsockname()[1]))
    assert refused.returncode == 1
    assert "is in use (another make run, or another program)" in refused.stderr
    assert not data_dir.exists()

    refused = _run_script(data_dir, str(free_port()) + "x")
    assert refused.returncode == 1
    assert not data_dir.exists()
