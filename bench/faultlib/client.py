"""Driving the app over HTTP like its users: a signed-in browser (uploads, retries) and API tokens.

Every call returns an `Answer`: status (0 when no answer came: refused, reset or timed out),
the seconds it took, and the body's text. A request never waits longer than REQUEST_TIMEOUT, so
a hang shows as status 0 with its duration rather than stalling the run.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import requests

REQUEST_TIMEOUT = (5, 30)  # connect, read


@dataclass
class Answer:
    status: int
    seconds: float
    text: str = ""
    error: str = ""
    json: dict | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _call(session: requests.Session, method: str, url: str, **kwargs) -> Answer:
    started = time.monotonic()
    try:
        response = session.request(method, url, timeout=REQUEST_TIMEOUT, allow_redirects=False, **kwargs)
    except requests.RequestException as error:
        return Answer(0, time.monotonic() - started, error=f"{type(error).__name__}: {error}"[:300])
    seconds = time.monotonic() - started
    body = None
    if response.headers.get("Content-Type", "").split(";")[0].endswith("json"):
        try:
            body = response.json()
        except ValueError:
            body = None
    return Answer(response.status_code, seconds, response.text[:2000], json=body)


class Api:
    """The JSON API with a personal token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = f"{base_url}/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def retarget(self, base_url: str) -> None:
        self.base = f"{base_url}/api/v1"

    def create_incident(self, title: str, priority: str = "P3") -> Answer:
        return _call(self.session, "POST", f"{self.base}/incidents",
                     json={"title": title, "priority": priority, "component": "faults"})  # fmt: skip

    def get_incident(self, key: str) -> Answer:
        return _call(self.session, "GET", f"{self.base}/incidents/{key}")

    def transition(self, key: str, to: str, reason: str | None = None) -> Answer:
        body = {"to": to}
        if reason:
            body["reason"] = reason
        return _call(self.session, "POST", f"{self.base}/incidents/{key}/transition", json=body)

    def create_webhook(self, url: str, events: list[str]) -> Answer:
        return _call(self.session, "POST", f"{self.base}/webhooks", json={"url": url, "events": events})

    def delete_webhook(self, endpoint_id: int) -> Answer:
        return _call(self.session, "DELETE", f"{self.base}/webhooks/{endpoint_id}")

    def send_test_webhook(self, endpoint_id: int) -> Answer:
        return _call(self.session, "POST", f"{self.base}/webhooks/{endpoint_id}/test")

    def webhook_deliveries(self, endpoint_id: int) -> Answer:
        return _call(self.session, "GET", f"{self.base}/webhooks/{endpoint_id}/deliveries")

    def redeliver(self, endpoint_id: int, delivery_id: int) -> Answer:
        return _call(self.session, "POST", f"{self.base}/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver")

    def create_user(self, email: str, role: str, password: str) -> Answer:
        body = {"email": email, "role": role, "password": password, "name": email.split("@")[0]}
        return _call(self.session, "POST", f"{self.base}/users", json=body)


class Browser:
    """A person at the web pages: signed in with the login form, CSRF token from the page."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.session = requests.Session()
        self.csrf = ""

    def retarget(self, base_url: str) -> None:
        self.base = base_url

    def sign_in(self, email: str, password: str, attempts: int = 3) -> None:
        """Sign in; a fresh gunicorn on a busy machine may need a moment, so try a few times."""
        for attempt in range(1, attempts + 1):
            try:
                return self._sign_in(email, password)
            except requests.RequestException as error:
                print(f"    sign-in attempt {attempt} as {email} failed: {error}", flush=True)
                if attempt == attempts:
                    raise
                time.sleep(2)
        return None

    def _sign_in(self, email: str, password: str) -> None:
        page = self.session.get(f"{self.base}/login", timeout=REQUEST_TIMEOUT).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        answer = self.session.post(
            f"{self.base}/login", data={"csrf_token": token, "email": email, "password": password},
            timeout=REQUEST_TIMEOUT, allow_redirects=False,
        )  # fmt: skip
        if answer.status_code not in (302, 303):
            raise RuntimeError(f"could not sign in as {email}: {answer.status_code}")
        page = self.session.get(f"{self.base}/", timeout=REQUEST_TIMEOUT).text
        self.csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    def upload(self, key: str, name: str, data: bytes, content_type: str = "text/plain") -> Answer:
        return _call(
            self.session, "POST", f"{self.base}/incidents/{key}/evidence",
            data={"csrf_token": self.csrf}, files={"file": (name, data, content_type)},
            headers={"HX-Request": "true"},
        )  # fmt: skip

    def retry(self, key: str, evidence_id: int) -> Answer:
        return _call(
            self.session, "POST", f"{self.base}/incidents/{key}/evidence/{evidence_id}/retry",
            data={"csrf_token": self.csrf}, headers={"HX-Request": "true"},
        )  # fmt: skip


def message_of(answer: Answer) -> str:
    """What a person would read in the answer: the problem's detail or the page's message."""
    if answer.json:
        return str(answer.json.get("detail") or answer.json.get("title") or "")
    found = re.search(r'role="(?:alert|status)"[^>]*>\s*([^<]+)', answer.text)
    return found.group(1).strip() if found else answer.error
