"""Long unbroken text and wide tables: a 200-character title and a 150-character file name wrap
instead of pushing the dashboard's columns off a 1280 px screen; the webhook pages, the API
tokens and an incident's timeline (SHA-256 hashes) fit a phone; a comment's Markdown lists and
quotes are drawn as written, not as timeline entries."""

from __future__ import annotations

import hashlib

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import expect

from shared.accounts import tokens
from shared.config import Settings
from shared.evidence import service as evidence
from shared.evidence.models import EvidenceState
from shared.evidence.service import Verdict
from shared.evidence.storage import StoredObject
from shared.incidents import service as incidents
from shared.notifications import service as notifications

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
LONG_TITLE = "Very-long-title-" + "x" * 184  # the most the form takes (200), without a space
LONG_FILE_NAME = "evidence-" + "y" * 137 + ".txt"  # 150 characters
# An IP literal: the endpoint is checked without a DNS lookup (and never called: no worker runs).
LONG_URL = "https://93.184.215.14/services/T00000000/B00000000/" + "X" * 48

WIDEST = """(limit) => Array.from(document.querySelectorAll("body *"))
  .filter((e) => e.getBoundingClientRect().right > limit + 1)
  .map((e) => `${e.tagName.toLowerCase()}.${e.className} right=${Math.round(e.getBoundingClientRect().right)}`)
  .slice(0, 8)"""


def _fits(page, width: int) -> None:
    page.wait_for_load_state()  # measured with app.css applied, as a person first sees the page
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page scrolls sideways ({scroll_width} px): {page.evaluate(WIDEST, width)}"


def _right_edge(locator) -> float:
    box = locator.bounding_box()
    assert box, f"{locator} has no bounding box"
    return box["x"] + box["width"]


def _attach(db, incident, uploader, name: str) -> str:
    """A file on the incident as the worker leaves it when scanning is off; returns its SHA-256."""
    data = b"Filesystem 1K-blocks Used Available Use% Mounted on\n"
    sha256 = hashlib.sha256(data).hexdigest()
    stored = StoredObject(key=f"incoming/{sha256}", size=len(data), sha256=sha256)
    item = evidence.attach(session=db, incident_id=incident.id, actor=uploader, stored=stored, file_name=name)
    evidence.record_verdict(session=db, evidence_id=item.id, verdict=Verdict(EvidenceState.NOT_SCANNED))
    db.commit()
    return sha256


def test_a_long_unbroken_title_keeps_every_column_in_view(
    page, sign_in, file_incident, db, users, assert_accessible
) -> None:
    incident = file_incident(LONG_TITLE, priority="P1")
    _attach(db, incident, users["member"], LONG_FILE_NAME)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in("lead@example.com")

    expect(page.get_by_role("link", name=LONG_TITLE)).to_be_visible()
    for seen in (
        page.get_by_role("columnheader", name="Status", exact=True),
        page.get_by_role("columnheader", name="Priority", exact=True),
        page.get_by_role("columnheader", name="Owner", exact=True),
        page.get_by_role("columnheader", name="Change status", exact=True),
        page.get_by_role("combobox", name=f"New status for {incident.key}"),
        page.get_by_role("button", name=f"Apply status change to {incident.key}"),
    ):
        assert _right_edge(seen) <= 1280, f"{seen} is off the screen"
    incident_list = page.get_by_role("region", name="Incident list")
    assert incident_list.evaluate("(e) => e.scrollWidth <= e.clientWidth"), "the incident list scrolls sideways"
    assert_accessible("the dashboard with a 200-character title")

    page.get_by_role("link", name=LONG_TITLE).click()
    expect(page.get_by_role("heading", level=1, name=f"{incident.key} {LONG_TITLE}")).to_be_visible()
    _fits(page, 1280)
    assert _right_edge(page.get_by_role("link", name=LONG_FILE_NAME)) <= 1280


def test_webhooks_tokens_and_an_incident_timeline_fit_a_phone(open_page, file_incident, db, users, axe_source) -> None:
    admin = users["admin"]
    endpoint, _secret = notifications.create_endpoint(
        session=db,
        actor=admin,
        settings=Settings(app_env="test", secret_key="x" * 40),
        url=LONG_URL,
        event_types=["incident.created", "incident.status_changed", "comment.created"],
        description="The #incidents channel",
    )
    db.commit()
    delivery = notifications.send_test_event(session=db, actor=admin, endpoint_id=endpoint.id)
    tokens.create_token(session=db, user=admin, name="alerting bridge", scope="read")
    db.commit()
    incident = file_incident("Disk full on db-1")
    sha256 = _attach(db, incident, users["member"], "df-output.txt")

    page = open_page(**PHONE)
    sign_in_on(page, "admin@example.com")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    _fits(page, 390)

    page.get_by_role("link", name=LONG_URL).click()
    redeliver = page.get_by_role("button", name=f"Redeliver {delivery.event_type} {delivery.webhook_id}")
    expect(redeliver).to_be_visible()
    _fits(page, 390)
    assert _right_edge(redeliver) <= 390
    check_accessible(page, axe_source, "a webhook's delivery log on a phone")

    page.goto("/profile")
    revoke = page.get_by_role("button", name="Revoke token alerting bridge")
    expect(revoke).to_be_visible()
    _fits(page, 390)
    assert _right_edge(revoke) <= 390

    # Found by QA: the API docs had no viewport meta and were drawn 980 px wide, shrunk to fit.
    page.goto("/api/docs")
    expect(page.get_by_role("link", name="← Back to Incident Tracker")).to_be_visible()
    assert page.evaluate("window.innerWidth") == 390

    page.goto(f"/incidents/{incident.key}")
    expect(page.get_by_role("list", name="Timeline")).to_contain_text(sha256)
    _fits(page, 390)


def test_a_comment_draws_its_lists_and_quotes_as_written(page, sign_in, file_incident, db, users) -> None:
    incident = file_incident("Disk full on db-1")
    body = "Tried so far:\n\n- restarting the shipper\n- rotating the logs\n\n> disk usage is at 100%"
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=body)
    db.commit()
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")

    left_border = (
        "(e) => getComputedStyle(e).borderLeftStyle === 'none' ? 0 : parseFloat(getComputedStyle(e).borderLeftWidth)"
    )
    timeline = page.get_by_role("list", name="Timeline")
    entry = timeline.get_by_role("listitem").filter(has_text="commented")
    assert entry.evaluate(left_border) > 0, "the timeline entry lost its line"
    bullet = entry.get_by_role("list").get_by_role("listitem").filter(has_text="restarting the shipper")
    expect(bullet).to_be_visible()
    assert bullet.evaluate(left_border) == 0, "a comment's list item is drawn as a timeline entry"
    assert bullet.evaluate("(e) => getComputedStyle(e).listStyleType") == "disc"
    quote = timeline.get_by_role("blockquote")
    expect(quote).to_have_text("disk usage is at 100%")
    assert quote.evaluate(left_border) >= 2, "the quote looks like plain text"
