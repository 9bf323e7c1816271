"""Attaching several files at once on the incident page, with no worker running (every file
stays `pending`, so the list refreshes itself every 2 s throughout): a refused file keeps its
entry and the server's reason, a slow upload keeps its "uploading" entry across refreshes,
focus stays where it was when the list is redrawn, a failed upload says why in the server's
words (or that the session ended, with a way back), and the list fits a phone."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from browser_steps import PASSWORD, check_accessible, sign_in_on
from live_server import LiveServer, e2e_settings, serve_app
from playwright.sync_api import FilePayload, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

UPLOAD_LIMIT = 4000  # bytes: a "too large" file is a few kilobytes, not 200 MB
SMALL = b"Jan 12 03:14:07 gw sshd[811]: Failed password for root from 203.0.113.9\n"
# The one file size the server holds back until the test lets it through: a slow upload.
SLOW_SIZE = 3000
TOO_LARGE = UPLOAD_LIMIT + 1000
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}


class _SlowUploads:
    """Holds every upload whose body is about SLOW_SIZE bytes while `hold()` is on: the server
    has not answered it yet, as with a large file on a slow line."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.released.set()

    def wrap(self, app):
        def held_back(environ, start_response):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if environ["REQUEST_METHOD"] == "POST" and SLOW_SIZE <= length < SLOW_SIZE + 1000:
                self.released.wait(timeout=60)
            return app(environ, start_response)

        return held_back

    def hold(self) -> None:
        self.released.clear()

    def release(self) -> None:
        self.released.set()


@pytest.fixture(scope="module")
def slow_uploads() -> _SlowUploads:
    return _SlowUploads()


@pytest.fixture(scope="module")
def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, slow_uploads: _SlowUploads
) -> Iterator[LiveServer]:
    """This module's own live server: a small upload limit and no worker (files stay pending)."""
    settings = e2e_settings(
        database_url, str(tmp_path_factory.mktemp("e2e-evidence-uploads")), upload_max_bytes=UPLOAD_LIMIT
    )
    try:
        with serve_app(settings, name="e2e-evidence-uploads-server", wrap=slow_uploads.wrap) as server:
            yield server
    finally:
        slow_uploads.release()


def _file(name: str, data: bytes, mime_type: str = "text/plain") -> FilePayload:
    return {"name": name, "mimeType": mime_type, "buffer": data}


def _open_incident(page: Page, sign_in, file_incident, title: str) -> str:
    """Sign in as the member and open a new incident's page; returns the incident's key."""
    incident = file_incident(title)
    sign_in("member@example.com")
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name="Evidence")).to_be_visible()
    page.wait_for_load_state()
    return incident.key


def _entry(page: Page, name: str):
    return page.get_by_role("list", name="Evidence files").get_by_role("listitem").filter(has_text=name)


def _wait_for_list_refreshes(page: Page, count: int = 2) -> None:
    """Let the list's own 2 s refresh (GET .../evidence) run `count` times."""
    for _ in range(count):
        with page.expect_response(lambda r: r.request.method == "GET" and r.url.endswith("/evidence")):
            pass


def test_a_refused_file_keeps_its_entry_beside_the_files_that_worked(
    page: Page, sign_in, file_incident, assert_accessible
) -> None:
    _open_incident(page, sign_in, file_incident, "Exfiltration from the build host")

    page.get_by_label("Attach evidence").set_input_files(
        [_file("auth.log", SMALL), _file("core.dump", b"\0" * TOO_LARGE), _file("netstat.txt", SMALL)]
    )

    expect(_entry(page, "auth.log").get_by_role("status")).to_have_text("pending")
    expect(_entry(page, "netstat.txt").get_by_role("status")).to_have_text("pending")
    refused = _entry(page, "core.dump")
    expect(refused.get_by_role("status")).to_have_text("refused")
    # The server's own words (413), kept on the file's entry while the other files' answers
    # and the list's refreshes redraw the list around it.
    expect(refused).to_contain_text("larger than the upload limit of 3.9 KB")
    expect(refused).to_contain_text("Nothing was stored.")
    _wait_for_list_refreshes(page)
    expect(refused).to_contain_text("larger than the upload limit of 3.9 KB")
    expect(page.get_by_role("list", name="Evidence files").get_by_role("listitem")).to_have_count(3)
    assert_accessible("the evidence list with a refused file")


