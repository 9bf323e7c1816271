"""Webhook deliveries against a real HTTP receiver on 127.0.0.1, verified as a receiver would."""

from __future__ import annotations

import json
import random
import ssl
import time
from datetime import UTC, datetime, timedelta

import pytest
from notification_servers import Reply
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from shared.notifications.ssrf import WebhookPolicy
from shared.notifications.webhooks import (
    RETRY_DELAYS,
    DeliveryLimits,
    Outcome,
    PayloadFormat,
    attempt_delivery,
    build_payload,
    build_slack_payload,
    build_test_payload,
    generate_secret,
    next_attempt_at,
    parse_retry_after,
    signature_headers,
)

EVENT_ID = "evt_01HZX3Q9K2"
OCCURRED = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
INCIDENT = {
    "key": "INC-42",
    "title": "Disk full on log shipper",
    "status": "blocked",
    "priority": "P1",
    "url": "https://tracker.example/incidents/INC-42",
}
FAST = DeliveryLimits(connect_timeout=1, read_timeout=1, total_timeout=2, max_response_bytes=1024)


def exempt(*receivers) -> WebhookPolicy:
    """The development policy with the test receivers on 127.0.0.1 exempted, as WEBHOOK_ALLOW_PRIVATE_HOSTS does."""
    return WebhookPolicy(allow_http=True, allow_private_hosts=frozenset(("127.0.0.1", r.port) for r in receivers))


def deliver(receiver, *, secrets, body=None, policy=None, **kwargs):
    body = (
        body
        if body is not None
        else build_payload(event_type="incident.status_changed", occurred_at=OCCURRED, data=INCIDENT)
    )
    return attempt_delivery(
        url=kwargs.pop("url", receiver.url()),
        webhook_id=kwargs.pop("webhook_id", EVENT_ID),
        body=body,
        secrets=secrets,
        policy=policy or exempt(receiver),
        limits=kwargs.pop("limits", FAST),
        **kwargs,
    )


