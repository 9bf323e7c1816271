"""Which task an outbox message is published to: `shared.events.TASK_ROUTES`, checked here.

The routes are plain task names in shared/ so the web service can publish without importing
worker/. This module is the worker's side of the contract: `unrouted_tasks(app)` lists route
targets that are not registered tasks (a test keeps it empty, and the sweep logs it).
"""

from __future__ import annotations

from collections.abc import Mapping

from celery import Celery

from shared import events


def routes() -> Mapping[str, tuple[events.Route, ...]]:
    """Event type -> the routes (task name, kwargs) its messages go to."""
    return {topic: events.tasks_for(topic) for topic in events.TASK_ROUTES}


def unrouted_tasks(app: Celery) -> set[str]:
    """Task names a route names that `app` does not know (after its task modules are imported)."""
    app.loader.import_default_modules()
    return {route.task for routes_ in routes().values() for route in routes_} - set(app.tasks)
