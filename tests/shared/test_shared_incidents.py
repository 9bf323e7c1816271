"""Filing, finding, editing, commenting and watching incidents: what the forms accept and refuse."""

from __future__ import annotations

import pytest

from shared.audit import service as audit
from shared.errors import NotFound, ValidationFailed
from shared.incidents import service as incidents


def test_filing_an_incident(db, users):
    filed = incidents.create_incident(
        session=db,
        actor=users["member"],
        title="  Disk full on log shipper ",
        description="`/var/log` at 100%",
        priority=" p2 ",
        component=" Logging ",
        environment="staging",
    )
    db.commit()
    assert filed.key == f"INC-{filed.id}"
    assert (filed.title, filed.priority, filed.component, filed.environment) == (
        "Disk full on log shipper",
        "P2",
        "logging",
        "staging",
    )
    assert (filed.status, filed.owner_id, filed.reporter_id) == ("open", None, users["member"].id)
    assert filed.watcher_ids() == {users["member"].id}  # the reporter follows what they filed
    assert filed.created_at is not None
    assert filed.in_progress_at is None


@pytest.mark.parametrize(
    ("details", "bad_fields"),
    [
        ({"title": ""}, {"title"}),
        ({"title": "   "}, {"title"}),
        ({"title": "x" * 201}, {"title"}),
        ({"description": "x" * 50_001}, {"description"}),
        ({"component": "RDS cluster!"}, {"component"}),
        ({"component": "-leading-dash"}, {"component"}),
        ({"environment": "moon"}, {"environment"}),
        ({"priority": "P5"}, {"priority"}),
        ({"priority": ""}, {"priority"}),
        ({"title": "", "environment": "moon", "priority": "urgent"}, {"title", "environment", "priority"}),
    ],
)
def test_filing_refuses_bad_input_naming_each_field(db, users, counts, details, bad_fields):
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        incidents.create_incident(session=db, actor=users["member"], **{"title": "Valid title", **details})
    assert set(refused.value.field_errors) == bad_fields
    assert all(refused.value.field_errors.values())  # each with a message a person can act on
    db.rollback()
    assert counts() == before


def test_a_200_character_title_is_fine(db, users):
    assert len(incidents.create_incident(session=db, actor=users["member"], title="x" * 200).title) == 200


def test_the_owner_must_be_an_active_user(db, users):
    with pytest.raises(ValidationFailed) as refused:
        incidents.create_incident(session=db, actor=users["lead"], title="Ghost owner", owner_id=9999)
    assert set(refused.value.field_errors) == {"owner"}


@pytest.mark.parametrize("form", ["{key}", "{key_lower}", " {key} ", "{id}"])
def test_finding_an_incident_by_key_or_id(db, users, make_incident, form):
    incident = make_incident("open")
    ref = form.format(key=incident.key, key_lower=incident.key.lower(), id=incident.id)
    assert incidents.get_incident(session=db, ref=ref) == incident
    assert incidents.get_incident(session=db, ref=incident.id) == incident


@pytest.mark.parametrize("ref", ["INC-999", "INC-0", "INC-", "999", "", "banana", 999])
def test_a_missing_incident_is_not_found_by_name(db, users, make_incident, ref):
    make_incident("open")
    with pytest.raises(NotFound, match="No incident"):
        incidents.get_incident(session=db, ref=ref)


def test_editing_refuses_bad_input_and_keeps_the_old_values(db, users, make_incident):
    incident = make_incident("open")
    with pytest.raises(ValidationFailed) as refused:
        incidents.update_details(
            session=db,
            incident_id=incident.id,
            actor=users["member"],
            title="",
            description="",
            component="ok",
            environment="nowhere",
        )
    assert set(refused.value.field_errors) == {"title", "environment"}
    db.rollback()
    db.refresh(incident)
    assert (incident.title, incident.environment) == ("RDS primary CPU pinned at 100%", "prod")


@pytest.mark.parametrize(
    ("body", "ok"), [("", False), ("   ", False), ("x" * 20_001, False), ("Seen on eu-west-1 too", True)]
)
def test_comments(db, users, make_incident, body, ok):
    incident = make_incident("closed")  # anyone may still comment on a closed incident
    if ok:
        comment = incidents.add_comment(session=db, incident_id=incident.id, actor=users["other"], body=body)
        assert (comment.body, comment.author_id) == (body, users["other"].id)
    else:
        with pytest.raises(ValidationFailed) as refused:
            incidents.add_comment(session=db, incident_id=incident.id, actor=users["other"], body=body)
        assert set(refused.value.field_errors) == {"body"}


def test_watching_and_unwatching(db, users, make_incident):
    incident = make_incident("open", reporter="member", owner=None)
    other = users["other"]
    incidents.set_watching(session=db, incident_id=incident.id, actor=other, watching=True)
    db.commit()
    assert other.id in incident.watcher_ids()
    incidents.set_watching(session=db, incident_id=incident.id, actor=other, watching=False)
    db.commit()
    db.expire_all()
    assert incidents.get_incident(session=db, ref=incident.id).watcher_ids() == {users["member"].id}


def test_the_new_owner_starts_watching(db, users, make_incident):
    incident = make_incident("open", owner=None)
    incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users["other"].id)
    db.commit()
    assert users["other"].id in incident.watcher_ids()
    assert incident.owner.email == "other@example.com"


def test_the_owner_named_when_it_is_filed_watches_it(db, users):
    incident = incidents.create_incident(
        session=db, actor=users["lead"], title="Checkout 502s", owner_id=users["other"].id
    )
    db.commit()
    db.expire_all()
    watching = incidents.get_incident(session=db, ref=incident.id).watcher_ids()
    assert watching == {users["lead"].id, users["other"].id}
    mine = incidents.create_incident(session=db, actor=users["member"], title="Disk full", owner_id=users["member"].id)
    db.commit()
    assert mine.watcher_ids() == {users["member"].id}


def test_reassigning_twice_in_one_session_shows_and_records_the_real_previous_owner(db, users, make_incident):
    incident = make_incident("open", owner="member")
    for new_owner in ("other", "lead"):
        incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users[new_owner].id)
    db.commit()
    assert incident.owner.email == "lead@example.com"
    events = audit.incident_events(session=db, incident_id=incident.id)
    moves = [(e.data["from"], e.data["to"]) for e in events if e.action == "incident.assigned"]
    assert moves[-2:] == [("member@example.com", "other@example.com"), ("other@example.com", "lead@example.com")]
