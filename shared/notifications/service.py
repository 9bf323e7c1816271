"""Notification operations: preferences, webhook endpoints (admin), fan-out and delivery (worker).

Write path: an incident or evidence change writes an outbox message; the relay publishes it to
the fan-out task of its event type (shared.events.TASK_ROUTES), which calls `fan_out`: one
transaction inserts an `EmailDelivery` per (event, recipient) and a `WebhookDelivery` per
(endpoint, webhook id), each unique, so a second run inserts nothing. Each delivery is then sent
by its own task (`send_email`, `deliver_webhook`): claim by compare-and-set (pending -> sending,
with a lease), send once outside any transaction, record the result. The beat's `dispatch_due`
hands out what is due (retries, publishes lost in a crash, leases of killed workers).
"""

from __future__ import annotations

import hashlib
import logging
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared.accounts import reset
from shared.accounts import service as accounts
from shared.accounts.models import Role, User
from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.config import Settings
from shared.db import utcnow
from shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shared.events import EventType
from shared.evidence.models import DOWNLOADABLE, Evidence, EvidenceState
from shared.incidents.lifecycle import Status
from shared.incidents.models import Comment, FollowUp, Incident
from shared.notifications import email as mail
from shared.notifications import secret_box, webhooks
from shared.notifications.models import (
    DeliveryStatus,
    EmailDelivery,
    EmailStatus,
    NotificationPreference,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from shared.notifications.rules import EmailPreference, EventKind, recipients_for
from shared.notifications.ssrf import (
    Resolver,
    WebhookPolicy,
    WebhookUrlError,
    parse_allowed_hosts,
    parse_webhook_url,
    validate_webhook_url,
)
from shared.outbox import service as outbox
from shared.permissions import Action, SystemPrincipal, can
from shared.timeutil import as_utc

log = logging.getLogger(__name__)

# Our event types -> the public webhook event names (EVIDENCE_PROCESSED adds evidence.infected
# when the verdict is infected).
PUBLIC_EVENT: dict[str, str] = {
    EventType.INCIDENT_CREATED: "incident.created",
    EventType.INCIDENT_EDITED: "incident.updated",
    EventType.INCIDENT_PRIORITY_CHANGED: "incident.updated",
    EventType.INCIDENT_STATUS_CHANGED: "incident.status_changed",
    EventType.INCIDENT_ASSIGNED: "incident.assigned",
    EventType.INCIDENT_COMMENTED: "comment.created",
    EventType.EVIDENCE_PROCESSED: "evidence.processed",
}
EMAIL_KIND: dict[str, EventKind] = {
    EventType.INCIDENT_CREATED: EventKind.INCIDENT_CREATED,
    EventType.INCIDENT_STATUS_CHANGED: EventKind.STATUS_CHANGED,
    EventType.INCIDENT_ASSIGNED: EventKind.ASSIGNED,
    EventType.INCIDENT_PRIORITY_CHANGED: EventKind.PRIORITY_CHANGED,  # mailed when raised to P1
    EventType.INCIDENT_COMMENTED: EventKind.COMMENT_CREATED,
    EventType.EVIDENCE_PROCESSED: EventKind.EVIDENCE_VERDICT,
    EventType.FOLLOW_UP_ASSIGNED: EventKind.FOLLOW_UP_ASSIGNED,  # email only (no PUBLIC_EVENT)
}
NOTICE_WEBHOOK_DISABLED = "webhook_disabled"
NOTICE_ACCOUNT = "account_notice"  # your password was changed or set
# A link to choose a new password: its text is written when it is sent, never stored.
NOTICE_PASSWORD_RESET = "password_reset"  # noqa: S105 - a mail kind
NOTICE_INVITE = "invite"  # a new account's link to choose a password, written at sending too
NOTICE_KINDS = frozenset({NOTICE_WEBHOOK_DISABLED, NOTICE_ACCOUNT})
ACCOUNT_EVENTS = frozenset(
    {
        EventType.USER_PASSWORD_CHANGED,
        EventType.USER_PASSWORD_RESET,
        EventType.USER_PASSWORD_RESET_REQUESTED,
        EventType.USER_INVITED,
    }
)
# A mail that keeps failing (SMTP down) is tried again after these delays, then given up.
EMAIL_RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
)
# A due delivery handed to a task is not handed out again by the sweep for this long (its task
# may simply be waiting in the queue).
REDISPATCH_AFTER = timedelta(minutes=2)
DESCRIPTION_MAX = 500
SLACK_REASON_MAX = 200  # a channel line, not the reason's whole text (the link leads to it)


# --- settings -> policies ---------------------------------------------------------------------


def webhook_policy(settings: Settings) -> WebhookPolicy:
    return WebhookPolicy(
        allow_http=settings.webhook_allow_http,
        allow_private_hosts=parse_allowed_hosts(settings.webhook_allow_private_hosts),
        exempt_loopback=not settings.is_production,
    )


def delivery_limits(settings: Settings) -> webhooks.DeliveryLimits:
    timeout = settings.webhook_timeout_seconds
    return webhooks.DeliveryLimits(connect_timeout=timeout, read_timeout=timeout, total_timeout=3 * timeout)


def _lease(settings: Settings) -> timedelta:
    # Longer than one attempt can take, so a live worker never loses its claim mid-send.
    return timedelta(seconds=3 * settings.webhook_timeout_seconds + settings.notification_lease_margin_seconds)


def email_status(settings: Settings, *, for_admin: bool = True) -> str:
    """One sentence for the admin and profile pages: where notification mail goes. Only admins
    are told the server's mail host or folder (found by QA: every profile showed the path)."""
    if not for_admin:
        return {
            "smtp": "Email is on: notifications are mailed to you.",
            "folder": "Email is not sent from this server (it writes messages to files, as in development).",
        }.get(settings.email_mode, "Email notifications are switched off on this server.")
    if settings.email_mode == "smtp":
        return f"Email is sent through {settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security})."
    if settings.email_mode == "folder":
        return f"Email is not sent: SMTP_HOST is not set, so messages are written to {settings.mail_dir}."
    return "Email notifications are switched off: SMTP_HOST is not set."


def make_mailer(settings: Settings, *, ssl_context: ssl.SSLContext | None = None):
    if settings.email_mode == "smtp":
        config = mail.SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
        return mail.SmtpMailer(config, ssl_context=ssl_context)
    return mail.FolderMailer(Path(settings.mail_dir))


# --- preferences ------------------------------------------------------------------------------


def email_preference(*, session: Session, user_id: int) -> EmailPreference:
    """The user's choice; "all" until they make one."""
    row = session.scalar(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
    return EmailPreference(row.email) if row else EmailPreference.ALL


def set_email_preference(*, session: Session, user: User, preference: str) -> EmailPreference:
    """Store the user's own choice: all, p1_p2 or off."""
    try:
        choice = EmailPreference(preference)
    except ValueError:
        raise ValidationFailed({"email": "Choose all incidents, P1 and P2 only, or no email."}) from None
    row = session.scalar(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    if row is None:
        try:
            # The first choice sent twice at once (two tabs): the unique user_id decides, and the
            # other one's row is updated instead (it was a 500, found by QA).
            with session.begin_nested():
                session.add(NotificationPreference(user_id=user.id, email=choice.value, updated_at=utcnow()))
                session.flush()
            return choice
        except IntegrityError:
            row = session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id)).one()
    row.email = choice.value
    row.updated_at = utcnow()
    session.flush()
    return choice


# --- endpoints (admin) ------------------------------------------------------------------------


def _require_admin(actor: User) -> None:
    if not can(actor, Action.MANAGE_WEBHOOKS):
        raise PermissionDenied("Only an admin can manage webhooks.")


