"""Export timeline: the incident's whole history as one Markdown file for the postmortem
(GET /incidents/INC-n/timeline.md), the link to it, the owner chosen when filing on the
timeline, and the timeline's times to the second.

The document is read the way its reader's tools read it: parsed by a CommonMark renderer with
raw HTML on (as GitHub, GitLab and most editors' previews are), so a test sees the headings,
tables, list entries and quotes a person would, not the bytes that draw them."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from sqlalchemy import event
from web_helpers import parse, sign_in, timeline

from shared import permissions
from shared.accounts.models import User
from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.db import clock_at
from shared.errors import PermissionDenied
from shared.evidence import service as evidence_service
from shared.evidence.models import EvidenceState
from shared.evidence.storage import StoredObject
from shared.incidents import export
from shared.incidents import service as incidents
from shared.incidents.models import Comment, Incident
from shared.permissions import Action

# GitHub-like: CommonMark with tables, and raw HTML rendered as HTML.
_reader = MarkdownIt("commonmark", {"html": True}).enable("table")
SECOND = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
STARTED = datetime(2026, 12, 1, 8, 5, 3, 250_000, tzinfo=UTC)
SHA = "ab" * 32
# Typed Markdown, raw HTML and a code fence left open, with a form's CRLF line ends.
DESCRIPTION = "## Impact\r\n\r\nWrites failed.\r\n\r\n<img src=x onerror=alert(1)>\r\n\r\n```sql\r\nselect 1;\r\n"


def _text(token: Token) -> str:
    """What an inline token reads as (escapes resolved, code spans as their text)."""
    return "".join(
        "\n" if child.type in ("softbreak", "hardbreak") else child.content
        for child in token.children or []
        if child.type in ("text", "code_inline", "softbreak", "hardbreak")
    )


class Document:
    """A Markdown document as its reader sees its structure."""

    def __init__(self, source: str):
        self.source = source
        self.tokens = _reader.parse(source)

    def headings(self) -> list[str]:
        """The document's own headings (not those inside a quote), in order."""
        return [
            _text(self.tokens[i + 1])
            for i, token in enumerate(self.tokens)
            if token.type == "heading_open" and token.level == 0
        ]

    def tables(self) -> list[list[list[str]]]:
        """Every table as rows of cell texts (the header row first)."""
        tables: list[list[list[str]]] = []
        inside = False
        for token in self.tokens:
            if token.type in ("table_open", "table_close"):
                inside = token.type == "table_open"
                if inside:
                    tables.append([])
            elif inside and token.type == "tr_open":
                tables[-1].append([])
            elif inside and token.type == "inline":
                tables[-1][-1].append(_text(token))
        return tables

    def facts(self) -> dict[str, str]:
        return {row[0]: row[1] for row in self.tables()[0][1:]}

    def entries(self) -> list[tuple[str, list[str]]]:
        """The timeline: each top-level list item's first line, and the text of the quotes and
        code blocks under it."""
        items: list[tuple[str, list[str]]] = []
        depth = 0
        for token in self.tokens:
            if token.type == "list_item_open":
                depth += 1
                if depth == 1:
                    items.append(("", []))
            elif token.type == "list_item_close":
                depth -= 1
            elif depth and token.type == "inline" and not items[-1][0]:
                items[-1] = (_text(token), [])
            elif depth and token.type == "inline":
                items[-1][1].append(_text(token))
            elif depth and token.type in ("fence", "code_block"):
                items[-1][1].append(token.content)
        return items

    def raw_html(self) -> list[str]:
        """Raw HTML the reader's renderer would draw as HTML."""
        found = [t.content for t in self.tokens if t.type == "html_block"]
        for token in self.tokens:
            found += [child.content for child in token.children or [] if child.type == "html_inline"]
        return found


def _download(client, key: str):
    return client.get(f"/incidents/{key}/timeline.md")


