"""An admin's test email (the Webhooks page's Email section, and `flask --app web mail test`) against
a real SMTP server (aiosmtpd on 127.0.0.1): sent now, the server's answer or the file written
shown in words, audited; only admins, only with the form's CSRF token. And the page's "Recent
email" list, where a delivery that is failing shows why."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from notification_helpers import deliver_all, fan_out_pending, notification_settings
from sqlalchemy import select

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.events import EventType
from shared.notifications.models import EmailDelivery
from web.app import create_app

STARTTLS_REFUSED = (
    "The SMTP server does not support what SMTP_SECURITY asks: STARTTLS extension not supported by server."
)
CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def make_app(database_url, users, reused_apps):
    """make_app(csrf=False, **settings overrides) -> this backend's app (notification settings)."""
    apps = []

    def make(*, csrf: bool = False, **overrides):
        settings = notification_settings(database_url, **{"rate_limit_login": "10000 per minute", **overrides})

        def build():
            app = create_app(settings)
            app.config.update(TESTING=True, WTF_CSRF_ENABLED=csrf)
            return app

        app = reused_apps.get(settings, csrf=csrf, build=build)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["db_engine"].dispose()


def signed_in(app, session_factory, user: User):
    client = app.test_client()
    with session_factory() as session:
        token = accounts.start_session(session=session, user=session.get(User, user.id), lifetime=timedelta(hours=1))
        session.commit()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = token
        cookie["_fresh"] = True
    return client


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def mail_tests_on_trail(db) -> list[AuditEvent]:
    """The test emails on the audit trail, oldest first."""
    db.expire_all()
    query = select(AuditEvent).where(AuditEvent.action == EventType.USER_TEST_EMAIL_SENT).order_by(AuditEvent.id)
    return list(db.scalars(query))


def test_an_admin_sends_a_test_email_and_reads_that_the_server_took_it(make_app, session_factory, db, users, inbox):
    client = signed_in(make_app(inbox=inbox), session_factory, users["admin"])
    form = client.get("/admin/webhooks").get_data(as_text=True)
    assert '<label for="test-email-to">Send a test email to</label>' in form
    assert 'value="admin@example.com"' in form  # their own address, ready to send

    response = client.post("/admin/webhooks/email-test", data={"to": "admin@example.com"})

    assert response.status_code == 200
    page = page_text(response)
    assert f"Sent to admin@example.com through 127.0.0.1:{inbox.port} (none) \u2014 check the inbox" in page
    assert [m.rcpt_tos for m in inbox.messages] == [["admin@example.com"]]
    mail = inbox.messages[0].message
    assert mail["Subject"] == "[Incident Tracker] Test email"
    assert "If you can read it, notification email works." in mail.get_content()
    [event] = mail_tests_on_trail(db)
    assert event.actor_id == users["admin"].id
    assert event.data == {"to": "admin@example.com", "through": f"127.0.0.1:{inbox.port} (none)", "outcome": "sent"}


def test_starttls_asked_of_a_plain_server_shows_the_reason_on_the_page(make_app, session_factory, db, users, inbox):
    """The QA case: SMTP_SECURITY=starttls against a relay without TLS. The page says what the
    worker's log says, at once, instead of "Email is sent through …" alone."""
    client = signed_in(make_app(inbox=inbox, smtp_security="starttls"), session_factory, users["admin"])

    response = client.post("/admin/webhooks/email-test", data={"to": "ops@example.com"})

    assert response.status_code == 200
    page = page_text(response)
    assert f"Not sent to ops@example.com through 127.0.0.1:{inbox.port} (starttls): {STARTTLS_REFUSED}" in page
    assert 'role="alert"' in page
    assert inbox.messages == []
    [event] = mail_tests_on_trail(db)
    assert event.data["outcome"] == "failed"
    assert event.data["error"] == STARTTLS_REFUSED


def test_without_smtp_host_the_page_says_which_file_was_written(make_app, session_factory, db, users, tmp_path):
    mail_dir = tmp_path / "mail"
    client = signed_in(make_app(mail_dir=str(mail_dir)), session_factory, users["admin"])

    page = page_text(client.post("/admin/webhooks/email-test", data={"to": "admin@example.com"}))

    written = re.search(r"Written to (\S+\.eml): SMTP_HOST is not set", page)
    assert written, page
    path = Path(written.group(1))
    assert path.parent == mail_dir
    assert "Subject: [Incident Tracker] Test email" in path.read_text()


def test_with_email_off_there_is_nothing_to_send_and_no_form(make_app, session_factory, db, users):
    client = signed_in(make_app(), session_factory, users["admin"])
    assert 'name="to"' not in client.get("/admin/webhooks").get_data(as_text=True)
    page = page_text(client.post("/admin/webhooks/email-test", data={"to": "admin@example.com"}))
    assert "Not sent: email is switched off (set SMTP_HOST, or MAIL_DIR)." in page


def test_an_address_that_is_not_one_is_refused_beside_the_field(make_app, session_factory, db, users, inbox):
    client = signed_in(make_app(inbox=inbox), session_factory, users["admin"])
    response = client.post("/admin/webhooks/email-test", data={"to": "ops at example"})
    assert response.status_code == 422
    page = page_text(response)
    assert (
        '<span id="test-email-error" class="field-error">Enter an email address, like name@example.com.</span>' in page
    )
    assert 'value="ops at example"' in page
    assert inbox.messages == []
    assert mail_tests_on_trail(db) == []


