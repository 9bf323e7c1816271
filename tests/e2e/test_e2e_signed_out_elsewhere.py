"""Found by a security probe: after "Sign out" in another tab, a form sent from a page drawn
before failed instead of going to sign in and back. A comment became "Error 400 · The CSRF
tokens do not match", and the New incident dialog and a dashboard row's move showed nothing at
all. Now each goes to the sign-in page, which says nothing was saved, and back to where it was
sent from, with what was typed. Signed in again elsewhere (a new token, the person signed in),
the dialog and the row say in place what to do instead of nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PASSWORD = "correct-horse-battery"  # the root `users` fixture's password
NOT_SAVED = "Your session has ended, so that was not saved. Sign in again, then send it again."
TOKENS_CHANGED = "The page was open too long or you signed in again elsewhere: reload it and try again."


def sign_out_in_another_tab(page: Page, *, sign_in_again_as: str | None = None) -> None:
    other_tab = page.context.new_page()
    other_tab.goto("/")
    other_tab.get_by_role("button", name="Sign out").click()
    expect(other_tab.get_by_role("heading", name="Sign in")).to_be_visible()
    if sign_in_again_as:
        sign_in_here(other_tab, sign_in_again_as)
        expect(other_tab.get_by_role("heading", name="Incidents", exact=True)).to_be_visible()
    other_tab.close()


def sign_in_here(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def on_the_sign_in_page_saying_nothing_was_saved(page: Page) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text=NOT_SAVED)).to_be_visible()
    expect(page.get_by_text("CSRF")).to_have_count(0)


def rows_titled(page: Page, text: str):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=text))


def test_a_comment_goes_to_sign_in_and_back_with_its_text(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Slow queries on incident search", component="search")
    sign_in("member@example.com")
    page.goto(f"/incidents/{incident.key}")
    page.wait_for_load_state("load")  # app.js keeps the draft from here on
    page.get_by_label("Comment", exact=True).fill("The slow query is the ILIKE on descriptions.")
    sign_out_in_another_tab(page)

    page.get_by_role("button", name="Add comment").click()

    on_the_sign_in_page_saying_nothing_was_saved(page)
    sign_in_here(page, "member@example.com")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Slow queries on incident search")
    comment = page.get_by_label("Comment", exact=True)
    expect(comment).to_have_value("The slow query is the ILIKE on descriptions.")
    page.get_by_role("button", name="Add comment").click()
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline.get_by_role("listitem").last).to_contain_text("The slow query is the ILIKE on descriptions.")


def test_the_new_incident_dialog_goes_to_sign_in_and_back_with_its_draft(page: Page, sign_in) -> None:
    sign_in("member@example.com")
    page.get_by_role("button", name="New incident").click()
    dialog = page.get_by_role("dialog", name="New incident")
    dialog.get_by_label("Title").fill("Checkout 500s after the 14:00 deploy")
    dialog.get_by_label("Priority").select_option("P1")
    sign_out_in_another_tab(page)

    dialog.get_by_role("button", name="Create incident").click()

    on_the_sign_in_page_saying_nothing_was_saved(page)
    sign_in_here(page, "member@example.com")
    expect(page.get_by_role("status").filter(has_text="Your unsent draft is back")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Checkout 500s after the 14:00 deploy")
    expect(page.get_by_label("Priority")).to_have_value("P1")
    page.get_by_role("button", name="Create incident").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Checkout 500s after the 14:00 deploy")


def test_a_rows_move_goes_to_sign_in_and_back_to_the_list(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Kafka consumer lag", component="msk")
    key = incident.key
    sign_in("lead@example.com")
    sign_out_in_another_tab(page)

    row = rows_titled(page, "Kafka consumer lag")
    row.get_by_label(f"New status for {key}").select_option(label="In Progress")
    row.get_by_role("button", name=f"Apply status change to {key}").click()

    on_the_sign_in_page_saying_nothing_was_saved(page)
    sign_in_here(page, "lead@example.com")
    expect(page).to_have_url(re.compile(r"/$"))
    row = rows_titled(page, "Kafka consumer lag")
    expect(row.get_by_role("cell").nth(2)).to_have_text("Open")  # not moved: it says so above
    row.get_by_label(f"New status for {key}").select_option(label="In Progress")
    row.get_by_role("button", name=f"Apply status change to {key}").click()
    expect(row.get_by_role("status")).to_have_text(f"{key} is now In Progress.")


def test_signed_in_again_elsewhere_the_dialog_and_a_row_say_what_to_do(page: Page, sign_in, file_incident) -> None:
    incident = file_incident("Kafka consumer lag", component="msk")
    key = incident.key
    sign_in("lead@example.com")
    sign_out_in_another_tab(page, sign_in_again_as="lead@example.com")  # this page's token is the old one

    row = rows_titled(page, "Kafka consumer lag")
    row.get_by_label(f"New status for {key}").select_option(label="In Progress")
    row.get_by_role("button", name=f"Apply status change to {key}").click()
    expect(row.get_by_role("alert")).to_contain_text(TOKENS_CHANGED)
    expect(row.get_by_role("cell").nth(2)).to_have_text("Open")

    page.get_by_role("button", name="New incident").click()
    dialog = page.get_by_role("dialog", name="New incident")
    dialog.get_by_label("Title").fill("Checkout 500s after the 14:00 deploy")
    dialog.get_by_role("button", name="Create incident").click()
    expect(dialog.get_by_role("alert")).to_contain_text(TOKENS_CHANGED)
    expect(dialog.get_by_label("Title")).to_have_value("Checkout 500s after the 14:00 deploy")
