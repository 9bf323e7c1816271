"""The admin webhook pages and the /profile email section, through the Flask test client."""

from __future__ import annotations

import logging
import re
import threading
from datetime import timedelta

import pytest
from notification_helpers import notification_settings
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError
from standardwebhooks import Webhook

from shared import migrate
from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.errors import ValidationFailed
from shared.notifications import service
from shared.notifications.models import WebhookDelivery, WebhookEndpoint
from shared.outbox.models import OutboxMessage
from web.app import create_app


@pytest.fixture
def make_client(database_url, users, session_factory, reused_apps):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    apps = []

    def make(role: str | None = "admin", *, csrf: bool = False, **overrides):
        settings = notification_settings(database_url, rate_limit_login="10000 per minute", **overrides)

        def build():
            app = create_app(settings)
            app.config.update(TESTING=True, WTF_CSRF_ENABLED=csrf)
            return app

        app = reused_apps.get(settings, csrf=csrf, build=build)
        apps.append(app)
        client = app.test_client()
        if role:
            with session_factory() as session:
                token = accounts.start_session(
                    session=session, user=session.get(User, users[role].id), lifetime=timedelta(hours=1)
                )
                session.commit()
            with client.session_transaction() as cookie:
                cookie["_user_id"] = token
                cookie["_fresh"] = True
        return client

    yield make
    for app in apps:
        app.extensions["db_engine"].dispose()
    root.handlers[:], root.level = handlers, level


def _add(client, url, **fields):
    data = {"url": url, "events": ["incident.created", "comment.created"], "payload_format": "standard", **fields}
    return client.post("/admin/webhooks", data=data)


SECRET = re.compile(r'id="signing-secret" type="text" readonly value="(whsec_[^"]+)"')
SECRET_VERSION = re.compile(r'name="secret_version" value="([^"]+)"')
URL_ERROR = re.compile(r'<span id="webhook-url-error" class="field-error">([^<]*)</span>')


def _rotate_form(client, endpoint_id: int) -> dict:
    """What the page's "Rotate secret" form posts."""
    page = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    return {"secret_version": SECRET_VERSION.search(page).group(1)}


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(make_client, db, receiver):
    client = make_client(webhook_allow_private_hosts=f"127.0.0.1:{receiver.port}")
    response = _add(client, receiver.url(), description="chat-ops bridge")
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    secret = SECRET.search(html).group(1)
    assert "Signing secret" in html
    endpoint = db.scalars(select(WebhookEndpoint)).one()
    assert endpoint.event_types == ["incident.created", "comment.created"]
    assert secret not in endpoint.secret_encrypted

    again = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert secret not in again
    assert "Signing secret" not in again
    listing = client.get("/admin/webhooks").get_data(as_text=True)
    assert receiver.url() in listing
    assert secret not in listing


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.0.0.5/", "private"),
        ("http://2852039166/", "decimal, octal or hex"),
        ("file:///etc/passwd", "must start with https://"),
    ],
)
def test_an_internal_url_is_refused_with_a_message_and_the_form_keeps_what_was_typed(make_client, db, url, words):
    client = make_client()
    response = _add(client, url, description="keep me")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert words in html
    assert 'value="keep me"' in html
    assert db.scalars(select(WebhookEndpoint)).all() == []


def test_production_style_settings_refuse_plain_http(make_client, db):
    client = make_client(webhook_allow_http=False)
    response = _add(client, "http://hooks.example.com/in")
    assert response.status_code == 422
    assert "must use https://" in response.get_data(as_text=True)


def test_send_test_event_queues_a_delivery_through_the_outbox_and_the_log_shows_it(
    make_client, db, receiver, database_url, session_factory
):
    client = make_client(webhook_allow_private_hosts=f"127.0.0.1:{receiver.port}")
    secret = SECRET.search(_add(client, receiver.url()).get_data(as_text=True)).group(1)
    endpoint = db.scalars(select(WebhookEndpoint)).one()
    assert client.post(f"/admin/webhooks/{endpoint.id}/test").status_code == 302
    delivery = db.scalars(select(WebhookDelivery)).one()
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "webhook.delivery_requested")).one()
    assert message.payload == {"delivery_id": delivery.id}

    settings = notification_settings(database_url, receivers=[receiver])
    service.deliver_webhook(factory=session_factory, settings=settings, delivery_id=delivery.id)
    assert Webhook(secret).verify(receiver.requests[0].body, receiver.requests[0].headers)["type"] == "webhook.test"
    page = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "webhook.test" in page
    assert "delivered" in page
    assert ">200<" in page
    assert f'aria-label="Redeliver webhook.test {delivery.webhook_id}"' in page


