"""Comments live in incident_comments; the chain keeps only their id and hash, so an admin can
redact one (a pasted credential) and the chain still verifies."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from shared.accounts.models import User
from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shared.incidents import service as incidents
from shared.incidents.models import Comment
from shared.outbox.models import OutboxMessage

SECRET = "oops: AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG"


def _comment(db, users, make_incident):
    incident = make_incident("open")
    comment = incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=SECRET)
    db.commit()
    return incident, comment


def test_the_body_is_stored_once_and_the_chain_keeps_its_hash(db, users, make_incident):
    incident, comment = _comment(db, users, make_incident)
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "incident.commented")).one()
    assert event.data == {"comment_id": comment.id, "body_sha256": hashlib.sha256(SECRET.encode()).hexdigest()}
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "incident.commented")).one()
    ids = {"incident_id": incident.id, "actor_id": users["member"].id, "comment_id": comment.id, "event_id": event.id}
    assert {k: v for k, v in message.payload.items() if k != "as_of"} == ids  # and the incident's state fields
    assert SECRET not in str(event.data) + str(message.payload)


def test_an_admin_redacts_a_comment_audited_and_the_chain_still_verifies(db, users, make_incident):
    incident, comment = _comment(db, users, make_incident)
    incidents.redact_comment(
        session=db, incident_id=incident.id, comment_id=comment.id, actor=users["admin"], reason="Pasted a key"
    )
    db.commit()
    db.expire_all()
    redacted = db.get(Comment, comment.id)
    assert redacted.body == incidents.REDACTION_NOTICE
    assert SECRET not in redacted.body
    assert redacted.redacted_by_id == users["admin"].id
    assert redacted.redacted_at is not None
    assert redacted.redaction_reason == "Pasted a key"
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "incident.comment_redacted")).one()
    assert event.actor_id == users["admin"].id
    assert event.data == {
        "comment_id": comment.id,
        "body_sha256": hashlib.sha256(SECRET.encode()).hexdigest(),
        "reason": "Pasted a key",
    }
    incident_id, comment_id, admin_id = incident.id, comment.id, users["admin"].id
    assert audit.verify_chain(session=db).ok  # (it expunges what it walked)
    with pytest.raises(Conflict):
        incidents.redact_comment(
            session=db, incident_id=incident_id, comment_id=comment_id, actor=db.get(User, admin_id), reason="Again"
        )


@pytest.mark.parametrize("role", ["member", "lead"])
def test_only_an_admin_may_redact(db, users, make_incident, role):
    incident, comment = _comment(db, users, make_incident)
    with pytest.raises(PermissionDenied):
        incidents.redact_comment(
            session=db, incident_id=incident.id, comment_id=comment.id, actor=users[role], reason="Mine"
        )
    db.rollback()
    assert db.get(Comment, comment.id).body == SECRET


def test_a_redaction_needs_a_reason_and_the_comment_of_that_incident(db, users, make_incident):
    incident, comment = _comment(db, users, make_incident)
    with pytest.raises(ValidationFailed):
        incidents.redact_comment(
            session=db, incident_id=incident.id, comment_id=comment.id, actor=users["admin"], reason="  "
        )
    other = make_incident("open")
    with pytest.raises(NotFound):
        incidents.redact_comment(
            session=db, incident_id=other.id, comment_id=comment.id, actor=users["admin"], reason="Key"
        )