def _clean_fields(
    *, url: str, event_types: Iterable[str], description: str, payload_format: str, policy: WebhookPolicy, resolver
) -> tuple[str, list[str], str, str]:
    errors: dict[str, str] = {}
    clean_url = ""
    try:
        clean_url = validate_webhook_url(url or "", policy=policy, resolver=resolver)
    except WebhookUrlError as error:
        errors["url"] = str(error)
    chosen = list(dict.fromkeys(e for e in event_types if e))
    unknown = [e for e in chosen if e not in webhooks.EVENT_TYPES]
    if unknown:
        errors["events"] = f"Unknown event type {unknown[0]!r}; choose from {', '.join(webhooks.EVENT_TYPES)}."
    elif not chosen:
        errors["events"] = "Choose at least one event to send."
    description = " ".join((description or "").split())
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = f"The description is too long: use at most {DESCRIPTION_MAX} characters."
    if payload_format not in {f.value for f in webhooks.PayloadFormat}:
        errors["payload_format"] = "Choose Standard Webhooks JSON or Slack."
    if errors:
        raise ValidationFailed(errors)
    return clean_url, [e for e in webhooks.EVENT_TYPES if e in chosen], description, payload_format


def list_endpoints(*, session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)))


def get_endpoint(
    *, session: Session, endpoint_id: int, expected_version: str | None = None, for_update: bool = False
) -> WebhookEndpoint:
    """The endpoint; `for_update` locks it for this transaction (a check on it then holds until
    the commit); with `expected_version` (an `endpoint_version` the caller read) it is locked too,
    and refused as a Conflict when it changed since."""
    locking = for_update or expected_version is not None
    # Locked and read again (not the copy this session may hold): compared as it is now.
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=locking, populate_existing=locking)
    if endpoint is None:
        raise NotFound("There is no such webhook endpoint (it may have been deleted).")
    if expected_version is not None and expected_version != endpoint_version(endpoint):
        raise Conflict(
            "This endpoint changed since you read it (its secret was rotated, or it was edited, enabled or disabled)."
        )
    return endpoint


def endpoint_version(endpoint: WebhookEndpoint) -> str:
    """Changes with every save, switch and rotation (the API's ETag): a write that names the
    version it read cannot undo one it did not see. It tells nothing about the secret."""
    stamp = f"{endpoint.secret_encrypted}|{as_utc(endpoint.updated_at).isoformat()}"
    return hashlib.sha256(stamp.encode()).hexdigest()[:20]


# Only for comparing URLs: a stored http:// URL is still read when production refuses new ones.
_ANY_SCHEME = WebhookPolicy(allow_http=True)


def _url_key(url: str) -> str:
    """The URL as the receiver gets it: `HTTPS://Hooks.Example.com:443/in#top` and
    `https://hooks.example.com/in` are one endpoint (scheme and host case, default port, fragment)."""
    try:
        parsed = parse_webhook_url(url, policy=_ANY_SCHEME)
    except WebhookUrlError:
        return (url or "").strip()
    return f"{parsed.scheme}://{parsed.host_header}{parsed.target}"


def url_digest(url: str) -> str:
    """What the unique index on webhook_endpoints.url_digest compares: one value per endpoint URL."""
    return hashlib.sha256(_url_key(url).encode()).hexdigest()


def _url_in_use(session: Session, url: str, endpoint: WebhookEndpoint | None) -> str | None:
    """Why `url` is refused when another endpoint has it already, or None."""
    key = _url_key(url)
    if endpoint is not None and _url_key(endpoint.url) == key:
        return None  # unchanged: editing the events of an older duplicate must not be refused
    # Endpoints are an admin's handful and stored URLs are not normalised: compare them here.
    others = session.execute(select(WebhookEndpoint.id, WebhookEndpoint.url).order_by(WebhookEndpoint.id))
    for other_id, other_url in others:
        if (endpoint is None or other_id != endpoint.id) and _url_key(other_url) == key:
            return f"{other_url} is already an endpoint (#{other_id}); edit that one instead."
    return None


def _clean_endpoint_fields(
    *,
    session: Session,
    settings: Settings,
    endpoint: WebhookEndpoint | None,
    url: str,
    event_types: Iterable[str],
    description: str,
    payload_format: str,
    resolver: Resolver | None,
) -> tuple[str, list[str], str, str]:
    """`_clean_fields`, and the URL refused when another endpoint has it already: a second
    endpoint for one URL sends every event twice (a form posted again made one)."""
    errors: dict[str, str] = {}
    cleaned = None
    try:
        cleaned = _clean_fields(
            url=url,
            event_types=event_types,
            description=description,
            payload_format=payload_format,
            policy=webhook_policy(settings),
            resolver=resolver,
        )
    except ValidationFailed as error:
        errors = dict(error.field_errors)
    if "url" not in errors and (in_use := _url_in_use(session, url, endpoint)):
        errors["url"] = in_use
    if cleaned is None or errors:
        raise ValidationFailed(errors)
    return cleaned


def _save_unique_url(session: Session, endpoint: WebhookEndpoint, url: str) -> None:
    """Flush `endpoint`; when another request saved the same URL meanwhile (the unique index
    decides), roll back and refuse as the look-up would have. The caller rolls back anyway after
    a ValidationFailed; here it comes first so the other endpoint can be read and named."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ValidationFailed(
            {"url": _url_in_use(session, url, None) or f"{url} is already an endpoint; edit that one instead."}
        ) from None


def masked_url(url: str) -> str:
    """The URL without what may be its credential, for the audit chain and mail. Slack, Discord
    and Teams put the secret in the path (others in the query or user info), and the chain
    keeps what it is given for good: scheme and host only, `/…` standing for the rest."""
    parts = urlsplit((url or "").strip())
    host = parts.netloc.rpartition("@")[2]
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{rest}"


def _url_record(url: str) -> dict[str, str]:
    """The URL as audited: masked, and the digest that tells endpoints apart (and lets an
    auditor who holds the whole URL check which one it was)."""
    return {"url": masked_url(url), "url_sha256": url_digest(url)}


def _audit(session: Session, actor: User | None, action: EventType, endpoint: WebhookEndpoint, data: dict) -> None:
    # Never the secret (the chain is readable by every lead), nor the URL whole: see masked_url.
    # No actor: the delivery itself changed the endpoint (410 Gone, retries exhausted).
    audit.append(
        session=session,
        actor_id=actor.id if actor is not None else None,
        action=action,
        entity_type="webhook",
        entity_id=endpoint.id,
        data=data,
    )


def create_endpoint(
    *,
    session: Session,
    actor: User,
    settings: Settings,
    url: str,
    event_types: Iterable[str],
    description: str = "",
    payload_format: str = "standard",
    resolver: Resolver | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint (its URL not another's); returns it and its new signing secret (shown once, stored encrypted)."""
    _require_admin(actor)
    url, events, description, payload_format = _clean_endpoint_fields(
        session=session,
        settings=settings,
        endpoint=None,
        url=url,
        event_types=event_types,
        description=description,
        payload_format=payload_format,
        resolver=resolver,
    )
    secret = webhooks.generate_secret()
    now = utcnow()
    endpoint = WebhookEndpoint(
        url=url,
        url_digest=url_digest(url),
        event_types=events,
        description=description,
        payload_format=payload_format,
        enabled=True,
        secret_encrypted=secret_box.seal(secret, secret_key=settings.effective_secret_key),
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    _save_unique_url(session, endpoint, url)
    _audit(
        session,
        actor,
        EventType.WEBHOOK_CREATED,
        endpoint,
        {**_url_record(url), "events": events, "format": payload_format},
    )
    return endpoint, secret


def update_endpoint(
    *,
    session: Session,
    actor: User,
    settings: Settings,
    endpoint_id: int,
    url: str,
    event_types: Iterable[str],
    description: str = "",
    payload_format: str = "standard",
    resolver: Resolver | None = None,
    expected_version: str | None = None,
) -> WebhookEndpoint:
    """Change an endpoint's URL, events, description or format (checked as at creation)."""
    _require_admin(actor)
    endpoint = get_endpoint(session=session, endpoint_id=endpoint_id, expected_version=expected_version)
    url, events, description, payload_format = _clean_endpoint_fields(
        session=session,
        settings=settings,
        endpoint=endpoint,
        url=url,
        event_types=event_types,
        description=description,
        payload_format=payload_format,
        resolver=resolver,
    )
    new = {"url": url, "event_types": events, "description": description, "payload_format": payload_format}
    changes = {k: {"from": getattr(endpoint, k), "to": v} for k, v in new.items() if getattr(endpoint, k) != v}
    if not changes:
        return endpoint
    for name, change in changes.items():
        setattr(endpoint, name, change["to"])
    if "url" in changes and _url_key(changes["url"]["from"]) != _url_key(url):
        # Only a move onto another URL: an older duplicate keeps NULL while its URL stays.
        endpoint.url_digest = url_digest(url)
    endpoint.updated_at = utcnow()
    _save_unique_url(session, endpoint, url)
    audited = dict(changes)
    if "url" in changes:
        audited["url"] = {"from": masked_url(changes["url"]["from"]), "to": masked_url(url)}
        audited["url_sha256"] = {"from": url_digest(changes["url"]["from"]), "to": url_digest(url)}
    _audit(session, actor, EventType.WEBHOOK_UPDATED, endpoint, {"changes": audited})
    return endpoint


def _cancel_pending(session: Session, endpoint_id: int) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == DeliveryStatus.PENDING.value)
        .values(status=DeliveryStatus.CANCELLED.value, next_attempt_at=None)
    )