def _long_p1(db, users) -> Incident:
    """A P1 worked to Resolved, each step a few seconds after the last (all in one minute)."""
    steps = iter(range(0, 60, 4))

    def at():
        return clock_at(STARTED + timedelta(seconds=next(steps)))

    lead, member = users["lead"], users["member"]
    with at():
        incident = incidents.create_incident(
            session=db,
            actor=lead,
            title="RDS primary | failover #1\n# Not a heading",
            description="## Impact\r\n\r\nWrites failed.",
            priority="P1",
            component="rds",
            environment="prod",
            owner_id=member.id,
        )
    with at():
        incidents.transition(session=db, incident_id=incident.id, actor=member, to="in_progress")
    with at():
        incidents.add_comment(
            session=db,
            incident_id=incident.id,
            actor=member,
            body="Failing over:\r\n```\r\npg_ctl promote <data-dir>\r\n\r\n# still code",
        )
    with at():
        incidents.transition(
            session=db, incident_id=incident.id, actor=member, to="blocked", reason="Waiting on AWS\nsupport case 123"
        )
    with at():
        incidents.transition(session=db, incident_id=incident.id, actor=lead, to="in_progress")
    with at():
        incidents.update_details(
            session=db,
            incident_id=incident.id,
            actor=lead,
            title="RDS primary failover",
            description=DESCRIPTION,
            component="rds",
            environment="prod",
        )
    with at():
        incidents.assign(session=db, incident_id=incident.id, actor=lead, owner_id=users["other"].id)
    with at():
        item = evidence_service.attach(
            session=db,
            incident_id=incident.id,
            actor=member,
            stored=StoredObject(key="incoming/export-test", size=2048, sha256=SHA),
            file_name="db_[primary].log",
        )
    with at():
        evidence_service.record_verdict(
            session=db, evidence_id=item.id, verdict=evidence_service.Verdict(state=EvidenceState.CLEAN)
        )
    with at():
        secret = incidents.add_comment(
            session=db, incident_id=incident.id, actor=member, body="password=hunter2hunter2"
        )
    with at():
        incidents.redact_comment(
            session=db, incident_id=incident.id, comment_id=secret.id, actor=users["admin"], reason="A password"
        )
    with at():
        incidents.transition(
            session=db, incident_id=incident.id, actor=lead, to="resolved", reason="Promoted the replica.\n\n# Done"
        )
    db.commit()
    return incident


def test_the_export_is_a_postmortem_document_with_every_event_to_the_second(client, db, users):
    incident = _long_p1(db, users)
    sign_in(client, users["member"])
    response = _download(client, incident.key)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{incident.key}-timeline.md"'
    assert "no-store" in response.headers["Cache-Control"]
    document = Document(response.get_data(as_text=True))

    # The title was one line when filed, and stays one heading: its "#" and "|" are text.
    title = "RDS primary failover"
    assert document.headings() == [
        f"{incident.key}: {title}",
        "Summary",
        "Description",
        "Resolution summary",
        "Files (1)",
        "Follow-ups",
        "Timeline (12 events)",
    ]
    facts = document.facts()
    assert {name: facts[name] for name in ("Key", "Title", "Status", "Priority", "Environment", "Component")} == {
        "Key": incident.key,
        "Title": title,
        "Status": "Resolved",
        "Priority": "P1",
        "Environment": "prod",
        "Component": "rds",
    }
    assert (facts["Owner"], facts["Reporter"]) == ("Oti Other", "Lee Lead")
    assert facts["Created"] == "2026-12-01 08:05:03 UTC"
    assert facts["Acknowledged (first In Progress)"] == "2026-12-01 08:05:07 UTC"
    assert facts["Time to acknowledge"] == "4 s"
    assert facts["Resolved"] == "2026-12-01 08:05:47 UTC"
    assert facts["Time to resolve"] == "44 s"
    assert facts["Closed"] == "—"

    assert document.tables()[1] == [
        ["File", "Size", "SHA-256", "Verdict", "Uploaded by", "Uploaded"],
        ["“db_[primary].log”", "2.0 KB (2,048 bytes)", SHA, "clean", "Mo Member", "2026-12-01 08:05:31 UTC"],
    ]

    events = audit.incident_events(session=db, incident_id=incident.id)
    entries = document.entries()
    stamps = [entry.split(" ", 3)[:3] for entry, _ in entries]
    assert [" ".join(stamp) for stamp in stamps] == [e.occurred_at.strftime("%Y-%m-%d %H:%M:%S UTC") for e in events]
    assert all(SECOND.match(" ".join(stamp)) for stamp in stamps)
    sentences = [(entry.split(" UTC ", 1)[1], under) for entry, under in entries]
    assert sentences == [
        ("Lee Lead created the incident (P1, prod) and assigned it to Mo Member", []),
        ("Mo Member changed status from Open to In Progress", []),
        # Kept as typed (CRLF now LF); the fence it left open is closed where the comment ends.
        ("Mo Member commented:", ["Failing over:", "pg_ctl promote <data-dir>\n\n# still code\n"]),
        ("Mo Member changed status from In Progress to Blocked", ["Reason:", "Waiting on AWS\nsupport case 123"]),
        ("Lee Lead changed status from Blocked to In Progress", []),
        (
            "Lee Lead edited the incident — title: “RDS primary | failover #1 # Not a heading” → "
            "“RDS primary failover”; description edited",
            [],
        ),
        ("Lee Lead assigned it to Oti Other (was Mo Member)", []),
        (f"Mo Member uploaded “db_[primary].log” (2,048 bytes, SHA-256 {SHA})", []),
        (f"System checked “db_[primary].log” (2,048 bytes, SHA-256 {SHA}): clean", []),
        ("Mo Member commented: [redacted by Ada Admin]", []),
        ("Ada Admin redacted the comment of 2026-12-01 08:05:39 UTC", ["Reason:", "A password"]),
        (
            "Lee Lead changed status from In Progress to Resolved",
            ["Resolution summary:", "Promoted the replica.", "Done"],
        ),
    ]
    assert "hunter2" not in document.source


