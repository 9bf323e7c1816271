"""The live incident page: someone else's moves, edits and comments appear without a reload,
and a part the person is working in is left exactly as it is until they are done."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

POLL_MS = 11_000  # one live poll (LIVE_POLL_SECONDS, 10 s) and a little


def test_other_peoples_changes_appear_on_an_open_incident_page(page: Page, sign_in, file_incident, db, users):
    incident = file_incident(
        "Checkout latency above SLO", component="api-gateway", priority="P2", owner_id=users["member"].id
    )
    page.clock.install()  # the poll's timer runs when the test says so
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    page.evaluate("window.__marker = 1")
    moves = page.get_by_role("complementary", name="Actions")
    expect(moves.get_by_role("button", name="In Progress", exact=True)).to_be_visible()

    # Meanwhile the lead picks it up, raises the priority and comments.
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    incidents.change_priority(session=db, incident_id=incident.id, actor=users["lead"], priority="P1")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="Rolling back **v2.3**")
    db.commit()
    page.clock.fast_forward(POLL_MS)

    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("In Progress")
    expect(details).to_contain_text("P1")
    expect(page.locator("#current-status")).to_have_text("In Progress")
    expect(page.get_by_role("status").filter(has_text="This incident is now In Progress.")).to_be_attached()
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline).to_contain_text("Lee Lead changed status from Open to In Progress")
    expect(timeline.get_by_role("listitem").last).to_contain_text("Rolling back v2.3")
    # The moves offered are the ones from In Progress now, drawn from the current version.
    expect(moves.get_by_role("button", name="In Progress", exact=True)).to_have_count(0)
    expect(moves.get_by_role("button", name="Resolved", exact=True)).to_be_visible()
    assert page.evaluate("window.__marker") == 1  # merged in, not reloaded

    # Nothing changed since: the next poll is a 304.
    with page.expect_response(lambda r: r.url.endswith(f"/incidents/{incident.key}/changes")) as answer:
        page.clock.fast_forward(POLL_MS)
    assert answer.value.status == 304


def test_a_part_being_worked_in_is_left_alone_until_the_person_is_done(page: Page, sign_in, file_incident, db, users):
    incident = file_incident("Queue depth climbing", component="sqs", priority="P3", owner_id=users["member"].id)
    incidents.transition(session=db, incident_id=incident.id, actor=users["member"], to="in_progress")
    db.commit()
    page.clock.install()
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    moves = page.get_by_role("complementary", name="Actions")
    summary = page.get_by_label("Resolution summary")
    summary.fill("Scaled the consumers to 12")
    summary.focus()

    incidents.transition(
        session=db, incident_id=incident.id, actor=users["lead"], to="blocked", reason="Waiting on the AWS quota raise"
    )
    db.commit()
    page.clock.fast_forward(POLL_MS)

    # The rest of the page is brought up to date around them...
    expect(page.get_by_role("region", name="Details")).to_contain_text("Waiting on the AWS quota raise")
    expect(page.get_by_role("list", name="Timeline")).to_contain_text("changed status from In Progress to Blocked")
    # ...while the actions they are working in stay as they were: text, focus and all.
    expect(summary).to_have_value("Scaled the consumers to 12")
    expect(summary).to_be_focused()
    expect(moves.get_by_role("button", name="Blocked", exact=True)).to_be_visible()

    # Done with it (emptied and left): the next poll brings the kept part up to date, with no
    # further change needed.
    summary.fill("")
    page.get_by_role("heading", name="Timeline").click()
    page.clock.fast_forward(POLL_MS)
    expect(moves.get_by_role("button", name="Blocked", exact=True)).to_have_count(0)
    expect(moves.get_by_role("button", name="In Progress", exact=True)).to_be_visible()


def test_someone_elses_follow_up_appears_and_a_half_typed_one_is_kept(page: Page, sign_in, file_incident, db, users):
    """Found by QA: follow-ups added in another browser showed only after a reload."""
    from shared.incidents import follow_ups

    incident = file_incident("Replica lag on db-2", component="rds", priority="P2", owner_id=users["member"].id)
    page.clock.install()
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    page.evaluate("window.__marker = 1")
    section = page.get_by_role("region", name="Follow-ups")
    expect(section).to_be_visible()

    follow_ups.add_follow_up(session=db, actor=users["lead"], incident_id=incident.id, title="Add a replica lag alert")
    db.commit()
    page.clock.fast_forward(POLL_MS)
    expect(section).to_contain_text("Add a replica lag alert")
    assert page.evaluate("window.__marker") == 1  # merged in, not reloaded

    # A follow-up being typed here is left alone while another one arrives.
    section.get_by_role("textbox", name="Title").fill("Rotate the leaked key")
    follow_ups.add_follow_up(session=db, actor=users["lead"], incident_id=incident.id, title="Page the DBA team")
    db.commit()
    page.clock.fast_forward(POLL_MS)
    expect(section.get_by_role("textbox", name="Title")).to_have_value("Rotate the leaked key")


def test_a_permalinked_entry_stays_outlined_when_the_timeline_is_redrawn(page: Page, sign_in, file_incident, db, users):
    """Found by QA: opened from a pasted link (#comment-N), the entry lost its outline at the
    next live refresh (someone else commented), just when a live incident is busiest."""
    incident = file_incident("Error rate up on checkout", component="checkout", priority="P1")
    comment = incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="Rolled back v2.3")
    db.commit()
    page.clock.install()
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}#comment-{comment.id}")
    timeline = page.get_by_role("list", name="Timeline")
    linked = timeline.get_by_role("listitem").filter(has_text="Rolled back v2.3")
    outline = "entry => getComputedStyle(entry).outlineStyle"
    assert linked.evaluate(outline) == "solid"

    incidents.add_comment(session=db, incident_id=incident.id, actor=users["admin"], body="Error rate back to normal")
    db.commit()
    page.clock.fast_forward(POLL_MS)
    expect(timeline).to_contain_text("Error rate back to normal")
    assert linked.evaluate(outline) == "solid"
    assert timeline.get_by_role("listitem").filter(has_text="Error rate back to normal").evaluate(outline) == "none"
