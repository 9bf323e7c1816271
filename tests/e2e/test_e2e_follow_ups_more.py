"""Follow-ups in a browser, QA's findings, by accessible names: after Add the section says so
and that message has focus; Delete asks first on a phone, Cancel goes back to Delete; a stale
edit comes back beside the open form, naming who changed it, with focus on that; an owner
disabled since survives an edit; a follow-up due on the reader's today (west of UTC) is not
Overdue to them. Each state passes axe-core."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import Page, expect
from sqlalchemy import update

from shared.accounts import service as accounts
from shared.incidents import follow_ups, timers
from shared.incidents.models import FollowUp

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}


def test_add_then_delete_on_a_phone_asks_first_and_focus_follows(open_page, file_incident, axe_source) -> None:
    incident = file_incident("Replica lag paged twice overnight")
    page = open_page(**PHONE)
    sign_in_on(page, "member@example.com")
    page.goto(f"/incidents/{incident.key}")
    section = page.get_by_role("region", name="Follow-ups")

    new = page.get_by_role("form", name="Add a follow-up")
    new.get_by_label("Title").fill("Add replica lag alert")
    new.get_by_role("button", name="Add follow-up").click()
    notice = section.get_by_role("status")
    expect(notice).to_have_text("Added the follow-up “Add replica lag alert”.")
    expect(notice).to_be_focused()

    page.get_by_role("button", name="Delete follow-up “Add replica lag alert”").click()
    question = section.get_by_text("Delete the follow-up “Add replica lag alert”? There is no undo", exact=False)
    expect(question).to_be_focused()
    expect(section.get_by_role("listitem")).to_have_count(1)  # nothing deleted by the first tap
    yes = page.get_by_role("button", name="Yes, delete follow-up “Add replica lag alert”")
    box = yes.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 390
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width} px)"
    check_accessible(page, axe_source, "a follow-up's delete question on a phone")

    section.get_by_role("link", name="Cancel").click()
    delete = page.get_by_role("button", name="Delete follow-up “Add replica lag alert”")
    expect(delete).to_be_focused()
    expect(section.get_by_role("listitem")).to_have_count(1)

    delete.click()
    expect(question).to_be_focused()
    page.wait_for_load_state("load")  # the page's script listens for Escape (focus came first, from autofocus)
    page.wait_for_load_state("load")  # the page's script listens for Escape (focus came first, from autofocus)
    page.keyboard.press("Escape")  # No, as Cancel: back on Delete, nothing deleted
    expect(delete).to_be_focused()
    expect(question).to_have_count(0)
    expect(section.get_by_role("listitem")).to_have_count(1)

    delete.click()
    page.get_by_role("button", name="Yes, delete follow-up “Add replica lag alert”").click()
    expect(notice).to_have_text("Deleted the follow-up “Add replica lag alert”.")
    expect(notice).to_be_focused()
    expect(section.get_by_text("No follow-ups yet.")).to_be_visible()


def test_a_stale_edit_comes_back_open_beside_its_form_naming_who_changed_it(
    page: Page, sign_in, file_incident, db, users, assert_accessible
) -> None:
    incident = file_incident("Replica lag paged twice overnight")
    item = follow_ups.add_follow_up(session=db, actor=users["member"], incident_id=incident.id, title="Rotate the key")
    db.commit()
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    section = page.get_by_role("region", name="Follow-ups")
    section.get_by_text("Edit follow-up “Rotate the key”", exact=True).click()
    form = page.get_by_role("form", name="Edit follow-up “Rotate the key”")
    form.get_by_label("Title").fill("Rotate the key today")
    follow_ups.update_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=item.id, title="Rotate both keys"
    )
    db.commit()

    form.get_by_role("button", name="Save follow-up “Rotate the key”").click()

    message = section.get_by_role("alert")
    expect(message).to_have_text(
        "Lee Lead changed the follow-up “Rotate both keys” since you opened this page. It is shown as it is now, "
        "and the form below keeps what you typed: check it, then save again."
    )
    expect(message).to_be_focused()
    expect(page.get_by_role("form", name="Edit follow-up “Rotate both keys”").get_by_label("Title")).to_have_value(
        "Rotate the key today"
    )
    assert_accessible("a follow-up's edit refused as stale")

    page.get_by_role("button", name="Save follow-up “Rotate both keys”").click()
    expect(section.get_by_role("status")).to_have_text("Saved the follow-up “Rotate the key today”.")


def test_an_edit_of_the_title_keeps_an_owner_disabled_since(
    page: Page, sign_in, file_incident, db, users, assert_accessible
) -> None:
    incident = file_incident("Replica lag paged twice overnight")
    follow_ups.add_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, title="Rotate the key", owner_id=users["other"].id
    )
    accounts.set_active(session=db, actor=users["admin"], user_id=users["other"].id, active=False)
    db.commit()
    sign_in("lead@example.com")
    page.goto(f"/incidents/{incident.key}")
    section = page.get_by_role("region", name="Follow-ups")

    section.get_by_text("Edit follow-up “Rotate the key”", exact=True).click()
    form = page.get_by_role("form", name="Edit follow-up “Rotate the key”")
    owner = form.get_by_label("Owned by")
    expect(owner.locator("option:checked")).to_have_text("Oti Other (other@example.com, disabled)")
    assert_accessible("a follow-up's edit form with a disabled owner")
    form.get_by_label("Title").fill("Rotate both keys")
    form.get_by_role("button", name="Save follow-up “Rotate the key”").click()

    expect(section.get_by_role("status")).to_have_text("Saved the follow-up “Rotate both keys”.")
    expect(section.get_by_role("listitem").filter(has_text="Rotate both keys")).to_contain_text("Owned by Oti Other")
    expect(page.get_by_role("list", name="Timeline")).not_to_contain_text("owner from Oti Other to nobody")


def test_a_follow_up_due_on_the_readers_today_west_of_utc_is_not_overdue_to_them(
    open_page, file_incident, db, users
) -> None:
    incident = file_incident("Rotate the TLS certificate")
    late = follow_ups.add_follow_up(
        session=db, actor=users["member"], incident_id=incident.id, title="Renew the domain"
    )
    db.execute(update(FollowUp).where(FollowUp.id == late.id).values(due_date=timers.today() - timedelta(days=2)))
    db.commit()
    page = open_page(timezone_id="America/Los_Angeles")
    # 05:00 UTC today: 21:00 or 22:00 yesterday in Los Angeles, whose day is UTC's yesterday.
    page.clock.set_fixed_time(datetime.combine(timers.today(), time(5), tzinfo=UTC))
    their_today = timers.today() - timedelta(days=1)
    sign_in_on(page, "member@example.com")
    page.goto(f"/incidents/{incident.key}")
    section = page.get_by_role("region", name="Follow-ups")

    new = page.get_by_role("form", name="Add a follow-up")
    new.get_by_label("Title").fill("Update the runbook")
    new.get_by_label("Due on").fill(their_today.isoformat())
    new.get_by_role("button", name="Add follow-up").click()

    item = section.get_by_role("listitem").filter(has_text="Update the runbook")
    expect(item).to_contain_text(f"Due {their_today.isoformat()}")  # accepted: a day of slack
    expect(item.get_by_text("Overdue", exact=True)).to_have_count(0)
    # A due day over everywhere is still overdue.
    expect(section.get_by_role("listitem").filter(has_text="Renew the domain").get_by_text("Overdue")).to_be_visible()
