"""The embedded default's folder broker (`make run`) never hands the worker half a message.

Found by a new adopter: after ~9 minutes of light use `make run` stopped with "Unrecoverable
error: JSONDecodeError('Expecting value: line 1 column 1 (char 0)')": kombu's filesystem
transport writes a message straight into the queue folder, the worker took the file while it was
still empty and stopped, and `make run` stopped the web server with it (celery/kombu#1551).
Here files that are being written slowly, or are corrupt, sit in the queue of a real worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import REPO_ROOT, CeleryWorker

from shared.config import Settings
from worker.celery_app import make_celery

RECORD = "incident_tracker.test.record"


@dataclass
class FolderBroker:
    worker: CeleryWorker
    data: Path
    markers: Path

    @property
    def queue(self) -> Path:
        return self.data / "broker" / "queue"

    def send(self, message_id: str) -> None:
        make_celery(Settings(data_dir=str(self.data))).send_task(RECORD, kwargs={"message_id": message_id})

    def wait_for(self, message_id: str, timeout: float = 60) -> None:
        """Until the worker has run the task of `message_id`; fails at once when the worker stopped."""
        deadline = time.monotonic() + timeout
        while not list(self.markers.glob(f"{message_id}.*")):
            assert self.worker.process.poll() is None, "the worker stopped:\n" + self.worker.output()[-3000:]
            assert time.monotonic() < deadline, f"{message_id} was not processed:\n" + self.worker.output()[-3000:]
            time.sleep(0.1)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FolderBroker]:
    root = tmp_path_factory.mktemp("folder-broker")
    data, markers = root / "data", root / "markers"
    data.mkdir()
    markers.mkdir()
    worker = CeleryWorker(data, {"DATA_DIR": str(data), "OUTBOX_TEST_MARKERS": str(markers)}, queue="celery")
    try:
        worker.wait_until_ready()
        yield FolderBroker(worker=worker, data=data, markers=markers)
    finally:
        worker.stop()


def _message_file(tmp_path: Path, message_id: str) -> bytes:
    """What a publisher writes for the task of `message_id` (published into a folder of its own)."""
    staging = tmp_path / "staging"
    make_celery(Settings(data_dir=str(staging))).send_task(RECORD, kwargs={"message_id": message_id})
    [written] = (staging / "broker" / "queue").glob("*.msg")
    return written.read_bytes()


def test_a_message_still_being_written_waits_for_its_end_and_stops_nothing(broker, tmp_path):
    message = _message_file(tmp_path, "written-slowly")
    # As kombu's own publisher does it: the file is in the queue from its first byte on, first in line.
    with (broker.queue / "0_written-slowly.celery.msg").open("wb", buffering=0) as slow:
        broker.send("after-an-empty-file")
        broker.wait_for("after-an-empty-file")

        slow.write(message[: len(message) // 2])
        broker.send("after-half-a-file")
        broker.wait_for("after-half-a-file")

        slow.write(message[len(message) // 2 :])
    broker.wait_for("written-slowly")
    assert sorted(marker.name.split(".")[0] for marker in broker.markers.iterdir()) == [
        "after-an-empty-file",
        "after-half-a-file",
        "written-slowly",
    ]


def test_a_corrupt_message_is_moved_aside_with_a_log_line_and_the_next_one_runs(broker):
    corrupt = broker.queue / "0_corrupt.celery.msg"
    corrupt.write_bytes(b'{"body": "cut off')
    an_hour_ago = time.time() - 3600
    os.utime(corrupt, (an_hour_ago, an_hour_ago))  # nobody is writing it any more

    broker.send("after-a-corrupt-file")
    broker.wait_for("after-a-corrupt-file")

    assert not corrupt.exists()
    assert (broker.data / "broker" / "corrupt" / corrupt.name).read_bytes() == b'{"body": "cut off'
    assert f"Broker message {corrupt.name} cannot be read" in broker.worker.output()
    assert "its task does not run" in broker.worker.output()


PUBLISH_WITH_A_FULL_DISK = """
import resource, signal, sys
from shared.config import Settings
from web.outbox_publisher import CeleryPublisher

