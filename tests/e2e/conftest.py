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
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_steps import PASSWORD, check_accessible
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from shared.config import Settings
from shared.incidents import service as incidents
from web.app import create_app

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


class _InFlightRequests:
    """Counts requests the live server is still answering. The root `db` fixture wipes the
    tables and closes every session in the process after each test: it must not do that while
    a request the browser fired last (an htmx search, a redirect) is still using one."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)

    def __call__(self, environ, start_response):
        with self.lock:
            self.count += 1
        try:
            # Consume the whole body inside the count: werkzeug streams it after we return.
            yield from self.app(environ, start_response)
        finally:
            with self.lock:
                self.count -= 1
                self.idle.notify_all()

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        with self.lock:
            if not self.idle.wait_for(lambda: self.count == 0, timeout=timeout):
                raise AssertionError(f"the live server still had {self.count} request(s) running after {timeout} s")


class _QuietHandler(WSGIRequestHandler):
    """The app logs every request itself; werkzeug's access lines would only double them."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="session")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app served from a background thread for the whole run."""
    settings = Settings(
        app_env="test",
        database_url=database_url,
        secret_key="x" * 40,
        demo_password="demo-password-not-used",
        data_dir=str(tmp_path_factory.mktemp("e2e-data")),
        # Every test signs in afresh from the same address; the limit itself is tested in tests/web.
        rate_limit_login="1000 per minute",
        log_level="WARNING",
    ).validated()
    app = create_app(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    in_flight = _InFlightRequests(app.wsgi_app)
    app.wsgi_app = in_flight
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", in_flight=in_flight)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["db_engine"].dispose()


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


@dataclass(frozen=True)
class LiveServer:
    url: str
    in_flight: _InFlightRequests


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
