"""/api/v1/webhooks (admin scope, admins only): the same operations as /admin/webhooks."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from shared.accounts.models import TokenScope
from shared.errors import Conflict
from shared.notifications import service as notifications
from shared.notifications.models import DeliveryStatus, WebhookEndpoint
from shared.notifications.webhooks import EVENT_TYPES, TEST_EVENT_TYPE, PayloadFormat
from shared.permissions import Action, can
from web.api.auth import authenticate, needs
from web.api.problems import ApiProblem, ProblemSchema
from web.api.schemas import JsonBoolean, StrictSchema, UtcDateTime, column_length, max_length
from web.db import get_session

webhooks_bp = Blueprint(
    "api_webhooks", __name__, url_prefix="/api/v1", description="Outgoing webhooks (admin): endpoints and deliveries"
)
FORMATS = [f.value for f in PayloadFormat]


class EndpointOut(StrictSchema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), required=True, attribute="event_types")
    description = fields.String(required=True)
    payload_format = fields.String(required=True, validate=validate.OneOf(FORMATS))
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)


class EndpointWithSecret(EndpointOut):
    secret = fields.String(
        required=True, metadata={"description": "The signing secret (whsec_...): returned only by this response."}
    )


# The service does not bound a URL's length; its column does, so this check says so, in words.
URL_MAX = column_length(WebhookEndpoint.__table__.c.url)
_URL_LENGTH = validate.Length(max=URL_MAX, error=f"The URL is too long: use at most {URL_MAX:,} characters.")
_EVENT_LENGTH = validate.Length(max=60, error="The event type is too long: use at most {max} characters.")
_EVENTS_COUNT = validate.Length(max=20, error="Too many events: list at most {max}.")
# The service checks the description's length (spaces collapsed), in its own words.
_DESCRIPTION = max_length(notifications.DESCRIPTION_MAX)


class EndpointIn(StrictSchema):
    url = fields.String(required=True, validate=_URL_LENGTH)
    # Enums in the document only: the service refuses an unknown event type in its own words.
    events = fields.List(
        fields.String(validate=_EVENT_LENGTH, metadata={"enum": list(EVENT_TYPES)}),
        required=True,
        validate=_EVENTS_COUNT,
    )
    description = fields.String(load_default="", metadata=_DESCRIPTION)
    payload_format = fields.String(load_default="standard", validate=validate.OneOf(FORMATS))


class EndpointPatch(StrictSchema):
    url = fields.String(validate=_URL_LENGTH)
    events = fields.List(
        fields.String(validate=_EVENT_LENGTH, metadata={"enum": list(EVENT_TYPES)}),
        validate=_EVENTS_COUNT,
    )
    description = fields.String(metadata=_DESCRIPTION)
    payload_format = fields.String(validate=validate.OneOf(FORMATS))
    enabled = JsonBoolean()


class SecretOut(StrictSchema):
    secret = fields.String(required=True)
    previous_secret_expires_at = UtcDateTime(allow_none=True, required=True)


class DeliveryOut(StrictSchema):
    id = fields.Integer(required=True)
    webhook_id = fields.String(required=True)
    event_type = fields.String(required=True, validate=validate.OneOf([*EVENT_TYPES, TEST_EVENT_TYPE]))
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in DeliveryStatus]))
    attempts = fields.Integer(required=True)
    next_attempt_at = UtcDateTime(allow_none=True, required=True)
    last_status_code = fields.Integer(allow_none=True, required=True)
    last_error = fields.String(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)
    delivered_at = UtcDateTime(allow_none=True, required=True)


def _errors(*statuses: int):
    def decorate(view):
        for status in (400, 401, 403, 429, *statuses):
            view = webhooks_bp.alt_response(status, schema=ProblemSchema, content_type="application/problem+json")(view)
        return view

    return decorate


def _admin():
    caller = authenticate()
    if not can(caller.user, Action.MANAGE_WEBHOOKS):
        raise ApiProblem(403, "Only admins can manage webhooks.")
    return caller.user


def _settings():
    return current_app.config["SETTINGS"]


# -- ETag / If-Match: optional here (scripts written before it keep working), honoured when sent --

IF_MATCH_DOC = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "The endpoint's ETag as last read (or `*`): the write is refused (412) if the endpoint "
    "changed since. Without it the write applies to the endpoint as it is now.",
    "schema": {"type": "string"},
}
ETAG_DOC = {
    "ETag": {
        "description": "The endpoint's version: send it back in If-Match. Every save, switch and rotation changes it.",
        "required": True,
        "schema": {"type": "string"},
    }
}


def _etag(endpoint) -> str:
    return f'"{notifications.endpoint_version(endpoint)}"'


def _with_etag(endpoint, status: int = 200):
    return endpoint, status, {"ETag": _etag(endpoint)}


def _expected_version(current) -> str | None:
    """The version named by If-Match (RFC 9110: a list of ETags, or `*` for whatever is current);
    None when absent or `*`. A list naming the current version is the current version."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = [tag.strip().removeprefix("W/").strip('"') for tag in header.split(",") if tag.strip()]
    if "*" in tags:
        return None
    if not tags:
        raise ApiProblem(
            412,
            "If-Match does not name a version of this endpoint; GET it for its ETag.",
            headers={"ETag": _etag(current)},
        )
    version = notifications.endpoint_version(current)
    return version if version in tags else tags[0]