def set_endpoint_enabled(
    *, session: Session, actor: User, endpoint_id: int, enabled: bool, expected_version: str | None = None
) -> WebhookEndpoint:
    """Disable an endpoint (its pending deliveries are cancelled) or enable it again."""
    _require_admin(actor)
    endpoint = get_endpoint(session=session, endpoint_id=endpoint_id, expected_version=expected_version)
    if endpoint.enabled == enabled:
        return endpoint
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else f"Disabled by {actor.email}."
    endpoint.updated_at = utcnow()
    if not enabled:
        _cancel_pending(session, endpoint.id)
    session.flush()
    _audit(session, actor, EventType.WEBHOOK_UPDATED, endpoint, {"enabled": enabled})
    return endpoint


_Row = TypeVar("_Row")


def delete_endpoint(*, session: Session, actor: User, endpoint_id: int) -> str:
    """Delete an endpoint and its delivery log; returns its URL for the confirmation."""
    _require_admin(actor)
    endpoint = get_endpoint(session=session, endpoint_id=endpoint_id)
    url = endpoint.url
    _audit(session, actor, EventType.WEBHOOK_DELETED, endpoint, _url_record(url))
    delivery_ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    session.execute(
        delete(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .execution_options(synchronize_session=False)
    )
    session.delete(endpoint)
    session.flush()
    return url


def rotate_secret(
    *, session: Session, actor: User, settings: Settings, endpoint_id: int, expected_version: str | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret (returned once); the old one keeps signing for the overlap period.
    A rotation nobody meant (a retried request) would drop the secret receivers still have:
    callers that can, name the version they read (`expected_version`)."""
    _require_admin(actor)
    endpoint = get_endpoint(session=session, endpoint_id=endpoint_id, expected_version=expected_version)
    secret = webhooks.generate_secret()
    now = utcnow()
    overlap = timedelta(hours=settings.webhook_secret_overlap_hours)
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted if overlap else None
    endpoint.previous_secret_expires_at = now + overlap if overlap else None
    endpoint.secret_encrypted = secret_box.seal(secret, secret_key=settings.effective_secret_key)
    endpoint.updated_at = now
    session.flush()
    _audit(
        session,
        actor,
        EventType.WEBHOOK_SECRET_ROTATED,
        endpoint,
        {
            "old_secret_signs_until": endpoint.previous_secret_expires_at.isoformat()
            if overlap and endpoint.previous_secret_expires_at
            else None
        },
    )
    return endpoint, secret


def signing_secrets(endpoint: WebhookEndpoint, *, settings: Settings, now: datetime | None = None) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous during its overlap."""
    key = settings.effective_secret_key
    found = [secret_box.unseal(endpoint.secret_encrypted, secret_key=key)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires and as_utc(expires) > (now or utcnow()):
        found.append(secret_box.unseal(endpoint.previous_secret_encrypted, secret_key=key))
    return found


def recent_deliveries(*, session: Session, endpoint_id: int, limit: int = 50) -> list[WebhookDelivery]:
    """The endpoint's delivery log, newest first (attempts loaded with each)."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def _request_delivery(session: Session, delivery: WebhookDelivery) -> None:
    # Through the outbox: the worker sends it, after this transaction commits.
    outbox.enqueue(session=session, topic=EventType.WEBHOOK_DELIVERY_REQUESTED, payload={"delivery_id": delivery.id})


def send_test_event(*, session: Session, actor: User, endpoint_id: int) -> WebhookDelivery:
    """Queue a webhook.test delivery to the endpoint (one attempt, no retries)."""
    _require_admin(actor)
    endpoint = get_endpoint(session=session, endpoint_id=endpoint_id)
    if not endpoint.enabled:
        raise ValidationFailed({"endpoint": "Enable the endpoint before sending a test event."})
    now = utcnow()
    body = webhooks.build_test_payload(payload_format=endpoint.payload_format, occurred_at=now)
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        webhook_id=f"test_{outbox.new_message_id()}",
        event_type=webhooks.TEST_EVENT_TYPE,
        body=body.decode(),
        status=DeliveryStatus.PENDING.value,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    _request_delivery(session, delivery)
    return delivery


def redeliver(*, session: Session, actor: User, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again now, with the same webhook-id and body."""
    _require_admin(actor)
    # Fresh from the database and locked: the worker changes these rows outside this session.
    delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True, with_for_update=True)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise NotFound("There is no such delivery for this endpoint.")
    if not delivery.endpoint.enabled:
        raise ValidationFailed({"endpoint": "Enable the endpoint before redelivering."})
    if delivery.status == DeliveryStatus.SENDING.value:
        raise ValidationFailed({"delivery": "This delivery is being sent right now."})
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = utcnow()
    delivery.lease_until = None
    session.flush()
    _request_delivery(session, delivery)
    return delivery


# --- fan-out (worker) -------------------------------------------------------------------------


@dataclass(frozen=True)
class FanOut:
    email_ids: tuple[int, ...] = ()
    webhook_ids: tuple[int, ...] = ()


def _user_ref(user: User | None) -> dict | None:
    return {"id": user.id, "email": user.email, "name": user.name} if user else None


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat().replace("+00:00", "Z") if value else None


def incident_url(settings: Settings, incident: Incident) -> str:
    return mail.incident_url(base_url=settings.base_url, incident_key=incident.key or "")


def incident_data(incident: Incident, *, settings: Settings) -> dict:
    """The incident as the JSON API shows it (web/api/schemas.py IncidentOut), plus its link."""
    return {
        "id": incident.id,
        "key": incident.key,
        "title": incident.title,
        "description": incident.description,
        "status": incident.status,
        "priority": incident.priority,
        "component": incident.component,
        "environment": incident.environment,
        "owner": _user_ref(incident.owner),
        "reporter": _user_ref(incident.reporter),
        "due_date": incident.due_date.isoformat() if incident.due_date else None,
        "blocked_reason": incident.blocked_reason,
        "resolution_summary": incident.resolution_summary,
        "created_at": _iso(incident.created_at),
        "updated_at": _iso(incident.updated_at),
        "last_activity_at": _iso(incident.activity_at),
        "acknowledged_at": _iso(incident.acknowledged_at),
        "in_progress_at": _iso(incident.in_progress_at),
        "blocked_at": _iso(incident.blocked_at),
        "resolved_at": _iso(incident.resolved_at),
        "closed_at": _iso(incident.closed_at),
        "version": incident.version,
        "url": incident_url(settings, incident),
    }


def _insert_once(session: Session, row: _Row) -> _Row | None:
    """Insert row unless its unique key exists; a concurrent twin loses on the constraint."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def _active_users(session: Session, ids: Iterable[int]) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids), User.is_active.is_(True)))}


def _lead_ids(session: Session) -> set[int]:
    return set(session.scalars(select(User.id).where(User.role == Role.LEAD.value, User.is_active.is_(True))))


def _preferences(session: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.scalars(select(NotificationPreference).where(NotificationPreference.user_id.in_(ids)))
    return {row.user_id: row.email for row in rows}


def fan_out(
    *, session: Session, settings: Settings, topic: str, payload: dict, message_id: str, now: datetime | None = None
) -> FanOut:
    """Create the email and webhook deliveries of one event, once however often it runs."""
    now = now or utcnow()
    if topic in ACCOUNT_EVENTS:
        return FanOut(email_ids=_account_notice(session, settings, topic, payload, message_id, now))
    row = session.get(Incident, payload.get("incident_id"))
    if row is None:
        return FanOut()
    # As this event left it (a later move must not show in this event's mail and webhook).
    incident = cast(Incident, IncidentAsOf(session, row, payload.get("as_of")))
    occurred = _moment(payload.get("as_of"), "occurred_at") or now
    event_id = str(payload.get("event_id") or message_id)
    actor = session.get(User, payload["actor_id"]) if payload.get("actor_id") else None
    evidence = session.get(Evidence, payload["evidence_id"]) if payload.get("evidence_id") else None
    comment = session.get(Comment, payload["comment_id"]) if payload.get("comment_id") else None
    if topic == EventType.EVIDENCE_PROCESSED and evidence is None:
        return FanOut()
    move = _status_move(session, payload, incident) if topic == EventType.INCIDENT_STATUS_CHANGED else None
    follow_up = None
    if topic == EventType.FOLLOW_UP_ASSIGNED:
        follow_up = session.get(FollowUp, payload.get("follow_up_id"))
        if follow_up is None or follow_up.incident_id != row.id:
            return FanOut()  # deleted since: there is nothing left to do

    if topic in (EventType.INCIDENT_ASSIGNED, EventType.FOLLOW_UP_ASSIGNED) and "owner_id" in payload:
        # Mail the person this event assigned (the incident, or the follow-up), even if someone
        # reassigned it again since.
        owner_id = payload["owner_id"]
    else:
        owner_id = incident.owner_id
    emails = _email_deliveries(
        session,
        settings,
        topic,
        event_id,
        incident,
        actor,
        evidence,
        comment,
        now,
        owner_id,
        occurred,
        move,
        follow_up,
        previous_owner_id=payload.get("previous_owner_id") if follow_up is not None else None,
    )
    # A receiver that pages on P1 must tell a raise from any other incident.updated: the change
    # as its audit event recorded it (the incident row holds only the new priority).
    priority_change = (
        {"from": _priority_before(session, event_id, incident) or None, "to": incident.priority}
        if topic == EventType.INCIDENT_PRIORITY_CHANGED
        else None
    )
    hooks = _webhook_deliveries(
        session, settings, topic, event_id, incident, actor, evidence, comment, now, occurred, move, priority_change
    )
    return FanOut(email_ids=tuple(emails), webhook_ids=tuple(hooks))


@dataclass(frozen=True)
class StatusMove:
    """A status change as its audit event recorded it: from, to, and the text the move required."""

    source: str | None  # None when the event is not found (a message older than its event id)
    target: str
    reason: str = ""  # why it was blocked, reopened or closed; for a move to Resolved, the resolution summary

    @property
    def resolution_summary(self) -> str:
        return self.reason if self.target == Status.RESOLVED else ""

    @property
    def why(self) -> str:
        return "" if self.target == Status.RESOLVED else self.reason


def _status_move(session: Session, payload: dict, incident) -> StatusMove:
    """The move this message announces, from its audit event (the message carries its id, never
    the text): the incident row holds only the latest reason, which a later move may have
    changed or cleared by the time this is sent."""
    event_id = payload.get("event_id")
    event = session.get(AuditEvent, event_id) if isinstance(event_id, int) else None
    if (
        event is None
        or event.action != EventType.INCIDENT_STATUS_CHANGED
        or event.incident_id != payload.get("incident_id")
    ):
        return StatusMove(source=None, target=incident.status)
    data = event.data or {}
    return StatusMove(
        source=data.get("from"), target=data.get("to") or incident.status, reason=data.get("reason") or ""
    )


def _priority_before(session: Session, event_id: str, incident) -> str:
    """The priority a priority change moved from, as its audit event recorded it ("" when the
    event is not found): the incident row holds only the latest priority."""
    event = session.get(AuditEvent, int(event_id)) if event_id.isdigit() else None
    if event is None or event.action != EventType.INCIDENT_PRIORITY_CHANGED or event.incident_id != incident.id:
        return ""
    return str((event.data or {}).get("from") or "")


def _moment(state: dict | None, name: str) -> datetime | None:
    value = (state or {}).get(name)
    return datetime.fromisoformat(value) if value else None


class IncidentAsOf:
    """An incident as one event left it: the state fields its outbox message carries (status,
    priority, owner, due date, version, times) from the message, the rest (title, texts, key,
    reporter) from the row as it is now. A message written before `as_of` existed reads as now."""

    _DATES = (
        "updated_at",
        "activity_at",
        "acknowledged_at",
        "in_progress_at",
        "blocked_at",
        "resolved_at",
        "closed_at",
    )

    def __init__(self, session: Session, row: Incident, state: dict | None) -> None:
        self._session, self._row, self._state = session, row, state or {}

    def __getattr__(self, name: str):
        if name not in self._state:
            return getattr(self._row, name)
        value = self._state[name]
        if name in self._DATES:
            return datetime.fromisoformat(value) if value else None
        if name == "due_date":
            return date.fromisoformat(value) if value else None
        return value

    @property
    def owner(self) -> User | None:
        if "owner_id" not in self._state:
            return self._row.owner
        owner_id = self._state["owner_id"]
        return self._session.get(User, owner_id) if owner_id is not None else None


def _account_notice(
    session: Session, settings: Settings, topic: str, payload: dict, message_id: str, now: datetime
) -> tuple[int, ...]:
    """Mail the owner of an account about its password: a link to choose a new one, or the
    news that it changed. Sent whatever their email preference: asked for, or how they learn
    of a change they did not make while they can still act."""
    if topic == EventType.USER_PASSWORD_RESET_REQUESTED:
        # Asked for by email, maybe one no account has: looked up here, not in the request.
        user = session.scalar(select(User).where(User.email == payload.get("email", "")))
    else:
        user = session.get(User, payload.get("user_id"))
    if settings.email_mode == "off" or user is None or not user.is_active:
        return ()
    if topic == EventType.USER_PASSWORD_RESET_REQUESTED and not reset.claim_reset_mail(session, user, now):
        return ()  # the last link (good for an hour) went out minutes ago
    actor = session.get(User, payload["actor_id"]) if payload.get("actor_id") else None
    if topic == EventType.USER_PASSWORD_RESET_REQUESTED:
        kind, context = NOTICE_PASSWORD_RESET, {}  # the link is written at sending
    elif topic == EventType.USER_INVITED:
        by = f"{actor.name} ({actor.email})" if actor is not None else "An admin, at the command line,"
        # The link is written at sending; "resent": an admin sent it again (the old link ended).
        kind, context = NOTICE_INVITE, {"by": by, **({"resent": "yes"} if payload.get("resent") else {})}
    else:
        kind, context = NOTICE_ACCOUNT, _password_changed_notice(topic, user, actor, settings, now)
    row = _insert_once(
        session,
        EmailDelivery(
            event_id=f"{topic}-{message_id}",
            recipient_id=user.id,
            kind=kind,
            context=context,
            status=EmailStatus.PENDING.value,
            next_attempt_at=now,
            dispatched_at=now,
            created_at=now,
        ),
    )
    if row is None:
        return ()  # this message was fanned out before
    if topic == EventType.USER_PASSWORD_RESET_REQUESTED:
        audit.append(
            session=session,
            actor_id=None,  # not signed in: whoever typed the address
            action=EventType.USER_PASSWORD_RESET_REQUESTED,
            entity_type="user",
            entity_id=user.id,
            data={"email": user.email},
        )
    return (row.id,)


def _password_changed_notice(topic: str, user: User, actor: User | None, settings: Settings, now: datetime) -> dict:
    profile = f"{settings.base_url.rstrip('/')}/profile"
    when = f"{as_utc(now):%Y-%m-%d %H:%M} UTC"
    if topic == EventType.USER_PASSWORD_CHANGED:
        return {
            "subject": "Your password was changed",
            "text": (
                f"The password of your Incident Tracker account {user.email} was changed at {when}.\n\n"
                "Every other browser signed in as you was signed out; the one it was changed in stays signed "
                "in. Your API tokens keep working.\n\n"
                "If this was not you, ask an admin to set a new password for you now, and revoke any API "
                f"token you do not recognise on {profile}\n"
            ),
        }
    who = f"{actor.name} ({actor.email})" if actor is not None else "An admin, at the command line,"
    return {
        "subject": "An admin set a new password for you",
        "text": (
            f"{who} set a new password for your Incident Tracker account {user.email} at {when}.\n\n"
            "Every browser signed in as you was signed out. Your API tokens keep working.\n\n"
            f"Get the new password from them over a channel you trust, then choose your own on {profile}\n"
            "If you did not ask for a new password, tell another admin now.\n"
        ),
    }


def _email_deliveries(
    session,
    settings,
    topic,
    event_id,
    incident,
    actor,
    evidence,
    comment,
    now,
    owner_id,
    occurred,
    move,
    follow_up,
    *,
    previous_owner_id: int | None = None,
) -> list[int]:
    if settings.email_mode == "off" or topic not in EMAIL_KIND:
        return []
    base = {
        "incident_key": incident.key,
        "incident_title": incident.title,
        "incident_status": Status(incident.status).label,
        "incident_priority": incident.priority,
        "actor_name": actor.name if actor else "",
        "occurred_at": occurred.isoformat(),
    }
    if move is not None:
        if move.source in set(Status):
            base["previous_status"] = Status(move.source).label
        # The start of it (a reason may be 20,000 characters); the mail links to the rest.
        base["reason"], base["reason_truncated"] = mail.excerpt(move.reason)
    if comment is not None and comment.redacted_at is None:
        # As typed, line breaks kept (a command, a stack trace), up to the mail's excerpt length.
        base["comment_excerpt"], base["comment_truncated"] = mail.excerpt(comment.body)
        base["comment_id"] = comment.id
    plans: list[tuple[str, EventKind, frozenset[int], dict]] = []
    watchers = incident.watcher_ids()
    actor_id = actor.id if actor else None
    if topic == EventType.EVIDENCE_PROCESSED:
        state = EvidenceState(evidence.state).label  # "not scanned", not "not_scanned"
        verdict = state if not evidence.reason else f"{state} ({evidence.reason})"
        extra = {"evidence_filename": evidence.display_name, "evidence_verdict": mail.one_line(verdict, 200)}
        candidates = {evidence.uploader_id}
        leads: set[int] = set()
        if evidence.state == "infected":
            # The uploader hears about their own file once, in the verdict mail.
            leads = _lead_ids(session) - {evidence.uploader_id}
            candidates |= leads
        prefs = _preferences(session, candidates)
        verdict_to = recipients_for(
            kind=EventKind.EVIDENCE_VERDICT,
            priority=incident.priority,
            actor_id=None,
            uploader_id=evidence.uploader_id,
            preferences=prefs,
        )
        if EvidenceState(evidence.state) in DOWNLOADABLE:
            # There to download, as the incident page shows at once: no mail per file (a script
            # attaching logs mailed its owner once per file, a browser upload once per photo).
            # Only a file that is not there (infected, refused, not checked) is news.
            verdict_to = frozenset()
        plans.append((event_id, EventKind.EVIDENCE_VERDICT, verdict_to, extra))
        if leads:
            infected_to = recipients_for(
                kind=EventKind.EVIDENCE_INFECTED,
                priority=incident.priority,
                actor_id=None,
                lead_ids=leads,
                preferences=prefs,
            )
            plans.append((f"{event_id}.infected", EventKind.EVIDENCE_INFECTED, infected_to, extra))
    else:
        kind = EMAIL_KIND[topic]
        if kind is EventKind.PRIORITY_CHANGED:
            base["previous_priority"] = _priority_before(session, event_id, incident)
        leads = _lead_ids(session) if kind in (EventKind.INCIDENT_CREATED, EventKind.PRIORITY_CHANGED) else set()
        prefs = _preferences(session, {owner_id, *watchers, *leads} - {None})
        to = recipients_for(
            kind=kind,
            priority=incident.priority,
            actor_id=actor_id,
            owner_id=owner_id,
            watcher_ids=watchers,
            lead_ids=leads,
            preferences=prefs,
            previous_priority=base.get("previous_priority", ""),
        )
        # The owner an incident was filed with reads that it is theirs (filed with no owner: nobody).
        extra = {"owner_id": owner_id} if kind is EventKind.INCIDENT_CREATED and owner_id is not None else {}
        if follow_up is not None:
            # Its title and due date as they are now (read at fan-out, seconds after the change).
            extra = {
                "follow_up_id": follow_up.id,
                "follow_up_title": follow_up.title,
                "follow_up_due": follow_up.due_date.isoformat() if follow_up.due_date else "",
            }
        plans.append((event_id, kind, to, extra))
        if follow_up is not None and previous_owner_id is not None:
            # Reassigned: the owner it was moved away from reads to whom (this event's new owner).
            new_owner = session.get(User, owner_id) if owner_id is not None else None
            moved_to = recipients_for(
                kind=EventKind.FOLLOW_UP_MOVED,
                priority=incident.priority,
                actor_id=actor_id,
                owner_id=previous_owner_id,
                preferences=_preferences(session, {previous_owner_id}),
            )
            moved = {**extra, "follow_up_owner": new_owner.name if new_owner is not None else ""}
            plans.append((f"{event_id}.moved", EventKind.FOLLOW_UP_MOVED, moved_to, moved))

    created: list[int] = []
    for plan_event_id, kind, user_ids, extra in plans:
        for user_id in sorted(_active_users(session, user_ids)):
            row = _insert_once(
                session,
                EmailDelivery(
                    event_id=plan_event_id,
                    recipient_id=user_id,
                    kind=kind.value,
                    incident_id=incident.id,
                    context={**base, **extra, "incident_id": incident.id},
                    status=EmailStatus.PENDING.value,
                    next_attempt_at=now,
                    dispatched_at=now,
                    created_at=now,
                ),
            )
            if row is not None:
                created.append(row.id)
    return created


def _public_types(topic: str, evidence, incident) -> list[str]:
    public = PUBLIC_EVENT.get(topic)
    if public is None:
        return []
    if topic == EventType.EVIDENCE_PROCESSED and evidence is not None and evidence.state == "infected":
        return [public, "evidence.infected"]
    if topic == EventType.INCIDENT_CREATED and incident.owner_id is not None:
        # Filed with an owner is an assignment too: whoever pages the assignee listens to
        # incident.assigned only. (Their email is the new incident's, which says it is theirs.)
        return [public, "incident.assigned"]
    return [public]


def _webhook_body(
    endpoint, event_type, settings, incident, actor, evidence, comment, now, move=None, priority_change=None
) -> bytes:
    url = incident_url(settings, incident)
    # A comment's message links to the comment itself (its anchor in the timeline).
    comment_url = f"{url}#comment-{comment.id}" if comment is not None else None
    if endpoint.payload_format == webhooks.PayloadFormat.SLACK:
        detail = ""
        if event_type == "incident.status_changed":
            # The move as it happened (the incident may have moved on since), and why, on one line.
            detail = Status(move.target if move is not None else incident.status).label
            why = (move.why or move.resolution_summary) if move is not None else ""
            if why:
                detail = f"{detail}: {mail.one_line(why, SLACK_REASON_MAX)}"
        elif event_type == "incident.assigned":
            detail = f"owner {incident.owner.name}" if incident.owner else "unassigned"
        elif event_type.startswith("evidence.") and evidence is not None:
            detail = f"{evidence.display_name}: {evidence.state}"
        elif event_type == "incident.created":
            detail = incident.priority
        elif priority_change is not None:
            detail = f"priority {priority_change['from'] or '?'} → {priority_change['to']}"
        if actor is not None:
            detail = f"{detail} (by {actor.name})" if detail else f"by {actor.name}"
        return webhooks.build_slack_payload(
            event_type=event_type,
            incident_key=incident.key,
            title=incident.title,
            url=comment_url if event_type == "comment.created" and comment_url else url,
            detail=detail,
        )
    data: dict = {"incident": incident_data(incident, settings=settings), "actor": _user_ref(actor)}
    if move is not None:
        # The move as it happened; the incident's blocked_reason and resolution_summary are read
        # when sending, and a later move may have cleared them.
        data["status_change"] = {
            "from": move.source,
            "to": move.target,
            "reason": move.why or None,
            "resolution_summary": move.resolution_summary or None,
        }
    if priority_change is not None:
        data["priority_change"] = priority_change
    if comment is not None:
        data["comment"] = {
            "id": comment.id,
            "author": _user_ref(comment.author),
            "created_at": _iso(comment.created_at),
            "body": None if comment.redacted_at else comment.body,
            "url": comment_url,
        }
    if evidence is not None:
        data["evidence"] = {
            "id": evidence.id,
            "filename": evidence.display_name,
            "state": evidence.state,
            "reason": evidence.reason,
            "size": evidence.size,
            "sha256": evidence.sha256,
            "detected_type": evidence.detected_type,
        }
    return webhooks.build_payload(event_type=event_type, occurred_at=now, data=data)


def _webhook_deliveries(
    session, settings, topic, event_id, incident, actor, evidence, comment, now, occurred, move, priority_change=None
) -> list[int]:
    types = _public_types(topic, evidence, incident)
    if not types:
        return []
    created: list[int] = []
    endpoints = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True)))
    for endpoint in endpoints:
        for event_type in types:
            if event_type not in (endpoint.event_types or []):
                continue
            # One id per event and type: the same on every retry, and on a second fan-out run.
            webhook_id = event_id if event_type == types[0] else f"{event_id}.{event_type.split('.')[-1]}"
            body = _webhook_body(
                endpoint, event_type, settings, incident, actor, evidence, comment, occurred, move, priority_change
            )
            row = _insert_once(
                session,
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    webhook_id=webhook_id,
                    event_type=event_type,
                    body=body.decode(),
                    status=DeliveryStatus.PENDING.value,
                    next_attempt_at=now,
                    dispatched_at=now,
                    created_at=now,
                ),
            )
            if row is not None:
                created.append(row.id)
    return created


# --- sending (worker) -------------------------------------------------------------------------


def _claim(
    factory: sessionmaker[Session],
    model,
    row_id: int,
    pending: str,
    now: datetime,
    lease: timedelta,
    then: Callable[[Session], object] | None = None,
):
    """pending (and due) -> sending, or take over a sending row whose lease ran out; falsy unless ours.

    `then(session)` runs in the claiming transaction once the row is ours and its answer is
    returned: reading what the send needs there saves a second connection per delivery."""
    with factory.begin() as session:
        result = session.execute(
            update(model)
            .where(
                model.id == row_id,
                or_(
                    and_(model.status == pending, model.next_attempt_at <= now),
                    and_(model.status == "sending", model.lease_until < now),
                ),
            )
            # dispatched_at cleared: from now on the lease says when another worker may take over.
            .values(status="sending", lease_until=now + lease, attempts=model.attempts + 1, dispatched_at=None)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], result).rowcount != 1:  # an UPDATE's result; execute() is typed wider
            return None
        return then(session) if then is not None else True


def send_email(
    *,
    factory: sessionmaker[Session],
    settings: Settings,
    delivery_id: int,
    mailer=None,
    now: Callable[[], datetime] = utcnow,
) -> str:
    """Send one email delivery once; returns its status afterwards."""
    started = now()
    if not _claim(factory, EmailDelivery, delivery_id, EmailStatus.PENDING.value, started, _lease(settings)):
        with factory() as session:
            row = session.get(EmailDelivery, delivery_id)
            return row.status if row else "missing"
    with factory() as session:
        row = session.get(EmailDelivery, delivery_id)
        assert row is not None  # just claimed; deliveries are never deleted while claimed
        recipient_user = session.get(User, row.recipient_id)
        attempts = row.attempts
        try:
            message = _build_email(row, recipient_user, settings)
        except ValueError as error:
            message, build_error = None, str(error)
    if message is None:
        return _finish_email(factory, delivery_id, attempts, EmailStatus.FAILED, error=build_error)
    try:
        sent_to = (mailer or make_mailer(settings)).send(message)
    except mail.MailDeliveryError as error:
        retry_at = (
            None if error.permanent or attempts > len(EMAIL_RETRY_DELAYS) else now() + EMAIL_RETRY_DELAYS[attempts - 1]
        )
        status = EmailStatus.PENDING if retry_at else EmailStatus.FAILED
        log.warning("email delivery %s attempt %s failed: %s", delivery_id, attempts, error)
        return _finish_email(factory, delivery_id, attempts, status, error=str(error), retry_at=retry_at)
    return _finish_email(factory, delivery_id, attempts, EmailStatus.SENT, sent_to=sent_to, sent_at=now())


def _finish_email(
    factory, delivery_id, attempts, status, *, error=None, retry_at=None, sent_to=None, sent_at=None
) -> str:
    with factory.begin() as session:
        # Only while still ours (same attempt): a worker that took over a lapsed lease wins.
        session.execute(
            update(EmailDelivery)
            .where(
                EmailDelivery.id == delivery_id, EmailDelivery.status == "sending", EmailDelivery.attempts == attempts
            )
            .values(
                status=status.value,
                last_error=error[:2000] if error else None,
                next_attempt_at=retry_at,
                lease_until=None,
                sent_to=sent_to,
                sent_at=sent_at,
            )
            .execution_options(synchronize_session=False)
        )
    return status.value


def _build_email(row: EmailDelivery, user: User | None, settings: Settings):
    if user is None or not user.is_active:
        raise ValueError("the recipient no longer exists or is disabled")
    recipient = mail.MailRecipient(user_id=user.id, email=user.email, name=user.name)
    context = dict(row.context or {})
    if row.kind == NOTICE_PASSWORD_RESET:
        return _password_reset_mail(row, user, recipient, settings)
    if row.kind == NOTICE_INVITE:
        return _invite_mail(row, user, recipient, settings)
    if row.kind in NOTICE_KINDS:
        return mail.build_notice(
            notice_id=row.event_id,
            recipient=recipient,
            subject=context.get("subject", "Notice"),
            text=context.get("text", ""),
            base_url=settings.base_url,
            sender=settings.smtp_from,
            occurred_at=as_utc(row.created_at),
        )
    event = _mail_event(row, recipient_id=user.id)
    return mail.build_message(event=event, recipient=recipient, base_url=settings.base_url, sender=settings.smtp_from)


def _mail_event(row: EmailDelivery, *, recipient_id: int) -> mail.MailEvent:
    """The event a notification delivery mails, from what its row stored: the mail's build and
    the "Recent email" list's subject both start here. KeyError when the row lacks a field."""
    context = row.context or {}
    return mail.MailEvent(
        event_id=row.event_id,
        kind=EventKind(row.kind),
        incident_id=context["incident_id"],
        incident_key=context["incident_key"],
        incident_title=context["incident_title"],
        incident_status=context["incident_status"],
        incident_priority=context["incident_priority"],
        actor_name=context.get("actor_name", ""),
        occurred_at=datetime.fromisoformat(context["occurred_at"]),
        comment_excerpt=context.get("comment_excerpt", ""),
        comment_truncated=bool(context.get("comment_truncated")),
        reason=context.get("reason", ""),
        reason_truncated=bool(context.get("reason_truncated")),
        previous_status=context.get("previous_status", ""),
        previous_priority=context.get("previous_priority", ""),
        evidence_filename=context.get("evidence_filename", ""),
        evidence_verdict=context.get("evidence_verdict", ""),
        comment_id=context.get("comment_id"),
        to_owner=context.get("owner_id") == recipient_id,
        follow_up_id=context.get("follow_up_id"),
        follow_up_title=context.get("follow_up_title", ""),
        follow_up_due=context.get("follow_up_due", ""),
        follow_up_owner=context.get("follow_up_owner", ""),
    )


INVITE_SUBJECT = "Your new account: choose a password"
RESET_SUBJECT = "Choose a new password"


def _invite_mail(row: EmailDelivery, user: User, recipient, settings: Settings):
    by = (row.context or {}).get("by") or "An admin"
    # A resent invitation comes from whoever sent it again, not necessarily who made the account.
    said = (
        f"{by} sent you a new link for your account on Incident Tracker: {user.email} ({user.role}); "
        "links sent before no longer work."
        if (row.context or {}).get("resent")
        else f"{by} made you an account on Incident Tracker: {user.email} ({user.role})."
    )
    return _password_link_mail(
        row,
        user,
        recipient,
        settings,
        hours=reset.INVITE_LINK_HOURS,
        subject=INVITE_SUBJECT,
        opening=f"{said}\n\n"
        f"Choose your password here; the link works for {reset.INVITE_LINK_HOURS} hours and only once:",
        # Choosing the password signs the person in (web/auth/views.py reset_password).
        closing="Choosing it signs you in. Later, sign in at {base}/login; if the link has expired, "
        "'Forgot your password?' there sends another.",
    )


def _password_reset_mail(row: EmailDelivery, user: User, recipient, settings: Settings):
    return _password_link_mail(
        row,
        user,
        recipient,
        settings,
        hours=reset.RESET_LINK_HOURS,
        subject=RESET_SUBJECT,
        opening=f"Someone (we hope you) asked to choose a new password for the Incident Tracker account {user.email}."
        f"\n\nChoose it here; the link works for {reset.RESET_LINK_HOURS} hour and only once:",
        closing="If you did not ask, ignore this mail: your password stays as it is.",
    )


def _password_link_mail(row, user, recipient, settings: Settings, *, hours, subject, opening, closing):
    # The link is made now, at sending: no stored row or queued message ever holds a working one.
    token = reset.make_token(secret_key=settings.effective_secret_key, user=user, hours=hours)
    base = settings.base_url.rstrip("/")
    text = f"{opening}\n\n{base}/password/reset?token={token}\n\n{closing.format(base=base)}\n"
    return mail.build_notice(
        notice_id=row.event_id,
        recipient=recipient,
        subject=subject,
        text=text,
        base_url=settings.base_url,
        sender=settings.smtp_from,
        occurred_at=utcnow(),
    )


def deliver_webhook(
    *,
    factory: sessionmaker[Session],
    settings: Settings,
    delivery_id: int,
    resolver: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
    now: Callable[[], datetime] = utcnow,
) -> str:
    """Make one attempt at a due webhook delivery and record it; returns the delivery's status."""
    started = now()

    def read(session: Session) -> tuple:
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None  # just claimed in this transaction
        endpoint = delivery.endpoint
        try:
            secrets, secrets_error = signing_secrets(endpoint, settings=settings, now=started), None
        except secret_box.SecretUnreadable as error:
            secrets, secrets_error = [], str(error)
        is_test = delivery.event_type == webhooks.TEST_EVENT_TYPE
        return (delivery.attempts, delivery.body.encode(), delivery.webhook_id, endpoint.url, endpoint.enabled,
                is_test, secrets, secrets_error)  # fmt: skip

    claimed = _claim(
        factory, WebhookDelivery, delivery_id, DeliveryStatus.PENDING.value, started, _lease(settings), then=read
    )
    if not claimed:
        with factory() as session:
            row = session.get(WebhookDelivery, delivery_id)
            return row.status if row else "missing"
    attempt, body, webhook_id, url, enabled, is_test, secrets, secrets_error = claimed
    if not enabled:
        return _record_attempt(factory, delivery_id, attempt, None, cancel=True)
    if secrets_error:
        return _record_attempt(factory, delivery_id, attempt, None, error=secrets_error)
    result = webhooks.attempt_delivery(
        url=url,
        webhook_id=webhook_id,
        body=body,
        secrets=secrets,
        policy=webhook_policy(settings),
        limits=delivery_limits(settings),
        resolver=resolver,
        ssl_context=ssl_context,
        clock=now,
    )
    return _record_attempt(factory, delivery_id, attempt, result, single_attempt=is_test, settings=settings)


def _record_attempt(
    factory,
    delivery_id: int,
    attempt: int,
    result: webhooks.DeliveryResult | None,
    *,
    cancel: bool = False,
    error: str | None = None,
    single_attempt: bool = False,
    settings: Settings | None = None,
) -> str:
    with factory.begin() as session:
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.status != "sending" or delivery.attempts != attempt:
            return delivery.status if delivery else "missing"  # a worker that took over the lease owns it now
        delivery.lease_until = None
        if cancel:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.CANCELLED.value, None
            return delivery.status
        if result is None:
            delivery.status, delivery.next_attempt_at, delivery.last_error = DeliveryStatus.FAILED.value, None, error
            return delivery.status
        session.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                attempt=attempt,
                attempted_at=result.attempted_at,
                outcome=result.outcome.value,
                status_code=result.status_code,
                duration_ms=result.duration_ms,
                response_excerpt=result.response_excerpt[:2000],
                error=result.error,
            )
        )
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        outcome = result.outcome
        if outcome is webhooks.Outcome.DELIVERED:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                DeliveryStatus.DELIVERED.value,
                result.attempted_at,
                None,
            )
        elif outcome is webhooks.Outcome.DISABLE:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED.value, None
            gone = f"The receiver answered 410 Gone on {_iso(result.attempted_at)}."
            _disable(session, delivery.endpoint, gone, settings, audited="The receiver answered 410 Gone.")
        elif outcome is webhooks.Outcome.FAILED or single_attempt:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED.value, None
        else:
            retry_at = webhooks.next_attempt_at(
                attempts_made=attempt, now=result.attempted_at, retry_after=result.retry_after
            )
            if retry_at is None:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED.value, None
                _disable(
                    session,
                    delivery.endpoint,
                    f"No delivery succeeded after {attempt} attempts over about three days (last: {result.error}).",
                    settings,
                    # Without the last error: its words come from the receiver's side.
                    audited=f"No delivery succeeded after {attempt} attempts over about three days.",
                )
            else:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING.value, retry_at
        return delivery.status


