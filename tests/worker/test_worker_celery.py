"""The Celery app: its reliability settings, and real worker processes on the real Redis.

Workers are started as the container starts them (`celery --app worker.celery_app worker`)
with settings in their environment. Redis: TEST_REDIS_URL, default DB 11 of the local server;
every test uses a queue of its own and deletes only its own keys.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kombu.exceptions import OperationalError
from servers import REPO_ROOT, CeleryWorker, free_port, redis_url_or_skip

from shared.config import Settings, SettingsError
from worker.celery_app import app as module_app
from worker.celery_app import make_celery
from worker.tasks.system import PING

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture(scope="module")
def redis_url() -> str:
    return redis_url_or_skip(TEST_REDIS_URL)


@pytest.fixture
def queue(redis_url: str) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = [key for key in client.scan_iter(match=f"*{name}*")]
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def publisher(redis_url: str):
    """The sending side, as the outbox relay will be: a Celery app from Settings, tasks by name."""
    app = make_celery(Settings(app_env="test", celery_broker_url=redis_url, celery_result_backend=redis_url))
    yield app
    app.close()


@pytest.fixture
def start_worker(tmp_path: Path, redis_url: str) -> Iterator:
    started: list[CeleryWorker] = []

    def start(queue: str, **environment: str) -> CeleryWorker:
        env = {"APP_ENV": "test", "CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url, **environment}
        worker = CeleryWorker(tmp_path, env, queue=queue)
        started.append(worker)
        worker.wait_until_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


# -- configuration ----------------------------------------------------------------------------------


def test_reliability_settings():
    settings = Settings(app_env="test", celery_broker_url="redis://127.0.0.1:6379/11")
    conf = make_celery(settings).conf
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.broker_transport_options["socket_connect_timeout"] == settings.broker_publish_timeout_seconds
    assert conf.task_publish_retry is False
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json"
    assert conf.task_soft_time_limit < conf.task_time_limit


def test_every_task_has_an_explicit_stable_name_and_only_idempotent_ones_ack_late():
    import celery_test_tasks  # noqa: F401 - registers the test tasks on the module app

    import worker.tasks.system  # noqa: F401

    ours = {name: task for name, task in module_app.tasks.items() if not name.startswith("celery.")}
    assert PING in ours
    for name, task in ours.items():
        assert name.startswith("incident_tracker."), name
        assert name != f"{task.__module__}.{task.__name__}"  # not Celery's default module path
        if task.acks_late:
            assert task.reject_on_worker_lost, f"{name}: late ack without reject_on_worker_lost"
            assert task.max_retries is not None
            assert task.retry_backoff
            assert task.retry_jitter
    assert not ours[PING].acks_late


def test_the_embedded_default_broker_needs_no_server(tmp_path):
    conf = make_celery(Settings(data_dir=str(tmp_path))).conf
    assert conf.broker_url == "filesystem://"
    assert Path(conf.broker_transport_options["data_folder_in"]).is_dir()
    assert conf.task_ignore_result


def test_publishing_with_redis_down_fails_fast():
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = make_celery(Settings(app_env="test", celery_broker_url=dead, broker_publish_timeout_seconds=1))
    started = time.monotonic()
    with pytest.raises(OperationalError):
        app.send_task(PING)
    assert time.monotonic() - started < 5


# -- real worker processes -------------------------------------------------------------------------


def test_a_real_worker_round_trips_tasks(start_worker, publisher, queue):
    start_worker(queue)
    answer = publisher.send_task(PING, queue=queue).get(timeout=30)
    assert answer["pong"] is True
    assert answer["scanning_enabled"] is False
    assert publisher.send_task("incident_tracker.test.add", args=(2, 3), queue=queue).get(timeout=30) == 5


def test_a_task_that_fails_for_good_is_counted(start_worker, publisher, queue):
    worker = start_worker(queue, METRICS_ENVIRONMENT="pr-7")
    with pytest.raises(RuntimeError):
        publisher.send_task("incident_tracker.test.fail", queue=queue).get(timeout=30, propagate=True)
    _wait_for(lambda: '"TaskFailures":1' in worker.output(), "the TaskFailures EMF line")
    (line,) = [line for line in worker.output().splitlines() if '"TaskFailures":1' in line]
    record = json.loads(line)
    assert (record["Environment"], record["Queue"]) == ("pr-7", queue)


def test_sigterm_lets_the_running_task_finish(start_worker, publisher, queue, tmp_path):
    worker = start_worker(queue)
    markers = tmp_path / "markers"
    markers.mkdir()
    result = publisher.send_task("incident_tracker.test.slow", args=(str(markers), 3), queue=queue)
    _wait_for(lambda: (markers / "started-1").exists(), "the task to start")
    worker.process.send_signal(signal.SIGTERM)  # what ECS sends first
    assert worker.process.wait(timeout=60) == 0, worker.output()[-3000:]
    assert (markers / "finished").read_text() == "1"  # finished, once
    assert result.get(timeout=10) == "done"
    assert "Warm shutdown" in worker.output() or "warm shutdown" in worker.output().lower()


def test_sigterm_as_soft_shutdown_hands_a_long_task_back_in_time(start_worker, publisher, queue, tmp_path):
    """REMAP_SIGTERM=SIGQUIT (as the worker container runs): a task that cannot finish within
    WORKER_SOFT_SHUTDOWN_SECONDS goes back to the queue, and the next worker completes it."""
    worker = start_worker(queue, REMAP_SIGTERM="SIGQUIT", WORKER_SOFT_SHUTDOWN_SECONDS="2")
    markers = tmp_path / "markers"
    markers.mkdir()
    # 5 s: 3 s past the 2 s soft shutdown, so only a hand-back can keep "finished" unwritten.
    result = publisher.send_task("incident_tracker.test.slow", args=(str(markers), 5), queue=queue)
    _wait_for(lambda: (markers / "started-1").exists(), "the task to start")
    # The pool child starts the task a moment before the main process hears of it, and the
    # shutdown handler only hands back what the main process knows is running: a SIGTERM inside
    # that moment (seen on a loaded machine) finds nothing to wait for or hand back, and the
    # task runs on to the end. (In production the late ack still brings it back if the worker
    # is killed.) The signal in this test is for a task the worker knows it is running.
    _wait_for(lambda: result.id in _running_on(publisher, queue), "the worker's main process to count the task")
    worker.process.send_signal(signal.SIGTERM)
    worker.process.wait(timeout=60)
    assert not (markers / "finished").exists(), "the worker waited for the task instead of handing it back"
    start_worker(queue)  # the replacement task
    assert result.get(timeout=60) == "done"
    assert (markers / "finished").read_text() == "2"


def test_a_killed_worker_process_hands_its_task_back(start_worker, publisher, queue, tmp_path):
    """kill -9 of the process running a late-ack task: the task runs again and completes."""
    worker = start_worker(queue)
    markers = tmp_path / "markers"
    markers.mkdir()
    result = publisher.send_task("incident_tracker.test.slow", args=(str(markers), 2), queue=queue)
    _wait_for(lambda: (markers / "started-1").exists(), "the task to start")
    (child,) = worker.children()
    os.kill(child, signal.SIGKILL)
    assert result.get(timeout=60) == "done"
    assert (markers / "finished").read_text() == "2"  # the second delivery finished it


def test_the_embedded_default_runs_a_real_worker_without_a_broker_server(tmp_path):
    """No CELERY_BROKER_URL, no REDIS_URL: kombu's filesystem transport under DATA_DIR/broker."""
    data = tmp_path / "data"
    data.mkdir()
    worker = CeleryWorker(data, {"DATA_DIR": str(data)}, queue="celery")
    try:
        worker.wait_until_ready()
        app = make_celery(Settings(data_dir=str(data)))
        markers = tmp_path / "markers"
        markers.mkdir()
        app.send_task("incident_tracker.test.slow", args=(str(markers), 0))
        _wait_for(lambda: (markers / "finished").exists(), "the task to run on the filesystem broker")
    finally:
        worker.stop()
    assert worker.process.returncode == 0
    assert (data / "broker" / "control").is_dir()
    assert not (REPO_ROOT / "control").exists()  # nothing written to the working directory


