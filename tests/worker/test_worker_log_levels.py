"""The beat's routine ticks log at DEBUG; a periodic task that did something, and every other
task, keep their INFO lines. Found by a platform engineer: at INFO the dispatch task alone wrote
three lines every 5 s ("Sending due task", "received", "succeeded ... {'emails': 0, ...}"),
burying request lines and warnings in `make run`'s output.

Through the loggers and the calls Celery itself writes those lines with: the beat's
`Scheduler.apply_entry`, the worker's receipt (celery.worker.strategy) and `celery.app.trace.info`.
(tests/delivery/test_delivery_make_run.py watches a real beat and worker.)"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from celery.app import trace
from celery.beat import ScheduleEntry, Scheduler
from celery.worker import strategy

from worker.celery_app import app
from worker.tasks.notifications import DISPATCH_DUE, SEND_EMAIL
from worker.tasks.outbox import SWEEP

LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


def _at(caplog: pytest.LogCaptureFixture, level: int) -> None:
    for name in (None, *LOGGERS):
        caplog.set_level(level, logger=name)


def _tick(task: str, return_value: str) -> None:
    """One beat tick of `task` and the worker running it, as Celery logs them."""
    scheduler = Scheduler(app, lazy=True)
    scheduler.apply_async = lambda entry, producer=None, advance=True, **_: SimpleNamespace(id="tick-1")
    scheduler.apply_entry(ScheduleEntry(name="tick", task=task, schedule=5.0, app=app))
    received = {"id": "tick-1", "name": task, "args": "()", "kwargs": "{}", "eta": None}
    strategy.logger.info(trace.LOG_RECEIVED, received, extra={"data": received})
    trace.info(
        trace.LOG_SUCCESS,
        {"id": "tick-1", "name": task, "return_value": return_value, "runtime": 0.01, "args": "()", "kwargs": "{}"},
    )


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(record.levelname, record.getMessage()) for record in caplog.records if record.name in LOGGERS]


def test_a_tick_that_found_nothing_to_do_writes_nothing_at_info(caplog):
    _at(caplog, logging.INFO)
    _tick(DISPATCH_DUE, "{'emails': 0, 'webhooks': 0}")
    _tick(SWEEP, "{'published': 0, 'failed': 0}")
    assert _lines(caplog) == []


def test_a_tick_that_did_something_keeps_its_info_line(caplog):
    _at(caplog, logging.INFO)
    _tick(SWEEP, "{'published': 3, 'failed': 0}")
    assert _lines(caplog) == [
        ("INFO", "Task incident_tracker.outbox.sweep[tick-1] succeeded in 0.01s: {'published': 3, 'failed': 0}")
    ]


def test_other_tasks_keep_their_info_lines(caplog):
    _at(caplog, logging.INFO)
    received = {"id": "mail-1", "name": SEND_EMAIL, "args": "()", "kwargs": "{}", "eta": None}
    strategy.logger.info(trace.LOG_RECEIVED, received, extra={"data": received})
    trace.info(trace.LOG_SUCCESS, {"id": "mail-1", "name": SEND_EMAIL, "return_value": "None", "runtime": 0.2})
    assert [level for level, _ in _lines(caplog)] == ["INFO", "INFO"]


def test_loglevel_debug_shows_every_tick_as_debug(caplog):
    _at(caplog, logging.DEBUG)
    _tick(DISPATCH_DUE, "{'emails': 0, 'webhooks': 0}")
    lines = [(level, message) for level, message in _lines(caplog) if "sent. id->" not in message]
    assert lines == [
        ("DEBUG", "Scheduler: Sending due task tick (incident_tracker.notifications.dispatch_due)"),
        ("DEBUG", "Task incident_tracker.notifications.dispatch_due[tick-1] received"),
        (
            "DEBUG",
            "Task incident_tracker.notifications.dispatch_due[tick-1] succeeded in 0.01s: {'emails': 0, 'webhooks': 0}",
        ),
    ]