def test_edit_rotate_disable_and_delete(make_client, db, receiver, database_url):
    client = make_client(webhook_allow_private_hosts=f"127.0.0.1:{receiver.port}")
    old = SECRET.search(_add(client, receiver.url()).get_data(as_text=True)).group(1)
    endpoint = db.scalars(select(WebhookEndpoint)).one()

    edited = client.post(
        f"/admin/webhooks/{endpoint.id}",
        data={"url": receiver.url("/other"), "events": ["evidence.infected"], "payload_format": "slack"},
    )
    assert edited.status_code == 302
    db.expire_all()
    endpoint = db.get(WebhookEndpoint, endpoint.id)
    assert (endpoint.url, endpoint.event_types, endpoint.payload_format) == (
        receiver.url("/other"),
        ["evidence.infected"],
        "slack",
    )
    refused = client.post(f"/admin/webhooks/{endpoint.id}", data={"url": "http://10.1.2.3/", "events": []})
    assert refused.status_code == 422
    assert "Choose at least one event" in refused.get_data(as_text=True)

    rotated = client.post(f"/admin/webhooks/{endpoint.id}/rotate", data=_rotate_form(client, endpoint.id))
    new = SECRET.search(rotated.get_data(as_text=True)).group(1)
    assert new != old
    assert "keeps signing too" in rotated.get_data(as_text=True)
    db.expire_all()
    settings = notification_settings(database_url)
    assert service.signing_secrets(db.get(WebhookEndpoint, endpoint.id), settings=settings) == [new, old]

    assert client.post(f"/admin/webhooks/{endpoint.id}/enabled", data={"enabled": "0"}).status_code == 302
    db.expire_all()
    assert db.get(WebhookEndpoint, endpoint.id).enabled is False

    confirm = client.post(f"/admin/webhooks/{endpoint.id}/delete")
    assert "Yes, delete this endpoint" in confirm.get_data(as_text=True)
    assert db.get(WebhookEndpoint, endpoint.id) is not None
    assert client.post(f"/admin/webhooks/{endpoint.id}/delete", data={"confirm": "1"}).status_code == 302
    db.expire_all()
    assert db.scalars(select(WebhookEndpoint)).all() == []


def test_a_url_that_is_already_an_endpoint_is_refused_beside_the_field_on_add_and_on_edit(make_client, db, receiver):
    client = make_client(webhook_allow_private_hosts=f"127.0.0.1:{receiver.port}")
    assert _add(client, receiver.url("/dup")).status_code == 201
    first = db.scalars(select(WebhookEndpoint)).one()
    said = f"{receiver.url('/dup')} is already an endpoint (#{first.id}); edit that one instead."

    # The same endpoint spelled differently: scheme case, a fragment.
    again = _add(client, receiver.url("/dup").replace("http:", "HTTP:") + "#top", description="keep me")
    assert again.status_code == 422
    html = again.get_data(as_text=True)
    assert URL_ERROR.search(html).group(1) == said
    assert "The endpoint was not added" in html
    assert 'value="keep me"' in html
    assert "Signing secret" not in html
    assert [e.id for e in db.scalars(select(WebhookEndpoint))] == [first.id]

    assert _add(client, receiver.url("/other")).status_code == 201
    second = db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id != first.id)).one()
    edited = client.post(
        f"/admin/webhooks/{second.id}",
        data={"url": receiver.url("/dup"), "events": ["incident.created"], "payload_format": "standard"},
    )
    assert edited.status_code == 422
    html = edited.get_data(as_text=True)
    assert URL_ERROR.search(html).group(1) == said
    assert "The endpoint was not saved" in html
    db.expire_all()
    assert db.get(WebhookEndpoint, second.id).url == receiver.url("/other")

    # Its own URL is not "another endpoint's": saving other changes goes through.
    kept = client.post(
        f"/admin/webhooks/{second.id}",
        data={"url": receiver.url("/other"), "events": ["incident.created"], "payload_format": "slack"},
    )
    assert kept.status_code == 302
    db.expire_all()
    assert db.get(WebhookEndpoint, second.id).payload_format == "slack"


