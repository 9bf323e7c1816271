"""The dashboard at a shift handover: what I filed (`reporter:me`), what I watch (`is:watching`),
what changed this shift (`updated:12h sort:recent`), and a word that looks like a qualifier but
is none (`since:12h`, `team:sre`) named under the box instead of a silent "0 incidents"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from web_helpers import parse, row_keys, sign_in, texts

from shared.db import clock_at, utcnow
from shared.incidents import service as incidents

QUALIFIERS = "status, is, priority, owner, reporter, component, env, due, updated, created, watching, title, sort"


@pytest.fixture
def now():
    """The moment every request of the test runs at."""
    return utcnow()


@pytest.fixture
def seeded(db, users, make_incident, now) -> dict[str, str]:
    """name -> key: two filed by the member (one this shift), one they chose to watch, the
    lead's own, and one worked on this shift that the member neither filed nor watches."""
    keys = {}
    day_ago = now - timedelta(days=1)
    with clock_at(day_ago):
        keys["mine-yesterday"] = make_incident(reporter="member", owner=None, title="Disk full on the runner").key
        watched = make_incident(reporter="lead", owner=None, title="Replication lag on the replica")
        incidents.set_watching(session=db, incident_id=watched.id, actor=users["member"], watching=True)
        db.commit()
        keys["watched"] = watched.key
        keys["leads"] = make_incident(reporter="lead", owner=None, title="Certificate expires soon").key
        worked = make_incident(reporter="lead", owner=None, title="Queue backlog growing")
        keys["worked"] = worked.key
    with clock_at(now - timedelta(hours=3)):
        keys["mine-this-shift"] = make_incident(reporter="member", owner=None, title="5xx spike after deploy").key
    with clock_at(now - timedelta(hours=1)):
        incidents.transition(session=db, incident_id=worked.id, actor=users["lead"], to="in_progress")
        db.commit()
    return keys


@pytest.fixture
def member_client(client, users):
    sign_in(client, users["member"])
    return client


def _get(client, now, query: str) -> str:
    with clock_at(now):
        response = client.get("/", query_string={"q": query})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _keys(seeded, *names) -> list[str]:
    return [seeded[name] for name in names]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("updated:12h sort:recent", ["worked", "mine-this-shift"]),  # newest change first
        ("reporter:me sort:recent", ["mine-this-shift", "mine-yesterday"]),
        ("is:watching sort:recent", ["mine-this-shift", "watched", "mine-yesterday"]),
        ("watching:me sort:recent", ["mine-this-shift", "watched", "mine-yesterday"]),
        ("-is:watching sort:recent", ["worked", "leads"]),
        ("is:watching updated:12h", ["mine-this-shift"]),
        ("created:today -reporter:me", []),
    ],
)
def test_the_handover_searches_list_what_they_say(member_client, seeded, now, query, expected):
    html = _get(member_client, now, query)
    assert row_keys(html) == _keys(seeded, *expected)
    assert texts(html, "div", "class", "problems") == []
    assert f'value="{query}"' in html  # the box keeps what was typed


@pytest.mark.parametrize(
    ("query", "note", "summary"),
    [
        (
            "team:sre",
            f"'team:' is not a search qualifier: 'team:sre' was searched as words (qualifiers: {QUALIFIERS}). "
            'In quotes ("team:sre") it is searched without this note.',
            "0 incidents",
        ),
        (
            "since:12h",
            "Unknown qualifier 'since:' (did you mean updated:?): 'since:12h' was searched as words.",
            "0 incidents",
        ),
        (
            "reportr:me",
            "Unknown qualifier 'reportr:' (did you mean reporter:?): 'reportr:me' was searched as words.",
            "0 incidents",
        ),
        # A bad value leaves its qualifier out, as any bad value does: everything else is listed.
        (
            "updated:>12h",
            "Unknown time '>12h' for updated: a comparison takes a day (updated:>2026-11-30); ",
            "5 incidents",
        ),
    ],
)
def test_a_word_that_is_no_qualifier_is_named_under_the_box_not_a_silent_zero(
    member_client, seeded, now, query, note, summary
):
    html = _get(member_client, now, query)
    (shown,) = texts(html, "div", "class", "problems")
    assert shown.startswith(note)
    assert parse(html).find("p", class_="summary").text == summary
    # In quotes, the same words are searched without the note.
    quoted = _get(member_client, now, f'"{query}"')
    assert texts(quoted, "div", "class", "problems") == []
    assert row_keys(quoted) == []
