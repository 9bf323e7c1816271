"""Evidence fixtures: incidents to attach to, stored objects, real servers (moto, clamd)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# The sample files (EICAR, bombs, polyglots) live with the worker tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "worker"))

from factories import build_incident
from servers import clamd_server, s3_endpoint_fixture  # noqa: F401 - provides the s3_endpoint fixture
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.incidents.models import Incident


@pytest.fixture
def make_incident(db: Session, users: dict[str, User]) -> Callable[..., Incident]:
    def make(status: str = "open", *, reporter: str = "member", owner: str | None = "member", **details) -> Incident:
        return build_incident(db, users, status, reporter=reporter, owner=owner, **details)

    return make
