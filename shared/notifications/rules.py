"""Who gets an email about an event: the rules of issue 10 as one pure function."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping


class EventKind(enum.StrEnum):
    ASSIGNED = "assigned"
    STATUS_CHANGED = "status_changed"
    COMMENT_CREATED = "comment_created"
    INCIDENT_CREATED = "incident_created"
    EVIDENCE_INFECTED = "evidence_infected"
    EVIDENCE_VERDICT = "evidence_verdict"


class EmailPreference(enum.StrEnum):
    """A user's choice on /profile."""

    ALL = "all"
    P1_P2 = "p1_p2"  # only about P1 and P2 incidents
    OFF = "off"


URGENT_PRIORITIES = frozenset({"P1", "P2"})


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
) -> frozenset[int]:
    """The user ids to email about one event.

    owner_id is the incident's owner after the event (the new assignee for ASSIGNED). Nobody is
    told about their own action (actor_id; None for the system, e.g. the scanner). A user with
    no stored preference gets everything; P1_P2 applies to every kind, infected uploads included,
    because the user chose it knowing the incident's priority is what it is about.
    """
    kind = EventKind(kind)
    candidates: set[int | None]
    if kind is EventKind.ASSIGNED:
        candidates = {owner_id}
    elif kind in (EventKind.STATUS_CHANGED, EventKind.COMMENT_CREATED):
        candidates = {owner_id, *watcher_ids}
    elif kind is EventKind.INCIDENT_CREATED:
        # Leads about a new P1; and whoever it was filed for (an alert's on-call person).
        candidates = {*(lead_ids if priority == "P1" else ()), owner_id}
    elif kind is EventKind.EVIDENCE_INFECTED:
        candidates = set(lead_ids)
    else:  # EVIDENCE_VERDICT
        candidates = {uploader_id}

    preferences = preferences or {}
    chosen: set[int] = set()
    for user_id in candidates:
        if user_id is None or user_id == actor_id:
            continue
        preference = EmailPreference(preferences.get(user_id, EmailPreference.ALL))
        if preference is EmailPreference.OFF:
            continue
        if preference is EmailPreference.P1_P2 and priority not in URGENT_PRIORITIES:
            continue
        chosen.add(user_id)
    return frozenset(chosen)
