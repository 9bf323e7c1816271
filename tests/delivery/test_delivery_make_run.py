"""`make run` (scripts/run.sh) on a fresh data folder: the web server, a worker and the beat on the
folder broker, no clamd and no SMTP. It says how scanning and mail work; a file attached there is
processed ("not scanned"); a new P1's mail to the lead lands in the mail folder as an .eml file;
Ctrl-C stops all of them.

One `make run` serves the whole file (a start migrates, seeds the demo, and boots gunicorn, the
worker and the beat: ~10 s of CPU); the Ctrl-C test stops it, so it runs after the others that
use it. The two tests after it start `make run` again, up to its banner."""

from __future__ import annotations

import http.cookiejar
import io
import os
import re
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from servers import REPO_ROOT, free_port, stop

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.config import Settings
from shared.db import make_engine, make_session_factory
from shared.evidence.models import Evidence
from shared.incidents import service as incidents
from web.app import create_app

DEMO_PASSWORD = "demo-password-for-run"


@dataclass
class MakeRun:
    process: subprocess.Popen
    data_dir: Path
    port: int
    log: Path
    ready_at: float = 0.0

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self) -> dict[str, int]:
        return {name: int((self.data_dir / "run" / f"{name}.pid").read_text()) for name in ("worker", "beat")}


def _start(data_dir: Path, **settings: str) -> MakeRun:
    """`make run` on `data_dir`, as from a terminal, with SIGINT ignored as some launchers leave
    it (make passes that on; found by a platform engineer: Ctrl-C then ended with "the beat
    stopped (exit status 0); stopping the others" and make's Error 1)."""
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "PORT": str(port), "DEMO_PASSWORD": DEMO_PASSWORD, **settings}
    for name in ("CLAMD_ADDRESS", "SMTP_HOST", "MAIL_DIR", "DEMO"):  # what a first `make run` has
        if name not in settings:
            env.pop(name, None)
    log_path = data_dir.parent / f"{data_dir.name}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["./scripts/run.sh"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
    return MakeRun(process=process, data_dir=data_dir, port=port, log=log_path)


def _ctrl_c(run: MakeRun) -> int:
    """Ctrl-C in its terminal (SIGINT to the whole process group); its exit status."""
    os.killpg(run.process.pid, signal.SIGINT)
    try:
        return run.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"make run still running 60 s after Ctrl-C:\n{_still_running(run)}", pytrace=False)


def _banner(run: MakeRun) -> str:
    """`make run`'s output up to its banner, then stops it (SIGTERM: at once, not waiting for
    programs that are still starting up)."""
    deadline = time.monotonic() + 60
    while "Notification email:" not in run.output():
        assert run.process.poll() is None, run.output()[-3000:]
        assert time.monotonic() < deadline, "no banner from make run: " + run.output()[-3000:]
        time.sleep(0.2)
    stop(run.process, timeout=30)
    return run.output()


