"""The incident lifecycle as an explicit state machine: the only moves there are.

Open -> In Progress -> Blocked -> Resolved -> Closed, plus reopen and close-as-duplicate.
Who may make a move is a permission (`Action`), answered by shared.permissions.can.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from shared.permissions import Action


class Status(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    Status.OPEN: "Open",
    Status.IN_PROGRESS: "In Progress",
    Status.BLOCKED: "Blocked",
    Status.RESOLVED: "Resolved",
    Status.CLOSED: "Closed",
}


class Requirement(enum.StrEnum):
    NONE = ""
    REASON = "reason"
    RESOLUTION = "resolution summary"


@dataclass(frozen=True)
class Transition:
    source: Status
    target: Status
    action: Action  # the permission a user needs for this move
    requires: Requirement
    label: str  # the button a person clicks, named after the target ("Reopen" for reopening)


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Status.OPEN, Status.IN_PROGRESS, Action.WORK, Requirement.NONE, "In Progress"),
    Transition(Status.IN_PROGRESS, Status.BLOCKED, Action.WORK, Requirement.REASON, "Blocked"),
    Transition(Status.BLOCKED, Status.IN_PROGRESS, Action.WORK, Requirement.NONE, "In Progress"),
    Transition(
        Status.IN_PROGRESS,
        Status.RESOLVED,
        Action.WORK,
        Requirement.RESOLUTION,
        "Resolved",
    ),
    Transition(Status.BLOCKED, Status.RESOLVED, Action.WORK, Requirement.RESOLUTION, "Resolved"),
    Transition(Status.RESOLVED, Status.CLOSED, Action.CLOSE, Requirement.NONE, "Closed"),
    Transition(Status.RESOLVED, Status.IN_PROGRESS, Action.WORK, Requirement.REASON, "Reopen"),
    Transition(
        Status.CLOSED,
        Status.IN_PROGRESS,
        Action.REOPEN_CLOSED,
        Requirement.REASON,
        "Reopen",
    ),
    Transition(Status.OPEN, Status.CLOSED, Action.CLOSE, Requirement.REASON, "Closed"),
)

# Which timestamp each target status stamps. Set by the machine, never by hand.
TIMESTAMP_FIELD = {
    Status.IN_PROGRESS: "in_progress_at",
    Status.BLOCKED: "blocked_at",
    Status.RESOLVED: "resolved_at",
    Status.CLOSED: "closed_at",
}


def status_since(incident) -> datetime:
    """When the incident entered its current status ("In status for"): the stamp the machine
    set on the latest move there; Open starts at creation. An incident blocked before blocked_at
    existed and not found in the audit trail by migration 0025 falls back to its last change."""
    if incident.status == Status.OPEN:
        return incident.created_at
    stamp = TIMESTAMP_FIELD.get(Status(incident.status))
    return (getattr(incident, stamp) if stamp else None) or incident.updated_at


def parse_status(value: str) -> Status:
    """Accept "in_progress", "in-progress", "In Progress"; raise ValueError otherwise."""
    normalised = value.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Status(normalised)
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise ValueError(f"unknown status {value!r} (use one of: {names})") from None


def find_transition(source: Status | str, target: Status | str) -> Transition | None:
    source, target = Status(source), Status(target)
    for transition in TRANSITIONS:
        if transition.source == source and transition.target == target:
            return transition
    return None


def transitions_from(source: Status | str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == Status(source)]


def is_reopen(source: object, target: object) -> bool:
    """Whether a move from `source` to `target` is one of the machine's "Reopen" moves (a finished
    incident back to work); False for anything that is not a move, such as an old event's unknown status."""
    try:
        move = find_transition(str(source), str(target))
    except ValueError:
        return False
    return move is not None and move.label == "Reopen"