def test_delivery_verifies_with_standardwebhooks_and_a_one_byte_tamper_fails(receiver):
    secret = generate_secret()
    result = deliver(receiver, secrets=[secret])

    assert result.outcome is Outcome.DELIVERED
    assert result.status_code == 200
    assert result.response_excerpt == "ok"
    (request,) = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload == {"type": "incident.status_changed", "timestamp": "2026-11-29T16:00:00Z", "data": INCIDENT}
    assert request.headers["webhook-id"] == EVENT_ID
    assert request.headers["content-type"] == "application/json"

    tampered = bytearray(request.body)
    tampered[-3] ^= 0x01
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(bytes(tampered), request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(request.body, request.headers)


def test_retry_keeps_the_id_with_a_fresh_timestamp_and_signature(receiver):
    secret = generate_secret()
    receiver.reply(Reply(status=503, body=b"maintenance"))
    now = datetime.now(UTC)
    first = deliver(receiver, secrets=[secret], clock=lambda: now)
    second = deliver(receiver, secrets=[secret], clock=lambda: now + timedelta(seconds=7))

    assert (first.outcome, first.status_code, first.response_excerpt) == (Outcome.RETRY, 503, "maintenance")
    assert second.outcome is Outcome.DELIVERED
    a, b = receiver.requests
    assert a.headers["webhook-id"] == b.headers["webhook-id"] == EVENT_ID
    assert int(b.headers["webhook-timestamp"]) == int(a.headers["webhook-timestamp"]) + 7
    assert a.headers["webhook-signature"] != b.headers["webhook-signature"]
    for request in (a, b):
        Webhook(secret).verify(request.body, request.headers)


def test_rotation_overlap_sends_two_signatures_each_verifying_with_its_secret(receiver):
    new, old = generate_secret(), generate_secret()
    assert deliver(receiver, secrets=[new, old]).delivered

    (request,) = receiver.requests
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(s.startswith("v1,") for s in signatures)
    for secret in (new, old):
        Webhook(secret).verify(request.body, request.headers)
        alone = {**request.headers, "webhook-signature": signatures[[new, old].index(secret)]}
        Webhook(secret).verify(request.body, alone)


def test_gone_disables_the_endpoint(receiver):
    receiver.reply(Reply(status=410, body=b"endpoint deleted"))
    result = deliver(receiver, secrets=[generate_secret()])
    assert result.outcome is Outcome.DISABLE
    assert result.status_code == 410


def test_too_many_requests_honours_retry_after(receiver):
    receiver.reply(Reply(status=429, headers={"Retry-After": "120"}))
    result = deliver(receiver, secrets=[generate_secret()])

    assert (result.outcome, result.status_code) == (Outcome.RETRY, 429)
    assert result.retry_after == timedelta(seconds=120)
    now = datetime.now(UTC)
    # The schedule alone would retry after ~5 s; the receiver asked for 2 minutes.
    assert next_attempt_at(attempts_made=1, now=now, retry_after=result.retry_after) >= now + timedelta(seconds=120)


def test_retry_after_as_an_http_date():
    now = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 29 Nov 2026 16:05:00 GMT", now=now) == timedelta(minutes=5)
    assert parse_retry_after("Sun, 29 Nov 2026 15:00:00 GMT", now=now) == timedelta(0)
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_redirect_to_an_internal_address_is_recorded_and_not_followed(receiver, second_receiver):
    internal = second_receiver.url("/latest/meta-data/iam/security-credentials/")
    receiver.reply(Reply(status=302, headers={"Location": internal}))
    result = deliver(receiver, secrets=[generate_secret()], policy=exempt(receiver, second_receiver))

    assert (result.outcome, result.status_code, result.location) == (Outcome.RETRY, 302, internal)
    assert "not followed" in result.error
    assert len(receiver.requests) == 1
    assert second_receiver.requests == []


def test_a_redirect_without_a_location_says_so_in_words(receiver):
    receiver.reply(Reply(status=302))
    result = deliver(receiver, secrets=[generate_secret()])
    assert (result.outcome, result.status_code, result.location) == (Outcome.RETRY, 302, None)
    assert result.error == "302 redirect without a Location header, not followed; check the endpoint URL"


def test_slow_drip_receiver_is_cut_off_at_the_deadline(receiver):
    receiver.reply(Reply(stall="drip"))
    limits = DeliveryLimits(connect_timeout=1, read_timeout=1, total_timeout=1.0)
    started = time.monotonic()
    result = deliver(receiver, secrets=[generate_secret()], limits=limits)
    elapsed = time.monotonic() - started

    assert result.outcome is Outcome.RETRY
    assert result.status_code is None
    assert "Cut off after 1 s" in result.error
    assert 0.9 <= elapsed < 2.0


def test_a_200_whose_body_drips_is_delivered_and_cut_off(receiver):
    # The receiver has said yes; only the excerpt for the log is cut short.
    receiver.reply(Reply(stall="drip-body"))
    started = time.monotonic()
    result = deliver(receiver, secrets=[generate_secret()], limits=DeliveryLimits(read_timeout=1, total_timeout=1.0))

    assert (result.outcome, result.status_code) == (Outcome.DELIVERED, 200)
    assert "Cut off after 1 s" in result.error
    assert time.monotonic() - started < 2.0


def test_silent_receiver_hits_the_read_timeout(receiver):
    receiver.reply(Reply(stall="silent"))
    limits = DeliveryLimits(connect_timeout=1, read_timeout=0.5, total_timeout=3)
    started = time.monotonic()
    result = deliver(receiver, secrets=[generate_secret()], limits=limits)

    assert result.outcome is Outcome.RETRY
    assert "Timed out" in result.error
    assert time.monotonic() - started < 1.5


def test_response_is_read_only_up_to_the_cap(receiver):
    receiver.reply(Reply(status=500, body=b"x" * 1_000_000))
    result = deliver(receiver, secrets=[generate_secret()], limits=DeliveryLimits(max_response_bytes=2048))
    assert result.status_code == 500
    assert len(result.response_excerpt) == 2048


def test_receiver_down_is_a_retry(receiver):
    url = receiver.url()
    policy = exempt(receiver)
    receiver.server.shutdown()
    receiver.server.server_close()
    result = deliver(receiver, url=url, policy=policy, secrets=[generate_secret()])
    assert result.outcome is Outcome.RETRY
    assert "refused" in result.error


def test_refused_address_at_send_time_is_never_contacted(receiver):
    # Not exempted: 127.0.0.1 is loopback, whatever the name.
    result = deliver(receiver, secrets=[generate_secret()], policy=WebhookPolicy(allow_http=True))
    assert result.outcome is Outcome.FAILED
    assert "loopback" in result.error
    assert receiver.requests == []


def test_rebinding_name_is_blocked_at_send_time(receiver):
    result = deliver(
        receiver,
        url=f"http://rebind.example:{receiver.port}/hook",
        policy=WebhookPolicy(allow_http=True),
        resolver=lambda host, port: ["127.0.0.1"],
        secrets=[generate_secret()],
    )
    assert result.outcome is Outcome.FAILED
    assert "resolves to 127.0.0.1" in result.error
    assert receiver.requests == []


def test_sender_connects_to_the_checked_address_with_the_original_host_header(receiver):
    # hooks.internal.test has no DNS record at all: the request can only arrive through the
    # address the guard returned.
    policy = WebhookPolicy(allow_http=True, allow_private_hosts=frozenset({("hooks.internal.test", receiver.port)}))
    result = deliver(
        receiver,
        url=f"http://hooks.internal.test:{receiver.port}/in?team=ops",
        policy=policy,
        resolver=lambda host, port: ["127.0.0.1"],
        secrets=[generate_secret()],
    )
    assert result.delivered
    assert result.address == "127.0.0.1"
    (request,) = receiver.requests
    assert request.headers["host"] == f"hooks.internal.test:{receiver.port}"
    assert request.path == "/in?team=ops"


def test_https_checks_the_certificate_against_the_host_name_not_the_address(tls_receiver, test_certificate):
    context = ssl.create_default_context(cafile=str(test_certificate.cert))
    allowed = frozenset({("hooks.test", tls_receiver.port), ("other.test", tls_receiver.port)})
    policy = WebhookPolicy(allow_private_hosts=allowed)

    def to_loopback(host, port):
        return ["127.0.0.1"]

    ok = deliver(
        tls_receiver,
        url=f"https://hooks.test:{tls_receiver.port}/hook",
        policy=policy,
        resolver=to_loopback,
        ssl_context=context,
        secrets=[generate_secret()],
    )
    assert ok.delivered, ok.error
    wrong_name = deliver(
        tls_receiver,
        url=f"https://other.test:{tls_receiver.port}/hook",
        policy=policy,
        resolver=to_loopback,
        ssl_context=context,
        secrets=[generate_secret()],
    )
    assert wrong_name.outcome is Outcome.RETRY
    assert "certificate not valid for other.test" in wrong_name.error
    assert len(tls_receiver.requests) == 1


def test_slack_format_is_a_text_summary_with_the_link(receiver):
    body = build_slack_payload(
        event_type="incident.status_changed",
        incident_key="INC-42",
        title="<!channel> Disk full & on fire",
        url="https://tracker.example/incidents/INC-42",
        detail="Blocked",
    )
    assert deliver(receiver, body=body, secrets=[generate_secret()]).delivered
    text = json.loads(receiver.requests[0].body)["text"]
    assert text == (
        "Status changed: <https://tracker.example/incidents/INC-42|INC-42> "
        "&lt;!channel&gt; Disk full &amp; on fire — Blocked"
    )


def test_signature_headers_refuse_an_id_that_could_inject_a_header():
    with pytest.raises(ValueError, match="webhook id"):
        signature_headers(msg_id="evt\r\nX-Evil: 1", timestamp=1, body=b"{}", secrets=[generate_secret()])


def test_retry_schedule_spreads_over_about_three_days_then_stops():
    now = datetime(2026, 11, 29, tzinfo=UTC)
    rng = random.Random(7)
    waits = []
    attempts = 1
    while (when := next_attempt_at(attempts_made=attempts, now=now, rng=rng)) is not None:
        waits.append(when - now)
        attempts += 1

    assert attempts == len(RETRY_DELAYS) + 1  # the first try and one per delay
    nominal = [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]
    nominal += [timedelta(hours=5), timedelta(hours=10), timedelta(days=1), timedelta(days=1)]
    for wait, expected in zip(waits, nominal, strict=True):
        assert expected * 0.8 <= wait <= expected * 1.2
    assert timedelta(days=2) < sum(waits, timedelta()) < timedelta(days=3.5)


def test_retry_after_is_capped_at_a_day():
    now = datetime(2026, 11, 29, tzinfo=UTC)
    when = next_attempt_at(attempts_made=1, now=now, retry_after=timedelta(days=30))
    assert when <= now + timedelta(days=1)


@pytest.mark.parametrize("payload_format", list(PayloadFormat))
def test_send_test_event_in_each_format(receiver, payload_format):
    secret = generate_secret()
    body = build_test_payload(payload_format=payload_format, occurred_at=OCCURRED)
    assert deliver(receiver, body=body, secrets=[secret], webhook_id="test_5f2a").delivered

    (request,) = receiver.requests
    received = Webhook(secret).verify(request.body, request.headers)
    if payload_format is PayloadFormat.SLACK:
        assert received["text"].startswith("Test event from Incident Tracker")
    else:
        assert received["type"] == "webhook.test"
