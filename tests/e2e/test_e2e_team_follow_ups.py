"""Everyone's follow-ups on /follow-ups in a browser, as a lead, by accessible names: from "Your
follow-ups", the Owner filter switches to everyone's and to the overdue ones (the address says so,
to bookmark), each row names its owner ("(disabled)" for an account that was disabled) and its
incident; someone else's follow-up is marked done in place, and the page comes back to the same
list saying whose it was. axe-clean."""

from __future__ import annotations

from datetime import timedelta

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import expect
from sqlalchemy import update

from shared.accounts import service as accounts
from shared.incidents import follow_ups, timers
from shared.incidents.models import FollowUp

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def _give(db, users, incident, title, *, owner, due=None):
    item = follow_ups.add_follow_up(
        session=db,
        actor=users["lead"],
        incident_id=incident.id,
        title=title,
        owner_id=users[owner].id if owner else None,
        due_date=due,
    )
    db.commit()
    return item


@pytest.fixture
def world(db, users, file_incident):
    today = timers.today()
    disk = file_incident("Disk full on db-1", reporter="lead")
    leak = file_incident("Key pushed to a public repo", reporter="lead")
    late = _give(db, users, leak, "Rotate the leaked key", owner="other", due=today + timedelta(days=1))
    db.execute(update(FollowUp).where(FollowUp.id == late.id).values(due_date=today - timedelta(days=2)))
    db.commit()
    _give(db, users, disk, "Write the postmortem", owner="member", due=today + timedelta(days=3))
    _give(db, users, disk, "Raise the disk alarm", owner=None)
    accounts.set_active(session=db, actor=users["admin"], user_id=users["other"].id, active=False)
    db.commit()
    return disk, leak


def test_a_lead_sees_everyones_overdue_follow_ups_and_ticks_one(open_page, world, axe_source) -> None:
    _, leak = world
    page = open_page()
    sign_in_on(page, "lead@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Your follow-ups").click()
    expect(page.get_by_role("heading", name="Your follow-ups", level=1)).to_be_visible()

    filters = page.get_by_role("form", name="Whose follow-ups")
    filters.get_by_label("Owner").select_option(label="Everyone's")
    filters.get_by_role("button", name="Show").click()

    expect(page.get_by_role("heading", name="Everyone's follow-ups", level=1)).to_be_visible()
    listed = page.get_by_role("list", name="Open follow-ups")
    expect(listed.get_by_role("listitem")).to_have_count(3)
    expect(listed.get_by_role("listitem").nth(0)).to_contain_text("Owner: Oti Other (disabled)")
    expect(listed.get_by_role("listitem").nth(0)).to_contain_text(f"{leak.key} is Open")
    expect(listed.get_by_role("listitem").nth(2)).to_contain_text("Owner: No owner")
    check_accessible(page, axe_source, "everyone's open follow-ups")

    filters.get_by_label("Overdue only").check()
    filters.get_by_role("button", name="Show").click()
    assert "owner=all" in page.url
    assert "due=overdue" in page.url
    overdue = page.get_by_role("list", name="Overdue follow-ups")
    expect(overdue.get_by_role("link")).to_have_text(
        [f"Rotate the leaked key on {leak.key} (Key pushed to a public repo)"]
    )

    overdue.get_by_role("button", name="Mark done “Rotate the leaked key”").click()
    notice = page.get_by_role("status").filter(has_text="Marked Oti Other's follow-up “Rotate the leaked key” done.")
    expect(notice).to_be_focused()
    expect(page.get_by_role("heading", name="Everyone's follow-ups", level=1)).to_be_visible()
    expect(page.get_by_text("No follow-up to show here.")).to_be_visible()
    check_accessible(page, axe_source, "everyone's overdue follow-ups, one just marked done")