def _stale_is_412(operation, endpoint_id: int):
    """Run a write; a stale If-Match is 412 with the endpoint's current ETag, as for an incident."""
    try:
        return operation()
    except Conflict as error:
        message = f"{error} GET it for its current ETag, check, then try again."
    session = get_session()
    session.rollback()  # release the row the check locked; read the endpoint as it is now
    current = notifications.get_endpoint(session=session, endpoint_id=endpoint_id)
    raise ApiProblem(412, message, headers={"ETag": _etag(current)})


@webhooks_bp.route("/webhooks", methods=["GET"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(200, EndpointOut(many=True))
@_errors()
def list_webhooks():
    """List webhook endpoints"""
    _admin()
    return notifications.list_endpoints(session=get_session())


@webhooks_bp.route("/webhooks", methods=["POST"])
@needs(TokenScope.ADMIN)
@webhooks_bp.arguments(EndpointIn)
@webhooks_bp.response(201, EndpointWithSecret, headers=ETAG_DOC)
@_errors(415, 422)
def create_webhook(body):
    """Add a webhook endpoint (its signing secret is shown only here)"""
    actor = _admin()
    session = get_session()
    endpoint, secret = notifications.create_endpoint(
        session=session,
        actor=actor,
        settings=_settings(),
        url=body["url"],
        event_types=body["events"],
        description=body["description"],
        payload_format=body["payload_format"],
    )
    session.commit()
    # The secret is in this response only (the database keeps an encrypted copy).
    shown = {name: getattr(endpoint, field.attribute or name) for name, field in EndpointOut().fields.items()}
    return {**shown, "event_types": endpoint.event_types, "secret": secret}, 201, {"ETag": _etag(endpoint)}


@webhooks_bp.route("/webhooks/<int:endpoint_id>", methods=["GET"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(200, EndpointOut, headers=ETAG_DOC)
@_errors(404)
def get_webhook(endpoint_id):
    """Get a webhook endpoint"""
    _admin()
    return _with_etag(notifications.get_endpoint(session=get_session(), endpoint_id=endpoint_id))


@webhooks_bp.route("/webhooks/<int:endpoint_id>", methods=["PATCH"])
@needs(TokenScope.ADMIN)
@webhooks_bp.arguments(EndpointPatch)
@webhooks_bp.response(200, EndpointOut, headers=ETAG_DOC)
@webhooks_bp.doc(parameters=[IF_MATCH_DOC])
@_errors(404, 412, 415, 422)
def patch_webhook(body, endpoint_id):
    """Edit, enable or disable a webhook endpoint"""
    actor = _admin()
    session = get_session()
    endpoint = notifications.get_endpoint(session=session, endpoint_id=endpoint_id)
    expected = _expected_version(endpoint)
    # Checked (and the row locked) once, before either change: the first bumps the version.
    _stale_is_412(
        lambda: notifications.get_endpoint(session=session, endpoint_id=endpoint.id, expected_version=expected),
        endpoint.id,
    )
    if body.keys() - {"enabled"}:
        endpoint = notifications.update_endpoint(
            session=session,
            actor=actor,
            settings=_settings(),
            endpoint_id=endpoint.id,
            url=body.get("url", endpoint.url),
            event_types=body.get("events", endpoint.event_types),
            description=body.get("description", endpoint.description),
            payload_format=body.get("payload_format", endpoint.payload_format),
        )
    if "enabled" in body:
        endpoint = notifications.set_endpoint_enabled(
            session=session, actor=actor, endpoint_id=endpoint.id, enabled=body["enabled"]
        )
    session.commit()
    return _with_etag(endpoint)


@webhooks_bp.route("/webhooks/<int:endpoint_id>", methods=["DELETE"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(204)
@_errors(404)
def delete_webhook(endpoint_id):
    """Delete a webhook endpoint"""
    actor = _admin()
    session = get_session()
    notifications.delete_endpoint(session=session, actor=actor, endpoint_id=endpoint_id)
    session.commit()
    return "", 204


@webhooks_bp.route("/webhooks/<int:endpoint_id>/rotate-secret", methods=["POST"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(200, SecretOut, headers=ETAG_DOC)
@webhooks_bp.doc(parameters=[IF_MATCH_DOC])
@_errors(404, 412)
def rotate_webhook_secret(endpoint_id):
    """Rotate a webhook endpoint's signing secret"""
    actor = _admin()
    session = get_session()
    expected = _expected_version(notifications.get_endpoint(session=session, endpoint_id=endpoint_id))
    endpoint, secret = _stale_is_412(
        lambda: notifications.rotate_secret(
            session=session, actor=actor, settings=_settings(), endpoint_id=endpoint_id, expected_version=expected
        ),
        endpoint_id,
    )
    session.commit()
    body = {"secret": secret, "previous_secret_expires_at": endpoint.previous_secret_expires_at}
    return body, 200, {"ETag": _etag(endpoint)}


@webhooks_bp.route("/webhooks/<int:endpoint_id>/test", methods=["POST"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(202, DeliveryOut)
@_errors(404, 422)
def send_webhook_test(endpoint_id):
    """Send a test event to a webhook endpoint"""
    actor = _admin()
    session = get_session()
    delivery = notifications.send_test_event(session=session, actor=actor, endpoint_id=endpoint_id)
    session.commit()
    return delivery, 202


@webhooks_bp.route("/webhooks/<int:endpoint_id>/deliveries", methods=["GET"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(200, DeliveryOut(many=True))
@_errors(404)
def list_webhook_deliveries(endpoint_id):
    """List a webhook endpoint's recent deliveries"""
    _admin()
    session = get_session()
    endpoint = notifications.get_endpoint(session=session, endpoint_id=endpoint_id)
    return notifications.recent_deliveries(session=session, endpoint_id=endpoint.id)


@webhooks_bp.route("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(202, DeliveryOut)
@_errors(404, 422)
def redeliver_webhook(endpoint_id, delivery_id):
    """Send a delivery again"""
    actor = _admin()
    session = get_session()
    delivery = notifications.redeliver(session=session, actor=actor, endpoint_id=endpoint_id, delivery_id=delivery_id)
    session.commit()
    return delivery, 202
