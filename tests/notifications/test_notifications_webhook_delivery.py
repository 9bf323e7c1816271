"""Webhook endpoints and deliveries through the service, against real HTTP receivers on 127.0.0.1,
verified with the `standardwebhooks` library as a receiver would."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from notification_helpers import SECRET_KEY, fan_out_pending, mailed_to, notification_settings
from notification_servers import Reply
from sqlalchemy import select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from shared.audit.models import AuditEvent
from shared.db import utcnow
from shared.errors import ValidationFailed
from shared.incidents import service as incidents
from shared.notifications import service
from shared.notifications.models import EmailDelivery, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from shared.notifications.webhooks import RETRY_DELAYS
from shared.timeutil import as_utc

ALL_EVENTS = ["incident.created", "incident.status_changed", "incident.assigned", "comment.created"]


@pytest.fixture
def hooks(db, users, database_url, session_factory, receiver):
    """(settings, factory, endpoint, secret) with one endpoint on the receiver."""
    settings = notification_settings(database_url, receivers=[receiver])
    endpoint, secret = service.create_endpoint(
        session=db, actor=users["admin"], settings=settings, url=receiver.url(), event_types=ALL_EVENTS
    )
    db.commit()
    return settings, session_factory, endpoint, secret


def _file_incident(db, users, **fields):
    incident = incidents.create_incident(session=db, actor=users["member"], title="Disk full on log shipper", **fields)
    db.commit()
    return incident


def _only_delivery(db) -> WebhookDelivery:
    db.expire_all()
    return db.scalars(select(WebhookDelivery)).one()


def _at(offset_seconds: float):
    return lambda: utcnow() + timedelta(seconds=offset_seconds)


def test_a_delivery_verifies_with_standardwebhooks_and_a_one_byte_tamper_fails(db, users, hooks, receiver):
    settings, factory, endpoint, secret = hooks
    incident = _file_incident(db, users, priority="P2")
    (delivery_id,) = fan_out_pending(factory, settings).webhook_ids
    assert service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id) == "delivered"

    (request,) = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "incident.created"
    assert payload["data"]["incident"]["key"] == incident.key
    assert payload["data"]["incident"]["url"] == f"https://tracker.example/incidents/{incident.key}"
    assert payload["data"]["actor"]["email"] == "member@example.com"
    tampered = bytearray(request.body)
    tampered[10] ^= 0x01
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(bytes(tampered), request.headers)
    # The secret is stored encrypted, never as written.
    assert secret not in db.get(WebhookEndpoint, endpoint.id).secret_encrypted


def test_a_retry_keeps_the_webhook_id_with_a_new_timestamp_and_signature(db, users, hooks, receiver):
    settings, factory, _, secret = hooks
    receiver.reply(Reply(status=503, body=b"busy"))
    _file_incident(db, users)
    (delivery_id,) = fan_out_pending(factory, settings).webhook_ids
    assert service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id) == "pending"
    delivery = _only_delivery(db)
    wait = as_utc(delivery.next_attempt_at) - utcnow()
    assert timedelta(seconds=3) < wait < timedelta(seconds=7)  # about 5 s, with jitter
    # Not due yet: a second task for it changes nothing.
    assert service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id) == "pending"
    assert len(receiver.requests) == 1

    assert (
        service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id, now=_at(10)) == "delivered"
    )
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    assert first.body == second.body
    Webhook(secret).verify(second.body, second.headers)
    log = db.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempt)).all()
    assert [(a.attempt, a.status_code, a.response_excerpt) for a in log] == [(1, 503, "busy"), (2, 200, "ok")]


def test_after_a_rotation_both_secrets_sign_during_the_overlap(db, users, hooks, receiver):
    settings, factory, endpoint, old_secret = hooks
    _, new_secret = service.rotate_secret(session=db, actor=users["admin"], settings=settings, endpoint_id=endpoint.id)
    db.commit()
    _file_incident(db, users)
    (delivery_id,) = fan_out_pending(factory, settings).webhook_ids
    service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id)
    (request,) = receiver.requests
    assert request.headers["webhook-signature"].count("v1,") == 2
    Webhook(old_secret).verify(request.body, request.headers)
    Webhook(new_secret).verify(request.body, request.headers)

    # After the overlap only the new secret signs.
    endpoint = db.get(WebhookEndpoint, endpoint.id)
    endpoint.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert len(service.signing_secrets(endpoint, settings=settings)) == 1


def test_a_receiver_down_for_a_while_gets_retries_then_exactly_one_delivery(db, users, hooks, receiver):
    settings, factory, _, _ = hooks
    receiver.reply(Reply(status=502), Reply(status=500), Reply(status=503))
    _file_incident(db, users)
    (delivery_id,) = fan_out_pending(factory, settings).webhook_ids
    offset = 0.0
    for _ in range(6):
        delivery = _only_delivery(db)
        if delivery.status != "pending":
            break
        offset = max(offset, (as_utc(delivery.next_attempt_at) - utcnow()).total_seconds() + 1)
        service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id, now=_at(offset))
        # The due sweep would now hand it out again (a retry is due, nothing holds it).
        with factory.begin() as session:
            assert service.claim_due(session=session, now=utcnow() + timedelta(seconds=offset + 400)).webhook_ids in (
                (delivery_id,),
                (),
            )
    delivery = _only_delivery(db)
    assert delivery.status == "delivered"
    assert delivery.attempts == 4
    statuses = [a.status_code for a in db.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempt))]
    assert statuses == [502, 500, 503, 200]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert sum(1 for a in db.scalars(select(WebhookAttempt)) if a.outcome == "delivered") == 1


def test_410_disables_the_endpoint_at_once_and_emails_the_admins(
    db, users, database_url, session_factory, receiver, inbox
):
    settings = notification_settings(database_url, receivers=[receiver], inbox=inbox)
    endpoint, _ = service.create_endpoint(
        session=db,
        actor=users["admin"],
        settings=settings,
        url=receiver.url("/in?token=s3cretT0ken"),
        event_types=ALL_EVENTS,
    )
    db.commit()
    receiver.reply(Reply(status=410, body=b"gone"))
    _file_incident(db, users)
    _file_incident(db, users)
    first, second = fan_out_pending(session_factory, settings).webhook_ids
    assert service.deliver_webhook(factory=session_factory, settings=settings, delivery_id=first) == "failed"
    db.expire_all()
    endpoint = db.get(WebhookEndpoint, endpoint.id)
    assert not endpoint.enabled
    assert "410 Gone" in endpoint.disabled_reason
    assert db.get(WebhookDelivery, second).status == "cancelled"
    assert service.deliver_webhook(factory=session_factory, settings=settings, delivery_id=second) == "cancelled"
    assert len(receiver.requests) == 1
    (notice_id,) = db.scalars(select(EmailDelivery.id).where(EmailDelivery.kind == "webhook_disabled"))
    service.send_email(factory=session_factory, settings=settings, delivery_id=notice_id)
    assert mailed_to(inbox) == ["admin@example.com"]
    assert "Webhook endpoint disabled" in inbox.messages[0].message["Subject"]
    assert f"The webhook endpoint {endpoint.id}, http://127.0.0.1:" in inbox.messages[0].message.as_string()
    assert "s3cretT0ken" not in inbox.messages[0].message.as_string()  # mail passes through other servers
    # Found by QA: switched off by the delivery, the endpoint's change was on no audit trail.
    assert _webhook_events(db, endpoint.id)[-1] == (
        "webhook.updated",
        None,
        {"enabled": False, "reason": "The receiver answered 410 Gone."},
    )


def _webhook_events(db, endpoint_id: int) -> list[tuple[str, int | None, dict]]:
    events = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "webhook", AuditEvent.entity_id == endpoint_id)
        .order_by(AuditEvent.id)
    )
    return [(event.action, event.actor_id, event.data) for event in events]


def test_429_retry_after_is_honoured(db, users, hooks, receiver):
    settings, factory, _, _ = hooks
    receiver.reply(Reply(status=429, headers={"Retry-After": "120"}))
    _file_incident(db, users)
    (delivery_id,) = fan_out_pending(factory, settings).webhook_ids
    service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id)
    wait = as_utc(_only_delivery(db).next_attempt_at) - utcnow()
    assert timedelta(seconds=115) < wait <= timedelta(seconds=120)
    assert (
        service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id, now=_at(60)) == "pending"
    )
    assert len(receiver.requests) == 1


def test_a_302_to_an_internal_address_is_not_followed(db, users, hooks, receiver, second_receiver):
    settings, factory, _, _ = hooks
    receiver.reply(Reply(status=302, headers={"Location": second_receiver.url("/internal")}))
    _file_incident(db, users)
    (delivery_id,) = fan_out_pending(factory, settings).webhook_ids
    assert service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id) == "pending"
    assert second_receiver.requests == []
    (attempt,) = db.scalars(select(WebhookAttempt)).all()
    assert attempt.status_code == 302
    assert "not followed" in attempt.error


SSRF_URLS = [
    "http://169.254.169.254/latest/meta-data",
    "http://169.254.170.2/v2/credentials",
    "http://[::ffff:169.254.169.254]/",
    "http://2852039166/",
    "http://0x7f.1/",
    "http://10.0.0.5/",
    "http://localhost:6379/",
    "http://[fd00:ec2::254]/",
    "file:///etc/passwd",
    "gopher://x",
]


@pytest.mark.parametrize("url", SSRF_URLS)
def test_internal_and_odd_urls_are_refused_at_save_with_a_clear_message(db, users, database_url, url):
    settings = notification_settings(database_url)
    with pytest.raises(ValidationFailed) as refused:
        service.create_endpoint(session=db, actor=users["admin"], settings=settings, url=url, event_types=ALL_EVENTS)
    assert refused.value.field_errors["url"]
    db.rollback()
    assert db.scalars(select(WebhookEndpoint)).all() == []


def test_a_host_that_resolves_public_at_save_and_loopback_at_send_is_blocked(
    db, users, database_url, session_factory, receiver
):
    settings = notification_settings(database_url)
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])

    def rebinding(host, port):
        return next(answers)

    url = f"http://rebind.example:{receiver.port}/hook"
    service.create_endpoint(
        session=db, actor=users["admin"], settings=settings, url=url, event_types=ALL_EVENTS, resolver=rebinding
    )
    db.commit()
    _file_incident(db, users)
    (delivery_id,) = fan_out_pending(session_factory, settings).webhook_ids
    status = service.deliver_webhook(
        factory=session_factory, settings=settings, delivery_id=delivery_id, resolver=rebinding
    )
    assert status == "failed"
    assert receiver.requests == []
    (attempt,) = db.scalars(select(WebhookAttempt)).all()
    assert "loopback" in attempt.error


def test_a_slow_drip_receiver_is_cut_off_at_the_timeout(db, users, hooks, receiver):
    settings, factory, _, _ = hooks  # webhook_timeout_seconds=1: the whole attempt gets 3 s
    receiver.reply(Reply(stall="drip"))
    _file_incident(db, users)
    (delivery_id,) = fan_out_pending(factory, settings).webhook_ids
    assert service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id) == "pending"
    (attempt,) = db.scalars(select(WebhookAttempt)).all()
    assert attempt.duration_ms < 4500
    assert "Cut off" in attempt.error


def test_when_the_schedule_runs_out_the_endpoint_is_disabled(db, users, hooks, receiver):
    settings, factory, endpoint, _ = hooks
    receiver.reply(*[Reply(status=500)] * (len(RETRY_DELAYS) + 1))
    _file_incident(db, users)
    (delivery_id,) = fan_out_pending(factory, settings).webhook_ids
    # Each attempt is made when it is due; `now` walks along the schedule.
    statuses = []
    for _ in range(len(RETRY_DELAYS) + 1):
        delivery = _only_delivery(db)
        ahead = (as_utc(delivery.next_attempt_at) - utcnow()).total_seconds() + 1
        statuses.append(
            service.deliver_webhook(factory=factory, settings=settings, delivery_id=delivery_id, now=_at(ahead))
        )
    assert statuses == ["pending"] * len(RETRY_DELAYS) + ["failed"]
    db.expire_all()
    endpoint = db.get(WebhookEndpoint, endpoint.id)
    assert not endpoint.enabled
    assert "No delivery succeeded after 9 attempts" in endpoint.disabled_reason
    assert _webhook_events(db, endpoint.id)[-1] == (
        "webhook.updated",
        None,
        {"enabled": False, "reason": "No delivery succeeded after 9 attempts over about three days."},
    )
    # About three days from the first attempt to the last.
    attempts = db.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempt)).all()
    span = as_utc(attempts[-1].attempted_at) - as_utc(attempts[0].attempted_at)
    assert timedelta(days=2) < span < timedelta(days=4)


def test_a_slack_endpoint_gets_a_text_summary_with_the_link(db, users, database_url, session_factory, receiver):
    settings = notification_settings(database_url, receivers=[receiver])
    service.create_endpoint(
        session=db,
        actor=users["admin"],
        settings=settings,
        url=receiver.url(),
        event_types=["incident.created"],
        payload_format="slack",
    )
    db.commit()
    incident = _file_incident(db, users, priority="P1")
    (delivery_id,) = fan_out_pending(session_factory, settings).webhook_ids
    service.deliver_webhook(factory=session_factory, settings=settings, delivery_id=delivery_id)
    (request,) = receiver.requests
    text = json.loads(request.body)["text"]
    assert text.startswith(f"New incident: <https://tracker.example/incidents/{incident.key}|{incident.key}>")
    assert "Disk full on log shipper" in text
    assert "P1" in text


def test_a_comment_links_to_itself_in_slack_text_and_in_the_json_payload(
    db, users, database_url, session_factory, receiver
):
    settings = notification_settings(database_url, receivers=[receiver])
    for payload_format in ("slack", "standard"):
        service.create_endpoint(
            session=db,
            actor=users["admin"],
            settings=settings,
            url=receiver.url(f"/{payload_format}"),
            event_types=["comment.created"],
            payload_format=payload_format,
        )
    db.commit()
    incident = _file_incident(db, users)
    comment = incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="Rotated the keys")
    db.commit()
    for delivery_id in fan_out_pending(session_factory, settings).webhook_ids:
        service.deliver_webhook(factory=session_factory, settings=settings, delivery_id=delivery_id)
    bodies = {request.path: json.loads(request.body) for request in receiver.requests}
    link = f"https://tracker.example/incidents/{incident.key}#comment-{comment.id}"
    assert bodies["/slack"]["text"].startswith(f"New comment: <{link}|{incident.key}>")
    assert bodies["/standard"]["data"]["comment"]["url"] == link
    assert bodies["/standard"]["data"]["incident"]["url"] == f"https://tracker.example/incidents/{incident.key}"


def test_only_subscribed_events_are_sent_and_a_test_event_is_one_attempt(db, users, hooks, receiver):
    settings, factory, endpoint, secret = hooks
    incident = _file_incident(db, users)
    incidents.change_priority(
        session=db, incident_id=incident.id, actor=users["lead"], priority="P1"
    )  # incident.updated
    db.commit()
    assert len(fan_out_pending(factory, settings).webhook_ids) == 1  # created; updated is not subscribed

    receiver.reply(Reply(status=500))
    test = service.send_test_event(session=db, actor=users["admin"], endpoint_id=endpoint.id)
    db.commit()
    assert service.deliver_webhook(factory=factory, settings=settings, delivery_id=test.id) == "failed"
    assert Webhook(secret).verify(receiver.requests[-1].body, receiver.requests[-1].headers)["type"] == "webhook.test"

    redelivered = service.redeliver(session=db, actor=users["admin"], endpoint_id=endpoint.id, delivery_id=test.id)
    db.commit()
    assert service.deliver_webhook(factory=factory, settings=settings, delivery_id=redelivered.id) == "delivered"
    assert receiver.requests[-1].headers["webhook-id"] == receiver.requests[-2].headers["webhook-id"]


@pytest.mark.parametrize("url", SSRF_URLS)
def test_a_stored_internal_url_is_refused_again_at_send_time(db, users, database_url, session_factory, url):
    """An endpoint saved before the policy was tightened (or written around the form) still
    never reaches an internal address: the check runs again before every attempt."""
    settings = notification_settings(database_url)
    db.add(
        WebhookEndpoint(
            url=url,
            event_types=["incident.created"],
            secret_encrypted=service.secret_box.seal(service.webhooks.generate_secret(), secret_key=SECRET_KEY),
        )
    )
    db.commit()
    _file_incident(db, users)
    (delivery_id,) = fan_out_pending(session_factory, settings).webhook_ids
    assert service.deliver_webhook(factory=session_factory, settings=settings, delivery_id=delivery_id) == "failed"
    (attempt,) = db.scalars(select(WebhookAttempt)).all()
    assert attempt.status_code is None
    assert attempt.error.startswith("Refused by the address check")


def test_each_event_tells_the_incident_as_that_event_left_it(db, users, hooks):
    """Found by QA: three quick changes were fanned out after all three, and every webhook said
    the last state ("blocked", version 3) — the created event included."""
    settings, factory, _endpoint, _secret = hooks
    incident = _file_incident(db, users, priority="P2")
    created_at = utcnow()
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    db.commit()
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="blocked", reason="vendor")
    db.commit()

    fan_out_pending(factory, settings)  # only now, as a busy worker would
    db.expire_all()
    said = [
        (delivery.event_type, json.loads(delivery.body)["data"]["incident"])
        for delivery in db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
    ]
    filed = said[0][1]["version"]
    assert [(event, body["status"], body["version"]) for event, body in said] == [
        ("incident.created", "open", filed),
        ("incident.status_changed", "in_progress", filed + 1),
        ("incident.status_changed", "blocked", filed + 2),
    ]
    assert said[1][1]["in_progress_at"] is not None
    assert said[0][1]["in_progress_at"] is None
    first = json.loads(db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).first().body)
    assert abs(datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00")) - created_at) < timedelta(seconds=5)


SECRET_URLS = [
    ("https://hooks.slack.com/services/T0000/B0000/XXXXsecretXXXX", "https://hooks.slack.com/…"),
    ("http://127.0.0.1:{port}/hook?token=qaQuerySecret987", "http://127.0.0.1:{port}/…"),
    ("http://ops:pa55word@127.0.0.1:{port}/", "http://127.0.0.1:{port}"),
]


@pytest.mark.parametrize(("url", "masked"), SECRET_URLS)
def test_a_url_is_masked_where_it_travels_or_stays_for_good(url, masked, receiver):
    port = receiver.url().split(":")[2].split("/")[0]
    assert service.masked_url(url.format(port=port)) == masked.format(port=port)


def test_the_audit_trail_never_holds_the_receivers_credential_in_its_url(db, users, database_url, receiver, inbox):
    """Found by QA: the created and deleted events kept `?token=...` (a Slack URL's path is its
    secret), in a hash-linked chain that can never drop it."""
    settings = notification_settings(database_url, receivers=[receiver], inbox=inbox)
    secret_url = receiver.url("/hook?token=qaQuerySecret987")
    endpoint, _ = service.create_endpoint(
        session=db, actor=users["admin"], settings=settings, url=secret_url, event_types=ALL_EVENTS
    )
    db.commit()
    moved_url = receiver.url("/hook?token=anotherSecret654")
    service.update_endpoint(
        session=db,
        actor=users["admin"],
        settings=settings,
        endpoint_id=endpoint.id,
        url=moved_url,
        event_types=ALL_EVENTS,
    )
    db.commit()
    service.delete_endpoint(session=db, actor=users["admin"], endpoint_id=endpoint.id)
    db.commit()

    events = _webhook_events(db, endpoint.id)
    assert [action for action, _, _ in events] == ["webhook.created", "webhook.updated", "webhook.deleted"]
    recorded = json.dumps([data for _, _, data in events])
    assert "qaQuerySecret987" not in recorded
    assert "anotherSecret654" not in recorded
    masked = service.masked_url(secret_url)
    assert events[0][2]["url"] == masked
    assert events[0][2]["url_sha256"] == service.url_digest(secret_url)
    assert events[1][2]["changes"]["url"] == {"from": masked, "to": masked}
    assert events[1][2]["changes"]["url_sha256"]["to"] == service.url_digest(moved_url)
    assert events[2][2]["url_sha256"] == service.url_digest(moved_url)


def test_a_slack_status_line_says_the_move_and_why_as_it_happened(db, users, database_url, session_factory, receiver):
    """Found by review: the Slack line named the status at send time, without the reason."""
    settings = notification_settings(database_url, receivers=[receiver])
    service.create_endpoint(
        session=db,
        actor=users["admin"],
        settings=settings,
        url=receiver.url(),
        event_types=["incident.status_changed"],
        payload_format="slack",
    )
    db.commit()
    incident = _file_incident(db, users, priority="P1")
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    incidents.transition(
        session=db, incident_id=incident.id, actor=users["lead"], to="blocked", reason="Waiting\nfor the DBA"
    )
    db.commit()
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    db.commit()  # moved on before anything was sent
    for delivery_id in fan_out_pending(session_factory, settings).webhook_ids:
        service.deliver_webhook(factory=session_factory, settings=settings, delivery_id=delivery_id)
    lines = [json.loads(request.body)["text"] for request in receiver.requests]
    assert any(line.endswith("— Blocked: Waiting for the DBA (by Lee Lead)") for line in lines), lines