def test_typed_text_cannot_add_headings_html_or_swallow_the_rest_of_the_document(client, db, users):
    incident = _long_p1(db, users)
    sign_in(client, users["member"])
    document = Document(_download(client, incident.key).get_data(as_text=True))

    # The description's "## Impact" and the resolution's "# Done" stay inside their quotes; the
    # <img onerror> reads as text, as the incident page shows it.
    assert "## Impact" in document.source
    assert document.raw_html() == []
    assert "<img src=x onerror=alert(1)>" in "".join(_text(t) for t in document.tokens if t.type == "inline")
    # The comment's and the description's open ``` fences end with them: what follows is
    # still the document's (the next entries are list items, the Files table a table).
    assert len(document.tables()) == 2
    assert len(document.entries()) == 12
    assert "\r" not in document.source


def test_a_pasted_fence_longer_than_the_document_uses_keeps_its_code(client, db, users, make_incident):
    incident = make_incident("open")
    body = "Config:\n\n````yaml\nkey: |\n  ```\n  nested\n````\n\nAfter the block."
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=body)
    db.commit()
    sign_in(client, users["member"])
    document = Document(_download(client, incident.key).get_data(as_text=True))
    (comment,) = [under for entry, under in document.entries() if entry.endswith("commented:")]
    assert comment == ["Config:", "key: |\n  ```\n  nested\n", "After the block."]


def _lax_links(source: str) -> tuple[list[str], list[str]]:
    """The images and the links' addresses a renderer that checks no address (a wiki's) would
    make of `source`."""
    lax = MarkdownIt("commonmark", {"html": True}).enable("table")
    lax.validateLink = lambda url: True  # type: ignore[method-assign]
    images: list[str] = []
    links: list[str] = []
    for token in lax.parse(source):
        for child in token.children or []:
            if child.type == "image":
                images.append(str(child.attrGet("src")))
            elif child.type == "link_open":
                links.append(str(child.attrGet("href")))
    return images, links