def _disable(
    session: Session, endpoint: WebhookEndpoint, reason: str, settings: Settings | None, *, audited: str
) -> None:
    """Switch an endpoint off without an admin (410, schedule exhausted), on the audit trail as
    an admin's Disable is (`audited`: the reason as recorded there), and email the admins."""
    if not endpoint.enabled:
        return
    now = utcnow()
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.updated_at = now
    _cancel_pending(session, endpoint.id)
    _audit(session, None, EventType.WEBHOOK_UPDATED, endpoint, {"enabled": False, "reason": audited})
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
    if settings is None or settings.email_mode == "off":
        return
    admins = session.scalars(select(User.id).where(User.role == Role.ADMIN.value, User.is_active.is_(True)))
    notice_id = f"webhook-{endpoint.id}-disabled-{int(now.timestamp())}"
    # The URL masked: mail passes through servers and mailboxes that must not hold a receiver's
    # credential; the description (or the id) says which endpoint it is.
    shown = f"{masked_url(endpoint.url)}{f' ({endpoint.description})' if endpoint.description else ''}"
    text = (
        f"The webhook endpoint {endpoint.id}, {shown}, was disabled.\n\nWhy: {reason}\n\n"
        f"Check the receiver, then enable it again on {settings.base_url.rstrip('/')}/admin/webhooks/{endpoint.id}"
        " (its delivery log shows each attempt; Redeliver sends a failed one again).\n"
    )
    for admin_id in admins:
        _insert_once(
            session,
            EmailDelivery(
                event_id=notice_id,
                recipient_id=admin_id,
                kind=NOTICE_WEBHOOK_DISABLED,
                context={"subject": f"Webhook endpoint disabled: {masked_url(endpoint.url)}", "text": text},
                status=EmailStatus.PENDING.value,
                next_attempt_at=now,
                created_at=now,
            ),
        )


