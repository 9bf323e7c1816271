"""The Webhooks page's Email section in a browser, by accessible names: an admin sends a test email
to a real SMTP server (aiosmtpd on 127.0.0.1) and reads the answer; a reset link the worker could
not send (STARTTLS asked of a plain relay) shows in "Recent email" with its reason, its time in
the reader's time zone, and the page's top says email is failing."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import expect
from sqlalchemy import select

from shared.accounts import service as accounts
from shared.db import make_engine, make_session_factory
from shared.notifications.models import EmailDelivery
from shared.timeutil import as_utc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notifications"))
from live_server import LiveServer, e2e_settings, serve_app
from notification_helpers import deliver_all, fan_out_pending, notification_settings
from notification_servers import smtp_serving

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

STARTTLS_REFUSED = (
    "The SMTP server does not support what SMTP_SECURITY asks: STARTTLS extension not supported by server."
)


@pytest.fixture(scope="module")
def inbox():
    with smtp_serving() as running:
        yield running


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory, inbox) -> Iterator[LiveServer]:
    """This module's own app, mailing through the aiosmtpd server (no TLS, as the relay offers)."""
    settings = e2e_settings(
        database_url,
        str(tmp_path_factory.mktemp("e2e-email")),
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_security="none",
    )
    with serve_app(settings, name="e2e-email-server") as server:
        yield server


def test_an_admin_sends_a_test_email_and_sees_why_a_mail_is_failing(
    open_page, db, users, inbox, database_url, axe_source
):
    inbox.messages.clear()
    # As the worker leaves it when SMTP_SECURITY=starttls meets a relay without TLS.
    wrong = notification_settings(database_url, inbox=inbox, smtp_security="starttls")
    accounts.request_password_reset(session=db, email="member@example.com")
    db.commit()
    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        deliver_all(factory, wrong, fan_out_pending(factory, wrong))
    finally:
        engine.dispose()
    queued_at = as_utc(db.scalar(select(EmailDelivery.created_at)))

    page = open_page(timezone_id="Asia/Tokyo", locale="en-GB")
    sign_in_on(page, "admin@example.com")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("Email is failing: the newest mail tried is retrying")).to_be_visible()

    recent = page.get_by_role("table", name="Recent email, newest first")
    row = recent.get_by_role("row").filter(has_text="member@example.com")
    expect(row).to_contain_text("Choose a new password")
    expect(row).to_contain_text("retrying (next try")
    expect(row).to_contain_text(STARTTLS_REFUSED)
    when = row.locator("time").first
    expect(when).to_have_attribute("title", queued_at.strftime("%Y-%m-%d %H:%M UTC"))
    expect(when).to_contain_text(re.compile(r"GMT\+9|JST"))

    address = page.get_by_label("Send a test email to")
    expect(address).to_have_value("admin@example.com")
    page.get_by_role("button", name="Send test email").click()
    answer = f"Sent to admin@example.com through 127.0.0.1:{inbox.port} (none) \u2014 check the inbox"
    expect(page.get_by_role("status").filter(has_text=answer)).to_be_visible()
    assert [message.rcpt_tos for message in inbox.messages] == [["admin@example.com"]]
    check_accessible(page, axe_source, "the Webhooks page's Email section after a test email")


def test_a_refused_address_gets_the_cursor_and_a_reload_after_sending_sends_nothing(open_page, db, users, inbox):
    inbox.messages.clear()
    page = open_page()
    sign_in_on(page, "admin@example.com")
    page.get_by_role("link", name="Webhooks").click()

    address = page.get_by_label("Send a test email to")
    address.fill("not-an-address")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_text("Enter an email address, like name@example.com.")).to_be_visible()
    # As the README promises and the "Add an endpoint" form does: the cursor on the field to fix.
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(address).to_be_focused()
    assert inbox.messages == []

    address.fill("admin@example.com")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_role("status").filter(has_text="Sent to admin@example.com")).to_be_visible()
    assert len(inbox.messages) == 1
    page.reload()
    expect(page.get_by_role("heading", name="Email", exact=True)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Sent to admin@example.com")).to_have_count(0)
    assert len(inbox.messages) == 1  # the reload sent no second mail
