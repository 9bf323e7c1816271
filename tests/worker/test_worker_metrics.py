"""Worker metrics: EMF lines with the contract's names, measured on the real Redis queue."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
from servers import REPO_ROOT, redis_url_or_skip

from shared import metrics
from shared.config import Settings
from worker.celery_app import make_celery
from worker.metrics import emf_record, emit, redis_queue_stats
from worker.tasks.system import PING

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def test_an_emf_line_carries_the_contract_names_and_both_dimensions():
    out = io.StringIO()
    emit(emf_record(environment="pr-42", queue="celery", values={metrics.METRIC_QUEUE_DEPTH: 7}, timestamp=1.5), out)
    (line,) = out.getvalue().splitlines()
    record = json.loads(line)
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == metrics.METRIC_NAMESPACE
    assert directive["Dimensions"] == [[metrics.DIMENSION_ENVIRONMENT, metrics.DIMENSION_QUEUE]]
    assert directive["Metrics"] == [{"Name": "QueueDepth", "Unit": "Count"}]
    assert (record["Environment"], record["Queue"], record["QueueDepth"]) == ("pr-42", "celery", 7)
    assert record["_aws"]["Timestamp"] == 1500
    with pytest.raises(ValueError, match="not metrics of the contract"):
        emf_record(environment="x", queue="q", values={"Made-up": 1})


def test_queue_depth_and_oldest_age_from_redis():
    url = redis_url_or_skip(TEST_REDIS_URL)
    queue = f"test-{uuid.uuid4().hex[:12]}"
    app = make_celery(Settings(app_env="test", celery_broker_url=url))
    client = redis.Redis.from_url(url)
    try:
        assert redis_queue_stats(client, queue) == (0, 0.0)
        before = time.time()
        for _ in range(3):
            app.send_task(PING, queue=queue)  # nobody consumes this queue
        depth, age = redis_queue_stats(client, queue, now=before + 10)
        assert depth == 3
        assert 9 <= age <= 10.5  # from the first message's published_at header
    finally:
        client.delete(queue, f"_kombu.binding.{queue}")
        client.close()
        app.close()


def test_the_beat_publishes_queue_metrics_on_stdout(tmp_path):
    url = redis_url_or_skip(TEST_REDIS_URL)
    command = [sys.executable, "-m", "celery", "--app", "worker.celery_app", "beat", "--loglevel", "INFO",
               "--schedule", str(tmp_path / "celerybeat-schedule")]  # fmt: skip
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO_ROOT),
        "DATA_DIR": str(tmp_path),
        "CELERY_BROKER_URL": url,
        "METRICS_ENVIRONMENT": "pr-42",
        "METRICS_INTERVAL_SECONDS": "1",
    }
    log = tmp_path / "beat.log"
    with log.open("wb") as out:
        beat = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        records = []
        while time.monotonic() < deadline and len(records) < 2:
            records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith('{"_aws"')]
            time.sleep(0.2)
    finally:
        beat.send_signal(signal.SIGTERM)
        beat.wait(timeout=30)
    assert len(records) >= 2, log.read_text()[-2000:]  # one a second
    record = records[0]
    assert (record["Environment"], record["Queue"]) == ("pr-42", metrics.DEFAULT_QUEUE)
    assert isinstance(record["QueueDepth"], int)
    assert record["OldestMessageAgeSeconds"] >= 0
