"""The one access policy: `can(user, action, incident)` answers for views, API, CLI and worker."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.accounts.models import User
    from shared.incidents.models import Incident


class Action(enum.StrEnum):
    VIEW = "view"  # see incidents and their timelines
    CREATE = "create"  # file an incident
    COMMENT = "comment"
    WATCH = "watch"
    WORK = "work"  # edit details and make the everyday lifecycle moves on an incident
    ASSIGN = "assign"
    PRIORITISE = "prioritise"
    CLOSE = "close"  # close a resolved incident, or close an open one as duplicate / won't fix
    REOPEN_CLOSED = "reopen_closed"
    MANAGE_USERS = "manage_users"
    VIEW_AUDIT = "view_audit"
    REDACT = "redact"  # replace a comment's body with a redaction notice (admins only)


EVERYONE = {Action.VIEW, Action.CREATE, Action.COMMENT, Action.WATCH}
LEAD_ONLY = {
    Action.ASSIGN,
    Action.PRIORITISE,
    Action.CLOSE,
    Action.REOPEN_CLOSED,
    Action.VIEW_AUDIT,
}
ROLE_ACTIONS = {
    "member": EVERYONE,
    "lead": EVERYONE | {Action.WORK} | LEAD_ONLY,
    "admin": set(Action),
}


def can(user: User | None, action: Action, incident: Incident | None = None) -> bool:
    """True when `user` may do `action` (on `incident`, where the action concerns one)."""
    if user is None or not user.is_active:
        return False
    if action in ROLE_ACTIONS.get(user.role, set()):
        return True
    # Members work the incidents they own or reported.
    if action == Action.WORK and user.role == "member" and incident is not None:
        return user.id in (incident.owner_id, incident.reporter_id)
    return False