# --- the beat's sweep -------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    email_ids: tuple[int, ...]
    webhook_ids: tuple[int, ...]


def claim_due(*, session: Session, now: datetime | None = None, limit: int = 200) -> Due:
    """Due deliveries not handed out lately (retries, lost publishes, lapsed leases), marked as handed out."""
    now = now or utcnow()
    stale = now - REDISPATCH_AFTER
    found: dict[type, tuple[int, ...]] = {}
    for model in (EmailDelivery, WebhookDelivery):
        query = (
            select(model.id)
            .where(
                or_(
                    and_(model.status == "pending", model.next_attempt_at <= now),
                    and_(model.status == "sending", model.lease_until < now),
                ),
                or_(model.dispatched_at.is_(None), model.dispatched_at < stale),
            )
            .order_by(model.next_attempt_at)
            .limit(limit)
        )
        if model is WebhookDelivery:
            query = query.join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id).where(
                WebhookEndpoint.enabled.is_(True)
            )
        ids = tuple(session.scalars(query))
        if ids:
            session.execute(
                update(model)
                .where(model.id.in_(ids))
                .values(dispatched_at=now)
                .execution_options(synchronize_session=False)
            )
        found[model] = ids
    session.flush()
    return Due(email_ids=found[EmailDelivery], webhook_ids=found[WebhookDelivery])


