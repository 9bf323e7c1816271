"""An incident filed with an owner is assigned to them: webhook consumers that page the assignee
listen to incident.assigned, so filing with an owner sends it as the assign action does (its own
webhook id, the owner in the payload), while the owner still gets one mail, not two. A replayed
create (the same Idempotency-Key) or a second run of the fan-out sends nothing again."""

from __future__ import annotations

import email
import json
import logging
from email import policy
from pathlib import Path

import pytest
from notification_helpers import fan_out_pending
from sqlalchemy import select

from shared.accounts import tokens
from shared.config import Settings
from shared.incidents import idempotency
from shared.incidents import service as incidents
from shared.notifications import service
from shared.notifications.models import EmailDelivery, WebhookDelivery
from shared.outbox.models import OutboxMessage
from web.app import create_app

HOOK_PORT = 9  # never reached: these tests read the deliveries the fan-out makes, not a receiver
EVENTS = ["incident.created", "incident.assigned"]


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(
        app_env="test",
        database_url=database_url,
        secret_key="k" * 40,
        base_url="https://tracker.example",
        webhook_allow_http=True,
        webhook_allow_private_hosts=f"127.0.0.1:{HOOK_PORT}",
        mail_dir=str(tmp_path / "mail"),  # mail is written there as .eml files, one per message
        data_dir=str(tmp_path / "data"),
        rate_limit_api="10000 per minute",
    )


@pytest.fixture
def endpoint(db, users, settings):
    """An endpoint that listens to the given events (both by default)."""

    def add(events=tuple(EVENTS)):
        made, _secret = service.create_endpoint(
            session=db,
            actor=users["admin"],
            settings=settings,
            url=f"http://127.0.0.1:{HOOK_PORT}/hooks",
            event_types=list(events),
        )
        db.commit()
        return made

    return add


def _hooks(db, incident) -> dict[str, dict]:
    """The webhook deliveries about `incident`, by type: {type: {"id": webhook id, "body": payload}}."""
    db.expire_all()
    found: dict[str, dict] = {}
    for delivery in db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)):
        body = json.loads(delivery.body)
        if body["data"]["incident"]["key"] == incident.key:
            assert delivery.event_type not in found, f"two {delivery.event_type} deliveries"
            found[delivery.event_type] = {"id": delivery.webhook_id, "body": body}
    return found


def _mails(factory, settings) -> list[tuple[str, str, str]]:
    """Send every pending mail (to the mail folder) and read them back: (to, subject, text)."""
    with factory() as session:
        ids = list(session.scalars(select(EmailDelivery.id).order_by(EmailDelivery.id)))
    for delivery_id in ids:
        service.send_email(factory=factory, settings=settings, delivery_id=delivery_id)
    read = []
    for path in sorted(Path(settings.mail_dir).glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        text = message.get_body(("plain",)).get_content()
        read.append((message["To"].addresses[0].addr_spec, str(message["Subject"]), text))
    return read


def _created_event_id(db, incident) -> str:
    """The id of the audit event that filed `incident` (its incident.created webhook id)."""
    (message,) = [
        m
        for m in db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "incident.created"))
        if m.payload["incident_id"] == incident.id
    ]
    return str(message.payload["event_id"])


def test_filing_for_someone_sends_incident_assigned_as_assigning_them_does(
    db, users, settings, session_factory, endpoint
):
    endpoint()
    filed = incidents.create_incident(
        session=db, actor=users["lead"], title="Disk full on log shipper", owner_id=users["other"].id
    )
    db.commit()
    fan_out_pending(session_factory, settings)

    hooks = _hooks(db, filed)
    assert set(hooks) == {"incident.created", "incident.assigned"}
    event_id = _created_event_id(db, filed)
    assert hooks["incident.created"]["id"] == event_id
    assert hooks["incident.assigned"]["id"] == f"{event_id}.assigned"  # its own id: receivers drop duplicates on it
    assigned = hooks["incident.assigned"]["body"]
    assert assigned["type"] == "incident.assigned"
    assert assigned["data"]["incident"]["owner"]["email"] == "other@example.com"
    assert assigned["data"]["actor"]["email"] == "lead@example.com"

    # The same message the assign action sends: filed with no owner, then assigned.
    later = incidents.create_incident(session=db, actor=users["lead"], title="Replica lagging")
    db.commit()
    incidents.assign(session=db, incident_id=later.id, actor=users["lead"], owner_id=users["other"].id)
    db.commit()
    fan_out_pending(session_factory, settings)
    by_assign = _hooks(db, later)["incident.assigned"]["body"]
    assert set(by_assign["data"]) == set(assigned["data"])
    assert by_assign["data"]["incident"]["owner"] == assigned["data"]["incident"]["owner"]

    # Mail: the owner hears once of each incident. Filed for them: the new incident's mail,
    # which says it is theirs (not a second "Assigned to you" about the same moment).
    mails = _mails(session_factory, settings)
    assert [(to, subject) for to, subject, _ in mails if filed.key in subject] == [
        ("other@example.com", f"[{filed.key}] New P3: Disk full on log shipper")
    ]
    assert "and made you its owner." in next(text for _, subject, text in mails if filed.key in subject)
    assert [(to, subject) for to, subject, _ in mails if later.key in subject] == [
        ("other@example.com", f"[{later.key}] Assigned to you: Replica lagging")
    ]