PUBLIC = "https://93.184.215.14/hook"


def _public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.215.14"]


@pytest.mark.parametrize(
    ("existing", "submitted", "refused"),
    [
        (PUBLIC, PUBLIC, True),
        (PUBLIC, "HTTPS://93.184.215.14:443/hook", True),
        (PUBLIC, "https://93.184.215.14/hook#section", True),
        (PUBLIC, f"  {PUBLIC}  ", True),
        ("https://hooks.example.com/in", "https://Hooks.Example.COM./in", True),
        ("https://93.184.215.14", "https://93.184.215.14/", True),
        (PUBLIC, "https://93.184.215.14/hook/", False),
        (PUBLIC, "https://93.184.215.14/Hook", False),
        (PUBLIC, "https://93.184.215.14/hook?team=ops", False),
        (PUBLIC, "https://93.184.215.14:8443/hook", False),
        (PUBLIC, "http://93.184.215.14/hook", False),
    ],
)
def test_which_spellings_are_the_same_endpoint(db, users, existing, submitted, refused):
    settings = notification_settings("sqlite://")
    add = dict(session=db, actor=users["admin"], settings=settings, event_types=["incident.created"])
    first, _ = service.create_endpoint(**add, url=existing, resolver=_public_resolver)
    db.commit()
    if refused:
        with pytest.raises(ValidationFailed) as error:
            service.create_endpoint(**add, url=submitted, resolver=_public_resolver)
        assert error.value.field_errors == {
            "url": f"{existing} is already an endpoint (#{first.id}); edit that one instead."
        }
        db.rollback()
        assert len(db.scalars(select(WebhookEndpoint)).all()) == 1
    else:
        service.create_endpoint(**add, url=submitted, resolver=_public_resolver)
        db.commit()
        assert len(db.scalars(select(WebhookEndpoint)).all()) == 2


def test_an_older_duplicate_can_still_be_edited_but_not_moved_onto_another_url_in_use(db, users):
    """Two endpoints with one URL, saved before the check existed: each can still be edited."""
    settings = notification_settings("sqlite://")
    first, _ = service.create_endpoint(
        session=db, actor=users["admin"], settings=settings, url=PUBLIC, event_types=["incident.created"]
    )
    older = WebhookEndpoint(url=PUBLIC, event_types=["incident.created"], secret_encrypted=first.secret_encrypted)
    db.add(older)
    db.commit()
    service.update_endpoint(
        session=db,
        actor=users["admin"],
        settings=settings,
        endpoint_id=older.id,
        url=PUBLIC,
        event_types=["comment.created"],
    )
    db.commit()
    assert db.get(WebhookEndpoint, older.id).event_types == ["comment.created"]


def test_two_adds_of_one_url_at_once_make_one_endpoint(db, users, session_factory, database_url):
    """A double click on Add, or two admins: the second request looked before the first
    committed, so only the database can refuse it; it says so as the look-up would."""
    settings = notification_settings(database_url)
    add = dict(settings=settings, url=PUBLIC, event_types=["incident.created"], resolver=_public_resolver)
    refused: list[ValidationFailed] = []
    with session_factory() as first:
        created, _ = service.create_endpoint(session=first, actor=first.get(User, users["admin"].id), **add)

        def second_add() -> None:
            with session_factory() as second:
                try:
                    service.create_endpoint(session=second, actor=second.get(User, users["admin"].id), **add)
                    second.commit()
                except ValidationFailed as error:
                    refused.append(error)
                    second.rollback()

        thread = threading.Thread(target=second_add)
        thread.start()
        thread.join(0.5)  # it has looked, found nothing, and waits on the first insert's lock
        first.commit()
        thread.join(20)
    assert not thread.is_alive()
    assert [e.field_errors for e in refused] == [
        {"url": f"{PUBLIC} is already an endpoint (#{created.id}); edit that one instead."}
    ]
    assert [e.id for e in db.scalars(select(WebhookEndpoint))] == [created.id]


