"""/audit's action picker offers the actions the audit trail records, and only those. Three event
types are only ever outbox messages (a verdict's notifications, an invitation's mail, a webhook
delivery): offered, choosing one could only ever show "No audit events match these filters"."""

from __future__ import annotations

import re

from sqlalchemy import select
from web_helpers import sign_in

from shared.accounts import service as accounts
from shared.audit.models import AuditEvent
from shared.config import Settings
from shared.evidence import service as evidence_service
from shared.evidence import tags
from shared.evidence.models import EvidenceState
from shared.evidence.storage import StoredObject, new_key
from shared.notifications import service as notifications
from shared.outbox.models import OutboxMessage

PAGE = "/audit"
OUTBOX_ONLY = {"evidence.processed", "user.invited", "webhook.delivery_requested"}


def _offered(html: str) -> set[str]:
    """The exact actions in the picker (not its "every action of a kind" options)."""
    picker = html.split('<select id="audit-action"', 1)[1].split("</select>", 1)[0]
    return set(re.findall(r'<option value="([a-z_]+\.[a-z_]+)"', picker))


def _invite_send_a_test_webhook_and_check_a_file(db, users, incident) -> None:
    """What makes each outbox-only event happen once, with the audit events that go with it."""
    accounts.create_invited_user(
        session=db, actor=users["admin"], email="newcomer@example.com", name="Nia Newcomer", role="member"
    )
    endpoint, _secret = notifications.create_endpoint(
        session=db,
        actor=users["admin"],
        settings=Settings(app_env="test", secret_key="x" * 40),
        url="https://93.184.215.14/hook",
        event_types=["incident.created"],
    )
    db.flush()
    notifications.send_test_event(session=db, actor=users["admin"], endpoint_id=endpoint.id)
    stored = StoredObject(key=new_key(tags.PREFIX_INCOMING), size=10, sha256="0" * 64)
    item = evidence_service.attach(
        session=db, incident_id=incident.id, actor=users["member"], stored=stored, file_name="df.txt"
    )
    db.flush()
    verdict = evidence_service.Verdict(EvidenceState.CLEAN, detected_type="text/plain")
    assert evidence_service.record_verdict(session=db, evidence_id=item.id, verdict=verdict)
    db.commit()


def test_the_picker_offers_no_action_that_is_never_on_the_audit_trail(client, users):
    sign_in(client, users["lead"])
    offered = _offered(client.get(PAGE).get_data(as_text=True))
    assert not offered & OUTBOX_ONLY
    assert {
        "evidence.verdict",
        "user.created",
        "user.password_reset_requested",
        "webhook.created",
        "webhook.updated",
        "api_token.created",
    } <= offered


def test_every_action_the_trail_records_is_offered_and_the_outbox_only_ones_never_are(client, db, users, make_incident):
    incident = make_incident(reporter="lead", title="Disk full on db-1")
    _invite_send_a_test_webhook_and_check_a_file(db, users, incident)
    assert set(db.scalars(select(OutboxMessage.topic))) >= OUTBOX_ONLY  # they did happen
    recorded = set(db.scalars(select(AuditEvent.action)))
    assert not recorded & OUTBOX_ONLY  # and left no audit event
    sign_in(client, users["lead"])
    offered = _offered(client.get(PAGE).get_data(as_text=True))
    assert recorded <= offered
    assert not offered & OUTBOX_ONLY


def test_a_family_still_lists_its_recorded_events(client, db, users, make_incident):
    incident = make_incident(reporter="lead", title="Disk full on db-1")
    _invite_send_a_test_webhook_and_check_a_file(db, users, incident)
    sign_in(client, users["lead"])
    html = client.get(PAGE, query_string={"action": "evidence."}).get_data(as_text=True)
    assert re.findall(r'<td data-label="Action"><code>([^<]+)</code>', html) == [
        "evidence.verdict",
        "evidence.uploaded",
    ]


def test_an_outbox_only_action_typed_in_the_address_is_named_beside_the_field(client, users):
    sign_in(client, users["lead"])
    answer = client.get(PAGE, query_string={"action": "user.invited"})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "is never recorded on the audit trail" in html
    assert 'aria-invalid="true"' in html.split('<select id="audit-action"', 1)[1].split(">", 1)[0]
