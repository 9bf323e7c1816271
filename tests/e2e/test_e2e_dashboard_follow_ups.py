"""The dashboard's "Your follow-ups" in a browser, by accessible names: the open follow-ups I own,
soonest due first, each a link to its place on its incident's page; axe-clean. On a phone the list
folds behind a disclosure, so the first incident row still shows without scrolling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import expect

from shared.incidents import follow_ups, timers

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}


def _give(db, users, incident, title, *, due=None, owner="member"):
    item = follow_ups.add_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, title=title, owner_id=users[owner].id, due_date=due
    )
    db.commit()
    return item


def test_my_follow_ups_are_listed_soonest_first_and_lead_to_their_place(
    db, users, open_page, file_incident, axe_source
) -> None:
    today = timers.today()
    disk = file_incident("Disk full on db-1", reporter="lead")
    leak = file_incident("Key pushed to a public repo", reporter="lead")
    _give(db, users, disk, "Write the postmortem")
    rotate = _give(db, users, leak, "Rotate the leaked key", due=today + timedelta(days=1))
    _give(db, users, disk, "Raise the disk alarm", due=today + timedelta(days=4))
    _give(db, users, disk, "Not mine", owner="other")

    page = open_page()
    sign_in_on(page, "member@example.com")
    mine = page.get_by_role("region", name="Your follow-ups")
    expect(mine).to_be_visible()
    expect(mine.get_by_role("link")).to_have_text(
        ["Rotate the leaked key", "Raise the disk alarm", "Write the postmortem"]
    )
    expect(mine.get_by_role("listitem").first).to_contain_text(f"on {leak.key} (Key pushed to a public repo)")
    check_accessible(page, axe_source, "the dashboard with my follow-ups")

    mine.get_by_role("link", name="Rotate the leaked key").click()
    expect(page).to_have_url(f"/incidents/{leak.key}#follow-up-{rotate.id}")
    item = (
        page.get_by_role("region", name="Follow-ups").get_by_role("listitem").filter(has_text="Rotate the leaked key")
    )
    expect(item).to_be_in_viewport()
    expect(item).to_contain_text("Owned by Mo Member")


def test_on_a_phone_they_fold_away_and_the_first_incident_stays_above_the_fold(
    db, users, open_page, file_incident, axe_source
) -> None:
    today = timers.today()
    incident = file_incident("Disk full on db-1", priority="P1", component="rds")
    for n in range(10):
        _give(
            db, users, incident, f"Check replica {n:02d} for a long-forgotten cron job", due=today + timedelta(days=n)
        )

    page = open_page(**PHONE)
    sign_in_on(page, "member@example.com")
    first_row = page.get_by_role("link", name="Disk full on db-1")
    expect(first_row).to_be_in_viewport()
    box = first_row.bounding_box()
    assert box, "the first incident has no bounding box"
    assert box["y"] + box["height"] <= 844, "the first incident is below the fold"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width} px)"

    soonest = page.get_by_role("link", name="Check replica 00 for a long-forgotten cron job")
    expect(soonest).to_be_hidden()
    page.get_by_text("Your follow-ups (10)").click()  # the disclosure's summary
    expect(soonest).to_be_visible()
    check_accessible(page, axe_source, "the dashboard on a phone, my follow-ups open")


def test_the_follow_up_a_link_opens_is_outlined_below_its_heading(page, sign_in, file_incident, db, users):
    """Found by QA: the mail's link (#follow-up-N) landed with the item at the very top of the
    window, its section heading scrolled away and nothing marking which one was meant."""
    from shared.incidents import follow_ups

    incident = file_incident("Replica lag on db-2", component="rds", priority="P2")
    item = follow_ups.add_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, title="Add a replica lag alert"
    )
    db.commit()
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}#follow-up-{item.id}")
    entry = page.locator(f"#follow-up-{item.id}")
    assert entry.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    assert entry.evaluate("e => e.getBoundingClientRect().top") >= 48  # room for the heading above it
