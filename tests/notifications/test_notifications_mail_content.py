"""What a notification mail says, read as the people on call read it (found by a QA walk of a P1
at 3 a.m.): comments keep their lines and code, a status mail says why the incident moved, and
every mail tells the incident as the event left it. End to end from the domain services through
fan-out to a real SMTP server (aiosmtpd) and webhook receiver; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from notification_helpers import BASE_URL, notification_settings, run_pipeline

from shared.evidence import service as evidence_service
from shared.evidence.models import Evidence, EvidenceState
from shared.incidents import service as incidents
from shared.notifications import service
from shared.notifications.email import MailEvent, MailRecipient, build_message
from shared.notifications.rules import EventKind

TITLE = "Checkout errors after deploy"
WRAP_WIDTH = 78  # a plain-text mail's lines, as mail clients expect them
COMMENT = "Rolling back deploy 4821 now.\n```bash\nkubectl rollout undo deploy/checkout\n```\nmore to follow"


@pytest.fixture
def setup(db, users, database_url, session_factory, inbox, receiver):
    settings = notification_settings(database_url, inbox=inbox, receivers=[receiver])
    return settings, session_factory


def _file(db, users, *, reporter="member", owner="other", priority="P1"):
    """An incident the reporter watches and `owner` owns; its filing mail already sent."""
    incident = incidents.create_incident(session=db, actor=users[reporter], title=TITLE, priority=priority)
    if owner:
        incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users[owner].id)
    db.commit()
    return incident


def _hook(db, users, settings, receiver, *events):
    service.create_endpoint(session=db, actor=users["admin"], settings=settings, url=receiver.url(), event_types=events)
    db.commit()


def _mails_to(inbox, address):
    return [m.message for m in inbox.messages if m.rcpt_tos == [address]]


def _plain(message) -> str:
    # Lines as a mail client shows them (SMTP carries them as CRLF).
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def _html(message) -> str:
    return message.get_body(("html",)).get_content().replace("\r\n", "\n")


# --- comments ---------------------------------------------------------------------------------


def _comment_mail(db, users, setup, inbox, body):
    settings, factory = setup
    incident = _file(db, users)
    run_pipeline(factory, settings)
    inbox.messages.clear()
    comment = incidents.add_comment(session=db, incident_id=incident.id, actor=users["other"], body=body)
    db.commit()
    run_pipeline(factory, settings)
    (mail,) = _mails_to(inbox, "member@example.com")
    assert mail["Subject"] == f"[{incident.key}] New comment: {TITLE}"
    return mail, f"{BASE_URL}/incidents/{incident.key}#comment-{comment.id}"


def test_a_comment_keeps_its_lines_and_its_code_block_in_both_parts(db, users, setup, inbox):
    mail, _link = _comment_mail(db, users, setup, inbox, COMMENT.replace("\n", "\r\n"))

    # Plain text: the Markdown as typed, line for line (it read "now. ```bash kubectl ... ``` more").
    assert COMMENT in _plain(mail)
    assert "now. ```bash" not in _plain(mail)
    # HTML: the text and the command in blocks of their own, the command shown as code.
    html = _html(mail)
    assert re.search(r"<p [^>]*>Rolling back deploy 4821 now\.</p>", html)
    assert re.search(r"<pre [^>]*><code>kubectl rollout undo deploy/checkout</code></pre>", html)
    assert re.search(r"<p [^>]*>more to follow</p>", html)
    assert "```" not in html


def test_a_long_stack_trace_arrives_as_lines_cut_short_with_a_link_to_the_rest(db, users, setup, inbox):
    frames = [f'  File "/srv/checkout/handlers/step_{n:03}.py", line {n}, in submit_order' for n in range(160)]
    trace = "Traceback (most recent call last):\n" + "\n".join(frames) + "\nTimeoutError: pool exhausted"
    assert len(trace) > 9000
    mail, link = _comment_mail(db, users, setup, inbox, trace)

    text = _plain(mail)
    lines = text.splitlines()
    assert "Traceback (most recent call last):" in lines
    assert frames[0] in lines
    assert frames[1] in lines
    assert "TimeoutError: pool exhausted" not in text  # the end is on the incident page ...
    assert f"…\nRead the whole comment: {link}" in text  # ... one link away
    assert len(text) < 3000  # the first 2,000 characters or 40 lines, then the link
    shown = text.split(f"{TITLE}\n\n", 1)[1].split("\n…\n", 1)[0]
    assert max(len(line) for line in shown.splitlines()) <= WRAP_WIDTH
    html = _html(mail)
    assert f"{frames[0]}\n{frames[1]}" in html.replace("&#34;", '"')
    assert f'… <a href="{link}">Read the whole comment</a>' in html


def test_a_long_prose_line_is_wrapped_and_a_short_comment_has_no_read_more(db, users, setup, inbox):
    words = "The connection pool on checkout-7f9c is exhausted again after the 03:10 retry storm, " * 3
    mail, _link = _comment_mail(db, users, setup, inbox, f"{words.strip()}\n\n- [ ] page the DBA")
    text = _plain(mail)
    body = text.split(f"{TITLE}\n\n", 1)[1].split("\n\nOpen ", 1)[0]
    assert " ".join(body.split("\n- [ ]")[0].split()) == words.strip()  # every word, in order
    assert all(len(line) <= WRAP_WIDTH for line in body.splitlines())
    assert body.endswith("\n\n- [ ] page the DBA")
    assert "Read the whole comment" not in text
    assert "Read the whole comment" not in _html(mail)


def test_markdown_in_a_comment_never_becomes_markup_images_or_links_in_the_mail(db, users, setup, inbox):
    body = (
        "See ![graph](https://tracker.evil.example/pixel.png?u=member) and [runbook](javascript:alert(1))\n"
        "<img src=https://tracker.evil.example/t.gif> <b>bold</b>\n"
        "```html\n<script>alert(1)</script>\n```"
    )
    mail, _link = _comment_mail(db, users, setup, inbox, body)
    html = _html(mail)
    for tag in ("<img", "<script", "<b>", 'href="javascript:', 'tracker.evil.example/pixel.png?u=member"'):
        assert tag not in html
    assert html.count("<a ") == 2  # "Open INC-1" and "Email settings": none from the comment
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=https://tracker.evil.example/t.gif> <b>bold</b>" in _plain(mail)  # text, as typed


def test_a_comment_cut_inside_its_code_block_still_shows_the_code_as_code():
    log = "\n".join(f"2026-11-29T03:{n:02}:00Z checkout-7f9c upstream timed out" for n in range(60))
    event = MailEvent(
        event_id="c1",
        kind=EventKind.COMMENT_CREATED,
        incident_id=31,
        incident_key="INC-31",
        incident_title=TITLE,
        incident_status="In Progress",
        incident_priority="P1",
        actor_name="Alice",
        occurred_at=datetime(2026, 11, 29, 3, 0, tzinfo=UTC),
        comment_excerpt=f"The log:\n```\n{log}\n```\nThat is all.",
        comment_id=7,
    )
    message = build_message(
        event=event,
        recipient=MailRecipient(user_id=1, email="bob@example.com"),
        base_url=BASE_URL,
        sender="t@example.com",
    )
    text, html = _plain(message), _html(message)
    assert "The log:\n```\n2026-11-29T03:00:00Z checkout-7f9c upstream timed out\n2026-11-29T03:01:00Z" in text
    assert "That is all." not in text
    assert f"…\nRead the whole comment: {BASE_URL}/incidents/INC-31#comment-7" in text
    code = re.search(r"<pre [^>]*><code>(.*?)</code></pre>", html, re.DOTALL)
    assert code is not None
    assert code.group(1).startswith("2026-11-29T03:00:00Z checkout-7f9c upstream timed out\n2026-11-29T03:01:00Z")


# --- status changes ---------------------------------------------------------------------------

BLOCKED_BECAUSE = "Waiting on AWS support case 1234.\nThey are checking the NAT gateway."
FIRST_FIX = "Rolled back deploy 4821; checkout errors back to 0.1 %."
REOPENED_BECAUSE = "Errors are back since 03:40."
SECOND_FIX = "Raised the connection pool to 40."
DUPLICATE = "Duplicate of INC-1"


def _walk(db, users, incident):
    """Every kind of move, each committed, by a lead; nothing fanned out until all are done."""
    moves = [
        ("in_progress", None),
        ("blocked", BLOCKED_BECAUSE),
        ("in_progress", None),
        ("resolved", FIRST_FIX),
        ("in_progress", REOPENED_BECAUSE),
        ("resolved", SECOND_FIX),
        ("closed", None),
    ]
    for to, reason in moves:
        incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to=to, reason=reason)
        db.commit()
    duplicate = _file(db, users, owner=None)
    incidents.transition(session=db, incident_id=duplicate.id, actor=users["admin"], to="closed", reason=DUPLICATE)
    db.commit()
    return duplicate


def _said(message) -> tuple[str, str, str]:
    """(subject, first sentence, the paragraph saying why) of a status mail."""
    paragraphs = _plain(message).split("\n\n")
    why = next((p for p in paragraphs if p.startswith(("Reason:", "Resolution summary:"))), "")
    return message["Subject"], paragraphs[0], why


def test_a_status_mail_says_why_each_move_was_made_as_it_was_made(db, users, setup, inbox):
    """The reason comes from the move, not from the incident when the mail is sent: by then it
    is closed, its block reason cleared and its resolution summary the second one."""
    settings, factory = setup
    incident = _file(db, users)
    run_pipeline(factory, settings)
    inbox.messages.clear()
    duplicate = _walk(db, users, incident)
    run_pipeline(factory, settings)

    key, other = incident.key, duplicate.key
    said = sorted(_said(m) for m in _mails_to(inbox, "member@example.com"))
    assert said == sorted(
        [
            (f"[{key}] In Progress: {TITLE}", f"Lee Lead moved {key} to In Progress.", ""),
            (f"[{key}] Blocked: {TITLE}", f"Lee Lead moved {key} to Blocked.", f"Reason: {BLOCKED_BECAUSE}"),
            (f"[{key}] Unblocked: {TITLE}", f"Lee Lead unblocked {key}; it is In Progress again.", ""),
            (f"[{key}] Resolved: {TITLE}", f"Lee Lead resolved {key}.", f"Resolution summary: {FIRST_FIX}"),
            (
                f"[{key}] Reopened: {TITLE}",
                f"Lee Lead reopened {key} (it was Resolved); it is In Progress again.",
                f"Reason: {REOPENED_BECAUSE}",
            ),
            (f"[{key}] Resolved: {TITLE}", f"Lee Lead resolved {key}.", f"Resolution summary: {SECOND_FIX}"),
            (f"[{key}] Closed: {TITLE}", f"Lee Lead closed {key}.", ""),
            (f"[{other}] Closed: {TITLE}", f"Ada Admin closed {other} while it was Open.", f"Reason: {DUPLICATE}"),
        ]
    )
    blocked = next(m for m in _mails_to(inbox, "member@example.com") if "Blocked" in m["Subject"])
    assert f'<p style="white-space: pre-wrap;">Reason: {BLOCKED_BECAUSE}</p>' in _html(blocked)


def test_a_long_reason_is_cut_short_with_a_link_to_the_rest(db, users, setup, inbox):
    settings, factory = setup
    incident = _file(db, users)
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    db.commit()
    run_pipeline(factory, settings)
    inbox.messages.clear()
    findings = "\n".join(f"{n}. pod checkout-{n} restarted: OOMKilled" for n in range(1, 300))
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="resolved", reason=findings)
    db.commit()
    run_pipeline(factory, settings)

    (mail,) = _mails_to(inbox, "member@example.com")
    text = _plain(mail)
    assert "Resolution summary: 1. pod checkout-1 restarted: OOMKilled\n2. pod checkout-2 restarted" in text
    assert "299. pod" not in text
    assert f"…\nRead the whole resolution summary: {BASE_URL}/incidents/{incident.key}" in text


def test_a_status_webhook_carries_the_move_and_its_reason(db, users, setup, receiver):
    settings, factory = setup
    _hook(db, users, settings, receiver, "incident.status_changed")
    incident = _file(db, users)
    _walk(db, users, incident)
    run_pipeline(factory, settings)

    bodies = [json.loads(request.body)["data"] for request in receiver.requests]
    moves = [tuple(d["status_change"][k] for k in ("from", "to", "reason", "resolution_summary")) for d in bodies]
    assert sorted(moves, key=str) == sorted(
        [
            ("open", "in_progress", None, None),
            ("in_progress", "blocked", BLOCKED_BECAUSE, None),
            ("blocked", "in_progress", None, None),
            ("in_progress", "resolved", None, FIRST_FIX),
            ("resolved", "in_progress", REOPENED_BECAUSE, None),
            ("in_progress", "resolved", None, SECOND_FIX),
            ("resolved", "closed", None, None),
            ("open", "closed", DUPLICATE, None),
        ],
        key=str,
    )
    # The fields that were there before are still there, the status as the event left it.
    assert all(d["incident"]["status"] == d["status_change"]["to"] for d in bodies)


def test_a_priority_webhook_carries_the_change_so_a_raise_to_p1_can_page(db, users, setup, receiver):
    """incident.updated said only the new priority: a receiver could not tell a raise to P1 from
    a title edit of an incident that was P1 already (the raise pages the leads by email)."""
    settings, factory = setup
    _hook(db, users, settings, receiver, "incident.updated")
    incident = _file(db, users, priority="P3")
    for priority in ("P1", "P2"):
        incidents.change_priority(session=db, incident_id=incident.id, actor=users["lead"], priority=priority)
        db.commit()
    incidents.update_details(
        session=db,
        incident_id=incident.id,
        actor=users["lead"],
        title=f"{TITLE} (db-2 too)",
        description=incident.description,
        component=incident.component,
        environment=incident.environment,
    )
    db.commit()
    run_pipeline(factory, settings)

    bodies = [json.loads(request.body)["data"] for request in receiver.requests]
    changes = sorted((d["incident"]["priority"], str(d.get("priority_change"))) for d in bodies)
    assert changes == [
        ("P1", str({"from": "P3", "to": "P1"})),
        ("P2", "None"),  # the title edit: no priority change in it
        ("P2", str({"from": "P1", "to": "P2"})),
    ]


# --- evidence verdicts ------------------------------------------------------------------------


def test_a_verdict_mail_tells_the_incident_as_it_was_when_the_verdict_was_recorded(db, users, setup, inbox, receiver):
    """Found by QA: "Your upload is not scanned … INC-31 · P1 · Blocked" while the incident was
    In Progress when the verdict was recorded (it was blocked only afterwards)."""
    settings, factory = setup
    _hook(db, users, settings, receiver, "evidence.processed")
    incident = _file(db, users, owner=None)
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    evidence = Evidence(
        incident_id=incident.id,
        uploader_id=users["other"].id,
        display_name="checkout.log",
        storage_key="incoming/checkout.log",
        size=10,
        sha256="0" * 64,
        state=EvidenceState.PENDING.value,
    )
    db.add(evidence)
    db.commit()
    assert evidence_service.record_verdict(
        session=db,
        evidence_id=evidence.id,
        verdict=evidence_service.Verdict(state=EvidenceState.ERROR, reason="the scanner did not answer"),
    )
    db.commit()
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="blocked", reason="vendor")
    db.commit()
    run_pipeline(factory, settings)

    (mail,) = _mails_to(inbox, "other@example.com")
    assert mail["Subject"] == f"[{incident.key}] checkout.log could not be checked: the scanner did not answer"
    assert f"{incident.key} · P1 · In Progress" in _plain(mail)
    assert f"<strong>{incident.key}</strong> · P1 · In Progress" in _html(mail)
    (request,) = receiver.requests
    assert json.loads(request.body)["data"]["incident"]["status"] == "in_progress"