publisher = CeleryPublisher(Settings(data_dir=sys.argv[1]))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
try:
    publisher("incident_tracker.test.record", {"message_id": "big", "note": "x" * 1_000_000}, "big")
except Exception as error:
    print("not published:", error)
else:
    print("published")
"""


def test_the_web_s_publish_cut_short_by_a_full_disk_leaves_no_half_message_for_the_worker(tmp_path):
    """The web's publisher raises (the outbox keeps the message for the beat's sweep) and the
    queue holds no partial file that a worker would take for a message."""
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-c", PUBLISH_WITH_A_FULL_DISK, str(data)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("not published: Cannot add a message to"), result.stdout
    assert list((data / "broker" / "queue").iterdir()) == []


SLOW = "incident_tracker.test.slow"


def _wait(condition, what: str, worker: CeleryWorker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert worker.process.poll() is None, f"the worker stopped before {what}:\n" + worker.output()[-3000:]
        assert time.monotonic() < deadline, f"not {what} within {timeout} s:\n" + worker.output()[-3000:]
        time.sleep(0.05)


def test_a_worker_killed_outright_loses_none_of_the_tasks_it_had_taken(tmp_path):
    """`make run`'s worker reserves up to 16 messages per process; kombu deleted each file as it
    handed the message over, so a worker killed with kill -9 (or by the OOM killer) lost every
    task it had taken and not finished: a file uploaded meanwhile stayed "pending" for good. The
    next worker on the folder now runs them, each once."""
    data, markers, slow_runs = tmp_path / "data", tmp_path / "markers", tmp_path / "slow"
    for folder in (data, markers, slow_runs):
        folder.mkdir()
    environment = {"DATA_DIR": str(data), "OUTBOX_TEST_MARKERS": str(markers)}
    publisher = make_celery(Settings(data_dir=str(data)))
    publisher.send_task(SLOW, kwargs={"marker_dir": str(slow_runs), "seconds": 3})
    for message_id in ("behind-the-slow-one", "last-in-line"):
        publisher.send_task(RECORD, kwargs={"message_id": message_id})
    queue = data / "broker" / "queue"

    (tmp_path / "first").mkdir()
    first = CeleryWorker(tmp_path / "first", environment, queue="celery")
    try:
        _wait(lambda: (slow_runs / "started-1").exists(), "running the slow task", first)
        # One running, one more reserved at least (Celery takes the next while one runs).
        _wait(lambda: len(list(queue.glob("*.msg"))) <= 1, "reserving the next task", first)
        taken = 3 - len(list(queue.glob("*.msg")))
        for pid in (*first.children(), first.pid):
            os.kill(pid, signal.SIGKILL)
        first.process.wait(timeout=10)
    finally:
        first.stop()
    assert not (slow_runs / "finished").exists()
    assert not list(markers.iterdir())

    (tmp_path / "second").mkdir()
    second = CeleryWorker(tmp_path / "second", environment, queue="celery")
    try:
        _wait(lambda: (slow_runs / "finished").exists(), "finishing the slow task", second)
        _wait(lambda: len(list(markers.iterdir())) == 2, "running the two behind it", second)
        assert f"Put back {taken} message(s) that a stopped worker" in second.output()
        assert sorted(marker.name.split(".")[0] for marker in markers.iterdir()) == [
            "behind-the-slow-one",
            "last-in-line",
        ]
        assert (slow_runs / "finished").read_text() == "2"  # started again, and finished once
    finally:
        second.stop()  # a warm shutdown: nothing taken is left behind, nothing is put back twice
    assert not list(queue.glob("*.msg"))
    assert not list((data / "broker" / "inflight").glob("*/*.msg"))  # nothing held by the stopped worker
