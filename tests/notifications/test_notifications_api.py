"""/api/v1/webhooks with an admin token: the same rules as the admin pages (who may, what is
refused and why), the secret returned once, test events and the delivery list."""

from __future__ import annotations

import logging

import pytest
from notification_helpers import notification_settings
from sqlalchemy import select
from standardwebhooks import Webhook

from shared.accounts import tokens
from shared.notifications import service
from shared.notifications.models import WebhookEndpoint
from web.app import create_app


@pytest.fixture
def api(database_url, db, users, receiver):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    app = create_app(notification_settings(database_url, receivers=[receiver]))
    app.config.update(TESTING=True)
    _, value = tokens.create_token(session=db, user=users["admin"], name="ops", scope="admin")
    db.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {value}"}
    yield lambda method, path, headers=(), **kw: client.open(
        path, method=method, headers={**auth, **dict(headers)}, **kw
    )
    app.extensions["db_engine"].dispose()
    root.handlers[:], root.level = handlers, level


def test_create_returns_the_secret_once_and_a_test_event_is_logged(api, db, receiver, database_url, session_factory):
    created = api("POST", "/api/v1/webhooks", json={"url": receiver.url(), "events": ["incident.created"]})
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["incident.created"]
    endpoint_id = body["id"]
    shown = api("GET", f"/api/v1/webhooks/{endpoint_id}").get_json()
    assert "secret" not in shown
    assert shown["url"] == receiver.url()

    queued = api("POST", f"/api/v1/webhooks/{endpoint_id}/test")
    assert queued.status_code == 202
    assert queued.get_json()["status"] == "pending"
    settings = notification_settings(database_url, receivers=[receiver])
    service.deliver_webhook(factory=session_factory, settings=settings, delivery_id=queued.get_json()["id"])
    Webhook(body["secret"]).verify(receiver.requests[0].body, receiver.requests[0].headers)
    (logged,) = api("GET", f"/api/v1/webhooks/{endpoint_id}/deliveries").get_json()
    assert (logged["status"], logged["last_status_code"], logged["attempts"]) == ("delivered", 200, 1)

    rotated = api("POST", f"/api/v1/webhooks/{endpoint_id}/rotate-secret").get_json()
    assert rotated["secret"] != body["secret"]
    assert rotated["previous_secret_expires_at"]


def test_a_retried_rotation_that_names_the_etag_it_read_is_refused_and_the_first_secret_kept(
    api, db, receiver, database_url
):
    """A script rotates, the answer is lost on the way, it retries: without If-Match the retry
    rotates again and drops the secret the receiver still has; with the ETag it read, the retry
    is a 412 and the secret from the first rotation stays current (the original keeps signing)."""
    created = api("POST", "/api/v1/webhooks", json={"url": receiver.url(), "events": ["incident.created"]})
    original, endpoint_id = created.get_json()["secret"], created.get_json()["id"]
    read = api("GET", f"/api/v1/webhooks/{endpoint_id}")
    assert read.headers["ETag"] == created.headers["ETag"]

    first = api("POST", f"/api/v1/webhooks/{endpoint_id}/rotate-secret", headers={"If-Match": read.headers["ETag"]})
    assert first.status_code == 200
    assert first.headers["ETag"] != read.headers["ETag"]
    retried = api("POST", f"/api/v1/webhooks/{endpoint_id}/rotate-secret", headers={"If-Match": read.headers["ETag"]})
    assert retried.status_code == 412
    assert retried.mimetype == "application/problem+json"
    assert "its secret was rotated" in retried.get_json()["detail"]
    db.expire_all()
    endpoint = db.get(WebhookEndpoint, endpoint_id)
    settings = notification_settings(database_url, receivers=[receiver])
    assert service.signing_secrets(endpoint, settings=settings) == [first.get_json()["secret"], original]

    # An edit with a stale ETag is refused too; with the current one, or `*`, it goes through.
    stale = api(
        "PATCH", f"/api/v1/webhooks/{endpoint_id}", json={"enabled": False}, headers={"If-Match": read.headers["ETag"]}
    )
    assert stale.status_code == 412
    assert db.get(WebhookEndpoint, endpoint_id).enabled is True
    patched = api(
        "PATCH",
        f"/api/v1/webhooks/{endpoint_id}",
        json={"enabled": False, "description": "paused"},
        headers={"If-Match": f'"nope", {first.headers["ETag"]}'},
    )
    assert patched.status_code == 200
    assert patched.headers["ETag"] not in (first.headers["ETag"], read.headers["ETag"])
    anyway = api("PATCH", f"/api/v1/webhooks/{endpoint_id}", json={"enabled": True}, headers={"If-Match": "*"})
    assert anyway.status_code == 200


def test_an_internal_url_is_a_422_problem_naming_the_field(api, db):
    answer = api("POST", "/api/v1/webhooks", json={"url": "http://169.254.169.254/", "events": ["incident.created"]})
    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    assert "link-local" in str(answer.get_json())
    assert db.scalars(select(WebhookEndpoint)).all() == []


def test_patch_disables_and_delete_removes(api, db, receiver):
    endpoint_id = api(
        "POST", "/api/v1/webhooks", json={"url": receiver.url(), "events": ["comment.created"]}
    ).get_json()["id"]
    patched = api("PATCH", f"/api/v1/webhooks/{endpoint_id}", json={"enabled": False, "description": "paused"})
    assert patched.status_code == 200
    assert (patched.get_json()["enabled"], patched.get_json()["description"]) == (False, "paused")
    assert api("DELETE", f"/api/v1/webhooks/{endpoint_id}").status_code == 204
    assert api("GET", f"/api/v1/webhooks/{endpoint_id}").status_code == 404
