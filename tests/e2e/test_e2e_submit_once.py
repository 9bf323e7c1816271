"""Back, then the same form sent again: what was filed or posted once stays once.

Found by QA in Chromium: the pages are no-store, so Back drew them anew with a new form key, and
the browser restored the typed text into them; a second incident, a second comment (and mail)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from shared.incidents.models import Comment, Incident

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def _count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count(model.id)))


def test_back_and_create_again_files_the_incident_once(page: Page, sign_in, db) -> None:
    sign_in("member@example.com")
    page.goto("/incidents/new")
    page.get_by_label("Title").fill("Checkout 502s in prod")
    page.get_by_label("Component").fill("checkout")
    page.get_by_role("button", name="Create incident").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Checkout 502s in prod")
    first_url = page.url

    page.go_back()
    expect(page.get_by_label("Title")).to_have_value("Checkout 502s in prod")  # restored by the browser
    page.get_by_role("button", name="Create incident").click()

    expect(page.get_by_text("was already created from this form; nothing new was filed.")).to_be_visible()
    assert page.url == first_url
    assert _count(db, Incident) == 1


def test_back_and_add_comment_again_posts_the_comment_once(page: Page, sign_in, file_incident, db) -> None:
    incident = file_incident("Checkout 502s in prod", priority="P1")
    sign_in("lead@example.com")
    page.goto(f"/incidents/{incident.key}")
    page.get_by_label("Comment", exact=True).fill("Rolling back deploy 4821 now.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator(".comment").filter(has_text="Rolling back deploy 4821 now.")).to_have_count(1)

    page.go_back()
    expect(page.get_by_label("Comment", exact=True)).to_have_value("Rolling back deploy 4821 now.")
    page.get_by_role("button", name="Add comment").click()

    # The message on the page (main); 150 ms later app.js also reads it out (#announcer, hidden).
    already = "That comment was already posted; it was not added again."
    expect(page.get_by_role("main").get_by_text(already)).to_be_visible()
    expect(page.locator(".comment").filter(has_text="Rolling back deploy 4821 now.")).to_have_count(1)
    assert _count(db, Comment) == 1
