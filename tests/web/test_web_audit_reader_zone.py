"""/audit reads From and To in the reader's zone when the address names none: a bookmarked or
shared `/audit?from=…&to=…` is read in the zone the it_tz cookie names (app.js keeps it on every
page), as /insights is, and the labels, the form's tz and the Download CSV link name that zone,
so the page says how it was read with or without JavaScript. `?tz=` still wins; no cookie, or a
zone this server lacks, is UTC."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from web_helpers import sign_in

from shared.audit import service as audit
from web.reader import ZONE_COOKIE

PAGE = "/audit"
CSV = "/audit.csv"
LOS_ANGELES = "America/Los_Angeles"
DAY = {"from": "2026-12-01", "to": "2026-12-01", "action": "user.enabled,user.disabled"}
# 1 December in UTC, 30 November in Los Angeles (PST, UTC-8).
EARLY = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
# 2 December in UTC, 1 December (23:00) in Los Angeles.
LATE = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


@pytest.fixture
def two_events(db, users):
    for when, action in ((EARLY, "user.enabled"), (LATE, "user.disabled")):
        audit.append(
            session=db,
            actor_id=users["admin"].id,
            action=action,
            entity_type="user",
            entity_id=users["other"].id,
            data={"email": "other@example.com"},
            occurred_at=when,
        )
    db.commit()


def _actions(html: str) -> list[str]:
    return re.findall(r'<td data-label="Action"><code>([^<]+)</code>', html)


def _zone_shown(html: str) -> tuple[str, str, str]:
    """The zone the From and To labels name, and the one the form's hidden tz holds."""
    start = re.search(r"From \(<span data-audit-zone-name>([^<]*)</span>\)", html)
    end = re.search(r"To \(<span data-audit-zone-name>([^<]*)</span>\)", html)
    field = re.search(r'<input type="hidden" name="tz" value="([^"]*)" data-reader-zone>', html)
    assert start
    assert end
    assert field
    return start.group(1), end.group(1), field.group(1)


def _csv_link(html: str) -> str:
    link = re.search(r'<a href="([^"]+)" download>Download CSV', html)
    assert link
    return link.group(1).replace("&amp;", "&")


def test_a_shared_link_is_read_in_the_zone_the_cookie_names(client, users, two_events):
    sign_in(client, users["admin"])
    client.set_cookie(ZONE_COOKIE, LOS_ANGELES)
    answer = client.get(PAGE, query_string=DAY)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert _actions(html) == ["user.disabled"]  # 1 December there; the 05:00 UTC one was 30 November
    assert _zone_shown(html) == (LOS_ANGELES, LOS_ANGELES, LOS_ANGELES)  # app.js keeps a filled field
    # The download is the page's rows, whatever cookie it is fetched with.
    link = _csv_link(html)
    assert "tz=America/Los_Angeles" in link.replace("%2F", "/")
    client.delete_cookie(ZONE_COOKIE)
    rows = list(csv.DictReader(io.StringIO(client.get(link).get_data(as_text=True))))
    assert [row["action"] for row in rows] == ["user.disabled"]


def test_pressing_filter_unchanged_gives_the_same_rows(client, users, two_events):
    sign_in(client, users["admin"])
    client.set_cookie(ZONE_COOKIE, LOS_ANGELES)
    shared = client.get(PAGE, query_string=DAY).get_data(as_text=True)
    submitted = client.get(PAGE, query_string={**DAY, "tz": _zone_shown(shared)[2]}).get_data(as_text=True)
    assert _actions(submitted) == _actions(shared) == ["user.disabled"]


def test_the_csv_without_a_zone_is_read_in_the_cookies_too(client, users, two_events):
    sign_in(client, users["admin"])
    client.set_cookie(ZONE_COOKIE, LOS_ANGELES)
    rows = list(csv.DictReader(io.StringIO(client.get(CSV, query_string=DAY).get_data(as_text=True))))
    assert [row["action"] for row in rows] == ["user.disabled"]


def test_an_unfiltered_page_names_the_cookies_zone_without_javascript(client, users):
    sign_in(client, users["admin"])
    client.set_cookie(ZONE_COOKIE, LOS_ANGELES)
    html = client.get(PAGE).get_data(as_text=True)
    assert _zone_shown(html) == (LOS_ANGELES, LOS_ANGELES, LOS_ANGELES)
    assert "of the whole trail" in html  # a zone alone filters nothing


def test_a_zone_in_the_address_wins_over_the_cookie(client, users, two_events):
    sign_in(client, users["admin"])
    client.set_cookie(ZONE_COOKIE, LOS_ANGELES)
    assert _actions(client.get(PAGE, query_string=DAY).get_data(as_text=True)) == ["user.disabled"]
    html = client.get(PAGE, query_string={**DAY, "tz": "UTC"}).get_data(as_text=True)
    assert _actions(html) == ["user.enabled"]  # 1 December in UTC
    assert _zone_shown(html) == ("UTC", "UTC", "UTC")


@pytest.mark.parametrize("cookie", [None, "Mars/Olympus_Mons", "localtime"], ids=["no-cookie", "unknown", "not-a-zone"])
def test_without_a_known_cookie_a_shared_link_is_read_in_utc_and_says_so(client, users, two_events, cookie):
    sign_in(client, users["admin"])
    if cookie:
        client.set_cookie(ZONE_COOKIE, cookie)
    answer = client.get(PAGE, query_string=DAY)
    assert answer.status_code == 200  # a browser's zone we lack is no error of the reader's
    html = answer.get_data(as_text=True)
    assert _actions(html) == ["user.enabled"]
    assert "could not be used" not in html
    # Filled in, so app.js does not relabel UTC rows with the browser's zone.
    assert _zone_shown(html) == ("UTC", "UTC", "UTC")
    assert "tz=UTC" in _csv_link(html)
