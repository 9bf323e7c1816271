"""/api/v1/webhooks (admin scope, admins only): the same operations as /admin/webhooks."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import fields, validate

from shared.accounts.models import TokenScope
from shared.notifications import service as notifications
from shared.notifications.webhooks import EVENT_TYPES, PayloadFormat
from shared.permissions import Action, can
from web.api.auth import authenticate, needs
from web.api.problems import ApiProblem, ProblemSchema
from web.api.schemas import JsonBoolean, StrictSchema, UtcDateTime
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


class EndpointIn(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(max=2000))
    events = fields.List(
        fields.String(validate=validate.Length(max=60)), required=True, validate=validate.Length(max=20)
    )
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    payload_format = fields.String(load_default="standard", validate=validate.OneOf(FORMATS))


class EndpointPatch(StrictSchema):
    url = fields.String(validate=validate.Length(max=2000))
    events = fields.List(fields.String(validate=validate.Length(max=60)), validate=validate.Length(max=20))
    description = fields.String(validate=validate.Length(max=2000))
    payload_format = fields.String(validate=validate.OneOf(FORMATS))
    enabled = JsonBoolean()


class SecretOut(StrictSchema):
    secret = fields.String(required=True)
    previous_secret_expires_at = UtcDateTime(allow_none=True, required=True)


class DeliveryOut(StrictSchema):
    id = fields.Integer(required=True)
    webhook_id = fields.String(required=True)
    event_type = fields.String(required=True)
    status = fields.String(required=True)
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


@webhooks_bp.route("/webhooks", methods=["GET"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(200, EndpointOut(many=True))
@_errors()
def list_webhooks():
    _admin()
    return notifications.list_endpoints(session=get_session())


@webhooks_bp.route("/webhooks", methods=["POST"])
@needs(TokenScope.ADMIN)
@webhooks_bp.arguments(EndpointIn)
@webhooks_bp.response(201, EndpointWithSecret)
@_errors(415, 422)
def create_webhook(body):
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
    return {**shown, "event_types": endpoint.event_types, "secret": secret}, 201


@webhooks_bp.route("/webhooks/<int:endpoint_id>", methods=["GET"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(200, EndpointOut)
@_errors(404)
def get_webhook(endpoint_id):
    _admin()
    return notifications.get_endpoint(session=get_session(), endpoint_id=endpoint_id)


@webhooks_bp.route("/webhooks/<int:endpoint_id>", methods=["PATCH"])
@needs(TokenScope.ADMIN)
@webhooks_bp.arguments(EndpointPatch)
@webhooks_bp.response(200, EndpointOut)
@_errors(404, 415, 422)
def patch_webhook(body, endpoint_id):
    actor = _admin()
    session = get_session()
    endpoint = notifications.get_endpoint(session=session, endpoint_id=endpoint_id)
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
    return endpoint


@webhooks_bp.route("/webhooks/<int:endpoint_id>", methods=["DELETE"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(204)
@_errors(404)
def delete_webhook(endpoint_id):
    actor = _admin()
    session = get_session()
    notifications.delete_endpoint(session=session, actor=actor, endpoint_id=endpoint_id)
    session.commit()
    return "", 204


@webhooks_bp.route("/webhooks/<int:endpoint_id>/rotate-secret", methods=["POST"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(200, SecretOut)
@_errors(404)
def rotate_webhook_secret(endpoint_id):
    actor = _admin()
    session = get_session()
    endpoint, secret = notifications.rotate_secret(
        session=session, actor=actor, settings=_settings(), endpoint_id=endpoint_id
    )
    session.commit()
    return {"secret": secret, "previous_secret_expires_at": endpoint.previous_secret_expires_at}


@webhooks_bp.route("/webhooks/<int:endpoint_id>/test", methods=["POST"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(202, DeliveryOut)
@_errors(404, 422)
def send_webhook_test(endpoint_id):
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
    _admin()
    session = get_session()
    endpoint = notifications.get_endpoint(session=session, endpoint_id=endpoint_id)
    return notifications.recent_deliveries(session=session, endpoint_id=endpoint.id)


@webhooks_bp.route("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@needs(TokenScope.ADMIN)
@webhooks_bp.response(202, DeliveryOut)
@_errors(404, 422)
def redeliver_webhook(endpoint_id, delivery_id):
    actor = _admin()
    session = get_session()
    delivery = notifications.redeliver(session=session, actor=actor, endpoint_id=endpoint_id, delivery_id=delivery_id)
    session.commit()
    return delivery, 202
