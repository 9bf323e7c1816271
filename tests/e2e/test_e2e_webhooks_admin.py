"""The webhook admin page in a browser, by accessible names: add an endpoint, read its signing
secret once (reloading that answer, or a rotation's, repeats nothing), send a test event and
find it in the delivery log; the receiver (a real HTTP server on 127.0.0.1) verifies the
delivery with `standardwebhooks` and the secret the page showed."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from standardwebhooks import Webhook

from shared.db import make_engine, make_session_factory
from shared.notifications import service
from shared.notifications.models import WebhookDelivery

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notifications"))
from live_server import LiveServer, e2e_settings, serve_app
from notification_servers import serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def receiver():
    with serving() as running:
        yield running


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory, receiver) -> Iterator[LiveServer]:
    """This module's own app: webhooks to the receiver on 127.0.0.1 allowed, as in development."""
    settings = e2e_settings(
        database_url,
        str(tmp_path_factory.mktemp("e2e-webhooks")),
        webhook_allow_http=True,
        webhook_allow_private_hosts=f"127.0.0.1:{receiver.port}",
        webhook_timeout_seconds=2,
    )
    with serve_app(settings, name="e2e-webhooks-server") as server:
        yield server


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
