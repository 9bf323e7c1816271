"""The pages count days where the reader is: the it_tz cookie (app.js keeps the browser's zone
in it) decides what `created:2026-12-09`, `updated:today` and `due:overdue` find, which rows and
follow-ups show the Overdue badge, and what "Overdue" lists on /follow-ups. Without the cookie
(the first page, no JavaScript) the days are UTC days.

The clock is fixed at 02:00 UTC on 10 December: still the 9th in Los Angeles (18:00), already
11:00 on the 10th in Tokyo."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update
from web_helpers import parse, row_keys, sign_in

from shared.db import clock_at
from shared.incidents import follow_ups
from shared.incidents.models import FollowUp

NOW = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
DEC_9, DEC_10 = date(2026, 12, 9), date(2026, 12, 10)


@pytest.fixture
def seeded(db, users, make_incident) -> dict[str, str]:
    """ "due-9th": due on the 9th (over in UTC and Tokyo, today in Los Angeles), filed the day
    before; "filed-late": filed at 01:00 UTC on the 10th (the 9th's evening in Los Angeles), due
    on the 10th. The member owns a follow-up due on the 9th on the first."""
    with clock_at(datetime(2026, 12, 8, 12, 0, tzinfo=UTC)):
        due_9th = make_incident(title="Incident due the 9th", owner="member", due_date=DEC_9)
        follow_up = follow_ups.add_follow_up(
            session=db, actor=users["lead"], incident_id=due_9th.id, title="Rotate the key", owner_id=users["member"].id
        )
    with clock_at(datetime(2026, 12, 10, 1, 0, tzinfo=UTC)):
        filed_late = make_incident(title="Incident filed late", owner=None, due_date=DEC_10)
    db.execute(update(FollowUp).where(FollowUp.id == follow_up.id).values(due_date=DEC_9))
    db.commit()
    return {"due-9th": due_9th.key, "filed-late": filed_late.key}


def _sign_in(client, users) -> None:
    with clock_at(NOW):  # the session's 12 hours run from then
        sign_in(client, users["member"])


def _page(client, url: str, zone: str | None) -> str:
    if zone:
        client.set_cookie("it_tz", zone)
    with clock_at(NOW):
        response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _found(client, query: str, zone: str | None) -> set[str]:
    return set(row_keys(_page(client, f"/?q={query}", zone)))


@pytest.mark.parametrize(
    ("zone", "query", "expected"),
    [
        (None, "due:overdue", {"due-9th"}),
        ("America/Los_Angeles", "due:overdue", set()),  # the 9th is today there
        ("America/Los_Angeles", "due:today", {"due-9th"}),
        ("Asia/Tokyo", "due:overdue", {"due-9th"}),
        ("Asia/Tokyo", "due:today", {"filed-late"}),
        (None, "created:2026-12-09", set()),
        (None, "created:today", {"filed-late"}),
        ("America/Los_Angeles", "created:2026-12-09", {"filed-late"}),
        ("America/Los_Angeles", "created:today", {"filed-late"}),
        ("America/Los_Angeles", "created:2026-12-10", set()),
        ("Asia/Tokyo", "created:2026-12-10", {"filed-late"}),
        ("Nowhere/Stale", "due:overdue", {"due-9th"}),  # a zone the server lacks: UTC, quietly
    ],
)
def test_the_dashboard_search_counts_the_readers_days(client, users, seeded, zone, query, expected):
    _sign_in(client, users)
    assert _found(client, query, zone) == {seeded[name] for name in expected}


@pytest.mark.parametrize(("zone", "badged"), [(None, True), ("America/Los_Angeles", False), ("Asia/Tokyo", True)])
def test_the_overdue_badges_are_drawn_in_the_readers_days(client, db, users, seeded, zone, badged):
    """The dashboard row, the incident page, "Your follow-ups" on the dashboard and /follow-ups:
    Overdue once the due day is over where the reader is."""
    _sign_in(client, users)
    dashboard = _page(client, "/", zone)
    row = next(r for r in parse(dashboard).find_all("tr") if seeded["due-9th"] in r.text)
    assert ("Overdue" in row.text) is badged
    mine = parse(dashboard).find("section", aria_labelledby="my-follow-ups-heading")
    assert ("Overdue" in mine.text) is badged
    detail = _page(client, f"/incidents/{seeded['due-9th']}", zone)
    assert bool(parse(detail).find_all("strong", class_="overdue")) is badged
    listed = _page(client, "/follow-ups", zone)
    assert ("Overdue" in parse(listed).find("ul", class_="my-follow-up-list").text) is badged
    overdue_only = _page(client, "/follow-ups?due=overdue", zone)
    assert ("Rotate the key" in overdue_only) is badged


def test_the_csv_download_of_a_search_counts_the_readers_days(client, users, seeded):
    """Filed at 17:00 on the 9th in Los Angeles (01:00 UTC on the 10th): the download of the
    dashboard's `created:2026-12-09` holds what the dashboard lists there."""
    _sign_in(client, users)
    client.set_cookie("it_tz", "America/Los_Angeles")
    with clock_at(NOW):
        csv = client.get("/incidents.csv?q=created:2026-12-09").get_data(as_text=True)
    assert seeded["filed-late"] in csv
    assert seeded["due-9th"] not in csv