# --- test email and recent email (admins, `mail test`) ------------------------------------------

# A diagnostic: the admin waits for the mail server's answer, so each socket operation gets this
# long, and there is no retry (the worker's sends wait 10 s and are retried on a schedule).
TEST_MAIL_TIMEOUT_SECONDS = 5.0
RECENT_EMAIL_LIMIT = 20
ERROR_IN_AUDIT_MAX = 500


@dataclass(frozen=True)
class MailTestOutcome:
    """What a test email did, and the sentence that says so."""

    sent: bool
    to: str
    mode: str  # Settings.email_mode: smtp, folder or off
    through: str  # "smtp.example.com:587 (starttls)"; the .eml file written (MAIL_DIR when not); "" when off
    error: str = ""

    @property
    def summary(self) -> str:
        if self.sent and self.mode == "smtp":
            return f"Sent to {self.to} through {self.through} \u2014 check the inbox (and the spam folder)."
        if self.sent:
            return (
                f"Written to {self.through}: SMTP_HOST is not set, so mail goes to files in MAIL_DIR "
                "(open it with any mail client)."
            )
        if self.mode == "smtp":
            return f"Not sent to {self.to} through {self.through}: {self.error}"
        if self.mode == "folder":
            return f"Not written to {self.through}: {self.error}"
        return f"Not sent: {self.error}"


