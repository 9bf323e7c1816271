"""Outgoing webhooks (admins): add, edit, disable, delete endpoints; rotate secrets; test; delivery log.
Email, on the same page: send a test email, and the recent email deliveries."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask import session as http_session
from flask_login import current_user, login_required

from shared.errors import DomainError, ValidationFailed
from shared.notifications import service as notifications
from shared.notifications.models import WebhookEndpoint
from shared.notifications.webhooks import EVENT_TYPES, PayloadFormat
from shared.permissions import Action
from web.auth.current import require
from web.db import get_session
from web.errors import status_for
from web.extensions import limiter

bp = Blueprint("admin_webhooks", __name__, url_prefix="/admin/webhooks")
FORMATS = [(PayloadFormat.STANDARD.value, "Standard Webhooks JSON"), (PayloadFormat.SLACK.value, "Slack message")]
ROTATED_ALREADY = "This secret was already rotated; rotate again if you need a new one."
# The last test email's outcome, shown once by the page the post redirects to: a reload of that
# page shows the list again and sends nothing.
TEST_EMAIL_OUTCOME = "test_email_outcome"


def _settings():
    return current_app.config["SETTINGS"]


def _form_values() -> dict:
    return {
        "url": request.form.get("url", ""),
        "events": request.form.getlist("events"),
        "description": request.form.get("description", ""),
        "payload_format": request.form.get("payload_format", PayloadFormat.STANDARD.value),
    }


def _common() -> dict:
    return {
        "event_types": EVENT_TYPES,
        "formats": FORMATS,
        "email_status": notifications.email_status(_settings()),
        "allow_http": _settings().webhook_allow_http,
        # The receivers inside the network this deployment allows (host:port, as written in the
        # setting), so the form's hint says which private addresses are not refused after all.
        "allow_private_hosts": [
            item.strip() for item in _settings().webhook_allow_private_hosts.split(",") if item.strip()
        ],
    }


def _render_list(status: int = 200, **extra):
    session = get_session()
    recent = notifications.recent_emails(session=session)
    defaults = {
        "errors": {},
        "values": {"events": list(EVENT_TYPES), "payload_format": "standard"},
        "test_email_to": current_user.email,
        "test_email_errors": {},
    }
    return render_template(
        "admin/webhooks.html",
        endpoints=notifications.list_endpoints(session=session),
        email_mode=_settings().email_mode,
        recent_emails=recent,
        failing_email=notifications.failing_email(recent),
        **{**defaults, **_common(), **extra},
    ), status


def _mail_limit() -> str:
    return _settings().rate_limit_login


def _signed_in_account() -> str:
    return f"user-{current_user.id}" if current_user.is_authenticated else "-"


def _secret_version(endpoint: WebhookEndpoint) -> str:
    """Which secret a "Rotate secret" form was drawn from, so that the same form posted again (a
    reload of the answer that showed the new secret) is recognised. A digest of the sealed secret:
    a new one on every rotation, and it tells nothing about the secret."""
    return hashlib.sha256(endpoint.secret_encrypted.encode()).hexdigest()[:16]


def _render_endpoint(endpoint_id: int, status: int = 200, **extra):
    session = get_session()
    endpoint = notifications.get_endpoint(session=session, endpoint_id=endpoint_id)
    values = {
        "url": endpoint.url,
        "events": endpoint.event_types,
        "description": endpoint.description,
        "payload_format": endpoint.payload_format,
    }
    return render_template(
        "admin/webhook.html",
        endpoint=endpoint,
        deliveries=notifications.recent_deliveries(session=session, endpoint_id=endpoint.id),
        secret_version=_secret_version(endpoint),
        **{"errors": {}, "values": values, **_common(), **extra},
    ), status


@bp.get("")
@login_required
def index():
    require(Action.MANAGE_WEBHOOKS)
    outcome = http_session.pop(TEST_EMAIL_OUTCOME, None)
    if isinstance(outcome, dict):
        return _render_list(test_email_to=outcome.get("to", ""), test_email=outcome)
    return _render_list()


@bp.post("")
@login_required
def create():
    require(Action.MANAGE_WEBHOOKS)
    session = get_session()
    values = _form_values()
    try:
        endpoint, secret = notifications.create_endpoint(
            session=session,
            actor=current_user.user,
            settings=_settings(),
            url=values["url"],
            event_types=values["events"],
            description=values["description"],
            payload_format=values["payload_format"],
        )
        session.commit()
    except ValidationFailed as error:
        session.rollback()
        return _render_list(422, errors=error.field_errors, values=values)
    # Shown once, on this response only: only its encrypted form is stored. Reloading this answer
    # posts the form again, which is refused: the URL is an endpoint now.
    return _render_endpoint(endpoint.id, 201, new_secret=secret)


@bp.post("/email-test")
@login_required
# Each post sends a mail: limited per account, as the other form that sends one (password/forgot).
@limiter.limit(_mail_limit, key_func=_signed_in_account)
def send_test_email():
    require(Action.MANAGE_WEBHOOKS)
    session = get_session()
    to = request.form.get("to", "")
    try:
        # Now, not queued: the admin wants the mail server's answer on this page.
        outcome = notifications.send_test_email(session=session, actor=current_user.user, settings=_settings(), to=to)
        session.commit()
    except ValidationFailed as error:
        session.rollback()
        # Drawn here (the address to fix, under the cursor): nothing was sent, so a reload sends nothing either.
        return _render_list(422, test_email_to=to, test_email_errors=error.field_errors)
    # Post-redirect-get: the answer is read on the page, whose reload does not send another mail.
    # (Bounded: it rides in the session cookie; a mail server's answer can be long.)
    summary = outcome.summary if len(outcome.summary) <= 1500 else outcome.summary[:1499] + "\u2026"
    http_session[TEST_EMAIL_OUTCOME] = {"sent": outcome.sent, "summary": summary, "to": outcome.to}
    return redirect(url_for("admin_webhooks.index", _anchor="email"))


@bp.get("/<int:endpoint_id>")
@login_required
def show(endpoint_id: int):
    require(Action.MANAGE_WEBHOOKS)
    return _render_endpoint(endpoint_id)


@bp.post("/<int:endpoint_id>")
@login_required
def update(endpoint_id: int):
    require(Action.MANAGE_WEBHOOKS)
    session = get_session()
    values = _form_values()
    try:
        notifications.update_endpoint(
            session=session,
            actor=current_user.user,
            settings=_settings(),
            endpoint_id=endpoint_id,
            url=values["url"],
            event_types=values["events"],
            description=values["description"],
            payload_format=values["payload_format"],
        )
        session.commit()
    except ValidationFailed as error:
        session.rollback()
        return _render_endpoint(endpoint_id, 422, errors=error.field_errors, values=values)
    flash("The endpoint was saved.")
    return redirect(url_for("admin_webhooks.show", endpoint_id=endpoint_id))


def _action(endpoint_id: int, operation, done: str):
    session = get_session()
    try:
        operation(session)
        session.commit()
    except DomainError as error:
        session.rollback()
        return _render_endpoint(endpoint_id, status_for(error), error=str(error))
    flash(done)
    return redirect(url_for("admin_webhooks.show", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/test")
@login_required
def send_test(endpoint_id: int):
    require(Action.MANAGE_WEBHOOKS)
    return _action(
        endpoint_id,
        lambda session: notifications.send_test_event(
            session=session, actor=current_user.user, endpoint_id=endpoint_id
        ),
        "A test event is on its way; its delivery appears in the log below (reload to see the answer).",
    )


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver")
@login_required
def redeliver(endpoint_id: int, delivery_id: int):
    require(Action.MANAGE_WEBHOOKS)
    return _action(
        endpoint_id,
        lambda session: notifications.redeliver(
            session=session, actor=current_user.user, endpoint_id=endpoint_id, delivery_id=delivery_id
        ),
        "The delivery is sent again, with the same webhook-id.",
    )


@bp.post("/<int:endpoint_id>/enabled")
@login_required
def set_enabled(endpoint_id: int):
    require(Action.MANAGE_WEBHOOKS)
    enabled = request.form.get("enabled") == "1"
    return _action(
        endpoint_id,
        lambda session: notifications.set_endpoint_enabled(
            session=session, actor=current_user.user, endpoint_id=endpoint_id, enabled=enabled
        ),
        "The endpoint is enabled." if enabled else "The endpoint is disabled; its queued deliveries were cancelled.",
    )


@bp.post("/<int:endpoint_id>/rotate")
@login_required
def rotate(endpoint_id: int):
    require(Action.MANAGE_WEBHOOKS)
    session = get_session()
    # Locked until the commit: two posts of one form at once (a double click) cannot both pass.
    endpoint = notifications.get_endpoint(session=session, endpoint_id=endpoint_id, for_update=True)
    # A second rotation the admin did not mean would drop the secret the receiver still has (only
    # the one before the last keeps signing), so a form drawn from an older secret is refused.
    if request.form.get("secret_version") != _secret_version(endpoint):
        return _render_endpoint(endpoint_id, 409, error=ROTATED_ALREADY)
    try:
        endpoint, secret = notifications.rotate_secret(
            session=session, actor=current_user.user, settings=_settings(), endpoint_id=endpoint_id
        )
        session.commit()
    except DomainError as error:
        session.rollback()
        return _render_endpoint(endpoint_id, status_for(error), error=str(error))
    # Shown once, on this response only (as when adding): reloading it posts the form again,
    # which the check above refuses.
    return _render_endpoint(endpoint.id, rotated=True, new_secret=secret)


@bp.post("/<int:endpoint_id>/delete")
@login_required
def delete(endpoint_id: int):
    require(Action.MANAGE_WEBHOOKS)
    if request.form.get("confirm") != "1":
        # Deleting drops the delivery log too: ask first, on a page that works without JavaScript.
        return _render_endpoint(endpoint_id, confirm_delete=True)
    session = get_session()
    url = notifications.delete_endpoint(session=session, actor=current_user.user, endpoint_id=endpoint_id)
    session.commit()
    flash(f"The endpoint {url} was deleted.")
    return redirect(url_for("admin_webhooks.index"))
