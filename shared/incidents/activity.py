"""An incident's last activity (`activity_at`): what `updated:` and the recency sorts read.

Its own changes (filing, edits, moves) set updated_at, and the same UPDATE sets activity_at
(models.Incident). Its comments, follow-ups and evidence leave the incident row alone: they move
it here, by an UPDATE of that one column, never through the ORM attribute. An attribute change
would bump the incident's optimistic `version`, and a comment would then turn someone's open
edit form into a conflict.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.incidents.models import Incident


def touch_activity(*, session: Session, incident_id: int, at: datetime | None = None) -> None:
    """Record activity on the incident at `at` (now), leaving its version alone."""
    # The table, not the mapped class: an UPDATE through the ORM's class is its bulk UPDATE, and
    # this one must be plain SQL that knows nothing of the version counter.
    incidents = cast(Table, Incident.__table__)
    session.execute(update(incidents).where(incidents.c.id == incident_id).values(activity_at=at or utcnow()))
    # A loaded copy of the incident would show the old time: let it read the new one. Expiring
    # one attribute leaves the object's pending changes (and its version) as they are.
    loaded = session.identity_map.get(session.identity_key(Incident, incident_id))
    if loaded is not None:
        session.expire(loaded, ["activity_at"])
