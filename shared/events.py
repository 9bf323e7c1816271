"""Every kind of event, named once: audit actions, outbox topics and the timeline use these.

A value is stored in `audit_events.action` and `outbox_messages.topic` and is hashed into the
audit chain, so a member's value never changes once released (add members, never rename).

`TASK_ROUTES` says which worker tasks an outbox message of each type is published to, by task
name only: the web service publishes without importing worker/ (and Celery stays out of shared/).
worker/tasks/registry.py checks at start-up that every name here is a registered task.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class EventType(enum.StrEnum):
    INCIDENT_CREATED = "incident.created"
    INCIDENT_STATUS_CHANGED = "incident.status_changed"
    INCIDENT_ASSIGNED = "incident.assigned"
    INCIDENT_PRIORITY_CHANGED = "incident.priority_changed"
    INCIDENT_EDITED = "incident.edited"
    INCIDENT_COMMENTED = "incident.commented"
    INCIDENT_COMMENT_REDACTED = "incident.comment_redacted"
    INCIDENT_WATCHED = "incident.watched"
    INCIDENT_UNWATCHED = "incident.unwatched"

    EVIDENCE_UPLOADED = "evidence.uploaded"
    EVIDENCE_PROCESSED = "evidence.processed"  # the verdict: clean, infected, rejected, error, not scanned
    EVIDENCE_DOWNLOADED = "evidence.downloaded"
    EVIDENCE_LEGAL_HOLD_CHANGED = "evidence.legal_hold_changed"
    EVIDENCE_RETRIED = "evidence.retried"

    USER_CREATED = "user.created"
    USER_ROLE_CHANGED = "user.role_changed"
    USER_ENABLED = "user.enabled"
    USER_DISABLED = "user.disabled"


# The verdict event under the name the issue also uses.
EVIDENCE_VERDICT = EventType.EVIDENCE_PROCESSED

# Event type -> names of the tasks its outbox message is published to (one message per task).
# A type with no entry needs no worker: its message is marked published at once.
TASK_ROUTES: Mapping[EventType, tuple[str, ...]] = {}


def tasks_for(topic: str, routes: Mapping[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """The task names an outbox message with this topic goes to (none for an unknown topic)."""
    table = TASK_ROUTES if routes is None else routes
    return tuple(table.get(topic, ()))
