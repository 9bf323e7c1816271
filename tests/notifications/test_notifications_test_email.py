"""An admin's test email (the Webhooks page's Email section, and `flask --app web mail test`) against
a real SMTP server (aiosmtpd on 127.0.0.1): sent now, the server's answer or the file written
shown in words, audited; only admins, only with the form's CSRF token. And the page's "Recent
email" list, where a delivery that is failing shows why."""

from __future__ import annotations

import html
import logging
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
from shared.incidents import service as incidents
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


@pytest.fixture
def info_logs(caplog):
    """The INFO log lines of shared/ (the command's stderr); call after the app is built, which
    sets up logging anew."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    def start() -> list[str]:
        caplog.set_level(logging.INFO)  # the root's level, restored after the test
        handler = Keep(logging.INFO)
        logging.getLogger("shared").addHandler(handler)
        started.append(handler)
        return lines

    started: list[logging.Handler] = []
    yield start
    for handler in started:
        logging.getLogger("shared").removeHandler(handler)


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

    # Post-redirect-get: the answer is read on the page, so reloading it sends nothing again.
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/webhooks#email"
    page = page_text(client.get(response.headers["Location"]))
    assert f"Sent to admin@example.com through 127.0.0.1:{inbox.port} (none) \u2014 check the inbox" in page
    assert [m.rcpt_tos for m in inbox.messages] == [["admin@example.com"]]
    reloaded = page_text(client.get("/admin/webhooks"))
    assert "Sent to admin@example.com" not in reloaded  # said once
    assert len(inbox.messages) == 1
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

    response = client.post("/admin/webhooks/email-test", data={"to": "ops@example.com"}, follow_redirects=True)

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

    page = page_text(client.post("/admin/webhooks/email-test", data={"to": "admin@example.com"}, follow_redirects=True))

    written = re.search(r"Written to (\S+\.eml): SMTP_HOST is not set", page)
    assert written, page
    path = Path(written.group(1))
    assert path.parent == mail_dir
    assert "Subject: [Incident Tracker] Test email" in path.read_text()


def test_with_email_off_there_is_nothing_to_send_and_no_form(make_app, session_factory, db, users):
    client = signed_in(make_app(), session_factory, users["admin"])
    assert 'name="to"' not in client.get("/admin/webhooks").get_data(as_text=True)
    response = client.post("/admin/webhooks/email-test", data={"to": "admin@example.com"}, follow_redirects=True)
    page = page_text(response)
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
    assert response.status_code == 302
    assert len(inbox.messages) == 1


def test_test_emails_are_limited_per_admin_like_other_mail_forms(make_app, session_factory, db, users, inbox):
    client = signed_in(make_app(inbox=inbox, rate_limit_login="2 per minute"), session_factory, users["admin"])
    answers = [
        client.post("/admin/webhooks/email-test", data={"to": "admin@example.com"}).status_code for _ in range(3)
    ]
    assert answers == [302, 302, 429]
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


def test_the_command_writes_into_make_runs_mail_folder_and_says_so_once(make_app, db, users, tmp_path, info_logs):
    """Under `make run`'s DATA_DIR (its mail folder there, SMTP_HOST and MAIL_DIR unset in this
    shell) the command finds the folder, as `users create --invite` does, instead of "switched off";
    and its outcome is printed once, not repeated by INFO log lines."""
    folder = tmp_path / "mail"
    folder.mkdir()
    runner = make_app(data_dir=str(tmp_path)).test_cli_runner()
    logged = info_logs()

    result = runner.invoke(args=["mail", "test", "--to", "ops@example.com"])

    assert result.exit_code == 0, result.output
    assert f"`make run` writes mail to {folder} (SMTP_HOST and MAIL_DIR are not set here)" in result.output
    [written] = list(folder.glob("*.eml"))
    assert f"Written to {written}: SMTP_HOST is not set" in result.output
    assert result.output.count(str(written)) == 1
    assert [line for line in logged if "ops@example.com" in line] == []
    assert "Subject: [Incident Tracker] Test email" in written.read_text()


def test_a_failure_at_the_command_is_printed_once(make_app, db, users, inbox, info_logs):
    runner = make_app(inbox=inbox, smtp_security="starttls").test_cli_runner()
    logged = info_logs()

    result = runner.invoke(args=["mail", "test", "--to", "ops@example.com"])

    assert result.exit_code == 1
    assert result.output.count(STARTTLS_REFUSED) == 1
    assert [line for line in logged if STARTTLS_REFUSED in line] == []


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
    assert '<td data-label="About">[Incident Tracker] Choose a new password</td>' in row  # the mail's subject
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
    # In words, not Python's bytes repr ({'…': (550, b'…')}, found in QA).
    assert "Recipient refused: lead@example.com (550 5.1.1 No such user here)" in newest
    assert db.scalar(select(EmailDelivery.status).order_by(EmailDelivery.id.desc()).limit(1)) == "failed"


def test_recent_email_shows_the_subject_each_mail_was_sent_with(
    make_app, session_factory, database_url, db, users, inbox
):
    """An admin matching "I did not get the New P3 mail" reads, in "Recent email", the subject
    that reached (or should reach) the inbox, not a paraphrase of it."""
    settings = notification_settings(database_url, inbox=inbox)
    filed = incidents.create_incident(
        session=db, actor=users["lead"], title="Disk full on log shipper", priority="P3", owner_id=users["member"].id
    )
    later = incidents.create_incident(session=db, actor=users["lead"], title="Replica lagging", priority="P1")
    incidents.assign(session=db, incident_id=later.id, actor=users["lead"], owner_id=users["member"].id)
    db.commit()
    deliver_all(session_factory, settings, fan_out_pending(session_factory, settings))
    sent = sorted((m.rcpt_tos[0], m.message["Subject"]) for m in inbox.messages)
    member = users["member"].email
    assert (member, f"[{filed.key}] New P3: Disk full on log shipper") in sent
    assert (member, f"[{later.key}] Assigned to you: Replica lagging") in sent

    page = page_text(signed_in(make_app(inbox=inbox), session_factory, users["admin"]).get("/admin/webhooks"))
    table = page[page.index("Recent email, newest first") : page.index("</table>", page.index("Recent email"))]
    listed = sorted(re.findall(r'<td data-label="To">([^<]*)</td>\s*<td data-label="About">([^<]*)</td>', table))
    assert listed == sent