@pytest.mark.postgres_only
def test_a_double_click_on_rotate_rotates_once(make_client, db, users, receiver, session_factory):
    """Two posts of one Rotate form at once: each read the secret before the other rotated, so
    both passed the form's check and the second rotation ended the secret receivers still had.
    The row is now locked before the check: one rotates, the other is told it already was."""
    client = make_client(webhook_allow_private_hosts=f"127.0.0.1:{receiver.port}")
    assert _add(client, receiver.url("/rot")).status_code == 201
    endpoint = db.scalars(select(WebhookEndpoint)).one()
    form = _rotate_form(client, endpoint.id)
    statuses: list[int] = []

    def post() -> None:
        statuses.append(make_client().post(f"/admin/webhooks/{endpoint.id}/rotate", data=form).status_code)

    with session_factory() as holder:
        # Hold both posts at the same point: the row lock (a write of the row, without the fix).
        holder.execute(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id).with_for_update())
        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        threading.Event().wait(1.0)
        holder.rollback()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200, 409]
    rotations = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "webhook.secret_rotated", AuditEvent.entity_id == endpoint.id)
    ).all()
    assert len(rotations) == 1


def test_reloading_the_answer_to_add_does_not_add_the_endpoint_again(make_client, db, receiver, database_url):
    client = make_client(webhook_allow_private_hosts=f"127.0.0.1:{receiver.port}")
    form = {"url": receiver.url("/dup"), "events": ["incident.created"], "payload_format": "standard"}
    added = client.post("/admin/webhooks", data=form)
    assert added.status_code == 201
    secret = SECRET.search(added.get_data(as_text=True)).group(1)
    endpoint = db.scalars(select(WebhookEndpoint)).one()

    reloaded = client.post("/admin/webhooks", data=form)  # what the browser's reload sends
    assert reloaded.status_code == 422
    html = reloaded.get_data(as_text=True)
    assert f"is already an endpoint (#{endpoint.id}); edit that one instead." in html
    assert SECRET.search(html) is None
    db.expire_all()
    assert db.scalars(select(WebhookEndpoint)).all() == [endpoint]
    assert service.signing_secrets(endpoint, settings=notification_settings(database_url)) == [secret]


def test_reloading_the_answer_to_rotate_does_not_rotate_again(make_client, db, receiver, database_url):
    client = make_client(webhook_allow_private_hosts=f"127.0.0.1:{receiver.port}")
    old = SECRET.search(_add(client, receiver.url()).get_data(as_text=True)).group(1)
    endpoint = db.scalars(select(WebhookEndpoint)).one()
    settings = notification_settings(database_url)
    form = _rotate_form(client, endpoint.id)
    rotated = client.post(f"/admin/webhooks/{endpoint.id}/rotate", data=form)
    assert rotated.status_code == 200
    new = SECRET.search(rotated.get_data(as_text=True)).group(1)

    reloaded = client.post(f"/admin/webhooks/{endpoint.id}/rotate", data=form)  # the same form again
    assert reloaded.status_code == 409
    html = reloaded.get_data(as_text=True)
    assert "This secret was already rotated; rotate again if you need a new one." in html
    assert SECRET.search(html) is None
    db.expire_all()
    # Still the new secret and the one the receiver had: a second rotation would have dropped that one.
    assert service.signing_secrets(db.get(WebhookEndpoint, endpoint.id), settings=settings) == [new, old]

    # Rotating again on purpose, from the page as it is now, works.
    again = client.post(f"/admin/webhooks/{endpoint.id}/rotate", data=_rotate_form(client, endpoint.id))
    newest = SECRET.search(again.get_data(as_text=True)).group(1)
    db.expire_all()
    assert service.signing_secrets(db.get(WebhookEndpoint, endpoint.id), settings=settings) == [newest, new]


