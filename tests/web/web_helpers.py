"""Helpers for the web tests: sign in, scrape a page, snapshot the database."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient
from seeding import table_texts
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.config import Settings
from shared.incidents.models import Incident
from shared.outbox.models import OutboxMessage
from web.app import create_app

PASSWORD = "correct-horse-battery"  # the root `users` fixture's password

SECRET_KEY = "web-tests-only-secret-key-0123456789abcdef"  # varied: production refuses "x" * 40
# Every test signs in many times from 127.0.0.1; only the rate-limit test wants the real limit.
GENEROUS_LOGIN_LIMIT = "10000 per minute"


def make_settings(database_url: str, **overrides) -> Settings:
    values = dict(
        app_env="test",
        database_url=database_url,
        secret_key=SECRET_KEY,
        rate_limit_login=GENEROUS_LOGIN_LIMIT,
    )
    values.update(overrides)
    return Settings(**values).validated()


def build_app(settings: Settings, *, csrf: bool = False) -> Flask:
    app = create_app(settings)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=csrf)
    return app


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: FlaskClient, user) -> str:
    """Sign `user` in without the form: open a server-side login session as the login view
    does and put its id in the client's session cookie. Skips the ~0.1 s argon2 check, for
    tests about something other than signing in. Returns the login-session id."""
    factory = client.application.extensions["db_session_factory"]
    with factory() as session:
        token = accounts.start_session(session=session, user=session.get(User, user.id), lifetime=timedelta(hours=1))
        session.commit()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = token
        cookie["_fresh"] = True
    return token


def login(client: FlaskClient, email: str, password: str = PASSWORD):
    """Sign in through the login form (scraping its CSRF token, so it works with CSRF on too)."""
    page = client.get("/login")
    data = {"email": email, "password": password}
    if 'name="csrf_token"' in page.get_data(as_text=True):
        data["csrf_token"] = csrf_token_from(page.get_data(as_text=True))
    response = client.post("/login", data=data)
    assert response.status_code == 302, f"sign-in as {email} failed: {response.status_code}"
    return response


def snapshot(session: Session) -> dict[str, str]:
    """Every row of every application table, as the database sees it now (as text, per table)."""
    session.expire_all()
    with session.get_bind().connect() as connection:
        return table_texts(connection)


def counts(session: Session) -> tuple[int, int]:
    """(audit events, outbox messages)."""
    session.expire_all()
    return (
        session.scalar(select(func.count(AuditEvent.id))) or 0,
        session.scalar(select(func.count(OutboxMessage.id))) or 0,
    )


def reload(session: Session, incident: Incident) -> Incident:
    session.expire_all()
    return session.get(Incident, incident.id)


def version(session: Session, incident: Incident) -> int:
    """The incident's version now: what a freshly loaded page's forms would carry."""
    return reload(session, incident).version


class _Collector(HTMLParser):
    """Collects text of elements matching (tag, attribute, value-substring)."""

    def __init__(self, tag: str, attr: str | None, value: str | None):
        super().__init__()
        self.tag, self.attr, self.value = tag, attr, value
        self.depth = 0
        self.items: list[str] = []
        self._buffer: list[str] = []

    def _matches(self, tag, attrs) -> bool:
        if tag != self.tag:
            return False
        if self.attr is None:
            return True
        found = dict(attrs).get(self.attr)
        return found is not None and self.value in found.split()

    def handle_starttag(self, tag, attrs):
        if self.depth:
            if tag == self.tag:
                self.depth += 1
        elif self._matches(tag, attrs):
            self.depth = 1
            self._buffer = []

    def handle_endtag(self, tag):
        if self.depth and tag == self.tag:
            self.depth -= 1
            if not self.depth:
                self.items.append(" ".join(" ".join(self._buffer).split()))

    def handle_data(self, data):
        if self.depth:
            self._buffer.append(data)


def texts(html: str, tag: str, attr: str | None = None, value: str | None = None) -> list[str]:
    """Visible text of every <tag> (optionally with attr containing the class/word value)."""
    collector = _Collector(tag, attr, value)
    collector.feed(html)
    return collector.items


def row_keys(html: str) -> list[str]:
    """Incident keys of the dashboard rows, in the order shown."""
    return re.findall(r'<tr id="row-(INC-\d+)"', html)


def status_counters(html: str) -> dict[str, int]:
    """{"Open": 3, ...} from the dashboard's counters per status (not the Active and All pills)."""
    return {
        unescape(label).strip(): int(count)
        for count, label in re.findall(r'<span class="count">(\d+)</span>\s*([^<]+?)\s*</a>', html)
        if unescape(label).strip() not in ("Active", "All")
    }


class _TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, {name: value or "" for name, value in attrs}))


def tags(html: str) -> list[tuple[str, dict[str, str]]]:
    """Every element the page really contains: (tag, attributes), in document order."""
    collector = _TagCollector()
    collector.feed(html)
    return collector.found


def timeline(html: str) -> list[str]:
    """The incident page's timeline entries, oldest first, without their timestamps (each the
    text of the entry's permalink: "Link to this comment, <time>")."""
    entries = texts(html.split('class="timeline"')[1].split("</ol>")[0], "li")
    stamp = r"^(?:Link to this (?:comment|entry), )?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC "
    return [re.sub(stamp, "", entry) for entry in entries]


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Element:
    """One element of a parsed page: its tag, attributes, children and the text a reader sees."""

    def __init__(self, tag: str, attrs: dict[str, str]):
        self.tag, self.attrs = tag, attrs
        self.children: list[Element | str] = []

    @property
    def text(self) -> str:
        parts = [child if isinstance(child, str) else child.text for child in self.children]
        return " ".join(" ".join(parts).split())

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Descendants with this tag (any tag if None) whose attributes equal `attrs`
        (`class_` matches one word of the class attribute)."""
        found = []
        for child in self.children:
            if isinstance(child, str):
                continue
            if (tag is None or child.tag == tag) and all(
                value in child.attrs.get("class", "").split()
                if name == "class_"
                else child.attrs.get(name.replace("_", "-")) == value
                for name, value in attrs.items()
            ):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'}> with {attrs} on the page"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.root = Element("#document", {})
        self.open: list[Element] = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)
        if tag not in _VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data):
        self.open[-1].children.append(data)


def parse(html: str) -> Element:
    """The page as a tree, for asserting what a reader sees (text, labels, attributes) rather
    than the exact markup that draws it."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def definitions(html: str) -> dict[str, str]:
    """{term: description} of every <dt>/<dd> pair on the page, as text."""
    pairs: dict[str, str] = {}
    for listing in parse(html).find_all("dl"):
        term = None
        for child in listing.children:
            if isinstance(child, Element) and child.tag == "dt":
                term = child.text
            elif isinstance(child, Element) and child.tag == "dd" and term is not None:
                pairs[term] = child.text
    return pairs


def label_for(html: str, control_id: str) -> str:
    """The text of the <label> naming the control with this id (its accessible name)."""
    return parse(html).find("label", **{"for": control_id}).text