def test_typed_images_become_links_and_script_links_text_outside_code(client, db, users, make_incident):
    """Pasted into a wiki or GitHub, the postmortem loads no tracking pixel and runs no
    javascript: link; code shows them as typed."""
    code = (
        "```\n![in a fence](https://tracker.evil.example/f.png) [c](javascript:alert(5))\n```\n\n"
        "    ![indented](https://tracker.evil.example/i.png)\n\n"
        "Inline `![span](https://tracker.evil.example/s.png)`."
    )
    incident = make_incident(
        "open",
        description=f"![pixel](https://tracker.evil.example/p.png?u=lead) See [the runbook](https://wiki.example/rb).\n\n{code}",
    )
    incident.resolution_summary = "Fixed. ![](https://tracker.evil.example/r.png) [undo](JavaScript:alert(2))"
    incidents.add_comment(
        session=db,
        incident_id=incident.id,
        actor=users["member"],
        body="[click](javascript:alert(1)) [data](data:text/html,x) [mail](mailto:ops@example.org) [ref][j]\n\n"
        "[j]: javascript:alert(3)",
    )
    db.commit()
    sign_in(client, users["member"])
    document = Document(_download(client, incident.key).get_data(as_text=True))

    images, links = _lax_links(document.source)
    assert images == []
    assert links == [
        f"http://localhost/incidents/{incident.key}",  # the document's own link to the incident
        "https://tracker.evil.example/p.png?u=lead",  # the image, as a link to it
        "https://wiki.example/rb",
        "https://tracker.evil.example/r.png",
        "mailto:ops@example.org",
    ]
    text = "\n".join(_text(t) for t in document.tokens if t.type == "inline")
    for kept in ("pixel", "undo", "click", "data", "mail"):  # the links' text stays
        assert kept in text
    # Code reads as typed, wherever it is.
    code_blocks = [t.content for t in document.tokens if t.type in ("fence", "code_block")]
    assert "![in a fence](https://tracker.evil.example/f.png) [c](javascript:alert(5))\n" in code_blocks
    assert "![indented](https://tracker.evil.example/i.png)\n" in code_blocks
    assert "Inline ![span](https://tracker.evil.example/s.png)." in text


def test_the_owner_chosen_when_filing_is_on_the_incident_page_timeline(client, db, users):
    incident = incidents.create_incident(
        session=db,
        actor=users["lead"],
        title="Disk full",
        priority="P1",
        environment="prod",
        owner_id=users["member"].id,
    )
    unowned = incidents.create_incident(session=db, actor=users["lead"], title="Slow deploys", priority="P2")
    db.commit()
    sign_in(client, users["member"])
    assert timeline(client.get(f"/incidents/{incident.key}").get_data(as_text=True)) == [
        "Lee Lead created the incident (P1, prod) and assigned it to Mo Member"
    ]
    assert timeline(client.get(f"/incidents/{unowned.key}").get_data(as_text=True)) == [
        "Lee Lead created the incident (P2, prod)"
    ]


