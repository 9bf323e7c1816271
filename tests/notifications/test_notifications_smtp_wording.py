"""What a failed SMTP send says, against real servers (aiosmtpd on 127.0.0.1): the words name the
setting to change. The same sentence is what the worker records for a delivery ("Recent email",
the page's banner) and what a test email answers."""

from __future__ import annotations

from notification_helpers import deliver_all, fan_out_pending, notification_settings
from notification_servers import free_port

from shared.accounts import service as accounts
from shared.notifications import service as notifications
from shared.permissions import SYSTEM

NO_AUTH_ON_PLAIN = (
    "The SMTP server offers no login (SMTP AUTH) on this connection, but SMTP_USERNAME is set: unset "
    "SMTP_USERNAME and SMTP_PASSWORD if it needs no login, or use SMTP_SECURITY=starttls (or tls) if it "
    "offers login only over TLS."
)
STARTTLS_REFUSED = (
    "The SMTP server does not support what SMTP_SECURITY asks: STARTTLS extension not supported by server."
)


def not_tls(port: int) -> str:
    return (
        f"The SMTP server at 127.0.0.1:{port} answered, but not in TLS from the first byte as SMTP_SECURITY=tls "
        "expects: use SMTP_SECURITY=starttls (usually port 587), or none (the TLS library said: "
    )


def worker_error(db, session_factory, database_url, settings) -> str:
    """Mail a reset link with these settings, as the worker does; what "Recent email" then shows."""
    accounts.request_password_reset(session=db, email="member@example.com")
    db.commit()
    deliver_all(session_factory, settings, fan_out_pending(session_factory, settings))
    db.expire_all()
    [email] = [email for email in notifications.recent_emails(session=db) if email.to == "member@example.com"]
    assert email.state == "retrying"
    assert notifications.failing_email([email]) == email  # the banner's "Email is failing: …"
    return email.error


def test_a_login_asked_of_a_server_without_auth_blames_the_login_not_smtp_security(
    db, session_factory, database_url, users, inbox
):
    settings = notification_settings(
        database_url, inbox=inbox, smtp_username="relay-user", smtp_password="relay-password-1"
    )

    assert worker_error(db, session_factory, database_url, settings) == NO_AUTH_ON_PLAIN
    outcome = notifications.send_test_email(session=db, actor=SYSTEM, settings=settings, to="ops@example.com")
    assert outcome.error == NO_AUTH_ON_PLAIN
    assert "does not support what SMTP_SECURITY asks" not in outcome.summary
    assert inbox.messages == []


def test_tls_asked_of_a_plain_server_says_it_was_reached_but_speaks_no_tls(
    db, session_factory, database_url, users, inbox
):
    settings = notification_settings(database_url, inbox=inbox, smtp_security="tls")

    error = worker_error(db, session_factory, database_url, settings)
    assert error.startswith(not_tls(inbox.port)), error
    assert "Could not reach" not in error
    outcome = notifications.send_test_email(session=db, actor=SYSTEM, settings=settings, to="ops@example.com")
    assert outcome.error.startswith(not_tls(inbox.port)), outcome.error
    assert inbox.messages == []


def test_starttls_asked_of_a_plain_server_keeps_its_words(db, session_factory, database_url, users, inbox):
    settings = notification_settings(database_url, inbox=inbox, smtp_security="starttls")
    assert worker_error(db, session_factory, database_url, settings) == STARTTLS_REFUSED


def test_nothing_listening_is_still_could_not_reach(db, session_factory, database_url, users):
    port = free_port()  # nothing listens there
    settings = notification_settings(database_url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="tls")
    outcome = notifications.send_test_email(session=db, actor=SYSTEM, settings=settings, to="ops@example.com")
    assert outcome.error.startswith("Could not reach the SMTP server:"), outcome.error