def _wait_ready(run: MakeRun) -> None:
    """Until the web server answers /readyz with the broker up, and the worker and the beat have
    started (a program still starting up ignores Ctrl-C, and `make run` waits 10 s for it)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{run.port}/readyz", timeout=2) as ready:
                assert b'"broker":"ok"' in ready.read()
            output = run.output()
            if " ready." in output and "beat: Starting..." in output:
                break
        except OSError:
            pass
        assert run.process.poll() is None, run.output()[-3000:]
        assert time.monotonic() < deadline, "make run did not get ready: " + run.output()[-3000:]
        time.sleep(0.5)
    run.ready_at = time.monotonic()


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    run = _start(tmp_path_factory.mktemp("make-run"))
    try:
        _wait_ready(run)
        yield run
    finally:
        stop(run.process, timeout=30)


@pytest.fixture
def app(make_run: MakeRun):
    """An app on the same database and broker folder as the script's (what a second terminal
    running `flask` in the checkout would use)."""
    app = create_app(Settings(data_dir=str(make_run.data_dir), secret_key="x" * 40))
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["db_engine"].dispose()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_starts_a_worker_and_a_beat_and_says_how_scanning_and_mail_work(make_run):
    assert all(_alive(pid) for pid in make_run.pids().values())
    output = make_run.output()
    assert 'virus scanning off: files are shown as "not scanned"' in output
    assert f"Notification email: written to {make_run.data_dir / 'mail'}" in output
    # Owner-only from the start, as the README says (it was drwxr-xr-x): it holds sign-in links.
    assert stat.S_IMODE((make_run.data_dir / "mail").stat().st_mode) == 0o700
    assert "  Sign in as admin@example.com, lead@example.com or member@example.com\n" in output
    assert f"  Demo password: {DEMO_PASSWORD}   (set DEMO_PASSWORD" in output
    # Nothing to worry a newcomer: no warnings from our programs' logs (kombu's "No hostname
    # was supplied" for the folder broker was one, twice per start).
    assert [line for line in output.splitlines() if "WARNING/" in line] == []


def test_a_file_attached_under_make_run_is_processed_as_not_scanned(make_run, app):
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


def test_a_new_p1_under_make_run_mails_the_lead_into_the_mail_folder(make_run, app):
    factory = app.extensions["db_session_factory"]
    with factory() as session:
        member = session.query(User).filter_by(email="member@example.com").one()
        incidents.create_incident(session=session, actor=member, title="Make-run mail check", priority="P1")
        session.commit()

    # The worker first works through the demo seed's own events (their mail lands here too).
    deadline = time.monotonic() + 300
    found: list[EmailMessage] = []
    while not found:
        for path in (make_run.data_dir / "mail").glob("*.eml"):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            if "Make-run mail check" in str(message["Subject"]):
                found.append(message)
        assert time.monotonic() < deadline, "no mail about the new P1 in " + str(make_run.data_dir / "mail")
        time.sleep(0.5)
    assert [str(m["To"]) for m in found] == ["Lee Lead <lead@example.com>"]
    body = found[0].get_body(("plain",))
    assert body is not None
    assert f"http://127.0.0.1:{make_run.port}/incidents/" in body.get_content()


def _mail_to(folder: Path, address: str, *, timeout: float) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while True:
        for path in folder.glob("*.eml"):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            if address in str(message["To"]):
                return message
        assert time.monotonic() < deadline, f"no mail to {address} in {folder}"
        time.sleep(0.5)


def test_an_invitation_from_the_command_line_is_mailed_into_make_run_s_mail_folder(make_run, app):
    """Found by a platform engineer: `flask --app web users create --invite` refused ("No mail
    can be sent (SMTP_HOST is not set)") while `make run` wrote mail to DATA_DIR/mail. The
    command reads the same settings as the app, and with this DATA_DIR finds that folder."""
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "new.lead@example.com", "--role", "lead", "--invite"]
    )
    assert result.exit_code == 0, result.output
    assert f"`make run` writes that mail to {make_run.data_dir / 'mail'} (SMTP_HOST is not set)." in result.output
    invitation = _mail_to(make_run.data_dir / "mail", "new.lead@example.com", timeout=300)
    body = invitation.get_body(("plain",))
    assert body is not None
    assert f"http://127.0.0.1:{make_run.port}/" in body.get_content()


def test_sign_in_attempts_under_make_run_are_limited_as_configured(make_run):
    """RATE_LIMIT_LOGIN (10 per minute) holds without Redis too: the limits live in the web
    process's memory there, and `make run` once ran two web processes, each with its own
    count, so the eleventh wrong password (and more) went through unrefused."""
    cookies = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = f"http://127.0.0.1:{make_run.port}/login"

    def attempt() -> tuple[int, str]:
        with cookies.open(login, timeout=10) as page:
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.read().decode()).group(1)
        form = urllib.parse.urlencode(
            {"email": "ops@example.com", "password": "not the password", "csrf_token": token}
        ).encode()
        try:
            with cookies.open(login, data=form, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read().decode()

    answers = [attempt() for _ in range(12)]
    assert [status for status, _ in answers] == [401] * 10 + [429] * 2
    assert "Email or password is incorrect." in answers[0][1]
    assert re.search(r"Too many attempts\. Wait \d+ seconds and try again\.", answers[-1][1])


def _run_script(data_dir: Path, port: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATA_DIR": str(data_dir), "PORT": port}
    return subprocess.run(
        ["./scripts/run.sh"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_second_make_run_on_the_same_data_folder_is_refused(make_run):
    """Found by QA: it started a second worker and beat on the same schedule file and took over
    the pid files, without a word."""
    second = _run_script(make_run.data_dir, str(free_port()))
    assert second.returncode == 1
    worker = make_run.pids()["worker"]
    assert second.stderr.strip() == (
        f"make run: another make run is using {make_run.data_dir} (its worker is process {worker}): stop it first"
        " (Ctrl-C there), or give this one its own DATA_DIR."
    )
    assert make_run.pids()["worker"] == worker  # the first run's pid files are untouched


def test_a_taken_port_or_a_bad_one_fails_make_run_before_anything_starts(tmp_path):
    """Found by QA: with the port taken, gunicorn failed after the worker and beat had started,
    and `make run` still exited 0 under a banner naming the other program's address."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = _run_script(tmp_path / "busy", str(port))
    assert busy.returncode == 1
    assert busy.stderr.strip() == (
        f"make run: 127.0.0.1:{port} is in use (another make run, or another program): stop it, or choose"
        " another port, e.g. PORT=8001 make run."
    )
    assert "is starting on" not in busy.stdout
    assert not (tmp_path / "busy" / "run").exists()  # no worker or beat was started
    bad = _run_script(tmp_path / "bad", "abc")
    assert (bad.returncode, bad.stderr.strip()) == (1, "make run: PORT must be a number from 1 to 65535, got 'abc'.")


def _still_running(make_run: MakeRun) -> str:
    """What is left of `make run`'s process group, with the worker's thread stacks in the log
    (celery prints them on SIGUSR1), for a failure message."""
    group = make_run.process.pid
    left = subprocess.run(["ps", "-o", "pid,stat,etime,args", "--sid", str(group)], capture_output=True, text=True)
    worker = make_run.pids()["worker"]
    if _alive(worker):
        os.kill(worker, signal.SIGUSR1)
        time.sleep(1)
    return f"{left.stdout}\n{make_run.output()[-8000:]}"


def test_the_beat_s_routine_ticks_stay_out_of_make_run_s_output(make_run):
    """Found by a platform engineer: the dispatch task's three INFO lines every 5 s (~36 a
    minute) buried the request lines and warnings. Routine ticks are at DEBUG now."""
    time.sleep(max(0.0, make_run.ready_at + 12 - time.monotonic()))  # two dispatch ticks at least
    lines = make_run.output().splitlines()
    assert [line for line in lines if "Scheduler: Sending due task" in line] == []
    assert [line for line in lines if "dispatch_due[" in line and "] received" in line] == []
    # (A fan-out of an event that mails nobody, such as a clean file's verdict, still says so.)
    ticks = [line for line in lines if "dispatch_due[" in line and "succeeded in" in line]
    assert ticks == []
    assert any(" GET /readyz 200 " in line for line in lines)  # request lines are still there


def test_ctrl_c_stops_make_run_and_everything_it_started(make_run):
    pids = make_run.pids()
    before = len(make_run.output())
    exit_code = _ctrl_c(make_run)
    # Stopped because it was asked to: exit 0 (make then prints no "Error 1"), and says so.
    assert exit_code == 0, make_run.output()[before:]
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids.values()):
        assert time.monotonic() < deadline, f"still running after Ctrl-C: {pids}"
        time.sleep(0.2)
    # gunicorn's words for a worker that died of a signal ("was sent SIGKILL! Perhaps out of
    # memory?" when it would not stop in time) instead of stopping.
    assert "was sent SIG" not in make_run.output()
    stopping = make_run.output()[before:]
    assert "Traceback" not in stopping, stopping
    assert "stopping the others" not in stopping
    assert stopping.rstrip().endswith("make run: stopped (Ctrl-C).")


