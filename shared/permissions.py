"""The one access policy: `can(user, action, incident)` answers for views, API, CLI and worker."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.accounts.models import User
    from shared.incidents.models import FollowUp, Incident


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
    ATTACH_EVIDENCE = "attach_evidence"  # upload files to an incident
    LEGAL_HOLD = "legal_hold"  # put an incident's evidence on legal hold, or lift it
    RETRY_EVIDENCE = "retry_evidence"  # run the checks again on a file that ended in `error`
    SHARE_VIEW = "share_view"  # save a dashboard view that everyone sees
    REDACT = "redact"  # replace a comment's body with a redaction notice (admins only)
    MANAGE_WEBHOOKS = "manage_webhooks"  # outgoing webhook endpoints (admins only)
    # Delete a follow-up (one added by mistake): leads and admins any; anyone its creator while
    # it is open. Adding, ticking and editing follow-ups is COMMENT: team work, on any incident.
    DELETE_FOLLOW_UP = "delete_follow_up"


EVERYONE = {Action.VIEW, Action.CREATE, Action.COMMENT, Action.WATCH, Action.ATTACH_EVIDENCE}
LEAD_ONLY = {
    Action.ASSIGN,
    Action.PRIORITISE,
    Action.CLOSE,
    Action.REOPEN_CLOSED,
    Action.VIEW_AUDIT,
    Action.LEGAL_HOLD,
    Action.RETRY_EVIDENCE,
    Action.SHARE_VIEW,
    Action.DELETE_FOLLOW_UP,
}
ROLE_ACTIONS = {
    "member": EVERYONE,
    "lead": EVERYONE | {Action.WORK} | LEAD_ONLY,
    "admin": set(Action),
}


class SystemPrincipal:
    """The deployment itself acting: the operator at the CLI (who already has shell access to
    it), the worker, migrations and seeds. Named explicitly so that no call reaches a service
    with "nobody" and skips the policy by accident; audit events record it as no user (id None)."""

    id = None
    role = "system"
    is_active = True
    email = "system"
    name = "System"

    def __repr__(self) -> str:
        return "<SystemPrincipal>"


SYSTEM = SystemPrincipal()


def can(
    user: User | SystemPrincipal | None,
    action: Action,
    incident: Incident | None = None,
    *,
    follow_up: FollowUp | None = None,
) -> bool:
    """True when `user` may do `action` (on `incident`, or its `follow_up`, where the action
    concerns one)."""
    if isinstance(user, SystemPrincipal):
        return True
    if user is None or not user.is_active:
        return False
    if action in ROLE_ACTIONS.get(user.role, set()):
        return True
    # Members work the incidents they own or reported.
    if action == Action.WORK and user.role == "member" and incident is not None:
        return user.id in (incident.owner_id, incident.reporter_id)
    # Whoever added a follow-up may take it back while it is open (a typo, a duplicate); once
    # done it is part of the record, and only a lead or an admin removes it.
    if action == Action.DELETE_FOLLOW_UP and follow_up is not None:
        return user.id == follow_up.created_by_id and follow_up.done_at is None
    return False