def test_beat_starts_from_the_same_settings(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    command = [sys.executable, "-m", "celery", "--app", "worker.celery_app", "beat", "--loglevel", "INFO",
               "--schedule", str(tmp_path / "celerybeat-schedule")]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT), "DATA_DIR": str(data)}
    log = tmp_path / "beat.log"
    with log.open("wb") as out:
        beat = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: "beat: Starting..." in log.read_text(), "beat to start")
    finally:
        beat.send_signal(signal.SIGTERM)
        beat.wait(timeout=30)
    assert "Traceback" not in log.read_text()


# Stands in for the C module behind dbm.ndbm: slow to import, then missing, as on a Python built
# without it (this machine's). Shadowing it holds dbm's first open inside that import.
SLOW_MISSING_NDBM = """
import pathlib, time
pathlib.Path(__file__).with_name("import-started").touch()
time.sleep(1.5)
raise ImportError("no ndbm in this test")
"""


def test_a_sigterm_while_beat_opens_its_schedule_stops_it_cleanly(tmp_path):
    """A deploy may stop a beat that has just started. Beat's SIGTERM handler saves the schedule;
    landing while the first schedule open was importing dbm's backends, it opened the schedule
    again inside that import: a traceback, and the schedule file deleted as corrupt."""
    data = tmp_path / "data"
    data.mkdir()
    fake_modules = tmp_path / "fake-modules"
    fake_modules.mkdir()
    (fake_modules / "_dbm.py").write_text(SLOW_MISSING_NDBM)
    command = [sys.executable, "-m", "celery", "--app", "worker.celery_app", "beat", "--loglevel", "INFO",
               "--schedule", str(tmp_path / "celerybeat-schedule")]  # fmt: skip
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(fake_modules)]),
        "DATA_DIR": str(data),
    }
    log = tmp_path / "beat.log"
    with log.open("wb") as out:
        beat = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: "beat: Starting..." in log.read_text(), "beat to start")
        beat.send_signal(signal.SIGTERM)  # as soon as beat says it starts: while its schedule opens
        assert beat.wait(timeout=30) == 0, log.read_text()
    finally:
        if beat.poll() is None:
            beat.kill()
            beat.wait(timeout=10)
    assert (fake_modules / "import-started").exists(), "dbm never tried the slow backend: nothing was tested"
    output = log.read_text()
    assert "Traceback" not in output
    assert "corrupted schedule" not in output


