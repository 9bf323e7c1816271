"""The API's list takes the dashboard's handover qualifiers in `q`, and refuses a word that looks
like a qualifier but is none (as it refuses a mistyped one): a script asking for `since:12h` got
an empty list and no reason. In quotes, the same words are searched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import bearer

from shared.db import clock_at, utcnow
from shared.incidents import service as incidents

INCIDENTS = "/api/v1/incidents"
QUALIFIERS = "status, is, priority, owner, reporter, component, env, due, updated, created, watching, title, sort"


@pytest.fixture
def member(make_token):
    return bearer(make_token("member", "write"))


def _titles(client, member, q: str) -> list[str]:
    answer = client.get(INCIDENTS, query_string={"q": q, "sort": "recent"}, headers=member)
    assert answer.status_code == 200, answer.get_json()
    return [item["title"] for item in answer.get_json()["items"]]


def test_the_handover_qualifiers_filter_the_api_list(client, db, users, member, make_incident):
    with clock_at(utcnow() - timedelta(days=2)):
        make_incident(reporter="member", owner=None, title="Filed by me, days ago")
        watched = make_incident(reporter="lead", owner=None, title="Watched by me")
        incidents.set_watching(session=db, incident_id=watched.id, actor=users["member"], watching=True)
        db.commit()
        make_incident(reporter="lead", owner=None, title="The lead's")
    make_incident(reporter="lead", owner=None, title="Filed this shift: error:timeout from payments")
    assert _titles(client, member, "reporter:me") == ["Filed by me, days ago"]
    assert _titles(client, member, "is:watching") == ["Watched by me", "Filed by me, days ago"]
    shift = ["Filed this shift: error:timeout from payments"]
    assert _titles(client, member, "updated:12h") == shift
    assert _titles(client, member, '"error:timeout"') == shift  # in quotes: the words, searched
    assert _titles(client, member, "-updated:12h -is:watching") == ["The lead's"]


@pytest.mark.parametrize(
    ("q", "detail"),
    [
        ("since:12h", "Unknown qualifier 'since:' \u2014 did you mean updated:?"),
        (
            "updated:yesterday,soon",
            "Unknown time 'soon' for updated: use 30m, 12h, 7d or 2w for the last minutes, hours, days or weeks; "
            "today or yesterday; or days: 2026-11-30, >2026-11-30, <2026-11-30, 2026-11-01..2026-11-30.",
        ),
        ("sort:recent sort:due", "Give sort: once: not recent and due."),
    ],
)
def test_a_misspelt_or_synonym_qualifier_is_a_400_naming_the_one_meant(client, users, member, q, detail):
    refused = client.get(INCIDENTS, query_string={"q": q}, headers=member)
    assert refused.status_code == 400
    assert refused.get_json()["detail"] == detail
    assert refused.get_json()["errors"] == {"q": [detail]}
    assert client.get(INCIDENTS, query_string={"q": f'"{q}"'}, headers=member).status_code == 200


def test_a_word_that_is_no_qualifier_is_searched_as_words_as_v1_did(client, users, member, make_incident):
    """`q=error:timeout` answered 200 with the incidents holding the words before qualifiers
    were named on the dashboard; a script relying on it keeps working."""
    make_incident(title="Upstream error: timeout talking to payments", owner=None)
    listed = client.get(INCIDENTS, query_string={"q": "error:timeout"}, headers=member)
    assert listed.status_code == 200
    assert [item["title"] for item in listed.get_json()["items"]] == ["Upstream error: timeout talking to payments"]
