"""The Celery app of the worker and the beat, built from the same Settings as the web app.

Entry points (the container's command lines):

    celery --app worker.celery_app worker --loglevel INFO
    celery --app worker.celery_app beat --loglevel INFO --schedule /tmp/celerybeat-schedule

Never imports web/. Tasks are named explicitly (`incident_tracker.<domain>.<action>`), so a
message published by name from the outbox keeps finding its task whatever the module layout.
"""

from __future__ import annotations

import ast
import dbm
import logging
import os
import sys
import time
from typing import Any

from celery import Celery, signals
from celery.app import trace
from kombu import Queue

from shared import broker, metrics
from shared.config import Settings, SettingsError
from shared.metrics import DEFAULT_QUEUE
from worker.metrics import QueueMetricsPublisher, emf_record, emit

TASK_MODULES = (
    "worker.tasks.system",
    "worker.tasks.outbox",
    "worker.tasks.audit",
    "worker.tasks.evidence",
    "worker.tasks.notifications",
)
# The beat's periodic work, by task name (the tasks live in TASK_MODULES).
BEAT_SCHEDULE = {
    # Republishes what the after-commit relay left behind (Redis down, a crash between commit
    # and publish); a message waits at most this long once the broker is back. It alone sends a
    # quick move's notifications held for its Undo (NOTIFICATION_UNDO_HOLD_SECONDS): they go out
    # at most this long after the hold. An idle sweep is one short transaction on the index of
    # unpublished rows.
    "outbox-sweep": {"task": "incident_tracker.outbox.sweep", "schedule": 5.0},
    # The audit chain's head, written outside the database: deleting the newest events (with
    # the trigger disabled) is found by `audit verify` against the latest anchor.
    "audit-anchor": {"task": "incident_tracker.audit.anchor", "schedule": 300.0},
    # Webhook retries and email backoff are rows with a next_attempt_at; this hands out the due
    # ones (and deliveries a killed worker held). Often enough for the first ~5 s webhook retry.
    "notifications-dispatch-due": {"task": "incident_tracker.notifications.dispatch_due", "schedule": 5.0},
}
ORPHAN_SWEEP_TASK = "incident_tracker.evidence.sweep_orphans"
# Exponential backoff between retries is capped here: a countdown is held by Redis like any
# unacknowledged message, so it must stay well below the visibility timeout.
RETRY_BACKOFF_MAX_SECONDS = 600


# The beat's routine ticks at DEBUG: at INFO, dispatch-due alone (every 5 s) wrote three lines a
# tick, "Sending due task", "received", "succeeded ... {'emails': 0, 'webhooks': 0}", burying
# request lines and warnings in `make run`'s output and costing log storage in production. A
# periodic task that did something ({'published': 3, ...}) keeps its INFO line, and warnings,
# errors and retries are left alone. `--loglevel DEBUG` shows every tick again.
PERIODIC_TASKS = frozenset([*(entry["task"] for entry in BEAT_SCHEDULE.values()), ORPHAN_SWEEP_TASK])


def _did_nothing(return_value: object) -> bool:
    """Whether a task's result (as Celery logs it: its repr) says it found nothing to do: None,
    zero, or counts that are all zero."""
    try:
        result = ast.literal_eval(str(return_value))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False  # not a literal: a result of some other kind, so not "nothing"
    if isinstance(result, dict):
        return all(value in (None, 0) for value in result.values())
    return result in (None, 0)


