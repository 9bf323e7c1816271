"""Free text finds an incident by what was said about it: its comments, its block reason and its
resolution summary, besides title, description and component, on both backends.

The QA report: "CHG-4411", a change ticket named only in a comment and in a resolution summary,
found nothing. Each word may be in any field or comment of the incident; `title:` stays title
only; a redacted comment is found by none of its old words."""

from __future__ import annotations

import pytest

from shared.incidents import search
from shared.incidents import service as incidents
from shared.incidents.search import parse_query


@pytest.fixture
def discussed(db, users, make_incident) -> dict[str, int]:
    """name -> incident id: a ticket in a comment, a block reason, a resolution summary, a
    redacted comment, and an incident nobody said anything about."""
    lead = users["lead"]
    rollback = make_incident("open", title="Checkout latency after the deploy", component="checkout")
    incidents.add_comment(
        session=db, incident_id=rollback.id, actor=users["member"], body="Rolled back under CHG-4411, p99 is normal."
    )
    vendor = make_incident("in_progress", title="CDN purge stuck", component="cdn")
    incidents.transition(
        session=db, incident_id=vendor.id, actor=lead, to="blocked", reason="Waiting on Cloudflare support (case 88123)"
    )
    reverted = make_incident("in_progress", title="Payments 5xx spike", component="payments")
    incidents.transition(
        session=db, incident_id=reverted.id, actor=lead, to="resolved", reason="Reverted the config push of CHG-4411."
    )
    pasted = make_incident("open", title="Disk full on db-7", component="rds")
    incidents.add_comment(session=db, incident_id=pasted.id, actor=users["member"], body="Logged in with hunter2")
    quiet = make_incident("open", title="Flapping alarm on the writer", component="rds")
    db.commit()
    return {
        "rollback": rollback.id,
        "vendor": vendor.id,
        "reverted": reverted.id,
        "pasted": pasted.id,
        "quiet": quiet.id,
    }


def found(db, users, query: str) -> set[int]:
    """Ids of the incidents the dashboard lists for `query` (every status, first page)."""
    filters, counts = search.with_typo_fallback(session=db, filters=parse_query(query), me_id=users["member"].id)
    page = search.search(session=db, filters=filters, me_id=users["member"].id, counts=counts)
    assert page.total == len(page.incidents)  # the total (from the counters) agrees with the rows
    return {incident.id for incident in page.incidents}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("CHG-4411", {"rollback", "reverted"}),  # the QA search: a comment and a resolution summary
        ("chg-4411", {"rollback", "reverted"}),
        ("rolled back", {"rollback"}),  # words only a comment holds
        ("cloudflare", {"vendor"}),  # the block reason
        ("88123", {"vendor"}),
        ("reverted config", {"reverted"}),  # the resolution summary
        ("hunter2", {"pasted"}),  # a comment not (yet) redacted
    ],
)
def test_words_said_about_an_incident_find_it(db, users, discussed, query, expected):
    assert found(db, users, query) == {discussed[name] for name in expected}


def test_a_comment_added_just_now_is_found(db, users, discussed):
    incidents.add_comment(
        session=db, incident_id=discussed["quiet"], actor=users["lead"], body="Postmortem: thresholds too tight"
    )
    db.commit()
    assert found(db, users, "postmortem") == {discussed["quiet"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("checkout CHG-4411", {"rollback"}),  # the title and a comment
        ("CHG-4411 latency normal", {"rollback"}),  # title and comment words, in any order
        ("CDN cloudflare", {"vendor"}),  # the title and the block reason
        ("payments 4411", {"reverted"}),  # the component and the resolution summary
        ("CHG-4411 cloudflare", set()),  # two incidents' words never make a match together
    ],
)
def test_the_words_may_be_split_between_the_fields_and_the_comments(db, users, discussed, query, expected):
    assert found(db, users, "CHG-4411") == {discussed["rollback"], discussed["reverted"]}
    assert found(db, users, query) == {discussed[name] for name in expected}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status:open CHG-4411", {"rollback"}),
        ("-status:open CHG-4411", {"reverted"}),
        ("status:resolved,blocked -component:payments CHG-4411", set()),
        ("component:checkout,payments -priority:p1 CHG-4411", {"rollback", "reverted"}),
        ("title:checkout CHG-4411", {"rollback"}),  # title: narrows to the title...
        ("title:rolled CHG-4411", set()),  # ...and stays title-only: "rolled" is in a comment
        ("title:reverted", set()),  # and a resolution summary is no title either
    ],
)
def test_qualifiers_and_negation_still_narrow_what_the_discussion_finds(db, users, discussed, query, expected):
    assert found(db, users, "CHG-4411") == {discussed["rollback"], discussed["reverted"]}
    assert found(db, users, query) == {discussed[name] for name in expected}
    assert search.matches(
        session=db, filters=parse_query(query), me_id=users["member"].id, incident_id=discussed["rollback"]
    ) == ("rollback" in expected)


def test_a_redacted_comment_is_found_by_none_of_its_old_words(db, users, discussed):
    assert found(db, users, "hunter2") == {discussed["pasted"]}
    comment = next(iter(incidents.comments_by_id(session=db, incident_id=discussed["pasted"]).values()))
    incidents.redact_comment(
        session=db, incident_id=discussed["pasted"], comment_id=comment.id, actor=users["admin"], reason="A password"
    )
    db.commit()
    assert found(db, users, "hunter2") == set()
    assert found(db, users, "logged") == set()
    # Nor by the notice that replaced it: "redacted" is not something the incident says.
    assert found(db, users, "redacted") == set()
    assert found(db, users, "disk full") == {discussed["pasted"]}  # its own words still find it
