"""The timeline presenter: one row per event, the wording the page shows, for every EventType."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.events import EventType
from shared.incidents.models import Comment
from web.incidents.timeline import present

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ADA = User(id=1, email="ada@example.com", name="Ada Admin", role="admin")


def row(action, data):
    event = AuditEvent(action=str(action), data=data, occurred_at=AT, actor=ADA)
    (shown,) = present([event], names={"mo@example.com": "Mo Member"}, comments={7: Comment(id=7, body="hi")})
    return shown


@pytest.mark.parametrize(
    ("action", "data", "text", "quote"),
    [
        (
            EventType.INCIDENT_CREATED,
            {"priority": "P2", "environment": "prod"},
            "created the incident (P2, prod)",
            None,
        ),
        (
            EventType.INCIDENT_STATUS_CHANGED,
            {"from": "open", "to": "blocked", "reason": "Vendor"},
            "changed status from Open to Blocked",
            "Vendor",
        ),
        (EventType.INCIDENT_ASSIGNED, {"from": None, "to": "mo@example.com"}, "assigned it to Mo Member", None),
        (
            EventType.INCIDENT_ASSIGNED,
            {"from": "mo@example.com", "to": None},
            "assigned it to nobody (was Mo Member)",
            None,
        ),
        (EventType.INCIDENT_PRIORITY_CHANGED, {"from": "P3", "to": "P1"}, "changed priority from P3 to P1", None),
        (
            EventType.INCIDENT_EDITED,
            {"changes": {"title": {"from": "a", "to": "b"}, "component": {"from": "", "to": "rds"}}},
            "edited title from “a” to “b”, component from “” to “rds”",
            None,
        ),
        (EventType.INCIDENT_COMMENT_REDACTED, {"comment_id": 7, "reason": "A key"}, "redacted a comment", "A key"),
        (EventType.INCIDENT_WATCHED, {}, "started watching", None),
        (EventType.INCIDENT_UNWATCHED, {}, "stopped watching", None),
        (
            EventType.EVIDENCE_UPLOADED,
            {"evidence_id": 3, "name": "log.txt", "size": 2048, "sha256": "ab" * 32},
            f"uploaded “log.txt” (2.0 KB, SHA-256 {'ab' * 32})",
            None,
        ),
        (
            EventType.EVIDENCE_PROCESSED,
            {"evidence_id": 3, "name": "a.png", "state": "clean"},
            "checked “a.png”: clean",
            None,
        ),
        (EventType.EVIDENCE_DOWNLOADED, {"evidence_id": 3, "name": "a.png"}, "downloaded “a.png”", None),
        (
            EventType.EVIDENCE_LEGAL_HOLD_CHANGED,
            {"evidence_id": 3, "name": "a.png", "legal_hold": True},
            "put “a.png” on legal hold",
            None,
        ),
        (EventType.EVIDENCE_RETRIED, {"evidence_id": 3}, "retried the checks of “file 3”", None),
        ("something.new", {}, "something.new", None),
    ],
    ids=lambda v: str(v)[:30],
)
def test_each_event_type_reads_as_a_sentence(action, data, text, quote):
    shown = row(action, data)
    assert (shown.actor, shown.text, shown.quote) == ("Ada Admin", text, quote)


def test_a_comment_row_shows_the_comment_as_it_reads_now():
    shown = row(EventType.INCIDENT_COMMENTED, {"comment_id": 7, "body_sha256": "0" * 64})
    assert (shown.text, shown.comment.body, shown.anchor) == ("commented:", "hi", "comment-7")


def test_every_incident_event_type_has_its_own_wording():
    for member in EventType:
        if member.value.startswith(("incident.", "evidence.")) and member != EventType.INCIDENT_COMMENTED:
            assert row(member, {}).text != member.value, member