class _RoutineTicksAtDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not _is_routine_tick(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _is_routine_tick(record: logging.LogRecord) -> bool:
    if record.msg == "Scheduler: Sending due task %s (%s)":  # celery.beat: only periodic tasks are sent so
        return True
    context = record.args if isinstance(record.args, dict) else {}
    if context.get("name") not in PERIODIC_TASKS:
        return False
    return record.msg == trace.LOG_RECEIVED or (
        record.msg == trace.LOG_SUCCESS and _did_nothing(context.get("return_value"))
    )


# The loggers Celery writes those lines with (the beat's; the worker's on receipt and on success).
for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(_RoutineTicksAtDebug())


class Retryable(Exception):
    """A transient failure (clamd or storage unreachable): retried with backoff, then given up."""


# The folder broker (no broker server: `make run`) has no asynchronous I/O, so Celery's worker
# drains it in a blocking loop that applies late acknowledgements only between 2-second
# waits: with one message reserved per process, a burst of mail (one per comment and
# watcher) went out at one message per process every 2 s, a minute behind during a busy
# incident. There is one worker and no other to leave messages to, so it reserves more.
FOLDER_BROKER_PREFETCH = 16


def make_celery(settings: Settings) -> Celery:
    """A Celery app configured from `settings` (tests pass their own)."""
    app = Celery("incident_tracker", set_as_current=False)
    broker_url = settings.effective_broker_url
    transport_options = broker.transport_options(settings)
    app.conf.update(
        broker_url=broker_url,
        # The folder broker's own (whole messages, never stopped by a bad one); None: the URL's scheme.
        broker_transport="worker.broker_filesystem:Transport" if broker.is_folder_broker(settings) else None,
        broker_transport_options=transport_options,
        result_backend=settings.celery_result_backend or None,
        # Nothing reads task results (state lives in the database); keep none unless asked.
        task_ignore_result=not settings.celery_result_backend,
        result_expires=3600,
        # JSON only: a message from the broker can never make the worker unpickle code.
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        enable_utc=True,
        timezone="UTC",
        task_default_queue=DEFAULT_QUEUE,
        task_queues=[Queue(DEFAULT_QUEUE)],
        # One task reserved per worker process: a long scan does not hold other messages
        # hostage, and a worker that dies takes at most one task with it (back to the queue).
        # Not on the embedded default's folder broker: see FOLDER_BROKER_PREFETCH.
        worker_prefetch_multiplier=FOLDER_BROKER_PREFETCH if broker_url.startswith("filesystem://") else 1,
        # A stuck decoder or scan is killed (and retried), long before Redis would redeliver it.
        task_time_limit=settings.task_time_limit_seconds,
        task_soft_time_limit=max(1, settings.task_time_limit_seconds - 30),
        # Publishing is not retried inside a request: one bounded attempt, the outbox retries.
        task_publish_retry=False,
        broker_connection_timeout=settings.broker_publish_timeout_seconds,
        # The worker itself waits for Redis to come back (start-up included) rather than exit.
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # ECS stops a task with SIGTERM, then SIGKILL after stopTimeout. With REMAP_SIGTERM=SIGQUIT
        # in the environment SIGTERM starts a soft shutdown: running tasks get this long to
        # finish, then unfinished late-ack tasks go straight back to Redis, instead of waiting
        # out the visibility timeout after the SIGKILL. Without it, SIGTERM is a warm shutdown
        # that waits for running tasks however long they take.
        worker_soft_shutdown_timeout=settings.worker_soft_shutdown_seconds,
        # Unacknowledged late-ack tasks are redelivered after a broker connection loss anyway;
        # cancelling them stops the same task running twice at once.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        # Native decoders (libmagic, Pillow) run in these processes: recycle them now and then
        # so a leak cannot grow for the life of the task.
        worker_max_tasks_per_child=500,
        # Our own logging and metrics go to stdout; Celery must not swallow print() output.
        worker_redirect_stdouts=False,
        imports=TASK_MODULES,
        beat_schedule={
            **BEAT_SCHEDULE,
            # Objects no evidence row needs (an upload whose row never committed and whose
            # clean-up delete failed too) are deleted once older than ORPHAN_GRACE_SECONDS.
            "evidence-orphan-sweep": {
                "task": ORPHAN_SWEEP_TASK,
                "schedule": float(settings.orphan_sweep_interval_seconds),
            },
        },
        incident_tracker_settings=settings,
    )
    return app


def idempotent_task(app: Celery, *, name: str, **options: Any):
    """Decorator for a task that may safely run twice (keyed by id, compare-and-set state).

    Only such tasks may be acknowledged late: a worker killed mid-task (SIGKILL, a Spot
    reclaim, an OOM kill) then hands the message back instead of losing it."""
    defaults: dict[str, Any] = {
        "name": name,
        # Acknowledge after the task finished, not when it was received.
        "acks_late": True,
        # ...and when the worker process died under it, put it back on the queue.
        "reject_on_worker_lost": True,
        "autoretry_for": (Retryable,),
        "max_retries": app.conf.incident_tracker_settings.task_max_retries,
        # Exponential backoff with full jitter: retries of many tasks do not arrive together.
        "retry_backoff": True,
        "retry_backoff_max": RETRY_BACKOFF_MAX_SECONDS,
        "retry_jitter": True,
    }
    return app.task(**{**defaults, **options})


@signals.worker_init.connect
def _refuse_an_unsafe_start(sender: Any = None, **_: Any) -> None:
    settings = getattr(getattr(sender, "app", None), "conf", {}).get("incident_tracker_settings")
    if settings is None:
        return
    try:
        settings.check_worker_can_start()
    except SettingsError as error:
        raise SystemExit(f"Incident Tracker worker cannot start: {error}") from None


@signals.before_task_publish.connect
def _stamp_publish_time(headers: dict | None = None, **_: Any) -> None:
    # The beat measures OldestMessageAgeSeconds from this header.
    if headers is not None:
        headers.setdefault(metrics.HEADER_PUBLISHED_AT, time.time())


@signals.beat_init.connect
def _start_queue_metrics(sender: Any = None, **_: Any) -> None:
    settings = getattr(getattr(sender, "app", None), "conf", {}).get("incident_tracker_settings")
    if settings is None or not settings.effective_broker_url.startswith(("redis://", "rediss://")):
        return  # the embedded default's folder broker has no autoscaling to feed
    QueueMetricsPublisher(
        broker_url=settings.effective_broker_url,
        environment=settings.effective_metrics_environment,
        queues=(DEFAULT_QUEUE,),
        interval=settings.metrics_interval_seconds,
        key_prefix=settings.redis_key_prefix,
    ).start()


@signals.task_failure.connect
def _count_task_failure(sender: Any = None, **_: Any) -> None:
    # Sent when a task failed for good (a retry sends task_retry instead).
    settings = getattr(getattr(sender, "app", None), "conf", {}).get("incident_tracker_settings")
    if settings is None:
        return
    delivery = getattr(sender.request, "delivery_info", None) or {}
    queue = delivery.get("routing_key") or DEFAULT_QUEUE
    emit(
        emf_record(
            environment=settings.effective_metrics_environment,
            queue=queue,
            values={metrics.METRIC_TASK_FAILURES: 1},
        )
    )


def _choose_the_schedule_files_dbm_backend() -> None:
    """Make dbm pick its backend now, before celery beat installs its signal handlers.

    Beat keeps its schedule in a shelve -> dbm file. The first dbm.open() in a process imports
    each backend dbm knows (dbm.gnu, dbm.ndbm, dbm.dumb; the first two fail where Python lacks
    _gdbm or _dbm, as here) and keeps the first that loads. Beat's SIGTERM handler saves the
    schedule, building the scheduler if it is not built yet, so a SIGTERM that landed during
    those imports (a deploy stopping a beat that has just started) opened the schedule again
    from inside one: "partially initialized module 'dbm.ndbm'" (or 'dbm.dumb'), a traceback,
    and beat deleted the schedule file as corrupt. A read of a file that cannot exist makes dbm
    choose its backend, then raises without creating anything.
    """
    try:
        with dbm.open(os.path.join(os.devnull, "schedule-probe"), "r"):
            pass  # not reached: the file cannot exist under /dev/null
    except dbm.error[0]:
        pass


_choose_the_schedule_files_dbm_backend()


def _app_from_environment() -> Celery:
    try:
        return make_celery(Settings.from_env())
    except SettingsError as error:
        # A wrong setting is an operator's problem to fix, not a traceback to read.
        print(f"Incident Tracker worker cannot start: {error}", file=sys.stderr)
        raise SystemExit(4) from None


app = _app_from_environment()
