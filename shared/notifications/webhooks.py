"""Outgoing webhooks: Standard Webhooks signing, payloads, one delivery attempt, the retry schedule.

Database-free on purpose: the worker task loads the endpoint and the delivery row, calls
`attempt_delivery` once, records the `DeliveryResult` and stores `next_attempt_at(...)`.

Signing follows https://www.standardwebhooks.com: the signed content is
``{webhook-id}.{webhook-timestamp}.{body}``, HMAC-SHA256 with the secret's bytes, sent as
``webhook-signature: v1,<base64>``; several space-separated signatures while a rotated-out
secret still signs. The id is the event id and stays the same across retries (receivers use it
to drop duplicates); the timestamp and signatures are new on each attempt.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import hashlib
import hmac
import http.client
import json
import random
import re
import secrets as secrets_module
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from shared.notifications.ssrf import (
    CheckedTarget,
    HostNotResolved,
    Resolver,
    WebhookPolicy,
    WebhookUrlError,
    resolve_for_delivery,
)
from shared.text import is_number
from shared.tls import system_tls_context

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
SECRET_BYTES = 32
USER_AGENT = "IncidentTracker-Webhooks/1"

EVENT_TYPES = (
    "incident.created",
    "incident.updated",
    "incident.status_changed",
    "incident.assigned",
    "comment.created",
    "evidence.processed",
    "evidence.infected",
)

# Sent by "Send test event" on the admin page; never by a real change.
TEST_EVENT_TYPE = "webhook.test"


class PayloadFormat(enum.StrEnum):
    """Per endpoint: the Standard Webhooks JSON, or a Slack incoming-webhook text message."""

    STANDARD = "standard"
    SLACK = "slack"


# Delay after the 1st, 2nd, ... failed attempt. About three days in all, then the endpoint is
# disabled: long enough to ride out a receiver's weekend outage, short enough that a dead
# endpoint does not pile up work forever.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(days=1),
    timedelta(days=1),
)
RETRY_JITTER = 0.2  # ±20 %, so endpoints that failed together do not all retry in the same second
# A receiver's Retry-After is honoured up to this; beyond it the receiver could park a delivery
# for longer than the whole schedule.
MAX_RETRY_AFTER = timedelta(days=1)

_MSG_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,255}$")


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"  # 2xx: done
    RETRY = "retry"  # any other answer, a timeout, a refused connection: try again per the schedule
    DISABLE = "disable"  # 410 Gone: the receiver asks us to stop; disable the endpoint now
    FAILED = "failed"  # the SSRF guard refused the address at send time: stop, retrying cannot help


# --- secrets and signatures -------------------------------------------------------------------


def generate_secret() -> str:
    """A new signing secret, ``whsec_`` + base64 of 32 random bytes; shown to the admin once."""
    return SECRET_PREFIX + base64.b64encode(secrets_module.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; ValueError when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("a webhook secret holds 24 to 64 bytes")
    return key


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of id.timestamp.body."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(*, msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """The three Standard Webhooks headers; one signature per secret (two during a rotation overlap)."""
    if not _MSG_ID.match(msg_id):
        raise ValueError(f"webhook id {msg_id!r} must be 1-255 letters, digits or _.:-")
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            sign(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in dict.fromkeys(secrets)
        ),
    }


# --- payloads ---------------------------------------------------------------------------------


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def build_payload(*, event_type: str, occurred_at: datetime, data: Mapping[str, object]) -> bytes:
    """The Standard Webhooks body: ``{"type", "timestamp", "data"}`` as compact UTF-8 JSON."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    payload = {"type": event_type, "timestamp": occurred_at, "data": dict(data)}
    return json.dumps(payload, default=_json_default, separators=(",", ":"), ensure_ascii=False).encode()


