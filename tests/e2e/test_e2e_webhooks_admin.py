"""The webhook admin page in a browser, by accessible names: add an endpoint, read its signing
secret once (reloading that answer, or a rotation's, repeats nothing), send a test event and
find it in the delivery log; the receiver (a real HTTP server on 127.0.0.1) verifies the
delivery with `standardwebhooks` and the secret the page showed."""

from __future__ import annotations

import re
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from standardwebhooks import Webhook
from werkzeug.serving import make_server

from shared.config import Settings
from shared.db import make_engine, make_session_factory
from shared.notifications import service
from shared.notifications.models import WebhookDelivery
from web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notifications"))
from notification_servers import serving

pytestmark = pytest.mark.browser


class _Requests:
    """Waits for the live server's requests to finish before the root `db` fixture wipes tables."""

    def __init__(self, app) -> None:
        self.app, self.count = app, 0
        self.idle = threading.Condition()

    def __call__(self, environ, start_response):
        with self.idle:
            self.count += 1
        try:
            yield from self.app(environ, start_response)
        finally:
            with self.idle:
                self.count -= 1
                self.idle.notify_all()

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        with self.idle:
            assert self.idle.wait_for(lambda: self.count == 0, timeout=timeout)


@dataclass(frozen=True)
class _LiveServer:
    url: str
    in_flight: _Requests
    settings: Settings


@pytest.fixture(scope="module")
def receiver():
    with serving() as running:
        yield running


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory, receiver) -> Iterator[_LiveServer]:
    """This module's own app: webhooks to the receiver on 127.0.0.1 allowed, as in development."""
    settings = Settings(
        app_env="test",
        database_url=database_url,
        secret_key="x" * 40,
        data_dir=str(tmp_path_factory.mktemp("e2e-webhooks")),
        rate_limit_login="1000 per minute",
        log_level="WARNING",
        webhook_allow_http=True,
        webhook_allow_private_hosts=f"127.0.0.1:{receiver.port}",
        webhook_timeout_seconds=2,
    )
    app = create_app(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    in_flight = _Requests(app.wsgi_app)
    app.wsgi_app = in_flight
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield _LiveServer(url=f"http://127.0.0.1:{port}", in_flight=in_flight, settings=settings)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["db_engine"].dispose()


def test_add_an_endpoint_see_its_secret_once_send_a_test_event_and_read_the_log(
    page: Page, sign_in, live_server, receiver, database_url, db
):
    receiver.requests.clear()  # the receiver serves the whole module (both database backends)
    sign_in("admin@example.com")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()

    page.get_by_label("URL").fill(receiver.url("/e2e"))
    page.get_by_label("Description").fill("chat-ops bridge")
    expect(page.get_by_label("incident.created")).to_be_checked()
    page.get_by_label("comment.created").uncheck()
    page.get_by_role("button", name="Add endpoint").click()

    secret_box = page.get_by_label("Signing secret")
    expect(secret_box).to_have_value(re.compile(r"^whsec_"))
    secret = secret_box.input_value()

    # Reloading the answer posts the form again: refused beside the URL, and nothing added.
    page.reload()
    expect(page.get_by_label("URL")).to_have_accessible_description(re.compile(r"is already an endpoint \(#\d+\)"))
    expect(page.get_by_label("Signing secret")).to_have_count(0)
    expect(page.get_by_role("link", name=receiver.url("/e2e"))).to_have_count(1)

    page.get_by_role("link", name=receiver.url("/e2e")).click()
    expect(page.get_by_role("heading", name="Webhook endpoint")).to_be_visible()
    expect(page.get_by_label("Signing secret")).to_have_count(0)

    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_role("status").filter(has_text="A test event is on its way")).to_be_visible()
    log = page.get_by_role("table", name="Deliveries to this endpoint, newest first")
    expect(log.get_by_role("row").filter(has_text="webhook.test")).to_contain_text("pending")

    # The worker's part, in-process: the same service function its task calls.
    engine = make_engine(database_url)
    try:
        delivery = db.scalars(select(WebhookDelivery)).one()
        status = service.deliver_webhook(
            factory=make_session_factory(engine), settings=live_server.settings, delivery_id=delivery.id
        )
    finally:
        engine.dispose()
    assert status == "delivered"
    (request,) = receiver.requests
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "webhook.test"

    page.reload()
    row = log.get_by_role("row").filter(has_text="webhook.test")
    expect(row).to_contain_text("delivered")
    expect(row.get_by_role("cell", name="200", exact=True)).to_be_visible()
    # The delivery's time is put into the reader's time zone like every other time (the
    # server's "YYYY-MM-DD HH:MM UTC" text becomes the hover title).
    delivered_at = row.get_by_role("cell").first.locator("time")
    expect(delivered_at).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    expect(delivered_at).not_to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    expect(row.get_by_role("button", name=f"Redeliver webhook.test {delivery.webhook_id}")).to_be_visible()

    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_label("Signing secret")).to_have_value(re.compile(r"^whsec_"))
    # Reloading the answer posts the same form again: refused, the secret stays as it was.
    page.reload()
    expect(page.get_by_role("alert")).to_have_text(
        "This secret was already rotated; rotate again if you need a new one."
    )
    expect(page.get_by_label("Signing secret")).to_have_count(0)
