"""The evidence service on SQLite and PostgreSQL: attach, verdict once, hold, retry, download rules."""

from __future__ import annotations

import pytest
from evidence_helpers import stored
from sqlalchemy import func, select

from shared.audit.models import AuditEvent
from shared.errors import Conflict, PermissionDenied
from shared.evidence import events
from shared.evidence import service as evidence
from shared.evidence.models import Evidence, EvidenceState
from shared.evidence.service import Verdict
from shared.outbox.models import OutboxMessage


def _count(db, model, **where):
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.scalar(query)


def _attach(db, users, incident, who="member", name="report.png", data=b"png"):
    item = evidence.attach(
        session=db, incident_id=incident.id, actor=users[who], stored=stored(data), file_name=name, declared_type="x"
    )
    db.commit()
    return item


def test_attach_creates_a_pending_row_with_audit_and_outbox_in_one_transaction(db, users, make_incident):
    incident = make_incident()
    item = _attach(db, users, incident, name="../../etc/\u202egnp.exe\r\nX-Evil: 1")
    assert item.state == "pending"
    assert item.uploader_id == users["member"].id
    assert "/" not in item.display_name
    assert "\r" not in item.display_name
    assert "\u202e" not in item.display_name
    assert item.storage_key.startswith("incoming/")
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == events.EVIDENCE_UPLOADED)).one()
    assert event.data["sha256"] == item.sha256
    assert event.data["size"] == item.size
    assert event.actor_id == item.uploader_id
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == events.TOPIC_UPLOADED)).one()
    assert message.payload == {"evidence_id": item.id, "incident_id": incident.id, "event_id": event.id}


def test_a_verdict_is_recorded_once_whatever_the_deliveries(db, users, make_incident):
    item = _attach(db, users, make_incident())
    verdict = Verdict(
        EvidenceState.CLEAN, detected_type="image/png", storage_key=item.storage_key.replace("incoming/", "evidence/")
    )
    assert evidence.record_verdict(session=db, evidence_id=item.id, verdict=verdict)
    db.commit()
    again = Verdict(EvidenceState.INFECTED, "virus found: X")
    assert not evidence.record_verdict(session=db, evidence_id=item.id, verdict=again)
    db.commit()
    db.refresh(item)
    assert item.state == "clean"
    assert item.storage_key.startswith("evidence/")
    assert _count(db, AuditEvent, action=events.EVIDENCE_VERDICT) == 1
    assert _count(db, OutboxMessage, topic=events.TOPIC_PROCESSED) == 1
    # The worker's message names the verdict's audit event (a webhook's delivery id).
    verdict_event = db.scalars(select(AuditEvent).where(AuditEvent.action == events.EVIDENCE_VERDICT)).one()
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == events.TOPIC_PROCESSED)).one()
    assert message.payload["event_id"] == verdict_event.id
    assert evidence.begin_attempt(session=db, evidence_id=item.id) is None


@pytest.mark.parametrize(
    ("state", "error", "words"),
    [
        ("pending", Conflict, "still being checked"),
        ("infected", PermissionDenied, "virus found: Eicar"),
        ("rejected", PermissionDenied, "not a PNG"),
        ("error", Conflict, "lead can retry"),
    ],
)
def test_only_clean_or_unscanned_files_download(db, users, make_incident, state, error, words):
    item = _attach(db, users, make_incident())
    if state != "pending":
        reason = {"infected": "virus found: Eicar", "rejected": "file is a Windows executable, not a PNG"}.get(
            state, "x"
        )
        evidence.record_verdict(session=db, evidence_id=item.id, verdict=Verdict(EvidenceState(state), reason))
        db.commit()
    with pytest.raises(error) as refused:
        evidence.authorize_download(session=db, evidence_id=item.id, actor=users["admin"])
    assert words in str(refused.value)


@pytest.mark.parametrize("state", ["clean", "not_scanned"])
def test_a_download_is_audited(db, users, make_incident, state):
    item = _attach(db, users, make_incident())
    evidence.record_verdict(session=db, evidence_id=item.id, verdict=Verdict(EvidenceState(state)))
    evidence.authorize_download(session=db, evidence_id=item.id, actor=users["other"])
    db.commit()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == events.EVIDENCE_DOWNLOADED)).one()
    assert event.actor_id == users["other"].id
    assert event.data["sha256"] == item.sha256


@pytest.mark.parametrize(("who", "allowed"), [("member", False), ("lead", True), ("admin", True)])
def test_legal_hold_is_for_leads_and_admins(db, users, make_incident, who, allowed):
    incident = make_incident()
    item = _attach(db, users, incident)
    if not allowed:
        with pytest.raises(PermissionDenied):
            evidence.set_legal_hold(session=db, incident_id=incident.id, actor=users[who], on=True)
        return
    evidence.set_legal_hold(session=db, incident_id=incident.id, actor=users[who], on=True)
    db.commit()
    db.refresh(item)
    assert item.legal_hold
    later = _attach(db, users, incident, name="later.txt")
    assert later.legal_hold  # a file added to a held incident joins the hold
    assert _count(db, OutboxMessage, topic=events.TOPIC_LEGAL_HOLD_CHANGED) == 1
    assert _count(db, AuditEvent, action=events.EVIDENCE_LEGAL_HOLD_CHANGED) == 1


def test_a_lead_retries_a_file_in_error_only(db, users, make_incident):
    item = _attach(db, users, make_incident())
    with pytest.raises(Conflict):
        evidence.retry(session=db, evidence_id=item.id, actor=users["lead"])
    evidence.record_verdict(session=db, evidence_id=item.id, verdict=Verdict(EvidenceState.ERROR, "clamd down"))
    db.commit()
    with pytest.raises(PermissionDenied):
        evidence.retry(session=db, evidence_id=item.id, actor=users["member"])
    evidence.retry(session=db, evidence_id=item.id, actor=users["lead"])
    db.commit()
    db.refresh(item)
    assert item.state == "pending"
    assert item.reason is None
    assert item.attempts == 0
    assert _count(db, OutboxMessage, topic=events.TOPIC_RETRIED) == 1
    assert _count(db, AuditEvent, action=events.EVIDENCE_RETRIED) == 1


def test_the_list_is_per_incident_in_upload_order(db, users, make_incident):
    first, second = make_incident(), make_incident()
    a = _attach(db, users, first, name="a.txt")
    _attach(db, users, second, name="b.txt")
    c = _attach(db, users, first, name="c.txt")
    assert [e.id for e in evidence.list_for_incident(session=db, incident_id=first.id)] == [a.id, c.id]
    assert _count(db, Evidence) == 3
