"""Steps the browser tests share, as plain functions. Test modules import them from here, not
from `conftest`: with tests/web on the path too, `conftest` may name the other directory's."""

from __future__ import annotations

from playwright.sync_api import Page, expect

PASSWORD = "correct-horse-battery"  # the root `users` fixture's password


def check_accessible(page: Page, axe_source: str, state: str) -> None:
    """Run axe-core on the page as it is now; fail naming every violation and its elements.

    The source goes in through Playwright's evaluate (the DevTools protocol), not a <script>
    tag, so the app's strict CSP stays on and is still checked by `page`."""
    # After a link or a form took the page elsewhere, wait for its stylesheet: laid out before
    # app.css arrives (no person sees that: the first paint waits for it), contrast, sizes and
    # overflow would be judged on the browser's defaults.
    page.wait_for_load_state()
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in result["violations"]
    ]
    assert not problems, f"axe-core found problems on {state}:\n" + "\n".join(problems)


def sign_in_on(page: Page, email: str) -> None:
    """The `sign_in` fixture's steps, on any page (e.g. one from `open_page`)."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Incidents", exact=True)).to_be_visible()
    page.wait_for_load_state()
