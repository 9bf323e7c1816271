"""An on-call commander on a phone (390x844) sees each incident's priority on the dashboard
without scrolling the table sideways; the desktop table is unchanged, and a screen reader still
hears the priority once, in its own column."""

from __future__ import annotations

import pytest
from browser_steps import check_accessible, sign_in_on
from playwright.sync_api import expect

from shared.incidents import service as incidents

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def _row(page, title: str):
    return page.locator("#incident-rows tr").filter(has=page.get_by_role("link", name=title, exact=True))


# "In Progress" is the widest status: with it the Priority column starts beyond the screen.
@pytest.mark.parametrize("status", ["open", "in_progress"])
def test_the_first_rows_priority_is_on_a_phones_screen_without_scrolling(
    open_page, file_incident, db, users, axe_source, status
) -> None:
    incident = file_incident("Checkout errors at 40% on payments in eu-west-1", priority="P1", component="payments")
    if status != "open":
        incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to=status)
        db.commit()
    page = open_page(**PHONE)
    sign_in_on(page, "lead@example.com")
    page.wait_for_load_state()

    row = _row(page, incident.title)
    expect(row).to_have_count(1)
    priority = row.get_by_text("P1", exact=True).first
    expect(priority).to_be_visible()
    expect(priority).to_be_in_viewport(ratio=1)  # whole, not cut off by the table's sideways scroll
    box = priority.bounding_box()
    table_area = page.get_by_role("region", name="Incident list").bounding_box()
    assert box, "the priority has no bounding box"
    assert table_area, "the incident list has no bounding box"
    assert box["x"] >= table_area["x"]
    right_edge = min(390, table_area["x"] + table_area["width"])
    assert box["x"] + box["width"] <= right_edge, f"the priority is beyond the table's visible edge ({box})"
    assert box["y"] + box["height"] <= 844, "the priority is below the fold"
    assert page.evaluate("document.querySelector('.table-scroll').scrollLeft") == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # Screen readers: the key cell is named by its key alone, the priority is its column's cell
    # (on a phone's card named by its label, as seen), and the controls keep their names.
    expect(row.get_by_role("cell", name=incident.key, exact=True)).to_have_count(1)
    expect(row.get_by_role("cell", name="Priority: P1", exact=True)).to_have_count(1)
    expect(row.get_by_role("link", name=incident.key, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Priority", exact=True)).to_have_count(1)
    check_accessible(page, axe_source, f"the dashboard on a phone, priority beside the key ({status})")


def test_the_desktop_table_shows_the_priority_once_in_its_column(open_page, file_incident) -> None:
    incident = file_incident("Checkout errors at 40% on payments in eu-west-1", priority="P1", component="payments")
    page = open_page(**DESKTOP)
    sign_in_on(page, "lead@example.com")

    row = _row(page, incident.title)
    expect(row.get_by_text("P1", exact=True).filter(visible=True)).to_have_count(1)
    headers = page.get_by_role("columnheader").all_inner_texts()
    cells = row.get_by_role("cell")
    expect(cells.nth(headers.index("Priority"))).to_have_text("P1")
    expect(cells.nth(0)).to_have_text(incident.key, use_inner_text=True)