def build_test_payload(*, payload_format: PayloadFormat | str, occurred_at: datetime) -> bytes:
    """The body of "Send test event": type webhook.test in the endpoint's format."""
    text = "Test event from Incident Tracker: this endpoint is set up to receive notifications."
    if PayloadFormat(payload_format) is PayloadFormat.SLACK:
        return json.dumps({"text": text}, separators=(",", ":")).encode()
    payload = {"type": TEST_EVENT_TYPE, "timestamp": occurred_at, "data": {"message": text}}
    return json.dumps(payload, default=_json_default, separators=(",", ":")).encode()


_SLACK_LABELS = {
    "incident.created": "New incident",
    "incident.updated": "Incident updated",
    "incident.status_changed": "Status changed",
    "incident.assigned": "Assigned",
    "comment.created": "New comment",
    "evidence.processed": "Evidence processed",
    "evidence.infected": "Infected upload",
}


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup (links, mentions such as <!channel>); escaping them keeps a
    # title like "<!everyone> db down" from pinging a whole workspace.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_slack_payload(*, event_type: str, incident_key: str, title: str, url: str, detail: str = "") -> bytes:
    """A Slack incoming-webhook body: one text line with the incident linked, e.g.
    ``Status changed: <https://…/incidents/INC-42|INC-42> Disk full on log shipper — Blocked``."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    link_target = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    text = f"{_SLACK_LABELS[event_type]}: <{link_target}|{_slack_escape(incident_key)}> {_slack_escape(title)}"
    if detail:
        text += f" — {_slack_escape(detail)}"
    return json.dumps({"text": text}, separators=(",", ":"), ensure_ascii=False).encode()


# --- one delivery attempt ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 10.0  # between two reads; a receiver silent this long is cut off
    # The whole attempt, connect to last byte: a receiver that drips one byte every few seconds
    # never trips the read timeout but does trip this.
    total_timeout: float = 30.0
    max_response_bytes: int = 16 * 1024  # read at most this much of the answer, for the excerpt


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    webhook_id: str
    webhook_timestamp: int
    attempted_at: datetime
    duration_ms: int
    status_code: int | None = None
    response_excerpt: str = ""
    error: str | None = None
    location: str | None = None  # the Location of a 3xx, recorded and never followed
    retry_after: timedelta | None = None  # from the receiver's Retry-After, seconds or HTTP-date
    address: str | None = None  # the checked IP we connected to

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.DELIVERED


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """Retry-After as a delay: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if is_number(value):
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the address the SSRF guard checked, never to a fresh DNS answer."""

    def __init__(self, target: CheckedTarget, limits: DeliveryLimits) -> None:
        super().__init__(target.host, target.port, timeout=limits.connect_timeout)
        self._ip = target.ip
        self._read_timeout = limits.read_timeout
        self.deadline_passed = False

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(self._read_timeout)
        if self.deadline_passed:
            raise TimeoutError("deadline passed while connecting")

    def abort(self) -> None:
        """Called by the deadline timer from another thread: wake up a blocked read."""
        self.deadline_passed = True
        sock = self.sock
        if sock is not None:
            # The plain socket's shutdown, also for an SSLSocket: it makes a recv blocked in the
            # other thread return at once without touching the TLS object that thread is using.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """HTTPS to the checked address; SNI and certificate verification use the URL's host name."""

    def __init__(self, target: CheckedTarget, limits: DeliveryLimits, context: ssl.SSLContext) -> None:
        super().__init__(target, limits)
        self._context = context

    def connect(self) -> None:
        super().connect()
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