def _users(data_dir: Path) -> dict[str, bool]:
    """email -> enabled, as the database of `make run` on data_dir holds them."""
    engine = make_engine(Settings(data_dir=str(data_dir)).effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            return {user.email: user.is_active for user in session.query(User)}
    finally:
        engine.dispose()


def test_once_there_is_an_admin_of_its_own_the_next_start_disables_the_demo_accounts(make_run, app):
    """Found by a platform engineer: after a real admin was made, every restart still printed the
    demo password, and admin@example.com still signed in with it."""
    if make_run.process.poll() is None:  # this test alone: stop the file's `make run` first
        _ctrl_c(make_run)
    made = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "ops@example.com", "--role", "admin", "--password", "ops-password-4711"]
    )
    assert made.exit_code == 0, made.output

    banner = _banner(_start(make_run.data_dir))

    assert "Demo password" not in banner
    assert (
        "  Sign in with your own account (the demo password opens no account any more: this database has an admin"
        " of its own, ops@example.com)\n"
    ) in banner
    assert (
        "make run: disabled the demo accounts admin@example.com, lead@example.com, member@example.com: their"
        " password is published, and this database has an admin of its own (ops@example.com). To use one again,"
        f" give it a password of its own first: DATA_DIR={make_run.data_dir} .venv/bin/flask --app web"
        " users set-password --email admin@example.com, then users enable admin@example.com.\n"
    ) in banner
    users = _users(make_run.data_dir)
    demo_accounts = ("admin@example.com", "lead@example.com", "member@example.com")
    assert [email for email in demo_accounts if users[email]] == []
    assert users["ops@example.com"] is True
    assert [email for email, enabled in users.items() if email not in demo_accounts and not enabled] == []


