"""The lifecycle exactly as issue 2's table states it: every (from, to) pair x every kind of user."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.accounts.models import User
from shared.db import utcnow
from shared.errors import PermissionDenied, TransitionNotAllowed, ValidationFailed
from shared.incidents import service as incidents
from shared.incidents.lifecycle import Requirement, Status, find_transition, parse_status
from shared.incidents.models import Incident
from shared.timeutil import as_utc

STATUSES = [s.value for s in Status]
WORKERS = {"member-owner", "member-reporter", "lead", "admin"}
LEADS = {"lead", "admin"}

# Issue 2, "Rules": the only moves there are, and who may make each.
ALLOWED = {
    ("open", "in_progress"): WORKERS,
    ("in_progress", "blocked"): WORKERS,
    ("blocked", "in_progress"): WORKERS,
    ("in_progress", "resolved"): WORKERS,
    ("blocked", "resolved"): WORKERS,
    ("resolved", "closed"): LEADS,
    ("resolved", "in_progress"): WORKERS,  # reopen
    ("closed", "in_progress"): LEADS,  # reopen a closed incident
    ("open", "closed"): LEADS,  # duplicate / won't fix
}
REQUIRED_FIELD = {
    ("in_progress", "blocked"): "reason",
    ("in_progress", "resolved"): "resolution",
    ("blocked", "resolved"): "resolution",
    ("resolved", "in_progress"): "reason",
    ("closed", "in_progress"): "reason",
    ("open", "closed"): "reason",
}

# kind of user -> (who acts, who reported the incident, who owns it)
ACTORS = {
    "member-owner": ("member", "lead", "member"),
    "member-reporter": ("member", "member", "lead"),
    "member-unrelated": ("other", "member", "member"),
    "lead": ("lead", "member", "member"),
    "admin": ("admin", "member", "member"),
}

ROLES = {"member": "member", "other": "member", "lead": "lead", "admin": "admin"}
PEOPLE_IDS = {name: number for number, name in enumerate(ROLES, start=1)}


def _in_memory(kind: str, status: str) -> tuple[User, Incident]:
    """(who acts, the incident) for this kind of user, as objects that never touch a database."""
    actor, reporter, owner = ACTORS[kind]
    person = User(id=PEOPLE_IDS[actor], role=ROLES[actor], is_active=True)
    incident = Incident(status=status, reporter_id=PEOPLE_IDS[reporter], owner_id=PEOPLE_IDS[owner])
    return person, incident


# The whole table (5 x 5 moves x 5 kinds of user) is pure: the state machine and the policy
# decide it without a database, so it is checked in memory.
@pytest.mark.parametrize("kind", ACTORS)
@pytest.mark.parametrize("source", STATUSES)
def test_the_moves_offered_are_exactly_the_table(source, kind):
    person, incident = _in_memory(kind, source)
    offered = {move.target.value for move in incidents.allowed_transitions(actor=person, incident=incident)}
    expected = {target for (start, target), kinds in ALLOWED.items() if start == source and kind in kinds}
    assert offered == expected


@pytest.mark.parametrize("target", STATUSES)
@pytest.mark.parametrize("source", STATUSES)
def test_the_state_machine_has_only_the_table_s_moves_and_their_requirements(source, target):
    move = find_transition(source, target)
    assert (move is not None) == ((source, target) in ALLOWED)
    if move is not None:
        required = {"reason": Requirement.REASON, "resolution": Requirement.RESOLUTION}
        assert move.requires == required.get(REQUIRED_FIELD.get((source, target), ""), Requirement.NONE)


# The service end to end, on each backend, for a sample of the table: moves each kind of user
# may make, a refusal by the policy and one by the state machine from several states.
DATABASE_CASES = [
    pytest.param(source, target, kind, id=f"{source}-to-{target}-by-{kind}")
    for source, target, kind in [
        ("open", "in_progress", "member-owner"),
        ("in_progress", "blocked", "member-reporter"),
        ("blocked", "resolved", "lead"),
        ("resolved", "closed", "admin"),
        ("closed", "in_progress", "lead"),
        ("open", "closed", "admin"),
        ("open", "in_progress", "member-unrelated"),
        ("resolved", "closed", "member-owner"),
        ("closed", "in_progress", "member-reporter"),
        ("open", "resolved", "admin"),
        ("closed", "open", "lead"),
        ("in_progress", "in_progress", "lead"),
    ]
]


def snapshot(incident: Incident) -> dict:
    # SQLite hands timestamps back without a zone; compare them as UTC.
    times = ("updated_at", "in_progress_at", "resolved_at", "closed_at")
    return {name: as_utc(getattr(incident, name)) for name in times} | {
        "status": incident.status,
        "version": incident.version,
        "blocked_reason": incident.blocked_reason,
        "resolution_summary": incident.resolution_summary,
    }


@pytest.mark.parametrize(("source", "target", "kind"), DATABASE_CASES)
def test_the_service_makes_or_refuses_the_move_as_the_table_says(
    db, users, make_incident, counts, source, target, kind
):
    actor, reporter, owner = ACTORS[kind]
    incident = make_incident(source, reporter=reporter, owner=owner)
    before, rows_before = snapshot(incident), counts()
    allowed = kind in ALLOWED.get((source, target), set())

    if allowed:
        moved = incidents.transition(
            session=db, incident_id=incident.id, actor=users[actor], to=target, reason="Because the runbook says so"
        )
        db.commit()
        assert moved.status == target
        assert moved.version == before["version"] + 1
        assert counts() == (rows_before[0] + 1, rows_before[1] + 1)
        return

    expected_error = PermissionDenied if (source, target) in ALLOWED else TransitionNotAllowed
    with pytest.raises(expected_error) as refused:
        incidents.transition(
            session=db, incident_id=incident.id, actor=users[actor], to=target, reason="Because the runbook says so"
        )
    message = str(refused.value)
    assert incident.key in message
    assert Status(target).label in message
    # Nothing pending in the session, and nothing in the database, changed.
    assert not db.new
    assert not db.dirty
    db.rollback()
    db.refresh(incident)
    assert snapshot(incident) == before
    assert counts() == rows_before


@pytest.mark.parametrize(("source", "target"), sorted(REQUIRED_FIELD), ids=lambda v: v)
@pytest.mark.parametrize("reason", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_required_reason_or_resolution_is_enforced(db, users, make_incident, counts, source, target, reason):
    incident = make_incident(source)
    before, rows_before = snapshot(incident), counts()
    with pytest.raises(ValidationFailed) as refused:
        incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to=target, reason=reason)
    assert list(refused.value.field_errors) == [REQUIRED_FIELD[(source, target)]]
    db.rollback()
    db.refresh(incident)
    assert snapshot(incident) == before
    assert counts() == rows_before


@pytest.mark.parametrize(
    ("source", "target"), [pair for pair in ALLOWED if pair not in REQUIRED_FIELD], ids=lambda v: v
)
def test_moves_without_requirements_need_no_reason(db, users, make_incident, source, target):
    incident = make_incident(source)
    moved = incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to=target)
    assert moved.status == target


def test_timestamps_are_set_by_the_machine_along_the_happy_path(db, users, make_incident):
    incident = make_incident("open")
    lead = users["lead"]
    assert incident.in_progress_at is None
    assert incident.resolved_at is None
    assert incident.closed_at is None

    def move(to, reason=None):
        start = utcnow()
        moved = incidents.transition(session=db, incident_id=incident.id, actor=lead, to=to, reason=reason)
        db.commit()
        db.refresh(moved)
        return start, moved

    start, moved = move("in_progress")
    assert start <= as_utc(moved.in_progress_at) <= utcnow()
    assert as_utc(moved.updated_at) >= start

    _, moved = move("blocked", "Waiting on AWS support")
    assert moved.blocked_reason == "Waiting on AWS support"
    _, moved = move("in_progress")
    assert moved.blocked_reason is None

    start, moved = move("resolved", "Scaled the writer up")
    assert moved.resolution_summary == "Scaled the writer up"
    assert start <= as_utc(moved.resolved_at) <= utcnow()
    assert moved.closed_at is None

    start, moved = move("closed")
    assert start <= as_utc(moved.closed_at) <= utcnow()
    assert moved.resolved_at is not None


@pytest.mark.parametrize("source", ["resolved", "closed"])
def test_reopening_clears_resolved_and_closed_times(db, users, make_incident, source):
    incident = make_incident(source)
    assert incident.resolved_at is not None
    reopened = incidents.transition(
        session=db, incident_id=incident.id, actor=users["lead"], to="in_progress", reason="It came back"
    )
    db.commit()
    db.refresh(reopened)
    assert reopened.status == "in_progress"
    assert reopened.resolved_at is None
    assert reopened.closed_at is None
    assert as_utc(reopened.in_progress_at) > utcnow() - timedelta(minutes=1)


@pytest.mark.parametrize(
    ("kind", "status", "offered"),
    [
        ("member-owner", "open", ["In Progress"]),
        ("member-unrelated", "open", []),
        ("lead", "open", ["In Progress", "Closed"]),
        ("member-reporter", "in_progress", ["Blocked", "Resolved"]),
        ("member-owner", "blocked", ["In Progress", "Resolved"]),
        ("member-owner", "resolved", ["Reopen"]),
        ("admin", "resolved", ["Closed", "Reopen"]),
        ("member-owner", "closed", []),
        ("lead", "closed", ["Reopen"]),
    ],
)
def test_the_buttons_offered_are_the_moves_allowed(db, users, make_incident, kind, status, offered):
    actor, reporter, owner = ACTORS[kind]
    incident = make_incident(status, reporter=reporter, owner=owner)
    labels = [t.label for t in incidents.allowed_transitions(actor=users[actor], incident=incident)]
    assert sorted(labels) == sorted(offered)


def test_an_unknown_status_is_refused_by_name(db, users, make_incident):
    incident = make_incident("open")
    with pytest.raises(TransitionNotAllowed, match="no status 'done'"):
        incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="done")


@pytest.mark.parametrize(
    ("text", "status"),
    [("in_progress", "in_progress"), ("In Progress", "in_progress"), ("in-progress", "in_progress"), ("OPEN", "open")],
)
def test_parse_status_accepts_what_people_type(text, status):
    assert parse_status(text) == status


def test_parse_status_names_the_bad_value():
    with pytest.raises(ValueError, match="'done'"):
        parse_status("done")