def send_test_email(
    *,
    session: Session,
    actor: User | SystemPrincipal,
    settings: Settings,
    to: str,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = TEST_MAIL_TIMEOUT_SECONDS,
) -> MailTestOutcome:
    """Send one plain test message now through the mailer the worker uses (no queue, no retry), and audit it."""
    if not can(actor, Action.MANAGE_WEBHOOKS):
        raise PermissionDenied("Only an admin can send a test email.")
    address = (to or "").strip()
    if address != mail.one_line(address) or not accounts.looks_like_email(address):
        raise ValidationFailed({"to": "Enter an email address, like name@example.com."})
    mode = settings.email_mode
    through = {
        "smtp": f"{settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security})",
        "folder": settings.mail_dir,
    }.get(mode, "")
    if mode == "off":
        outcome = MailTestOutcome(
            sent=False, to=address, mode=mode, through="", error="email is switched off (set SMTP_HOST, or MAIL_DIR)."
        )
    else:
        outcome = _send_test_message(settings, actor, address, through, ssl_context, timeout)
    log.info("test email to %s: %s", address, outcome.summary)
    data = {"to": address, "through": outcome.through, "outcome": "sent" if outcome.sent else "failed"}
    if outcome.error:
        data["error"] = outcome.error[:ERROR_IN_AUDIT_MAX]
    audit.append(
        session=session,
        actor_id=actor.id,
        action=EventType.USER_TEST_EMAIL_SENT,
        # Who sent it; 0 for the command line (the operator, no account).
        entity_type="user",
        entity_id=actor.id or 0,
        data=data,
    )
    return outcome


