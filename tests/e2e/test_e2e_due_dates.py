"""Due dates in the browser: set on the incident page, Overdue on the page and its row, a due
date from the New incident dialog; the timers beside them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from shared.incidents import timers
from shared.incidents.models import Incident

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_owner_sets_a_due_date_and_sees_overdue(page: Page, sign_in, file_incident, db) -> None:
    incident = file_incident("Rotate the TLS certificate", reporter="member")
    sign_in("member@example.com")
    page.get_by_role("link", name="Rotate the TLS certificate").click()
    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("Not acknowledged yet")

    page.get_by_role("button", name="In Progress", exact=True).click()
    expect(details).not_to_contain_text("Not acknowledged yet")
    expect(details).to_contain_text("Time to acknowledge")

    past = (timers.today() - timedelta(days=7)).isoformat()
    page.get_by_label("Due date").fill(past)
    page.get_by_role("button", name="Save due date").click()
    earliest = timers.today() - timedelta(days=1)  # a day of slack for readers west of UTC
    expect(page.get_by_label("Due date")).to_have_accessible_description(
        f"Choose {earliest} or a later day as the due date."
    )

    today = timers.today().isoformat()
    page.get_by_label("Due date").fill(today)
    page.get_by_role("button", name="Save due date").click()
    expect(details).to_contain_text(f"Due{today}")
    expect(details.get_by_text("Overdue", exact=True)).to_have_count(0)
    expect(page.get_by_role("list", name="Timeline")).to_contain_text(f"edited due date from “none” to “{today}”")

    # Time passes: the due day is behind us and the work is not done.
    db.execute(update(Incident).where(Incident.id == incident.id).values(due_date=timers.today() - timedelta(days=2)))
    db.commit()
    page.reload()
    expect(details.get_by_text("Overdue", exact=True)).to_be_visible()
    page.get_by_role("link", name="All incidents").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Rotate the TLS certificate"))
    expect(row.get_by_text("Overdue", exact=True)).to_be_visible()


def test_a_due_date_from_the_new_incident_dialog(page: Page, sign_in) -> None:
    sign_in("lead@example.com")
    page.get_by_role("button", name="New incident").click()
    dialog = page.get_by_role("dialog", name="New incident")
    dialog.get_by_label("Title").fill("Renew the domain")
    due = (timers.today() + timedelta(days=3)).isoformat()
    dialog.get_by_label("Due date").fill(due)
    dialog.get_by_role("button", name="Create incident").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("link", name="Renew the domain").click()
    expect(page.get_by_role("region", name="Details")).to_contain_text(f"Due{due}")
