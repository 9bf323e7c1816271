"""Found by a security probe: four .exe files uploaded at once were four mails, each with the
subject "[INC-10] Your upload is rejected (files ending in .exe are not accepted (allowed: csv,
gif, …, zip); file is plain text): Slow queries on incident search": no file named, and the list
of allowed types in every subject. Each subject now names its file and says why in a few words;
the whole reason, with the allowed types, is in the body."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from notification_helpers import BASE_URL, notification_settings, run_pipeline

from shared.evidence.models import Evidence
from shared.incidents import service as incidents
from shared.notifications.email import MailEvent, MailRecipient, build_message
from shared.notifications.rules import EventKind
from shared.outbox import service as outbox
from worker.processing.filetype import check_file_type

TITLE = "Slow queries on incident search"
EXECUTABLES = ["report.exe", "setup.exe", "tool.exe", "run.exe"]


@pytest.fixture
def exe_refusal(tmp_path) -> str:
    """Why the worker refuses a .exe file, in its own words (it names the allowed types)."""
    path = tmp_path / "report.exe"
    path.write_text("select * from incidents where title ilike '%slow%';\n")
    check = check_file_type(path, "report.exe")
    assert not check.accepted
    assert "allowed: " in check.reason
    return check.reason


def test_every_refused_file_is_mailed_with_its_own_name_and_a_short_subject(
    db, users, database_url, session_factory, inbox, exe_refusal
):
    settings = notification_settings(database_url, inbox=inbox)
    incident = incidents.create_incident(session=db, actor=users["member"], title=TITLE, priority="P3")
    db.commit()
    run_pipeline(session_factory, settings)
    inbox.messages.clear()
    for name in EXECUTABLES:
        evidence = Evidence(
            incident_id=incident.id,
            uploader_id=users["member"].id,
            display_name=name,
            storage_key=f"quarantine/{name}",
            size=52,
            sha256="0" * 64,
            state="rejected",
            reason=exe_refusal,
        )
        db.add(evidence)
        db.flush()
        outbox.enqueue(
            session=db,
            topic="evidence.processed",
            payload={"evidence_id": evidence.id, "incident_id": incident.id, "state": "rejected"},
        )
    db.commit()

    run_pipeline(session_factory, settings)

    subjects = sorted(mail.message["Subject"] for mail in inbox.messages)
    assert subjects == sorted(
        f"[{incident.key}] {name} was rejected: files ending in .exe are not accepted" for name in EXECUTABLES
    )
    for mail in inbox.messages:
        body = mail.message.get_body(("plain",)).get_content()
        assert "(allowed: csv, " in body  # what would have been accepted: in the body only
        assert TITLE in body


def event(verdict: str, filename: str = "report.exe") -> MailEvent:
    return MailEvent(
        event_id="evt-1",
        kind=EventKind.EVIDENCE_VERDICT,
        incident_id=10,
        incident_key="INC-10",
        incident_title=TITLE,
        incident_status="In Progress",
        incident_priority="P2",
        actor_name="",
        occurred_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        evidence_filename=filename,
        evidence_verdict=verdict,
    )


@pytest.mark.parametrize(
    ("verdict", "filename", "subject"),
    [
        ("rejected (file is a Windows executable, not a PDF document)", "q3.pdf",
         "[INC-10] q3.pdf was rejected: file is a Windows executable, not a PDF document"),
        ("rejected (images over 50 megapixels are not accepted (decompression bomb protection))", "map.png",
         "[INC-10] map.png was rejected: images over 50 megapixels are not accepted"),
        ("infected (Eicar-Test-Signature)", "dump.zip", "[INC-10] dump.zip is infected: Eicar-Test-Signature"),
        ("error (the scanner did not answer)", "trace.log",
         "[INC-10] trace.log could not be checked: the scanner did not answer"),
        # A verdict is stored cut at 200 characters: the cut-off list of types never shows.
        ("rejected (files ending in .exe are not accepted (allowed: csv, gif, jpeg, jpg, js…", "a.exe",
         "[INC-10] a.exe was rejected: files ending in .exe are not accepted"),
    ],
)  # fmt: skip
def test_the_subject_says_which_file_and_why_in_a_few_words(verdict, filename, subject):
    recipient = MailRecipient(user_id=2, email="member@example.com", name="Mia Member")
    message = build_message(
        event=event(verdict, filename), recipient=recipient, base_url=BASE_URL, sender="it@x.example"
    )
    assert message["Subject"] == subject
    assert verdict in message.get_body(("plain",)).get_content()  # the whole reason stays in the body