def test_the_incident_page_links_the_export_and_marks_its_timeline_times_for_seconds(client, db, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    page = parse(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    link = page.find("a", href=f"/incidents/{incident.key}/timeline.md")
    assert link.text == "Export timeline (Markdown)"
    timeline_list = page.find("ol", aria_label="Timeline")
    assert [time.attrs.get("data-seconds") for time in timeline_list.find_all("time")] == ["", "", ""]
    # Only the timeline: the details' times (and the dashboard's) keep minutes.
    details = page.find("section", id="incident-details")
    assert all("data-seconds" not in time.attrs for time in details.find_all("time"))
    dashboard = parse(client.get("/").get_data(as_text=True))
    assert all("data-seconds" not in time.attrs for time in dashboard.find_all("time"))
    assert page.find("link", href="/static/print.css").attrs["media"] == "print"
    assert client.get("/static/print.css").status_code == 200


def test_a_signed_out_reader_is_sent_to_sign_in_and_gets_no_document(client, db, users, make_incident):
    incident = make_incident("open", title="Secret outage")
    response = _download(client, incident.key)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert b"Secret outage" not in response.data


def test_someone_the_policy_does_not_let_view_gets_403(client, db, users, make_incident, monkeypatch):
    incident = make_incident("open", title="Secret outage")
    monkeypatch.setitem(permissions.ROLE_ACTIONS, "member", permissions.EVERYONE - {Action.VIEW})
    sign_in(client, users["member"])
    response = _download(client, incident.key)
    assert response.status_code == 403
    assert b"Secret outage" not in response.data


def test_an_unknown_incident_is_404_naming_it(client, db, users):
    sign_in(client, users["member"])
    response = _download(client, "INC-999")
    assert response.status_code == 404
    assert "No incident INC-999." in response.get_data(as_text=True)


def test_a_title_cell_keeps_its_pipes_hashes_and_tags_as_text(client, db, users):
    title = "Payments | refunds #2 <b>down</b> *again* [see](https://evil.example) \\ `x`"
    incident = incidents.create_incident(session=db, actor=users["member"], title=f"{title}\r\n# Injected")
    db.commit()
    sign_in(client, users["member"])
    document = Document(_download(client, incident.key).get_data(as_text=True))
    shown = f"{title} # Injected"  # one line, as the service stores it
    assert document.headings()[0] == f"{incident.key}: {shown}"
    assert document.facts()["Title"] == shown
    assert all(len(row) == 2 for row in document.tables()[0])
    assert document.raw_html() == []
    links = [
        child.attrs["href"] for token in document.tokens for child in token.children or [] if child.type == "link_open"
    ]
    assert links == [f"http://localhost/incidents/{incident.key}"]  # the document's own, no other


def test_a_disabled_account_cannot_export():
    incident = Incident(id=1, key="INC-1", title="x", owner_id=None, reporter_id=2)
    with pytest.raises(PermissionDenied):
        export.timeline_document(
            session=None,  # refused before any query
            incident=incident,
            actor=User(id=5, email="gone@example.com", name="Gone", role="lead", is_active=False),
        )


def _statements(app, request) -> int:
    engine = app.extensions["db_engine"]
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert request().status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_export_reads_each_kind_once_however_long_the_timeline(app, client, db, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    _download(client, incident.key)  # the signed-in session, warm
    few = _statements(app, lambda: _download(client, incident.key))

    posted = [
        incidents.add_comment(
            session=db, incident_id=incident.id, actor=users["member" if n % 2 else "other"], body=f"Update {n}"
        )
        for n in range(60)
    ]
    item = evidence_service.attach(
        session=db,
        incident_id=incident.id,
        actor=users["member"],
        stored=StoredObject(key="incoming/n-plus-one", size=10, sha256=SHA),
        file_name="a.log",
    )
    evidence_service.record_verdict(
        session=db, evidence_id=item.id, verdict=evidence_service.Verdict(state=EvidenceState.CLEAN)
    )
    incidents.redact_comment(
        session=db, incident_id=incident.id, comment_id=posted[0].id, actor=users["admin"], reason="Not for the record"
    )
    db.commit()
    many = _statements(app, lambda: _download(client, incident.key))
    assert many == few
    document = Document(_download(client, incident.key).get_data(as_text=True))
    assert len(document.entries()) == 3 + 60 + 2 + 1


def test_two_thousand_events_make_a_document_quickly():
    people = [User(id=n, email=f"p{n}@example.com", name=f"Person {n}", role="member") for n in range(1, 21)]
    incident = Incident(
        id=7,
        key="INC-7",
        title="Long one",
        description="",
        status="in_progress",
        priority="P1",
        component="",
        environment="prod",
        owner_id=1,
        reporter_id=2,
        created_at=STARTED,
    )
    comments, events = {}, []
    for number in range(2000):
        actor = people[number % 20]
        when = STARTED + timedelta(seconds=number)
        if number % 2:
            comments[number] = Comment(id=number, body=f"Step {number}:\n```\nkubectl get pods\n```", created_at=when)
            data: dict = {"comment_id": number}
            action = "incident.commented"
        else:
            data = {"from": "open", "to": "in_progress"}
            action = "incident.status_changed"
        events.append(AuditEvent(id=number, action=action, data=data, occurred_at=when, actor=actor, actor_id=actor.id))
    started = time.perf_counter()
    text = export.render_markdown(
        incident=incident,
        events=events,
        comments=comments,
        evidence=[],
        people=people,
        exported_at=STARTED,
    )
    elapsed = time.perf_counter() - started
    assert text.count("\n- **") == 2000
    # ~0.3 s on a busy 2-core machine. Not a speed target (that would go in bench/): a guard
    # against an N-squared build, which at 2,000 events takes minutes, with room for a loaded CI.
    assert elapsed < 20, f"{elapsed:.2f} s for 2,000 events"


def test_a_file_the_worker_refused_says_why_in_the_files_table(client, db, users, make_incident):
    incident = make_incident("open")
    item = evidence_service.attach(
        session=db,
        incident_id=incident.id,
        actor=users["member"],
        stored=StoredObject(key="incoming/refused", size=5, sha256=SHA),
        file_name="invoice.png",
    )
    evidence_service.record_verdict(
        session=db,
        evidence_id=item.id,
        verdict=evidence_service.Verdict(state=EvidenceState.REJECTED, reason="file is a Windows executable"),
    )
    db.commit()
    sign_in(client, users["member"])
    document = Document(_download(client, incident.key).get_data(as_text=True))
    assert document.tables()[1][1][:4] == ["“invoice.png”", "5 bytes", SHA, "rejected: file is a Windows executable"]
