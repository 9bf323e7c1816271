"""Each person is offered only the moves they may make, on the dashboard and the incident page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


@pytest.fixture
def resolved(db, users, file_incident):
    """An incident the member reported and resolved."""
    incident = file_incident("Queue backlog on orders worker", component="sqs")
    for to, reason in (("in_progress", None), ("resolved", "Scaled the consumers to 6")):
        incidents.transition(session=db, incident_id=incident.id, actor=users["member"], to=to, reason=reason)
    db.commit()
    return incident


def status_options(page: Page, key: str):
    return page.get_by_label(f"New status for {key}").locator("option")


def test_member_cannot_close_but_may_reopen_what_they_reported(page: Page, sign_in, resolved) -> None:
    sign_in("member@example.com")
    expect(status_options(page, resolved.key)).to_have_text(["Choose…", "Reopen"])

    page.get_by_role("link", name="Queue backlog on orders worker").click()
    moves = page.get_by_role("region", name="Move to")
    expect(moves.get_by_role("button")).to_have_text(["Reopen"])
    expect(page.get_by_role("button", name="Closed")).to_have_count(0)
    expect(page.get_by_label("Reason for reopening")).to_be_visible()


def test_member_is_offered_nothing_on_someone_elses_incident(page: Page, sign_in, file_incident) -> None:
    theirs = file_incident("Cache hit ratio dropped", reporter="other", component="redis")
    sign_in("member@example.com")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Cache hit ratio dropped"))
    expect(row).to_have_count(1)
    expect(row.get_by_label(f"New status for {theirs.key}")).to_have_count(0)

    row.get_by_role("link", name="Cache hit ratio dropped").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cache hit ratio dropped")
    expect(page.get_by_role("region", name="Move to")).to_have_count(0)
    expect(page.get_by_role("button", name="In Progress", exact=True)).to_have_count(0)
    # Commenting and watching are open to every member.
    expect(page.get_by_role("button", name="Add comment")).to_be_visible()
    expect(page.get_by_role("button", name="Watch")).to_be_visible()


def test_lead_closes_a_resolved_incident(page: Page, sign_in, resolved) -> None:
    sign_in("lead@example.com")
    expect(status_options(page, resolved.key)).to_have_text(["Choose…", "Closed", "Reopen"])

    page.get_by_role("link", name="Queue backlog on orders worker").click()
    moves = page.get_by_role("region", name="Move to")
    expect(moves.get_by_role("button")).to_have_text(["Closed", "Reopen"])
    page.get_by_role("button", name="Closed", exact=True).click()
    page.get_by_role("button", name=f"Yes, close {resolved.key}").click()  # closing asks first

    expect(page.get_by_role("region", name="Details")).to_contain_text("Closed")
    timeline = page.get_by_role("list", name="Timeline").get_by_role("listitem")
    expect(timeline.last).to_contain_text("Lee Lead changed status from Resolved to Closed")
    # Closed: only a lead or an admin may reopen, and it asks why.
    expect(moves.get_by_role("button")).to_have_text(["Reopen"])
