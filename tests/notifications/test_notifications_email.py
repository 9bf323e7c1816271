"""Notification email through a real SMTP server (aiosmtpd on 127.0.0.1), read as a mail client would."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest
from notification_servers import free_port

from shared.notifications.email import (
    FolderMailer,
    MailDeliveryError,
    MailEvent,
    MailRecipient,
    SmtpConfig,
    SmtpMailer,
    build_message,
    make_mailer,
    thread_root_id,
)
from shared.notifications.rules import EventKind

BASE_URL = "https://tracker.example"
SENDER = "Incident Tracker <tracker@example.com>"
BOB = MailRecipient(user_id=7, email="bob@example.com", name="Bob Builder")
ALICE = MailRecipient(user_id=8, email="alice@example.com", name="Alice")


def blocked_event(**changes) -> MailEvent:
    values = {
        "event_id": "9f1c2e",
        "kind": EventKind.STATUS_CHANGED,
        "incident_id": 42,
        "incident_key": "INC-42",
        "incident_title": "Disk full on log shipper",
        "incident_status": "Blocked",
        "incident_priority": "P1",
        "actor_name": "Alice",
        "occurred_at": datetime(2026, 11, 29, 16, 0, tzinfo=UTC),
        "reason": "Waiting for the storage vendor",
    }
    return MailEvent(**{**values, **changes})


def plain(inbox_port: int) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=inbox_port, security="none", timeout=5)


def trusting(test_certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(test_certificate.cert))


def test_a_status_change_arrives_with_subject_link_and_list_headers(inbox):
    message = build_message(event=blocked_event(), recipient=BOB, base_url=BASE_URL, sender=SENDER)
    SmtpMailer(plain(inbox.port)).send(message)

    (got,) = inbox.messages
    assert got.rcpt_tos == ["bob@example.com"]
    assert got.mail_from == "tracker@example.com"
    mail = got.message
    assert mail["Subject"] == "[INC-42] Blocked: Disk full on log shipper"
    assert mail["To"] == "Bob Builder <bob@example.com>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Id"] == "Incident Tracker notifications <notifications.tracker.example>"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Alice moved INC-42 to Blocked." in text
    assert "Reason: Waiting for the storage vendor" in text
    assert "https://tracker.example/incidents/INC-42" in text
    assert '<a href="https://tracker.example/incidents/INC-42">Open INC-42</a>' in html
    assert "https://tracker.example/profile" in text


@pytest.mark.parametrize(
    ("changes", "subject"),
    [
        ({"kind": EventKind.ASSIGNED}, "[INC-42] Assigned to you: Disk full on log shipper"),
        (
            {"kind": EventKind.COMMENT_CREATED, "comment_excerpt": "Freed 20 GB"},
            "[INC-42] New comment: Disk full on log shipper",
        ),
        ({"kind": EventKind.INCIDENT_CREATED}, "[INC-42] New P1: Disk full on log shipper"),
        (
            {"kind": EventKind.EVIDENCE_INFECTED, "evidence_filename": "dump.zip"},
            "[INC-42] Infected upload: Disk full on log shipper",
        ),
        (
            {"kind": EventKind.EVIDENCE_VERDICT, "evidence_filename": "trace.log", "evidence_verdict": "clean"},
            "[INC-42] trace.log is clean",
        ),
    ],
)
def test_every_kind_has_a_subject_and_renders(changes, subject):
    message = build_message(event=blocked_event(**changes), recipient=BOB, base_url=BASE_URL, sender=SENDER)
    assert message["Subject"] == subject
    text = message.get_body(("plain",)).get_content()
    assert "https://tracker.example/incidents/INC-42" in text
    for detail in (changes.get("comment_excerpt"), changes.get("evidence_filename")):
        if detail:
            assert detail in text


@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r", "\x85", "\u2028", "\x00", "\x0b"])
def test_a_line_break_in_title_or_name_adds_no_header(inbox, breaker):
    event = blocked_event(
        incident_title=f"Disk full{breaker}Bcc: attacker@evil.example{breaker}X-Injected: yes",
        actor_name=f"Mallory{breaker}Cc: attacker@evil.example",
    )
    recipient = MailRecipient(user_id=7, email="bob@example.com", name=f"Bob{breaker}Reply-To: attacker@evil.example")
    SmtpMailer(plain(inbox.port)).send(
        build_message(event=event, recipient=recipient, base_url=BASE_URL, sender=SENDER)
    )

    (got,) = inbox.messages
    assert got.rcpt_tos == ["bob@example.com"]
    mail = got.message
    for header in ("Bcc", "Cc", "Reply-To", "X-Injected"):
        assert mail[header] is None
    # .strip(): Python folds this long subject onto a continuation line, and unfolding keeps the
    # fold's leading space, which mail clients trim as well.
    assert mail["Subject"].strip() == "[INC-42] Blocked: Disk full Bcc: attacker@evil.example X-Injected: yes"
    header_block = got.raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "attacker@evil.example" not in "\n".join(
        line for line in header_block.splitlines() if not line.startswith(("Subject:", "To:", " "))
    )


def test_an_address_with_a_line_break_is_refused():
    with pytest.raises(ValueError, match="not a usable email address"):
        build_message(
            event=blocked_event(),
            recipient=MailRecipient(user_id=9, email="bob@example.com\r\nBcc: x@evil.example"),
            base_url=BASE_URL,
            sender=SENDER,
        )


@pytest.mark.parametrize(
    "field", ["incident_title", "actor_name", "incident_status", "reason", "comment_excerpt", "evidence_filename"]
)
def test_markup_typed_by_users_is_escaped_in_html_and_kept_in_text(field):
    typed = '<img src=x onerror="alert(1)"> & more'
    event = blocked_event(kind=EventKind.COMMENT_CREATED, **{field: typed})
    message = build_message(event=event, recipient=BOB, base_url=BASE_URL, sender=SENDER)
    html = message.get_body(("html",)).get_content()
    assert "<img" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; more" in html
    assert typed in message.get_body(("plain",)).get_content()


def test_mails_about_one_incident_thread_together(inbox):
    first = build_message(event=blocked_event(), recipient=BOB, base_url=BASE_URL, sender=SENDER)
    second = build_message(
        event=blocked_event(event_id="a7d3b0", kind=EventKind.COMMENT_CREATED, comment_excerpt="Vendor replied"),
        recipient=BOB,
        base_url=BASE_URL,
        sender=SENDER,
    )
    other_incident = build_message(
        event=blocked_event(event_id="c0ffee", incident_id=43, incident_key="INC-43"),
        recipient=BOB,
        base_url=BASE_URL,
        sender=SENDER,
    )
    mailer = SmtpMailer(plain(inbox.port))
    for message in (first, second, other_incident):
        mailer.send(message)

    a, b, c = (m.message for m in inbox.messages)
    root = thread_root_id(incident_id=42, base_url=BASE_URL)
    assert a["In-Reply-To"] == b["In-Reply-To"] == a["References"] == b["References"] == root
    assert c["References"] != root
    assert len({a["Message-ID"], b["Message-ID"], c["Message-ID"]}) == 3


def test_message_id_is_one_per_event_and_recipient():
    event = blocked_event()
    again = build_message(event=event, recipient=BOB, base_url=BASE_URL, sender=SENDER)
    assert (
        build_message(event=event, recipient=BOB, base_url=BASE_URL, sender=SENDER)["Message-ID"] == again["Message-ID"]
    )
    assert (
        build_message(event=event, recipient=ALICE, base_url=BASE_URL, sender=SENDER)["Message-ID"]
        != again["Message-ID"]
    )


def test_starttls_with_login(smtp_server_factory, test_certificate):
    server = smtp_server_factory(security="starttls", users={"tracker": "s3cret"})
    config = SmtpConfig(host="127.0.0.1", port=server.port, security="starttls", username="tracker", password="s3cret")
    SmtpMailer(config, ssl_context=trusting(test_certificate)).send(
        build_message(event=blocked_event(), recipient=BOB, base_url=BASE_URL, sender=SENDER)
    )
    assert server.logins == ["tracker"]
    assert [m.rcpt_tos for m in server.messages] == [["bob@example.com"]]
    assert "s3cret" not in repr(config)


def test_implicit_tls(smtp_server_factory, test_certificate):
    server = smtp_server_factory(security="tls")
    config = SmtpConfig(host="127.0.0.1", port=server.port, security="tls")
    SmtpMailer(config, ssl_context=trusting(test_certificate)).send(
        build_message(event=blocked_event(), recipient=BOB, base_url=BASE_URL, sender=SENDER)
    )
    assert len(server.messages) == 1


def test_starttls_never_falls_back_to_plain_text(inbox):
    config = SmtpConfig(host="127.0.0.1", port=inbox.port, security="starttls", username="u", password="p")
    with pytest.raises(MailDeliveryError) as refused:
        SmtpMailer(config).send(build_message(event=blocked_event(), recipient=BOB, base_url=BASE_URL, sender=SENDER))
    assert not refused.value.permanent
    assert inbox.messages == []


def test_untrusted_certificate_is_refused(smtp_server_factory):
    server = smtp_server_factory(security="tls")
    with pytest.raises(MailDeliveryError) as refused:
        SmtpMailer(SmtpConfig(host="127.0.0.1", port=server.port, security="tls")).send(
            build_message(event=blocked_event(), recipient=BOB, base_url=BASE_URL, sender=SENDER)
        )
    assert "certificate" in str(refused.value).lower()
    assert server.messages == []


def test_wrong_password_is_a_retryable_configuration_error(smtp_server_factory, test_certificate):
    server = smtp_server_factory(security="starttls", users={"tracker": "s3cret"})
    config = SmtpConfig(host="127.0.0.1", port=server.port, security="starttls", username="tracker", password="nope")
    with pytest.raises(MailDeliveryError, match="SMTP_USERNAME/PASSWORD") as refused:
        SmtpMailer(config, ssl_context=trusting(test_certificate)).send(
            build_message(event=blocked_event(), recipient=BOB, base_url=BASE_URL, sender=SENDER)
        )
    assert not refused.value.permanent


def test_unknown_recipient_is_permanent(smtp_server_factory):
    server = smtp_server_factory(refuse=frozenset({"bob@example.com"}))
    with pytest.raises(MailDeliveryError) as refused:
        SmtpMailer(plain(server.port)).send(
            build_message(event=blocked_event(), recipient=BOB, base_url=BASE_URL, sender=SENDER)
        )
    assert refused.value.permanent


def test_server_down_is_retryable():
    with pytest.raises(MailDeliveryError) as refused:
        SmtpMailer(plain(free_port())).send(
            build_message(event=blocked_event(), recipient=BOB, base_url=BASE_URL, sender=SENDER)
        )
    assert not refused.value.permanent
    assert "Could not reach the SMTP server" in str(refused.value)


def test_without_smtp_host_mail_goes_to_a_folder_and_says_where(tmp_path):
    mailer = make_mailer(smtp=None, mail_dir=tmp_path / "mail")
    assert isinstance(mailer, FolderMailer)
    assert str(tmp_path / "mail") in mailer.describe()
    message = build_message(event=blocked_event(), recipient=BOB, base_url=BASE_URL, sender=SENDER)

    where = mailer.send(message)
    assert mailer.send(message) == where  # a rerun replaces the same file
    files = list((tmp_path / "mail").iterdir())
    assert [str(f) for f in files] == [where]
    assert where.endswith(".eml")
    saved = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert saved["Subject"] == "[INC-42] Blocked: Disk full on log shipper"


def test_with_smtp_host_mail_goes_over_smtp():
    mailer = make_mailer(smtp=SmtpConfig(host="smtp.example.com"), mail_dir="/unused")
    assert isinstance(mailer, SmtpMailer)
    assert "smtp.example.com:587 (starttls)" in mailer.describe()


def test_unknown_security_is_refused():
    with pytest.raises(ValueError, match="SMTP_SECURITY"):
        SmtpConfig(host="smtp.example.com", security="ssl")