@pytest.mark.parametrize("role", ["member", "lead"])
def test_only_an_admin_can_send_one(make_app, session_factory, db, users, inbox, role):
    client = signed_in(make_app(inbox=inbox), session_factory, users[role])
    assert client.post("/admin/webhooks/email-test", data={"to": f"{role}@example.com"}).status_code == 403
    assert inbox.messages == []
    assert mail_tests_on_trail(db) == []


def test_a_post_needs_the_forms_csrf_token(make_app, session_factory, db, users, inbox):
    client = signed_in(make_app(inbox=inbox, csrf=True), session_factory, users["admin"])
    assert client.post("/admin/webhooks/email-test", data={"to": "admin@example.com"}).status_code == 400
    assert inbox.messages == []

    token = CSRF_TOKEN.search(client.get("/admin/webhooks").get_data(as_text=True)).group(1)
    response = client.post("/admin/webhooks/email-test", data={"to": "admin@example.com", "csrf_token": token})
    assert response.status_code == 200
    assert len(inbox.messages) == 1


def test_test_emails_are_limited_per_admin_like_other_mail_forms(make_app, session_factory, db, users, inbox):
    client = signed_in(make_app(inbox=inbox, rate_limit_login="2 per minute"), session_factory, users["admin"])
    answers = [
        client.post("/admin/webhooks/email-test", data={"to": "admin@example.com"}).status_code for _ in range(3)
    ]
    assert answers == [200, 200, 429]
    assert len(inbox.messages) == 2


def test_the_command_prints_where_it_went_and_exits_0(make_app, db, users, inbox):
    runner = make_app(inbox=inbox).test_cli_runner()

    result = runner.invoke(args=["mail", "test", "--to", "ops@example.com"])

    assert result.exit_code == 0, result.output
    assert f"Sent to ops@example.com through 127.0.0.1:{inbox.port} (none) \u2014 check the inbox" in result.output
    assert [m.rcpt_tos for m in inbox.messages] == [["ops@example.com"]]
    [event] = mail_tests_on_trail(db)
    assert event.actor_id is None  # the operator: no account
    assert event.data["outcome"] == "sent"


def test_the_command_says_why_it_failed_and_exits_1(make_app, db, users, inbox):
    runner = make_app(inbox=inbox, smtp_security="starttls").test_cli_runner()

    result = runner.invoke(args=["mail", "test", "--to", "ops@example.com"])

    assert result.exit_code == 1
    assert STARTTLS_REFUSED in result.output
    assert inbox.messages == []
    [event] = mail_tests_on_trail(db)
    assert event.data["outcome"] == "failed"


def test_the_command_refuses_an_address_that_is_not_one(make_app, db, users, inbox):
    result = make_app(inbox=inbox).test_cli_runner().invoke(args=["mail", "test", "--to", "ops"])
    assert result.exit_code == 1
    assert "Enter an email address, like name@example.com." in result.output
    assert inbox.messages == []


def test_the_recent_email_list_shows_a_failing_delivery_and_why(
    make_app, session_factory, database_url, db, users, inbox, smtp_server_factory
):
    """A reset link mailed through a relay that does not offer STARTTLS is retried: the list
    shows it with its reason and next try, and the page's top says email is failing; a mail the
    server refuses for good shows as failed with the server's words."""
    wrong = notification_settings(database_url, inbox=inbox, smtp_security="starttls")
    accounts.request_password_reset(session=db, email="member@example.com")
    db.commit()
    deliver_all(session_factory, wrong, fan_out_pending(session_factory, wrong))

    client = signed_in(make_app(inbox=inbox), session_factory, users["admin"])
    response = client.get("/admin/webhooks")
    page = page_text(response)
    table = page[page.index("Recent email, newest first") :]
    row = table[: table.index("</tr>", table.index("member@example.com"))]
    assert "member@example.com" in row
    assert "Choose a new password (a reset link)" in row
    assert "retrying (next try <time datetime=" in row
    assert '<td data-label="Attempts">1</td>' in row
    assert STARTTLS_REFUSED in row
    failing = f'Email is failing: the newest mail tried is retrying. {STARTTLS_REFUSED} See <a href="#email">Email</a>'
    assert failing in page

    refusing = smtp_server_factory(refuse=frozenset({"lead@example.com"}))
    refused = notification_settings(database_url, inbox=refusing)
    accounts.request_password_reset(session=db, email="lead@example.com")
    db.commit()
    deliver_all(session_factory, refused, fan_out_pending(session_factory, refused))

    page = page_text(client.get("/admin/webhooks"))
    table = page[page.index("Recent email, newest first") :]
    body = table[table.index("<tbody>") :]
    newest = body[: body.index("</tr>")]
    assert "lead@example.com" in newest
    assert '<td data-label="State">failed</td>' in newest
    assert "550" in newest
    assert "No such user here" in newest
    assert db.scalar(select(EmailDelivery.status).order_by(EmailDelivery.id.desc()).limit(1)) == "failed"