def attempt_delivery(
    *,
    url: str,
    webhook_id: str,
    body: bytes,
    secrets: Sequence[str],
    policy: WebhookPolicy,
    limits: DeliveryLimits = DeliveryLimits(),
    resolver: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DeliveryResult:
    """POST body once to url, signed with each secret; never follows a redirect; never raises for
    what the network or the receiver does (the result says what happened)."""
    attempted_at = clock()
    timestamp = int(attempted_at.timestamp())
    started = time.monotonic()

    def result(outcome: Outcome, **fields: Any) -> DeliveryResult:
        duration_ms = round((time.monotonic() - started) * 1000)
        return DeliveryResult(
            outcome=outcome,
            webhook_id=webhook_id,
            webhook_timestamp=timestamp,
            attempted_at=attempted_at,
            duration_ms=duration_ms,
            **fields,
        )

    try:
        target = resolve_for_delivery(url, policy=policy, resolver=resolver)
    except HostNotResolved as exc:
        return result(Outcome.RETRY, error=str(exc))  # DNS trouble passes; try again later
    except WebhookUrlError as exc:
        return result(Outcome.FAILED, error=f"Refused by the address check: {exc}")

    headers = {
        "Host": target.parsed.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Connection": "close",
        **signature_headers(msg_id=webhook_id, timestamp=timestamp, body=body, secrets=secrets),
    }
    if target.parsed.scheme == "https":
        conn: _PinnedHTTPConnection = _PinnedHTTPSConnection(target, limits, ssl_context or system_tls_context())
    else:
        conn = _PinnedHTTPConnection(target, limits)
    timer = threading.Timer(limits.total_timeout, conn.abort)
    timer.daemon = True
    timer.start()
    status: int | None = None
    response_headers: http.client.HTTPMessage | None = None
    received = bytearray()
    error: str | None = None
    try:
        conn.request("POST", target.parsed.target, body=body, headers=headers)
        response = conn.getresponse()
        if conn.deadline_passed:
            # The deadline's shutdown ends the header block early and http.client takes what
            # came so far as a whole answer: a status line dripped before it is not a "yes".
            raise TimeoutError("deadline passed before the headers were complete")
        status, response_headers = response.status, response.headers
        while len(received) < limits.max_response_bytes:
            chunk = response.read1(limits.max_response_bytes - len(received))
            if not chunk:
                break
            received += chunk
        if conn.deadline_passed:
            # The timer's shutdown reads as a clean end of the body, not as an error.
            error = _describe_error(TimeoutError(), True, limits, target)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        error = _describe_error(exc, conn.deadline_passed, limits, target)
    finally:
        timer.cancel()
        conn.close()

    excerpt = received.decode("utf-8", errors="replace")
    if status is None:
        return result(Outcome.RETRY, error=error, address=target.ip)
    common = {"status_code": status, "response_excerpt": excerpt, "address": target.ip}
    if 200 <= status < 300:
        # The receiver said yes; a body cut short by the deadline does not change that.
        return result(Outcome.DELIVERED, error=error, **common)
    assert response_headers is not None
    if status == 410:
        return result(Outcome.DISABLE, error="410 Gone: the receiver asked us to stop sending", **common)
    retry_after = parse_retry_after(response_headers.get("Retry-After"), now=attempted_at)
    if 300 <= status < 400:
        location = response_headers.get("Location")
        return result(
            Outcome.RETRY,
            error=(
                f"{status} redirect to {location} not followed; update the endpoint URL"
                if location
                else f"{status} redirect without a Location header, not followed; check the endpoint URL"
            ),
            location=location,
            retry_after=retry_after,
            **common,
        )
    return result(Outcome.RETRY, error=error or f"HTTP {status}", retry_after=retry_after, **common)


def _describe_error(exc: BaseException, deadline_passed: bool, limits: DeliveryLimits, target: CheckedTarget) -> str:
    if deadline_passed:
        return f"Cut off after {limits.total_timeout:g} s: the receiver was too slow to answer"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not valid for {target.host}: {exc.verify_message}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"Timed out ({limits.connect_timeout:g} s to connect, {limits.read_timeout:g} s between reads)"
    if isinstance(exc, ConnectionRefusedError):
        return f"Connection refused by {target.ip}:{target.port}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# --- the retry schedule -----------------------------------------------------------------------


def next_attempt_at(
    *,
    attempts_made: int,
    now: datetime,
    retry_after: timedelta | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again after attempts_made failed attempts, or None when the schedule is used up
    (then the endpoint is disabled). A receiver's Retry-After (429, 503) is honoured: never sooner."""
    if attempts_made < 1:
        raise ValueError("attempts_made counts the attempts so far, the first one included")
    if attempts_made > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[attempts_made - 1]
    delay = base * (rng or random).uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return now + delay
