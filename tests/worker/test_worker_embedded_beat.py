"""The beat a preview's worker embeds (`celery worker --beat`) publishes the queue metrics.

A preview runs one worker task with `--beat` and no beat service (terraform/modules/app_services,
`run_beat_in_worker`), on a Redis it shares with the other previews under its own key prefix
(REDIS_KEY_PREFIX=pr-<n>:). Celery sends `beat_init` from the beat service's start, in the
embedded beat's process too, so the publisher starts there once, as in a standalone beat. It
measured the unprefixed queue, though: a preview's QueueDepth was that of a list nobody uses.

A real worker on the real Redis (TEST_REDIS_URL, default DB 11), under a private prefix.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from servers import REPO_ROOT, delete_prefixed_keys, private_redis_prefix, redis_url_or_skip

from shared import metrics
from shared.config import Settings
from worker.celery_app import make_celery
from worker.tasks.system import PING

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
WAITING = 3
AGE = 3600.0


def _records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text(errors="replace").splitlines() if line.startswith('{"_aws"')]


def test_a_worker_s_embedded_beat_publishes_its_own_preview_queue_metrics(tmp_path):
    url = redis_url_or_skip(TEST_REDIS_URL)
    prefix = private_redis_prefix()
    environment = f"pr-{uuid.uuid4().hex[:6]}"
    # What the preview's web has queued and no worker has taken yet, the oldest an hour ago.
    publisher = make_celery(Settings(app_env="test", celery_broker_url=url, redis_key_prefix=prefix))
    try:
        for _ in range(WAITING):
            publisher.send_task(
                PING, queue=metrics.DEFAULT_QUEUE, headers={metrics.HEADER_PUBLISHED_AT: time.time() - AGE}
            )
    finally:
        publisher.close()

    command = [
        sys.executable, "-m", "celery", "--app", "worker.celery_app", "worker", "--loglevel", "INFO",
        "--pool", "prefork", "--concurrency", "1", "--hostname", f"{environment}@%h",
        "--without-gossip", "--without-mingle",
        # Consumes a queue of its own, so the default queue keeps what was queued above.
        "--queues", f"test-{uuid.uuid4().hex[:12]}",
        "--beat", "--schedule", str(tmp_path / "celerybeat-schedule"),
    ]  # fmt: skip
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO_ROOT),
        "DATA_DIR": str(tmp_path),
        "APP_ENV": "test",
        "CELERY_BROKER_URL": url,
        "REDIS_KEY_PREFIX": prefix,
        "METRICS_ENVIRONMENT": environment,
        "METRICS_INTERVAL_SECONDS": "1",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 45
        records: list[dict] = []
        while time.monotonic() < deadline and len(records) < 2 and worker.poll() is None:
            records = _records(log)
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        delete_prefixed_keys(url, prefix)
    output = log.read_text(errors="replace")
    assert "beat: Starting..." in output, output[-3000:]
    assert len(records) >= 2, output[-3000:]  # one a second, from the embedded beat
    for record in records:
        assert (record["Environment"], record["Queue"]) == (environment, metrics.DEFAULT_QUEUE)
        # This preview's queue: what it has waiting, at least (the beat adds its own ticks).
        assert record["QueueDepth"] >= WAITING, record
        assert record["OldestMessageAgeSeconds"] >= AGE, record
