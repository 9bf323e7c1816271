"""The worker's database sessions, from the same Settings as its Celery app (one engine per process)."""

from __future__ import annotations

from functools import cache

from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import make_engine, make_session_factory


@cache
def session_factory(settings: Settings) -> sessionmaker[Session]:
    """A session factory for `settings` (created once per worker process)."""
    return make_session_factory(make_engine(settings.effective_database_url))
