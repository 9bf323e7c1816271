"""The topic -> task registry: every route names a task the worker registers, and the beat
runs the outbox sweep and the audit anchor."""

from __future__ import annotations

from shared import events
from shared.events import EventType
from worker.celery_app import BEAT_SCHEDULE
from worker.celery_app import app as module_app
from worker.tasks import registry
from worker.tasks.audit import ANCHOR
from worker.tasks.outbox import SWEEP


def test_every_route_names_a_registered_task():
    assert registry.unrouted_tasks(module_app) == set()


def test_an_unregistered_route_is_reported(monkeypatch):
    monkeypatch.setattr(events, "TASK_ROUTES", {EventType.INCIDENT_CREATED: ("incident_tracker.nowhere",)})
    assert registry.unrouted_tasks(module_app) == {"incident_tracker.nowhere"}


def test_the_beat_sweeps_the_outbox_and_anchors_the_audit_chain():
    scheduled = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert {SWEEP, ANCHOR} <= scheduled <= set(module_app.tasks)


def test_event_types_are_stable_dotted_names():
    for member in EventType:
        domain, _, action = member.value.partition(".")
        assert domain in {"incident", "evidence", "user", "webhook", "follow_up"}, member
        assert action, member
    assert {"evidence.uploaded", "evidence.processed", "evidence.downloaded"} <= set(EventType)
    assert {"evidence.legal_hold_changed", "evidence.retried"} <= set(EventType)


def test_the_beat_tasks_anchor_and_sweep_with_the_worker_settings(database_url, db, users, tmp_path, monkeypatch):
    from shared.audit import anchors
    from shared.config import Settings
    from shared.evidence.storage import LocalStorage
    from worker.tasks.audit import anchor
    from worker.tasks.outbox import sweep

    settings = Settings(app_env="test", database_url=database_url, local_storage_path=str(tmp_path / "evidence"))
    monkeypatch.setitem(module_app.conf, "incident_tracker_settings", settings)
    written = anchor()
    assert written is not None
    assert written["events"] == len(users)
    assert anchors.latest_anchor(storage=LocalStorage(tmp_path / "evidence")).event_id == written["event_id"]
    # The users' messages need no task (no route): the sweep marks them published.
    assert sweep() == {"published": len(users), "failed": 0}
    assert sweep() == {"published": 0, "failed": 0}
