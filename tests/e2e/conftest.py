"""Browser tests: the real app on a real port, driven through Debian's Chromium by Playwright.

The app runs in a background thread (werkzeug, threaded) against the root `database_url`
fixture's migrated PostgreSQL database; the root `users` fixture seeds the accounts and the
root `db` fixture wipes every table after each test. Tests find elements only the way a
person would: by label, role and accessible name, or visible text.

Every page records JavaScript errors, CSP violations and htmx error logs; a test that
produced any fails at teardown, so each flow also proves the page runs clean under the CSP.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_steps import PASSWORD, check_accessible
from live_server import LiveServer, e2e_settings, serve_app
from playwright.sync_api import Browser, Page, expect, sync_playwright

from shared.incidents import service as incidents

# Debian's chromium-headless-shell: the same Chromium build as /usr/bin/chromium (one source
# package, one version), as the headless-only shell Playwright itself drives for headless runs.
# The full browser's headless mode costs three times the CPU here (tests/e2e alone, -n 2:
# Chromium 93 s of CPU and 75 s wall against 33 s and 44 s): 35 renderer processes for the 11
# dashboard tests instead of 14, and a browser process that works three times as hard. On a
# 2-core machine that was a fifth of `make test`'s CPU. CHROMIUM=/usr/bin/chromium runs the
# same tests in the full browser.
CHROMIUM = Path(os.environ.get("CHROMIUM") or "/usr/bin/chromium-headless-shell")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# How long an action or an expectation waits for the page (Playwright's default is 5 s). `make
# test` runs two test processes per core beside Chromium, the live servers and PostgreSQL, and a
# loaded 2-core machine can take seconds to draw a page. (The failure that first looked like
# slowness was a race in app.js, fixed: test_e2e_new_incident_draft holds a script to show it.)
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)

# Chromium reports a CSP refusal as a console error *and* as this DOM event; the event also
# catches violations that happen before a console listener could see them.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`);
});
"""


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app served from a background thread for the whole run."""
    settings = e2e_settings(database_url, str(tmp_path_factory.mktemp("e2e-data")))
    with serve_app(settings, name="e2e-live-server") as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run."""
    if not CHROMIUM.exists():
        _unavailable(
            f"{CHROMIUM} is not installed (apt-get install -y chromium-headless-shell, or set CHROMIUM to "
            "another Chromium, e.g. /usr/bin/chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class PageProblems:
    """What went wrong inside the page: uncaught errors, console errors, CSP refusals."""

    errors: list[str] = field(default_factory=list)

    def on_console(self, message) -> None:
        text = message.text
        # An expected 4xx answer (422 form errors, 401 bad password) is logged by Chromium
        # as "Failed to load resource"; that is the network, not a page error.
        if message.type == "error" and not text.startswith("Failed to load resource"):
            self.errors.append(f"console.error: {text} ({message.location})")
        elif "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.errors.append(f"console.{message.type}: {text}")

    def on_response(self, response) -> None:
        # No flow here expects a missing resource or a server error.
        if response.status == 404 or response.status >= 500:
            self.errors.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def on_web_error(self, web_error) -> None:
        self.errors.append(f"uncaught: {web_error.error}")


@pytest.fixture
def app_url(live_server: LiveServer, users) -> str:
    """The live server's URL, with the root `users` seeded (and wiped after the test)."""
    return live_server.url


@pytest.fixture
def page(browser: Browser, app_url: str, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test; fails the test on any page error in
    any of its tabs."""
    context = browser.new_context(base_url=app_url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    problems = PageProblems()
    context.on("console", problems.on_console)
    context.on("weberror", problems.on_web_error)
    context.on("response", problems.on_response)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
        live_server.in_flight.wait_until_idle()
    if problems.errors:
        pytest.fail("the page reported errors:\n" + "\n".join(problems.errors), pytrace=False)


@pytest.fixture
def sign_in(page: Page):
    """Sign in through the form as a person would and land on the dashboard (or wherever the
    sign-in page was told to return to, with `navigate=False` on a sign-in page already open)."""

    def _sign_in(email: str, *, navigate: bool = True) -> None:
        if navigate:
            page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Incidents", exact=True)).to_be_visible()
        page.wait_for_load_state()  # htmx and app.js (deferred) have run: typing now searches

    return _sign_in


@pytest.fixture
def file_incident(db, users):
    """File an incident through the domain service (committed), as `reporter` (a users key)."""

    def _file(title: str, *, reporter: str = "member", **fields):
        incident = incidents.create_incident(session=db, actor=users[reporter], title=title, **fields)
        db.commit()
        return incident

    return _file


# axe-core from npm (`npm pack axe-core`), vendored for the tests only: the app never serves it.
AXE_SOURCE = Path(__file__).with_name("vendor") / "axe-4.14.1.min.js"


@pytest.fixture(scope="session")
def axe_source() -> str:
    return AXE_SOURCE.read_text(encoding="utf-8")


@pytest.fixture
def assert_accessible(page: Page, axe_source: str):
    """assert_accessible("what the page shows") -> check_accessible on the test's `page`."""
    return lambda state: check_accessible(page, axe_source, state)


@pytest.fixture
def open_page(browser: Browser, app_url: str, live_server: LiveServer):
    """open_page(**context options) -> a page like `page`, in a context of its own: a phone
    viewport, another time zone or locale. Fails the test on any page error, as `page` does."""
    contexts, problems = [], PageProblems()

    def _open(**options) -> Page:
        options.setdefault("viewport", {"width": 1400, "height": 900})
        context = browser.new_context(base_url=app_url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("console", problems.on_console)
        context.on("weberror", problems.on_web_error)
        context.on("response", problems.on_response)
        contexts.append(context)
        return context.new_page()

    try:
        yield _open
    finally:
        for context in contexts:
            context.close()
        live_server.in_flight.wait_until_idle()
    if problems.errors:
        pytest.fail("the page reported errors:\n" + "\n".join(problems.errors), pytrace=False)
