"""Worker metrics as CloudWatch embedded-metric-format (EMF) lines on stdout.

CloudWatch Logs turns each line into metrics: no agent and no PutMetricData permission. The
names, namespace and dimensions are the contract in shared/metrics.py (Terraform's worker
autoscaling and alarms read the same):

- QueueDepth and OldestMessageAgeSeconds: measured by the beat every METRICS_INTERVAL_SECONDS
  on the Redis queue (a thread in the beat process, not a task: a metric about a backed-up
  queue must not wait in that queue), the beat a preview's worker embeds (`--beat`) included;
- TaskFailures: one line from the worker each time a task fails after its last retry.

The age of the oldest message comes from a publish-time header (HEADER_PUBLISHED_AT) that
every publisher adds; a message without it counts in the depth but not in the age.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, TextIO

from shared import metrics

log = logging.getLogger(__name__)

UNITS = {
    metrics.METRIC_QUEUE_DEPTH: "Count",
    metrics.METRIC_OLDEST_MESSAGE_AGE: "Seconds",
    metrics.METRIC_TASK_FAILURES: "Count",
}


def emf_record(
    *, environment: str, queue: str, values: Mapping[str, float], timestamp: float | None = None
) -> dict[str, Any]:
    """One EMF document with the Environment and Queue dimensions."""
    unknown = set(values) - set(UNITS)
    if unknown:
        raise ValueError(f"not metrics of the contract: {sorted(unknown)}")
    return {
        "_aws": {
            "Timestamp": int((time.time() if timestamp is None else timestamp) * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": metrics.METRIC_NAMESPACE,
                    "Dimensions": [[metrics.DIMENSION_ENVIRONMENT, metrics.DIMENSION_QUEUE]],
                    "Metrics": [{"Name": name, "Unit": UNITS[name]} for name in values],
                }
            ],
        },
        metrics.DIMENSION_ENVIRONMENT: environment,
        metrics.DIMENSION_QUEUE: queue,
        **values,
    }


def emit(record: Mapping[str, Any], stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(json.dumps(record, separators=(",", ":")) + "\n")
    stream.flush()


def redis_queue_stats(client: Any, queue: str, *, now: float | None = None) -> tuple[int, float]:
    """(messages waiting, age in seconds of the oldest one) of a kombu Redis queue.

    kombu pushes on the left and consumers pop from the right, so the oldest waiting message
    is the last element of the list."""
    depth = int(client.llen(queue))
    if depth == 0:
        return 0, 0.0
    raw = client.lindex(queue, -1)
    published = None
    with contextlib.suppress(TypeError, ValueError, KeyError, AttributeError):  # not a kombu message
        published = json.loads(raw)["headers"].get(metrics.HEADER_PUBLISHED_AT)
    if not isinstance(published, int | float):
        return depth, 0.0
    return depth, max(0.0, (time.time() if now is None else now) - float(published))


class QueueMetricsPublisher(threading.Thread):
    """The beat's thread: every `interval` seconds, one EMF line per queue.

    `key_prefix` is REDIS_KEY_PREFIX: kombu puts it in front of every key, so a preview's queue
    `celery` is the list `pr-42:celery` in the Redis the previews share. The Queue dimension
    stays the queue's name."""

    def __init__(
        self, *, broker_url: str, environment: str, queues: tuple[str, ...], interval: float, key_prefix: str = ""
    ) -> None:
        super().__init__(name="queue-metrics", daemon=True)
        self.broker_url, self.environment, self.queues, self.interval = broker_url, environment, queues, interval
        self.key_prefix = key_prefix
        self.stopping = threading.Event()

    def run(self) -> None:
        import redis

        client = redis.Redis.from_url(self.broker_url, socket_connect_timeout=5, socket_timeout=5)
        while not self.stopping.is_set():
            for queue in self.queues:
                try:
                    depth, age = redis_queue_stats(client, self.key_prefix + queue)
                except redis.RedisError as error:
                    # Nothing to measure while Redis is away; the alarms treat missing data as such.
                    log.warning("queue metrics unavailable for %s: %s", queue, error)
                    continue
                emit(
                    emf_record(
                        environment=self.environment,
                        queue=queue,
                        values={
                            metrics.METRIC_QUEUE_DEPTH: depth,
                            metrics.METRIC_OLDEST_MESSAGE_AGE: round(age, 3),
                        },
                    )
                )
            self.stopping.wait(self.interval)