def test_an_endpoint_that_listens_only_to_assignments_hears_of_an_incident_filed_with_an_owner(
    db, users, settings, session_factory, endpoint
):
    endpoint(["incident.assigned"])
    filed = incidents.create_incident(session=db, actor=users["lead"], title="Pager test", owner_id=users["other"].id)
    unowned = incidents.create_incident(session=db, actor=users["lead"], title="Nobody's yet")
    db.commit()
    fan_out_pending(session_factory, settings)
    assert set(_hooks(db, filed)) == {"incident.assigned"}
    assert _hooks(db, filed)["incident.assigned"]["id"] == f"{_created_event_id(db, filed)}.assigned"
    assert _hooks(db, unowned) == {}  # filed with no owner: no assignment


def test_filing_with_yourself_as_owner_is_told_as_assigning_yourself_is(db, users, settings, session_factory, endpoint):
    """The assign action sends incident.assigned when a lead takes an incident themselves, and
    mails nobody (nobody is mailed about their own action): filing as your own owner does the same."""
    endpoint()
    own = incidents.create_incident(session=db, actor=users["member"], title="Cert expiry", owner_id=users["member"].id)
    taken = incidents.create_incident(session=db, actor=users["lead"], title="Queue backlog")
    db.commit()
    incidents.assign(session=db, incident_id=taken.id, actor=users["lead"], owner_id=users["lead"].id)
    db.commit()
    fan_out_pending(session_factory, settings)

    assert set(_hooks(db, own)) == {"incident.created", "incident.assigned"}
    assert _hooks(db, own)["incident.assigned"]["body"]["data"]["incident"]["owner"]["email"] == "member@example.com"
    assert "incident.assigned" in _hooks(db, taken)
    assert _mails(session_factory, settings) == []


def test_a_replayed_create_or_a_second_fan_out_sends_no_second_assignment(
    db, users, settings, session_factory, endpoint
):
    endpoint()
    details = {"title": "Checkout 500s", "owner_id": users["other"].id}

    def file():
        return incidents.create_incident(session=db, actor=users["lead"], **details)

    first = idempotency.file_once(session=db, actor=users["lead"], key="alert-7731", details=details, file=file)
    db.commit()
    again = idempotency.file_once(session=db, actor=users["lead"], key="alert-7731", details=details, file=file)
    db.commit()
    assert again.replayed
    assert again.incident.id == first.incident.id
    fan_out_pending(session_factory, settings, runs=2)

    db.expire_all()
    assert sorted(d.event_type for d in db.scalars(select(WebhookDelivery))) == sorted(EVENTS)
    assert [to for to, _, _ in _mails(session_factory, settings)] == ["other@example.com"]


@pytest.fixture
def api(settings, db, users):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    app = create_app(settings)
    app.config.update(TESTING=True)
    _, value = tokens.create_token(session=db, user=users["lead"], name="alert-bridge", scope="write")
    db.commit()
    client = app.test_client()
    yield lambda path, **kw: client.post(
        path, headers={"Authorization": f"Bearer {value}", **kw.pop("headers", {})}, **kw
    )
    app.extensions["db_engine"].dispose()
    root.handlers[:], root.level = handlers, level


def test_the_api_filing_for_the_on_call_person_sends_incident_assigned_once(
    db, users, settings, session_factory, endpoint, api
):
    """An alert bridge files with owner_email = the on-call person, times out, and sends again."""
    endpoint()
    sent = {"title": "p99 latency x8 on checkout", "priority": "P2", "owner_email": "other@example.com"}
    first = api("/api/v1/incidents", json=sent, headers={"Idempotency-Key": "pd-4411"})
    again = api("/api/v1/incidents", json=sent, headers={"Idempotency-Key": "pd-4411"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    fan_out_pending(session_factory, settings)

    db.expire_all()
    deliveries = list(db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
    assert sorted(d.event_type for d in deliveries) == sorted(EVENTS)
    assigned = next(json.loads(d.body) for d in deliveries if d.event_type == "incident.assigned")
    assert assigned["data"]["incident"]["key"] == first.get_json()["key"]
    assert assigned["data"]["incident"]["owner"]["email"] == "other@example.com"
    assert [to for to, _, _ in _mails(session_factory, settings)] == ["other@example.com"]
