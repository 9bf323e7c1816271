"""Follow-ups on an incident: who may add, tick, edit and delete them, what is refused (naming
the field and the limit), and that every change is one event on the incident's audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shared.events import EventType
from shared.incidents import export, timers
from shared.incidents import follow_ups as service
from shared.incidents import service as incidents
from shared.incidents.models import FollowUp
from shared.permissions import Action, can
from shared.timeutil import as_utc


def _events(db, incident, prefix="follow_up."):
    db.expire_all()
    return [
        event for event in audit.incident_events(session=db, incident_id=incident.id) if event.action.startswith(prefix)
    ]


def _add(db, users, incident, who="member", title="Add an alert on replica lag", **more):
    item = service.add_follow_up(session=db, actor=users[who], incident_id=incident.key, title=title, **more)
    db.commit()
    return item


def test_a_member_adds_a_follow_up_with_an_owner_and_a_due_date(db, users, make_incident):
    incident = make_incident("open", owner="other")  # not theirs: follow-ups are team work
    due = timers.today() + timedelta(days=7)
    item = _add(
        db, users, incident, "member", title="  Add replica lag\talert ", owner_id=users["lead"].id, due_date=due
    )

    (listed,) = service.list_follow_ups(session=db, actor=users["other"], incident_id=incident.key)
    assert listed.id == item.id
    assert (listed.title, listed.owner and listed.owner.name, listed.due_date, listed.is_done) == (
        "Add replica lag alert",  # on one line, trimmed, as a title is
        "Lee Lead",
        due,
        False,
    )
    (event,) = _events(db, incident)
    assert event.action == EventType.FOLLOW_UP_CREATED
    assert event.actor_id == users["member"].id
    assert event.data == {
        "follow_up_id": item.id,
        "title": "Add replica lag alert",
        "owner_id": users["lead"].id,
        "due_date": due.isoformat(),
    }


def test_adding_a_follow_up_leaves_the_incident_and_its_version_alone(db, users, make_incident):
    incident = make_incident("in_progress")
    version, updated = incident.version, as_utc(incident.updated_at)
    _add(db, users, incident)
    db.expire_all()
    again = incidents.get_incident(session=db, ref=incident.id)
    assert (again.version, as_utc(again.updated_at)) == (version, updated)
    # So a status change from a page drawn before it still goes through.
    incidents.transition(
        session=db, incident_id=incident.id, actor=users["lead"], to="blocked", reason="AWS", expected_version=version
    )


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "Give the follow-up a title: what is to be done."),
        ("   ", "Give the follow-up a title: what is to be done."),
        ("x" * 201, "The title is too long: use at most 200 characters."),
    ],
)
def test_a_bad_title_is_refused_naming_the_field_and_the_limit(db, users, make_incident, counts, title, message):
    incident = make_incident("open")
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        service.add_follow_up(session=db, actor=users["member"], incident_id=incident.id, title=title)
    assert refused.value.field_errors == {"title": message}
    db.rollback()
    assert counts() == before


def test_a_200_character_title_is_fine(db, users, make_incident):
    assert len(_add(db, users, make_incident("open"), title="y" * 200).title) == 200


def test_a_title_with_control_characters_is_refused(db, users, make_incident):
    with pytest.raises(ValidationFailed) as refused:
        service.add_follow_up(
            session=db, actor=users["member"], incident_id=make_incident().id, title="Rotate\u202ekey"
        )
    assert "invisible control" in refused.value.field_errors["title"]


def test_the_owner_must_be_an_active_user_and_the_due_date_not_past(db, users, make_incident):
    incident = make_incident("open")
    with pytest.raises(ValidationFailed) as refused:
        service.add_follow_up(session=db, actor=users["member"], incident_id=incident.id, title="x", owner_id=9999)
    assert refused.value.field_errors == {"owner": "Choose an active user as the follow-up's owner, or nobody."}
    db.rollback()
    with pytest.raises(ValidationFailed) as refused:
        service.add_follow_up(
            session=db,
            actor=users["member"],
            incident_id=incident.id,
            title="x",
            due_date=timers.today() - timedelta(days=5),
        )
    earliest = timers.today() - timedelta(days=1)  # a reader west of UTC may still be on UTC's yesterday
    assert refused.value.field_errors == {"due_date": f"Choose {earliest.isoformat()} or a later day as the due date."}


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_resolved_and_closed_incidents_still_take_follow_ups(db, users, make_incident, status):
    incident = make_incident(status)
    item = _add(db, users, incident, "other")
    service.set_done(session=db, actor=users["other"], incident_id=incident.id, follow_up_id=item.id, done=True)
    db.commit()
    assert service.list_follow_ups(session=db, actor=users["other"], incident_id=incident.id)[0].is_done


def test_open_follow_ups_do_not_block_closing(db, users, make_incident):
    incident = make_incident("resolved")
    _add(db, users, incident)
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="closed")
    db.commit()
    assert service.open_count(service.list_follow_ups(session=db, actor=users["lead"], incident_id=incident.id)) == 1


def test_ticking_done_and_reopening_are_audited_once_each(db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident)
    done = service.set_done(session=db, actor=users["other"], incident_id=incident.id, follow_up_id=item.id, done=True)
    assert (done.done_by_id, done.is_done) == (users["other"].id, True)
    # A second tick (someone else, the same moment) is the same state: nothing new.
    service.set_done(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=item.id, done=True)
    db.commit()
    service.set_done(session=db, actor=users["member"], incident_id=incident.id, follow_up_id=item.id, done=False)
    db.commit()
    actions = [(event.action, event.actor_id, event.data.get("title")) for event in _events(db, incident)]
    assert actions == [
        ("follow_up.created", users["member"].id, "Add an alert on replica lag"),
        ("follow_up.completed", users["other"].id, "Add an alert on replica lag"),
        ("follow_up.reopened", users["member"].id, "Add an alert on replica lag"),
    ]
    db.expire_all()
    again = db.get(FollowUp, item.id)
    assert (again.done_at, again.done_by_id) == (None, None)


def test_an_edit_records_each_change_from_and_to(db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident, owner_id=users["member"].id)
    due = timers.today() + timedelta(days=3)
    service.update_follow_up(
        session=db,
        actor=users["other"],
        incident_id=incident.id,
        follow_up_id=item.id,
        title="Add an alert on replica lag > 30 s",
        owner_id=users["other"].id,
        due_date=due,
        expected_version=item.version,
    )
    db.commit()
    event = _events(db, incident)[-1]
    assert event.action == EventType.FOLLOW_UP_UPDATED
    assert event.data["changes"] == {
        "title": {"from": "Add an alert on replica lag", "to": "Add an alert on replica lag > 30 s"},
        "owner": {"from": users["member"].id, "to": users["other"].id},
        "due date": {"from": None, "to": due.isoformat()},
    }


def test_an_edit_that_changes_nothing_records_nothing(db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident)
    service.update_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=item.id, title=" " + item.title
    )
    db.commit()
    assert len(_events(db, incident)) == 1


def test_an_edit_from_a_stale_form_is_a_conflict(db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident)
    drawn = item.version
    service.update_follow_up(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=item.id, title="A")
    db.commit()
    with pytest.raises(Conflict, match="changed by someone else"):
        service.update_follow_up(
            session=db,
            actor=users["member"],
            incident_id=incident.id,
            follow_up_id=item.id,
            title="B",
            expected_version=drawn,
        )


def test_an_overdue_due_date_left_as_it_is_does_not_block_a_title_change(db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident, due_date=timers.today())
    db.execute(update(FollowUp).values(due_date=timers.today() - timedelta(days=10)))
    db.commit()
    db.expire_all()
    service.update_follow_up(
        session=db, actor=users["member"], incident_id=incident.id, follow_up_id=item.id, title="Z"
    )
    db.commit()


def test_a_follow_up_of_another_incident_is_not_found(db, users, make_incident):
    first, second = make_incident("open"), make_incident("open")
    item = _add(db, users, first)
    with pytest.raises(NotFound, match=f"{second.key} has no follow-up {item.id}"):
        service.set_done(session=db, actor=users["lead"], incident_id=second.id, follow_up_id=item.id, done=True)
    with pytest.raises(NotFound):
        service.set_done(session=db, actor=users["lead"], incident_id=second.id, follow_up_id=2**40, done=True)


# -- Who may delete: leads and admins any; its creator while it is open ------------------------


@pytest.mark.parametrize(
    ("who", "done", "allowed"),
    [
        ("member", False, True),  # its creator, while open
        ("member", True, False),  # its creator, once done: part of the record now
        ("other", False, False),  # another member
        ("lead", True, True),
        ("admin", True, True),
    ],
)
def test_who_may_delete_a_follow_up(db, users, make_incident, counts, who, done, allowed):
    incident = make_incident("open")
    item = _add(db, users, incident, "member")
    if done:
        service.set_done(session=db, actor=users["member"], incident_id=incident.id, follow_up_id=item.id, done=True)
        db.commit()
    assert can(users[who], Action.DELETE_FOLLOW_UP, follow_up=item) is allowed
    before = counts()
    if not allowed:
        with pytest.raises(PermissionDenied) as refused:
            service.delete_follow_up(session=db, actor=users[who], incident_id=incident.id, follow_up_id=item.id)
        if who == "member":
            assert "is done: only a lead or an admin can delete it now" in str(refused.value)
        db.rollback()
        assert counts() == before
        return
    service.delete_follow_up(session=db, actor=users[who], incident_id=incident.id, follow_up_id=item.id)
    db.commit()
    assert service.list_follow_ups(session=db, actor=users[who], incident_id=incident.id) == []
    event = _events(db, incident)[-1]
    assert (event.action, event.actor_id, event.data["title"], event.data["was_done"]) == (
        "follow_up.deleted",
        users[who].id,
        "Add an alert on replica lag",
        done,
    )


def test_the_policy_without_a_follow_up_leaves_deleting_to_leads_and_admins(users):
    assert [can(users[who], Action.DELETE_FOLLOW_UP) for who in ("member", "lead", "admin")] == [False, True, True]


def test_a_disabled_account_cannot_add_follow_ups(db, users, make_incident):
    incident = make_incident("open")
    users["other"].is_active = False
    with pytest.raises(PermissionDenied):
        service.add_follow_up(session=db, actor=users["other"], incident_id=incident.id, title="x")


def test_an_incident_takes_a_bounded_number_of_follow_ups(db, users, make_incident, monkeypatch):
    monkeypatch.setattr(service, "PER_INCIDENT_MAX", 2)
    incident = make_incident("open")
    _add(db, users, incident, title="one")
    _add(db, users, incident, title="two")
    with pytest.raises(ValidationFailed, match="has 2 follow-ups, the most it takes"):
        service.add_follow_up(session=db, actor=users["member"], incident_id=incident.id, title="three")


# -- The export --------------------------------------------------------------------------------


def test_the_export_lists_follow_ups_as_a_checklist_escaped_like_the_rest(db, users, make_incident):
    incident = make_incident("resolved")
    due = timers.today() + timedelta(days=2)
    _add(db, users, incident, title="Add *replica* lag alert <img src=x>", owner_id=users["member"].id, due_date=due)
    done = _add(db, users, incident, title="Rotate the leaked key")
    service.set_done(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=done.id, done=True)
    db.commit()

    text = export.timeline_document(session=db, incident=incident, actor=users["other"])

    section = text.split("## Follow-ups (1 open of 2)\n\n", 1)[1].split("\n\n## ", 1)[0]
    lines = section.splitlines()
    assert lines[0] == f"- [ ] Add \\*replica\\* lag alert \\<img src=x\\> (owner Mo Member, due {due.isoformat()})"
    assert lines[1].startswith("- [x] Rotate the leaked key (no owner, done ")
    # And the timeline says who did what with them.
    assert "Mo Member added the follow-up “Add \\*replica\\* lag alert \\<img src=x\\>” (owner Mo Member, due" in text
    assert "Lee Lead marked the follow-up “Rotate the leaked key” done" in text


def test_the_export_says_when_there_are_no_follow_ups(db, users, make_incident):
    text = export.timeline_document(session=db, incident=make_incident("open"), actor=users["member"])
    assert "## Follow-ups\n\nNo follow-ups.\n" in text


def test_follow_up_events_are_on_the_incident_s_trail_not_a_separate_one(db, users, make_incident):
    incident = make_incident("open")
    _add(db, users, incident)
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "follow_up.created")).one()
    assert (event.entity_type, event.entity_id, event.incident_id) == ("incident", incident.id, incident.id)
    assert audit.verify_chain(session=db).ok