def test_a_production_worker_refuses_to_start_without_scanning(tmp_path, redis_url):
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": "worker-tests-only-secret-key-0123456789abcdef",
        "DATABASE_URL": "postgresql+psycopg2://tracker@127.0.0.1:1/tracker",
        "REDIS_URL": redis_url,
    }
    worker = CeleryWorker(tmp_path, env, queue=f"test-{uuid.uuid4().hex[:8]}")
    try:
        code = worker.process.wait(timeout=60)
    finally:
        worker.stop()
    assert code != 0
    assert "Incident Tracker worker cannot start: SCANNING_ENABLED" in worker.output()


def test_a_wrong_setting_stops_the_worker_with_one_line(tmp_path):
    command = [sys.executable, "-m", "celery", "--app", "worker.celery_app", "worker"]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT), "PAGE_SIZE": "fifty"}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 4
    assert "Incident Tracker worker cannot start: PAGE_SIZE" in done.stderr
    assert "Traceback" not in done.stderr


def _running_on(publisher, queue: str) -> set[str]:
    """Ids of the tasks the worker of `queue` counts as running (remote control: `inspect active`)."""
    node = f"{queue}@{socket.gethostname()}"  # the worker's --hostname {queue}@%h
    replies = publisher.control.inspect(destination=[node], timeout=2).active() or {}
    return {task["id"] for task in replies.get(node, [])}


def _wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_preview_s_redis_key_prefix_keeps_its_queue_apart(redis_url, queue):
    """Previews share one Redis (REDIS_KEY_PREFIX=pr-<n>:): a task sent by pr-7 lands under
    pr-7:'s keys, where a pr-8 worker never looks."""
    settings = Settings(app_env="test", celery_broker_url=redis_url, redis_key_prefix="pr-7:")
    app = make_celery(settings)
    try:
        app.send_task(PING, queue=queue)
    finally:
        app.close()
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.llen(f"pr-7:{queue}") == 1
        assert client.llen(queue) == 0
    finally:
        client.close()


@pytest.mark.parametrize("prefix", ["pr-7", "pr 7:", ":", "pr-7:/x:"])
def test_a_malformed_redis_key_prefix_is_refused(prefix):
    with pytest.raises(SettingsError, match="REDIS_KEY_PREFIX"):
        Settings(app_env="test", redis_key_prefix=prefix).validated()
