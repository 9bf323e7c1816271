"""Who gets an email about an event: the rules of issue 10 as one pure function."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping


class EventKind(enum.StrEnum):
    ASSIGNED = "assigned"
    STATUS_CHANGED = "status_changed"
    COMMENT_CREATED = "comment_created"
    INCIDENT_CREATED = "incident_created"
    PRIORITY_CHANGED = "priority_changed"  # mailed only when raised to P1 (see recipients_for)
    EVIDENCE_INFECTED = "evidence_infected"
    EVIDENCE_VERDICT = "evidence_verdict"
    FOLLOW_UP_ASSIGNED = "follow_up_assigned"  # a follow-up was given to owner_id
    FOLLOW_UP_MOVED = "follow_up_moved"  # a follow-up owner_id had was given to someone else (or nobody)


class EmailPreference(enum.StrEnum):
    """A user's choice on /profile."""

    ALL = "all"
    P1_P2 = "p1_p2"  # only about P1 and P2 incidents
    OFF = "off"


URGENT_PRIORITIES = frozenset({"P1", "P2"})
# The priority that pages the leads: filed as it, or raised to it.
PAGING_PRIORITY = "P1"


def recipients_for(
    *,
    kind: EventKind | str,
    priority: str,
    actor_id: int | None,
    owner_id: int | None = None,
    watcher_ids: Iterable[int] = (),
    lead_ids: Iterable[int] = (),
    uploader_id: int | None = None,
    preferences: Mapping[int, EmailPreference | str] | None = None,
    previous_priority: str = "",
) -> frozenset[int]:
    """The user ids to email about one event.

    priority is the incident's as the event left it; previous_priority, for PRIORITY_CHANGED,
    what it was before ("" when not known). owner_id is the incident's owner after the event
    (the new assignee for ASSIGNED; for FOLLOW_UP_ASSIGNED, the follow-up's new owner; for
    FOLLOW_UP_MOVED, the owner it was moved away from, who is no longer made anything). Nobody
    is told about their own action (actor_id; None for the system, e.g. the scanner). A user
    with no stored preference gets everything. P1_P2 applies to every kind, infected uploads
    included, because the user chose it knowing the incident's priority is what it is about, but
    never hides from someone that they were made an incident's owner (assigned, or filed for
    them) or given a follow-up: that is theirs to act on, P3 or not. A follow-up taken off
    someone is not an assignment to them: under P1_P2 they hear of it about P1 and P2 incidents.
    """
    kind = EventKind(kind)
    candidates: set[int | None]
    if kind in (EventKind.ASSIGNED, EventKind.FOLLOW_UP_ASSIGNED, EventKind.FOLLOW_UP_MOVED):
        candidates = {owner_id}
    elif kind in (EventKind.STATUS_CHANGED, EventKind.COMMENT_CREATED):
        candidates = {owner_id, *watcher_ids}
    elif kind is EventKind.INCIDENT_CREATED:
        # Leads about a new P1; and whoever it was filed for (an alert's on-call person).
        candidates = {*(lead_ids if priority == PAGING_PRIORITY else ()), owner_id}
    elif kind is EventKind.PRIORITY_CHANGED:
        # Raised to P1 pages the leads as a new P1 does, and tells the people on the incident.
        # Any other change mails nobody (the timeline and the incident.updated webhook have it).
        # An unknown "from" still counts: a recorded change never keeps the priority it had.
        raised = priority == PAGING_PRIORITY and previous_priority != PAGING_PRIORITY
        candidates = {*lead_ids, owner_id, *watcher_ids} if raised else set()
    elif kind is EventKind.EVIDENCE_INFECTED:
        candidates = set(lead_ids)
    else:  # EVIDENCE_VERDICT
        candidates = {uploader_id}

    preferences = preferences or {}
    # The owner_id this event gave: an assignment, sent under "P1 and P2 only" too.
    made_owner = kind in (EventKind.ASSIGNED, EventKind.INCIDENT_CREATED, EventKind.FOLLOW_UP_ASSIGNED)
    chosen: set[int] = set()
    for user_id in candidates:
        if user_id is None or user_id == actor_id:
            continue
        preference = EmailPreference(preferences.get(user_id, EmailPreference.ALL))
        if preference is EmailPreference.OFF:
            continue
        urgent_enough = priority in URGENT_PRIORITIES or (made_owner and user_id == owner_id)
        if preference is EmailPreference.P1_P2 and not urgent_enough:
            continue
        chosen.add(user_id)
    return frozenset(chosen)
