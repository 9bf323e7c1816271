"""htmx swaps never write a style attribute (the CSP refuses inline styles and reports each one)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_a_swap_over_fields_something_else_styled_reports_no_csp_violation(page: Page, sign_in) -> None:
    """Found by QA on a phone: refused New incident forms logged style-src-attr violations from
    htmx. Its settle step copies `style` from the old element to the new one, and the old fields
    carried style="" (left by a browser extension or a tool restyling them through the CSSOM,
    which the CSP allows). `page` fails the test on any violation."""
    sign_in("member@example.com")
    page.get_by_role("button", name="New incident").click()
    dialog = page.get_by_role("dialog", name="New incident")
    expect(dialog).to_be_visible()
    # As an extension does it: from a world of its own, which the page's CSP does not bind.
    cdp = page.context.new_cdp_session(page)
    frame_id = cdp.send("Page.getFrameTree")["frameTree"]["frame"]["id"]
    world = cdp.send("Page.createIsolatedWorld", {"frameId": frame_id, "worldName": "an-extension"})
    cdp.send(
        "Runtime.evaluate",
        {
            "contextId": world["executionContextId"],
            "expression": """
              for (const id of ["title", "description", "component"]) {
                const field = document.getElementById(id);
                field.style.outline = "1px solid red";  // a field highlighted, then not
                field.style.outline = "";               // leaves style="" behind
              }""",
        },
    )
    assert page.get_attribute("#title", "style") == ""
    dialog.get_by_role("button", name="Create incident").click()  # refused: no title; the form is swapped
    expect(dialog.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    page.wait_for_timeout(200)  # past htmx's settle delay (20 ms), when the attributes are copied
