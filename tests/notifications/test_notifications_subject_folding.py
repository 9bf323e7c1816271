"""A long subject is folded onto several header lines; a mail client unfolds it and must read
the subject as built: one space where there was one ("40% — payments", never "40%  — payments"),
none lost between two non-ASCII words, none added in front."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest

from shared.notifications.email import (
    MailEvent,
    MailRecipient,
    SmtpConfig,
    SmtpMailer,
    build_message,
    build_notice,
    subject_for,
)
from shared.notifications.rules import EventKind

BASE_URL = "https://tracker.example"
SENDER = "Incident Tracker <tracker@example.com>"
BOB = MailRecipient(user_id=7, email="bob@example.com", name="Bob Builder")
TITLE = "Checkout errors at 40% — payments"


def verdict_event(filename: str, title: str = TITLE) -> MailEvent:
    return MailEvent(
        event_id="9f1c2e",
        kind=EventKind.EVIDENCE_VERDICT,
        incident_id=42,
        incident_key="INC-42",
        incident_title=title,
        incident_status="In Progress",
        incident_priority="P1",
        actor_name="",
        occurred_at=datetime(2026, 11, 29, 16, 0, tzinfo=UTC),
        evidence_filename=filename,
        # A verdict's subject ends with its reason, not the incident's title: `title` is put
        # there as the text whose folding is tested.
        evidence_verdict=f"not scanned ({title})",
    )


def as_read(message) -> str:
    """The Subject as a mail client reads it: the message as sent (CRLF), parsed and unfolded."""
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    return str(BytesParser(policy=policy.default).parsebytes(raw)["Subject"])


def subject_lines(message) -> list[str]:
    """The Subject header's lines as sent: the first, then its continuation lines."""
    lines = message.as_bytes().split(b"\n\n", 1)[0].decode("ascii").split("\n")
    start = next(n for n, line in enumerate(lines) if line.startswith("Subject:"))
    rest = lines[start + 1 :]
    end = next((n for n, line in enumerate(rest) if not line.startswith((" ", "\t"))), len(rest))
    return [lines[start], *rest[:end]]


# File names of every length from short to long move the folds across the whole subject, so
# some fold lands right before "—" (the case that read "40%  — payments").
@pytest.mark.parametrize("length", range(8, 120, 3))
def test_a_verdict_subject_folded_anywhere_reads_as_built(length):
    filename = ("payments-checkout-failures-" * 5)[: length - 4] + ".log"
    event = verdict_event(filename)
    message = build_message(event=event, recipient=BOB, base_url=BASE_URL, sender=SENDER)
    assert len(subject_lines(message)) > 1, "the subject was expected to be folded"

    subject = as_read(message)
    assert subject == subject_for(event)
    assert "  " not in subject
    assert subject.endswith(": Checkout errors at 40% — payments")


@pytest.mark.parametrize(
    "title",
    [
        "Zahlungen fallen aus — Prüfung der Datenbank läuft — Übersicht folgt später heute",
        "決済エラー 40% — 支払い処理が停止しています 決済エラー 40% — 支払い処理が停止しています",
        "Plain ASCII only, long enough to fold: disk full on the log shipper in eu-west-1 again",
        "A title that spells an encoded word =?utf-8?q?hello?= and must read as typed, folded",
    ],
)
def test_non_ascii_and_plain_subjects_read_as_built(title):
    event = verdict_event("trace.log", title=title)
    subject = as_read(build_message(event=event, recipient=BOB, base_url=BASE_URL, sender=SENDER))
    assert subject == subject_for(event)
    assert subject.endswith(title)


def test_a_notice_subject_reads_as_built():
    notice = build_notice(
        notice_id="n1",
        recipient=BOB,
        subject="Webhook endpoint disabled: “Payments — #incidents-eu” failed 40% of deliveries since 09:00",
        text="Body",
        base_url=BASE_URL,
        sender=SENDER,
        occurred_at=datetime(2026, 11, 29, 16, 0, tzinfo=UTC),
    )
    assert as_read(notice) == (
        "[Incident Tracker] Webhook endpoint disabled: “Payments — #incidents-eu” failed 40% of deliveries since 09:00"
    )


def test_a_folded_verdict_subject_arrives_over_smtp_as_built(inbox):
    event = verdict_event("payments-checkout-failures-2026-11-29.log")
    SmtpMailer(SmtpConfig(host="127.0.0.1", port=inbox.port, security="none", timeout=5)).send(
        build_message(event=event, recipient=BOB, base_url=BASE_URL, sender=SENDER)
    )
    (got,) = inbox.messages
    assert got.message["Subject"] == subject_for(event)
    assert "  " not in got.message["Subject"]