def test_demo_0_starts_without_demo_data(tmp_path):
    banner = _banner(_start(tmp_path / "clean", DEMO="0"))

    assert "Demo data created." not in banner
    assert "Demo password" not in banner
    assert _users(tmp_path / "clean") == {}
    # Found by QA: the printed command had no DATA_DIR, so it made the admin in var/, not here.
    command = re.search(r"  No accounts yet: make an admin with (.+ --role admin)\n", banner).group(1)
    assert command.startswith(f"DATA_DIR={tmp_path / 'clean'} ")
    made = subprocess.run(
        ["bash", "-c", f"{command} --password first-admin-password-4711"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert _users(tmp_path / "clean") == {"you@example.com": True}


def _ignores_sigint(pid: int) -> bool:
    """Whether the process ignores SIGINT (bit 2 of /proc's SigIgn mask)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    raise AssertionError(f"no SigIgn for {pid}")


def test_ctrl_c_reaches_the_development_server_of_make_run_dev_1(tmp_path):
    """A program a script starts in the background starts with SIGINT ignored: gunicorn and
    Celery catch it themselves, Flask's development server did not, and Ctrl-C under DEV=1 waited
    out the script's 10 s before a SIGTERM (found in QA following the README)."""
    run = _start(tmp_path / "dev", DEV="1")
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{run.port}/healthz", timeout=2):
                    break
            except OSError:
                assert run.process.poll() is None, run.output()[-3000:]
                assert time.monotonic() < deadline, "DEV=1 did not answer: " + run.output()[-3000:]
                time.sleep(0.5)
        listing = subprocess.run(
            ["ps", "-o", "pid=,args=", "-g", str(run.process.pid)], capture_output=True, text=True, check=True
        ).stdout
        servers = [int(line.split()[0]) for line in listing.splitlines() if "flask --app web run" in line]
        assert servers, listing
        assert [pid for pid in servers if _ignores_sigint(pid)] == []
        assert _ctrl_c(run) == 0, run.output()[-3000:]
        assert run.output().rstrip().endswith("make run: stopped (Ctrl-C).")
    finally:
        stop(run.process, timeout=30)
