"""Who is emailed about what: the rules of issue 10, as a table."""

from __future__ import annotations

import pytest

from shared.notifications.rules import EmailPreference, EventKind, recipients_for

ACTOR, OWNER, WATCHER_A, WATCHER_B, LEAD_A, LEAD_B, UPLOADER, BYSTANDER = 1, 2, 3, 4, 5, 6, 7, 8
PEOPLE = {
    "owner_id": OWNER,
    "watcher_ids": (WATCHER_A, WATCHER_B),
    "lead_ids": (LEAD_A, LEAD_B),
    "uploader_id": UPLOADER,
}
EVERYONE_BUT_ACTOR = {OWNER, WATCHER_A, WATCHER_B, LEAD_A, LEAD_B, UPLOADER}


@pytest.mark.parametrize(
    ("kind", "priority", "expected"),
    [
        (EventKind.ASSIGNED, "P3", {OWNER}),
        (EventKind.ASSIGNED, "P1", {OWNER}),
        (EventKind.STATUS_CHANGED, "P3", {OWNER, WATCHER_A, WATCHER_B}),
        (EventKind.COMMENT_CREATED, "P4", {OWNER, WATCHER_A, WATCHER_B}),
        # Leads about a new P1; the person it was filed for, always.
        (EventKind.INCIDENT_CREATED, "P1", {LEAD_A, LEAD_B, OWNER}),
        (EventKind.INCIDENT_CREATED, "P2", {OWNER}),
        (EventKind.INCIDENT_CREATED, "P3", {OWNER}),
        (EventKind.INCIDENT_CREATED, "P4", {OWNER}),
        (EventKind.EVIDENCE_INFECTED, "P3", {LEAD_A, LEAD_B}),
        (EventKind.EVIDENCE_VERDICT, "P3", {UPLOADER}),
    ],
)
def test_each_kind_reaches_exactly_its_people(kind, priority, expected):
    got = recipients_for(kind=kind, priority=priority, actor_id=ACTOR, **PEOPLE)
    assert got == expected
    assert BYSTANDER not in got


@pytest.mark.parametrize("kind", list(EventKind))
@pytest.mark.parametrize("actor", sorted(EVERYONE_BUT_ACTOR))
def test_nobody_is_told_about_their_own_action(kind, actor):
    assert actor not in recipients_for(kind=kind, priority="P1", actor_id=actor, **PEOPLE)


@pytest.mark.parametrize("kind", list(EventKind))
@pytest.mark.parametrize(
    ("preference", "priority", "receives"),
    [
        (EmailPreference.ALL, "P1", True),
        (EmailPreference.ALL, "P4", True),
        (EmailPreference.P1_P2, "P1", True),
        (EmailPreference.P1_P2, "P2", True),
        (EmailPreference.P1_P2, "P3", False),
        (EmailPreference.P1_P2, "P4", False),
        (EmailPreference.OFF, "P1", False),
        (EmailPreference.OFF, "P4", False),
        (None, "P4", True),  # no stored preference: everything
    ],
)
def test_preferences_apply_to_every_kind(kind, preference, priority, receives):
    # Pick someone the kind would reach; INCIDENT_CREATED reaches leads only for a P1.
    user = {
        EventKind.ASSIGNED: OWNER,
        EventKind.STATUS_CHANGED: WATCHER_A,
        EventKind.COMMENT_CREATED: OWNER,
        EventKind.INCIDENT_CREATED: LEAD_A,
        EventKind.PRIORITY_CHANGED: LEAD_A,
        EventKind.EVIDENCE_INFECTED: LEAD_B,
        EventKind.EVIDENCE_VERDICT: UPLOADER,
        EventKind.FOLLOW_UP_ASSIGNED: OWNER,  # owner_id: the follow-up's new owner
        EventKind.FOLLOW_UP_MOVED: OWNER,  # owner_id: the owner it was moved away from
    }[kind]
    # PRIORITY_CHANGED reaches anyone only when raised to P1 (here: to `priority`, from unknown).
    priority_reaches = kind not in (EventKind.INCIDENT_CREATED, EventKind.PRIORITY_CHANGED) or priority == "P1"
    if kind in (EventKind.ASSIGNED, EventKind.FOLLOW_UP_ASSIGNED) and preference is EmailPreference.P1_P2:
        receives = True  # being made the owner (of the incident, or a follow-up) is mailed whatever the priority
    preferences = {} if preference is None else {user: preference}
    got = recipients_for(kind=kind, priority=priority, actor_id=ACTOR, preferences=preferences, **PEOPLE)
    assert (user in got) is (receives and priority_reaches)


def test_a_user_in_several_roles_gets_one_mail():
    got = recipients_for(
        kind=EventKind.STATUS_CHANGED, priority="P2", actor_id=ACTOR, owner_id=OWNER, watcher_ids=(OWNER, WATCHER_A)
    )
    assert got == {OWNER, WATCHER_A}


def test_missing_people_and_system_actor():
    assert recipients_for(kind=EventKind.ASSIGNED, priority="P1", actor_id=None, owner_id=None) == set()
    assert recipients_for(kind="evidence_verdict", priority="P1", actor_id=None, uploader_id=UPLOADER) == {UPLOADER}
    assert recipients_for(kind=EventKind.EVIDENCE_VERDICT, priority="P1", actor_id=None, uploader_id=None) == set()


def test_preferences_given_as_stored_strings():
    got = recipients_for(
        kind=EventKind.EVIDENCE_INFECTED,
        priority="P3",
        actor_id=None,
        lead_ids=(LEAD_A, LEAD_B),
        preferences={LEAD_A: "off", LEAD_B: "all"},
    )
    assert got == {LEAD_B}