ROUTES = [
    ("GET", "/admin/webhooks", None),
    ("POST", "/admin/webhooks", {"url": "https://hooks.example.com/x", "events": ["incident.created"]}),
    ("GET", "/admin/webhooks/{id}", None),
    ("POST", "/admin/webhooks/{id}/test", {}),
    ("POST", "/admin/webhooks/{id}/rotate", {}),
    ("POST", "/admin/webhooks/{id}/enabled", {"enabled": "0"}),
    ("POST", "/admin/webhooks/{id}/delete", {"confirm": "1"}),
]


@pytest.mark.parametrize(("method", "path", "data"), ROUTES)
@pytest.mark.parametrize("role", [None, "member", "lead"])
def test_only_admins_reach_the_webhook_pages(make_client, db, users, role, method, path, data):
    endpoint, _ = service.create_endpoint(
        session=db,
        actor=users["admin"],
        settings=notification_settings("sqlite://"),
        url="https://93.184.215.14/hook",
        event_types=["incident.created"],
    )
    db.commit()
    client = make_client(role)
    response = client.open(path.format(id=endpoint.id), method=method, data=data)
    assert response.status_code == (302 if role is None else 403)
    if role is None:
        assert "/login" in response.headers["Location"]
    db.expire_all()
    assert len(db.scalars(select(WebhookEndpoint)).all()) == 1


def test_a_post_without_its_csrf_token_is_refused(make_client, db):
    client = make_client(csrf=True)
    assert _add(client, "https://hooks.example.com/x").status_code == 400
    assert db.scalars(select(WebhookEndpoint)).all() == []


def test_the_admin_page_says_when_email_is_off(make_client):
    page = make_client().get("/admin/webhooks").get_data(as_text=True)
    assert "Email notifications are switched off: SMTP_HOST is not set." in page


def test_the_profile_email_preference_is_saved_and_shown(make_client, db, users):
    client = make_client("member")
    page = client.get("/profile").get_data(as_text=True)
    assert '<label for="email-preference">Email me about</label>' in page
    assert client.post("/profile/email", data={"email": "p1_p2"}).status_code == 302
    assert service.email_preference(session=db, user_id=users["member"].id) == "p1_p2"
    assert '<option value="p1_p2" selected>' in client.get("/profile").get_data(as_text=True)
    refused = client.post("/profile/email", data={"email": "sometimes"})
    assert refused.status_code == 422
    assert "Choose all incidents" in refused.get_data(as_text=True)
    assert service.email_preference(session=db, user_id=users["member"].id) == "p1_p2"


def test_the_migration_keeps_endpoints_that_already_share_a_url(temporary_database_url):
    """Saved before any check: two spellings of one URL and another URL. After 0012 the oldest
    holds the URL in the unique index, the later duplicate keeps working (NULL), and no other
    row can take that URL's digest."""
    url = temporary_database_url()
    migrate.upgrade(url, "0011")
    engine = create_engine(url)
    spellings = (PUBLIC, "HTTPS://93.184.215.14:443/hook#top", "https://93.184.215.14/other")
    with engine.begin() as connection:
        for id_, spelling in enumerate(spellings, start=1):
            connection.execute(
                text(
                    "INSERT INTO webhook_endpoints (id, url, description, event_types, payload_format, enabled,"
                    " secret_encrypted, created_at, updated_at)"
                    " VALUES (:id, :url, '', '[\"incident.created\"]', 'standard', true, 'x', :t, :t)"
                ),
                {"id": id_, "url": spelling, "t": "2026-11-30 10:00:00"},
            )
    migrate.upgrade(url)
    with engine.connect() as connection:
        digests = dict(connection.execute(text("SELECT id, url_digest FROM webhook_endpoints ORDER BY id")).all())
    assert digests == {1: service.url_digest(PUBLIC), 2: None, 3: service.url_digest(spellings[2])}
    with engine.begin() as connection, pytest.raises(IntegrityError):
        connection.execute(
            text("UPDATE webhook_endpoints SET url_digest = :digest WHERE id = 3"),
            {"digest": service.url_digest(PUBLIC)},
        )
    engine.dispose()