def _send_test_message(
    settings: Settings,
    actor: User | SystemPrincipal,
    address: str,
    through: str,
    ssl_context: ssl.SSLContext | None,
    timeout: float,
) -> MailTestOutcome:
    mode = settings.email_mode
    now = utcnow()
    who = "the operator, at the command line" if isinstance(actor, SystemPrincipal) else f"{actor.name} ({actor.email})"
    route = f"through {through}" if mode == "smtp" else f"to a file in {through} (SMTP_HOST is not set)"
    text = (
        f"This is a test email from Incident Tracker ({settings.base_url}), sent by {who} at "
        f"{as_utc(now):%Y-%m-%d %H:%M} UTC, {route}.\n\n"
        "If you can read it, notification email works. Nothing needs doing.\n"
    )
    try:
        message = mail.build_notice(
            notice_id=f"mail-test-{outbox.new_message_id()}",
            recipient=mail.MailRecipient(user_id=actor.id or 0, email=address),
            subject="Test email",
            text=text,
            base_url=settings.base_url,
            sender=settings.smtp_from,
            occurred_at=now,
        )
    except ValueError as error:  # SMTP_FROM is not an address
        return MailTestOutcome(sent=False, to=address, mode=mode, through=through, error=f"{error}.")
    mailer = make_mailer(settings, ssl_context=ssl_context)
    if isinstance(mailer, mail.SmtpMailer):
        mailer = replace(mailer, config=replace(mailer.config, timeout=timeout))
    try:
        where = mailer.send(message)
    except mail.MailDeliveryError as error:  # in the words the worker logs
        return MailTestOutcome(sent=False, to=address, mode=mode, through=through, error=str(error))
    except OSError as error:  # the folder: missing rights, a full disk
        return MailTestOutcome(sent=False, to=address, mode=mode, through=through, error=f"{error}.")
    return MailTestOutcome(sent=True, to=address, mode=mode, through=through if mode == "smtp" else where)


@dataclass(frozen=True)
class RecentEmail:
    """One email delivery as the admin page lists it."""

    id: int
    to: str
    about: str  # the subject, or what the mail is about
    state: str  # queued, sending, sent, retrying, failed
    attempts: int
    error: str  # the last attempt's failure in words ("" when none)
    at: datetime  # when it was sent, else when it was queued
    next_attempt_at: datetime | None  # a retry's next try


def _notice_subject(subject: str) -> str:
    # As mail.build_notice writes it on the message.
    return mail.one_line(f"[Incident Tracker] {subject}", 200)


def _email_about(row: EmailDelivery, recipient_id: int) -> str:
    """The subject the message has (or will have), built as the mailer builds it: an admin matching
    "I did not get the New P1 mail" reads the same words as the recipient's inbox."""
    context = row.context or {}
    if row.kind in NOTICE_KINDS:
        return _notice_subject(str(context.get("subject") or "Notice"))
    if row.kind == NOTICE_INVITE:
        return _notice_subject(INVITE_SUBJECT)
    if row.kind == NOTICE_PASSWORD_RESET:
        return _notice_subject(RESET_SUBJECT)
    try:
        return mail.subject_for(_mail_event(row, recipient_id=recipient_id))
    except (KeyError, ValueError, TypeError):  # a row from before a field was stored: say what it is
        return row.kind


def _email_state(row: EmailDelivery) -> str:
    if row.status == EmailStatus.PENDING.value:
        return "retrying" if row.attempts else "queued"
    return row.status


def recent_emails(*, session: Session, limit: int = RECENT_EMAIL_LIMIT) -> list[RecentEmail]:
    """The newest email deliveries, newest first (by id: the primary key's index)."""
    rows = session.execute(
        select(EmailDelivery, User.email)
        .join(User, User.id == EmailDelivery.recipient_id)
        .order_by(EmailDelivery.id.desc())
        .limit(limit)
    )
    return [
        RecentEmail(
            id=row.id,
            to=address,
            about=_email_about(row, row.recipient_id),
            state=_email_state(row),
            attempts=row.attempts,
            error=row.last_error or "",
            at=as_utc(row.sent_at or row.created_at),
            next_attempt_at=as_utc(row.next_attempt_at) if _email_state(row) == "retrying" else None,
        )
        for row, address in rows
    ]


def failing_email(emails: Iterable[RecentEmail]) -> RecentEmail | None:
    """The newest email that was tried, when it did not go out (retrying or failed): email is
    failing now, whatever the status line says; None when it went out, or none was tried."""
    tried = next((email for email in emails if email.attempts), None)
    return tried if tried is not None and tried.state in ("retrying", "failed") else None
