"""Per-process resources of the worker: database sessions, storage, scanner (built lazily)."""

from __future__ import annotations

import functools

from shared.config import Settings
from shared.db import make_engine, make_session_factory
from shared.evidence.storage import make_storage
from shared.models import import_all_models
from worker.processing.pipeline import Runtime
from worker.processing.scanner import ClamdScanner

# Retries and redeliveries of one file beyond the task's own retry budget: a worker killed
# under a file (kill -9, OOM) redelivers it; after this many runs the file goes to `error`.
EXTRA_REDELIVERIES = 3


@functools.cache
def runtime_for(settings: Settings) -> Runtime:
    """Built on first use inside the worker process (after the prefork fork, never before)."""
    import_all_models()
    factory = make_session_factory(make_engine(settings.effective_database_url))
    scanner = (
        ClamdScanner(settings.clamd_address, timeout=settings.clamd_timeout_seconds)
        if settings.scanning_enabled
        else None
    )
    return Runtime(
        session_factory=factory,
        storage=make_storage(settings),
        scanner=scanner,
        max_attempts=settings.task_max_retries + 1 + EXTRA_REDELIVERIES,
    )
