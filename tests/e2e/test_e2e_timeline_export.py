"""A long incident for the postmortem: "Export timeline (Markdown)" downloads the whole
timeline, printing leaves the controls out, and the timeline reads to the second.

The incident is the one QA ran: a P1 with 32 comments, 5 files and 55 events, all within a few
minutes (each step a few seconds after the last)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from browser_steps import sign_in_on
from playwright.sync_api import Page, expect

from shared.db import clock_at
from shared.evidence import service as evidence
from shared.evidence.models import EvidenceState
from shared.evidence.service import Verdict
from shared.evidence.storage import StoredObject
from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

LOCAL_TOKYO = re.compile(r"GMT\+9|JST")
# A PDF page object ("/Type /Pages" is the tree that holds them).
PDF_PAGE = re.compile(rb"/Type\s*/Page(?![s\w])")
COMMENT = (
    "Failover step {n}: checked replica lag, it is now {n} s.\n\n"
    "```\n$ aws rds describe-db-instances --db-instance-identifier prod-{n}\n```\n\n"
    "- [x] paged the DBA\n- [ ] update the status page"
)


def _long_p1(db, users):
    """A P1 with 32 comments and 5 files: 55 events, five seconds apart, from 08:00:02 UTC."""
    moments = (datetime(2026, 12, 1, 8, 0, 2, tzinfo=UTC) + timedelta(seconds=5 * n) for n in range(100))

    def step():
        return clock_at(next(moments))

    lead, member = users["lead"], users["member"]
    with step():
        incident = incidents.create_incident(
            session=db,
            actor=lead,
            title="Checkout API 502s: RDS primary unreachable",
            description="Writes to the primary time out.\n\nSee the [runbook](https://runbooks.example.com/rds).",
            priority="P1",
            component="rds",
            environment="prod",
            owner_id=member.id,
        )
    with step():
        incidents.transition(session=db, incident_id=incident.id, actor=member, to="in_progress")
    for n in range(32):
        with step():
            incidents.add_comment(
                session=db, incident_id=incident.id, actor=lead if n % 3 else member, body=COMMENT.format(n=n)
            )
        if n % 8 == 7:
            with step():
                incidents.set_watching(session=db, incident_id=incident.id, actor=users["other"], watching=n % 16 == 7)
    for n in range(5):
        data = f"log {n}\n".encode()
        sha256 = hashlib.sha256(data).hexdigest()
        with step():
            item = evidence.attach(
                session=db,
                incident_id=incident.id,
                actor=member,
                stored=StoredObject(key=f"incoming/{sha256}", size=len(data), sha256=sha256),
                file_name=f"db-{n}.log",
            )
        with step():
            evidence.record_verdict(session=db, evidence_id=item.id, verdict=Verdict(EvidenceState.NOT_SCANNED))
    for target, reason in (
        ("blocked", "Waiting on AWS support"),
        ("in_progress", None),
        ("resolved", "Promoted the replica"),
    ):
        with step():
            incidents.transition(session=db, incident_id=incident.id, actor=lead, to=target, reason=reason)
    with step():
        incidents.change_priority(session=db, incident_id=incident.id, actor=lead, priority="P2")
    with step():
        incidents.update_details(
            session=db,
            incident_id=incident.id,
            actor=lead,
            title=incident.title,
            description=incident.description + "\n\nRoot cause: a full disk on the primary.",
            component="rds",
            environment="prod",
        )
    with step():
        incidents.set_due_date(session=db, incident_id=incident.id, actor=lead, due_date=date(2026, 12, 31))
    with step():
        incidents.assign(session=db, incident_id=incident.id, actor=lead, owner_id=lead.id)
    db.commit()
    return incident


def _pdf_pages(page: Page) -> int:
    return len(PDF_PAGE.findall(page.pdf(format="A4")))


def test_export_link_downloads_the_whole_timeline(page: Page, sign_in, db, users, assert_accessible) -> None:
    incident = _long_p1(db, users)
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    link = page.get_by_role("link", name="Export timeline (Markdown)")
    expect(link).to_be_visible()
    assert_accessible("an incident page with the export link")

    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename == f"{incident.key}-timeline.md"
    text = download.path().read_text(encoding="utf-8")
    assert text.startswith(f"# {incident.key}: Checkout API 502s: RDS primary unreachable\n")
    assert "## Timeline (55 events)" in text
    assert text.count("\n- **2026-12-01 08:0") == 55
    assert "- **2026-12-01 08:00:02 UTC** Lee Lead created the incident (P1, prod) and assigned it to Mo Member" in text
    assert "Failover step 31: checked replica lag" in text


def test_printing_leaves_out_the_controls_and_takes_far_fewer_pages(page: Page, sign_in, db, users) -> None:
    incident = _long_p1(db, users)
    sign_in("lead@example.com")

    # The page as it printed before: no print stylesheet.
    page.route("**/static/print.css", lambda route: route.fulfill(status=200, content_type="text/css", body=""))
    page.goto(f"/incidents/{incident.key}")
    page.wait_for_load_state()
    before = _pdf_pages(page)
    page.unroute("**/static/print.css")

    page.goto(f"/incidents/{incident.key}")
    page.wait_for_load_state()
    after = _pdf_pages(page)
    # 9 pages before, 5 now (QA's incident printed 13 with the top bar and every form).
    assert after <= before * 0.7, f"printing takes {after} pages (without the print stylesheet: {before})"

    controls = (
        page.get_by_role("banner"),
        page.get_by_role("navigation", name="Main"),
        page.get_by_role("button", name="Closed", exact=True),
        page.get_by_label("Reason for reopening"),
        page.get_by_label("Owner", exact=True),
        page.get_by_role("button", name="Assign"),
        page.get_by_label("Priority", exact=True),
        page.get_by_label("Due date"),
        page.get_by_role("button", name="Watch"),
        page.get_by_label("Comment", exact=True),
        page.get_by_role("button", name="Add comment"),
        page.get_by_role("button", name="Put evidence on legal hold"),
        page.get_by_text("Drop files here or choose them."),
        page.get_by_role("link", name="Export timeline (Markdown)"),
        page.get_by_role("link", name="Edit details"),
        page.get_by_role("link", name="← All incidents"),
    )
    for control in controls:  # each found on the screen, so that its absence on paper means something
        expect(control).to_be_visible()
    page.emulate_media(media="print")
    for control in controls:
        expect(control).to_be_hidden()
    assert [button.inner_text() for button in page.locator("button").all() if button.is_visible()] == []
    for content in (
        page.get_by_role("heading", name=incident.key),
        page.get_by_role("region", name="Details"),
        page.get_by_role("heading", name="Description"),
        page.get_by_role("list", name="Evidence files"),
        page.get_by_role("list", name="Timeline"),
    ):
        expect(content).to_be_visible()
    # The runbook link in the description is followed by its address on paper.
    runbook = page.get_by_role("link", name="runbook")
    after_text = runbook.evaluate("link => getComputedStyle(link, '::after').content")
    assert "https://runbooks.example.com/rds" in after_text
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"

    page.emulate_media(media="screen")
    expect(page.get_by_role("button", name="Assign")).to_be_visible()
    expect(page.get_by_role("banner")).to_be_visible()


def test_timeline_times_show_seconds_in_the_readers_zone_and_in_utc_on_hover(open_page, db, users) -> None:
    incident = _long_p1(db, users)
    page = open_page(timezone_id="Asia/Tokyo", locale="en-GB")
    sign_in_on(page, "member@example.com")
    page.goto(f"/incidents/{incident.key}")
    times = page.get_by_role("list", name="Timeline").locator("time")
    expect(times).to_have_count(55)
    # 08:00:02 and 08:00:07 UTC: one minute on the page before, each to the second now.
    expect(times.nth(0)).to_have_attribute("title", "2026-12-01 08:00:02 UTC")
    expect(times.nth(0)).to_contain_text(re.compile(r"17:00:02"))
    expect(times.nth(0)).to_contain_text(LOCAL_TOKYO)
    expect(times.nth(1)).to_have_attribute("title", "2026-12-01 08:00:07 UTC")
    expect(times.nth(1)).to_contain_text(re.compile(r"17:00:07"))
    # Only the timeline: the details keep minutes.
    created = page.get_by_role("region", name="Details").locator("time").first
    expect(created).to_have_attribute("title", "2026-12-01 08:00 UTC")
    expect(created).not_to_contain_text(re.compile(r"17:00:02"))