def test_a_slow_upload_keeps_its_entry_while_the_list_refreshes(
    page: Page, sign_in, file_incident, slow_uploads: _SlowUploads, assert_accessible
) -> None:
    _open_incident(page, sign_in, file_incident, "Slow link to the forensics share")
    slow_uploads.hold()
    try:
        page.get_by_label("Attach evidence").set_input_files(
            [_file("first.txt", SMALL), _file("pcap-extract.txt", b"p" * SLOW_SIZE), _file("last.txt", SMALL)]
        )
        # Every chosen file is listed at once; the slow one and the one after it are still on their way.
        expect(_entry(page, "first.txt").get_by_role("status")).to_have_text("pending")
        expect(_entry(page, "pcap-extract.txt").get_by_role("status")).to_have_text("uploading")
        expect(_entry(page, "last.txt").get_by_role("status")).to_have_text("waiting to upload")
        _wait_for_list_refreshes(page)  # first.txt is pending: the list redraws itself meanwhile
        expect(_entry(page, "pcap-extract.txt").get_by_role("status")).to_have_text("uploading")
        expect(_entry(page, "last.txt").get_by_role("status")).to_have_text("waiting to upload")
        assert_accessible("the evidence list with files on their way")
    finally:
        slow_uploads.release()
    expect(_entry(page, "pcap-extract.txt").get_by_role("status")).to_have_text("pending")
    expect(_entry(page, "last.txt").get_by_role("status")).to_have_text("pending")
    expect(page.get_by_role("list", name="Evidence files").get_by_role("listitem")).to_have_count(3)


def test_focus_and_scroll_stay_put_while_the_list_refreshes(page: Page, sign_in, file_incident) -> None:
    page.set_viewport_size({"width": 1000, "height": 500})
    _open_incident(page, sign_in, file_incident, "Phishing photo with location data")
    page.get_by_label("Attach evidence").set_input_files([_file("gps.jpg", SMALL), _file("headers.txt", SMALL)])
    expect(_entry(page, "headers.txt").get_by_role("status")).to_have_text("pending")

    copy = page.get_by_role("button", name="Copy SHA-256 of gps.jpg")
    copy.focus()
    page.evaluate("window.scrollTo(0, 150)")  # scrolled down a little; the button is still in view
    scrolled = page.evaluate("window.scrollY")
    assert scrolled == 150
    _wait_for_list_refreshes(page)

    expect(copy).to_be_focused()
    assert page.evaluate("window.scrollY") == scrolled
    page.keyboard.press("Tab")  # and the keyboard goes on from there
    expect(page.get_by_role("button", name="Copy SHA-256 of headers.txt")).to_be_focused()


def test_a_signed_out_upload_says_the_session_ended_and_offers_to_sign_in(
    page: Page, sign_in, file_incident, assert_accessible
) -> None:
    key = _open_incident(page, sign_in, file_incident, "Lost laptop at the airport")
    other_tab = page.context.new_page()
    other_tab.goto("/")
    other_tab.get_by_role("button", name="Sign out").click()
    expect(other_tab.get_by_text("You are signed out.")).to_be_visible()
    other_tab.close()

    page.get_by_label("Attach evidence").set_input_files([_file("badge-log.csv", SMALL)])

    entry = _entry(page, "badge-log.csv")
    expect(entry.get_by_role("status")).to_have_text("refused")
    expect(entry).to_contain_text("Your session has ended, so this file was not stored.")
    expect(entry).not_to_contain_text("upload failed")
    assert_accessible("a file refused because the session ended")
    # Signing in again comes back to this incident, where the file can be chosen once more.
    entry.get_by_role("link", name="Sign in again").click()
    page.get_by_label("Email").fill("member@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Lost laptop at the airport")).to_be_visible()
    assert page.url.endswith(f"/incidents/{key}")


def test_a_refused_token_shows_the_servers_words(page: Page, sign_in, file_incident) -> None:
    _open_incident(page, sign_in, file_incident, "Token replay against the admin API")
    # The browser lost its session cookie (cleared, or it expired) and someone signed in
    # again in another tab: this page's form still carries the old session's token.
    page.context.clear_cookies()
    other_tab = page.context.new_page()
    sign_in_on(other_tab, "member@example.com")
    other_tab.close()

    page.get_by_label("Attach evidence").set_input_files([_file("replay.har", SMALL)])

    entry = _entry(page, "replay.har")
    expect(entry.get_by_role("status")).to_have_text("refused")
    expect(entry).to_contain_text("The CSRF tokens do not match.")
    expect(entry).not_to_contain_text("upload failed")


def test_a_long_file_type_wraps_on_a_phone(open_page, file_incident, axe_source) -> None:
    incident = file_incident("Dropper found on a kiosk")
    page = open_page(**PHONE)
    sign_in_on(page, "member@example.com")
    page.goto(f"/incidents/{incident.key}")
    page.get_by_label("Attach evidence").set_input_files(
        [_file("kiosk-update.exe", b"MZ" + SMALL, "application/vnd.microsoft.portable-executable")]
    )
    entry = _entry(page, "kiosk-update.exe")
    expect(entry.get_by_role("status")).to_have_text("pending")
    expect(entry).to_contain_text("application/vnd.microsoft.portable-executable")
    page.wait_for_load_state()  # measured with app.css applied
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    check_accessible(page, axe_source, "a pending .exe on a phone")
