"""Dashboard search: the qualifiers people type, and what they find on each backend.

The search tests read one data set, built once per backend in a database of this module's own
(`dataset_engine`); the index test that writes lives in test_shared_search_indexes.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import PASSWORD, USER_SPECS
from sqlalchemy import select

from shared import migrate
from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.db import make_engine, make_session_factory, utcnow
from shared.incidents import search
from shared.incidents import service as incidents
from shared.incidents.models import Incident
from shared.incidents.search import Filters, parse_query

# --- parse_query -------------------------------------------------------------------------


def test_all_qualifiers_and_free_text():
    parsed = parse_query("status:open priority:p1 owner:me component:rds env:prod disk full")
    assert parsed == Filters(
        statuses=("open",),
        priorities=("P1",),
        owner="me",
        components=("rds",),
        environments=("prod",),
        text="disk full",
    )
    assert parsed.problems == ()


@pytest.mark.parametrize(
    ("query", "field", "value"),
    [
        ("status:open,blocked", "statuses", ("open", "blocked")),
        ("is:in-progress", "statuses", ("in_progress",)),
        ("status:In_Progress status:open status:open", "statuses", ("in_progress", "open")),
        ("priority:p1,P2 prio:p3", "priorities", ("P1", "P2", "P3")),
        ("component:RDS,api-gateway comp:s3", "components", ("rds", "api-gateway", "s3")),
        ("env:prod,staging environment:DEV", "environments", ("prod", "staging", "dev")),
        ("owner:none", "owner", "none"),
        ("assignee:Lee@Example.com", "owner", "lee@example.com"),
        ("status:open,,blocked,", "statuses", ("open", "blocked")),
        ('owner:"Lee Lead"', "owner", "lee lead"),  # a name with a space, in quotes
        ('-owner:"Mo  Member "', "not_owner", "mo  member"),
        ('owner:"lee le', "owner", "lee le"),  # still being typed
        ('owner:"Mo Member",lee@example.com', "owner", "mo member,lee@example.com"),  # any of them
    ],
)
def test_qualifier_values(query, field, value):
    parsed = parse_query(query)
    assert getattr(parsed, field) == value
    assert parsed.problems == ()
    assert parsed.text == ""


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("status:done", "'done'"),
        ("status:open,finished", "'finished'"),
        ("priority:p9", "'p9'"),
        ("env:moon", "'moon'"),
        ("status:", "status:"),
        ("owner:", "owner:"),
    ],
)
def test_a_bad_value_gives_a_problem_naming_it(query, named):
    parsed = parse_query(query)
    assert len(parsed.problems) == 1
    assert named in parsed.problems[0]


@pytest.mark.parametrize(
    ("query", "text", "problem"),
    [
        # Searched as a word, "-disk" used to find the incidents about disks.
        ("disk -full", "disk", "Words can't be left out: '-full' was not searched."),
        ("-title:disk", "", "'-title:' can't be negated"),
        ("-sort:recent", "", "'-sort:' can't be negated"),
        ("-colour:red disk", "disk", "Unknown qualifier 'colour:'"),
        # On the way to a qualifier ("-sta" becoming -status:closed): nothing yet.
        ("-sta", "", None),
        ("-status", "", None),
        # A dash inside a word, or a dash alone, is not a negation.
        ("5xx-spike", "5xx-spike", None),
        ("disk -", "disk -", None),
    ],
)
def test_a_leading_dash_outside_a_qualifier_is_named_not_searched(query, text, problem):
    parsed = parse_query(query)
    assert parsed.text == text
    if problem is None:
        assert parsed.problems == ()
    else:
        (reported,) = parsed.problems
        assert reported.startswith(problem)


def test_good_values_survive_next_to_a_bad_one():
    parsed = parse_query("status:open,finished priority:p1")
    assert parsed.statuses == ("open",)
    assert parsed.priorities == ("P1",)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("foo:bar disk", "foo:bar disk"),
        ("see https://status.aws.amazon.com", "see https://status.aws.amazon.com"),
        ("  disk   full  ", "disk full"),
        ("", ""),
    ],
)
def test_anything_that_is_not_a_qualifier_is_free_text(query, words):
    assert parse_query(query).text == words


def test_a_field_the_query_names_replaces_the_base_never_ors_with_it():
    """Defect 4: the box and the dropdowns used to widen each other (P2 + p1 = either)."""
    base = Filters(statuses=("open",), priorities=("P2",), owner="me", text="disk")
    parsed = parse_query("priority:p1 full", base=base)
    assert parsed.statuses == ("open",)
    assert parsed.priorities == ("P1",)
    assert parsed.owner == "me"
    assert parsed.text == "full disk"
    assert parse_query("-status:closed", base=base).statuses == ()


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("", ""),
        ("disk  status:open", "status:open disk"),
        ("-status:closed -env:dev,preview", "-status:closed -env:dev,preview"),
        ("title:disk full sort:recent owner:me", "owner:me full title:disk sort:recent"),
        ("is:all prio:P1", "status:all priority:p1"),
        ('disk owner:"Lee Lead"', 'owner:"lee lead" disk'),
        ('"disk full" -owner:"mo member"', '-owner:"mo member" disk full'),
    ],
)
def test_every_query_has_one_canonical_text(query, canonical):
    assert search.canonical_query(parse_query(query)) == canonical
    assert search.canonical_query(parse_query(canonical)) == canonical


@pytest.mark.parametrize(
    ("query", "meant"),
    [("stauts:open", "status"), ("prority:p1", "priority"), ("ownr:me", "owner"), ("titel:disk", "title")],
)
def test_a_mistyped_qualifier_is_named_with_the_one_meant_and_searched_as_words(query, meant):
    parsed = parse_query(query)
    assert parsed.problems == (
        f"Unknown qualifier '{query.split(':')[0]}:' (did you mean {meant}:?): {query!r} was searched as words.",
    )
    assert parsed.text == query


# `error:timeout` and `foo:bar` look like qualifiers: named under the box (test_shared_search_handover.py).
@pytest.mark.parametrize("query", ['"error:timeout"', "10:30", "http://example.com/x", "db-1.internal:5432"])
def test_words_that_merely_hold_a_colon_are_searched_quietly(query):
    assert parse_query(query).problems == ()


def test_a_pasted_wall_of_text_searches_its_first_words_and_says_so():
    parsed = parse_query("status:open " + " ".join(f"w{n}" for n in range(40)) + " title:disk")
    assert parsed.statuses == ("open",)
    assert parsed.title == ("disk",)
    assert parsed.text.split() == [f"w{n}" for n in range(31)] + ["disk"]
    assert parsed.problems == ("Only the first 32 words are searched (41 were typed).",)


def test_negation_title_sort_and_status_all_are_read():
    parsed = parse_query("-status:closed -env:dev title:Disk sort:oldest status:all")
    assert parsed.not_environments == ("dev",)
    assert parsed.title == ("disk",)
    assert "disk" in parsed.text.split()
    assert parsed.sort == "oldest"
    assert parsed.all_statuses
    assert parsed.has_status_scope
    assert search.active_by_default(parse_query("disk")).not_statuses == ("closed",)
    assert search.active_by_default(parse_query("status:all")).not_statuses == ()


# --- search() on both backends -----------------------------------------------------------

# title, description, component, environment, priority, owner, status, hours since last update
DATASET = [
    (
        "Database connections exhausted",
        "max_connections hit; pool sizing wrong.",
        "rds",
        "prod",
        "P1",
        "member",
        "open",
        5,
    ),
    ("Disk full on log shipper", "fluent-bit dropping records", "logging", "prod", "P2", "lead", "in_progress", 1),
    ("ALB 5xx spike after deploy", "5xx rate 12% after the release", "alb", "staging", "P1", None, "blocked", 9),
    (
        "Redis evictions on session cache",
        "evicted_keys climbing; users logged out",
        "redis",
        "prod",
        "P2",
        "member",
        "resolved",
        2,
    ),
    (
        "Terraform state lock stuck",
        "DynamoDB lock held by a cancelled CI run",
        "terraform",
        "staging",
        "P3",
        None,
        "open",
        3,
    ),
    ("NAT gateway cost doubled", "Cross-AZ traffic through NAT", "network", "dev", "P4", "other", "closed", 12),
    (
        "Consumer lag on billing topic",
        "Lag is growing on the billing consumers",
        "kafka",
        "prod",
        "P2",
        "lead",
        "open",
        4,
    ),
    ("Certificate renewal pending", "ACM validation record missing", "acm", "prod", "P3", "lead", "open", 6),
    ("Runner out of disk space", "Docker layer cache fills the runner", "ci", "dev", "P4", "lead", "open", 7),
    ("Alarm flapping on response time", "Threshold too tight at p99", "monitoring", "prod", "P3", "lead", "open", 8),
    (
        "Resolver failures in private subnets",
        "Intermittent SERVFAIL answers",
        "network",
        "prod",
        "P1",
        "lead",
        "open",
        10,
    ),
    ("Snapshot quota reached", "Nightly backup job failed", "rds", "prod", "P2", "lead", "open", 11),
]
WALK = {
    "open": [],
    "in_progress": [("in_progress", None)],
    "blocked": [("in_progress", None), ("blocked", "Waiting")],
    "resolved": [("in_progress", None), ("resolved", "Fixed")],
    "closed": [("closed", "Won't fix")],
}


@pytest.fixture(scope="module")
def dataset_engine(db_backend, temporary_database_url):
    """A database of the module's own, with the accounts and DATASET, built once: every test
    below only reads it (each in a session rolled back afterwards)."""
    url = temporary_database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        people = {
            key: accounts.create_user(session=session, actor=None, email=email, name=name, role=role, password=PASSWORD)
            for key, (email, name, role) in USER_SPECS.items()
        }
        now = utcnow()
        made = []
        for title, description, component, env, priority, owner, status, hours in DATASET:
            incident = incidents.create_incident(
                session=session,
                actor=people["lead"],
                title=title,
                description=description,
                component=component,
                environment=env,
                priority=priority,
                owner_id=people[owner].id if owner else None,
            )
            for target, reason in WALK[status]:
                incidents.transition(
                    session=session, incident_id=incident.id, actor=people["lead"], to=target, reason=reason
                )
            made.append((incident, hours))
        for incident, hours in made:
            incident.updated_at = now - timedelta(hours=hours)
        session.commit()
    yield engine
    engine.dispose()


# These replace the root fixtures of the same names in this module: the database is the
# module's dataset, read-only, instead of an empty one wiped after each test.
@pytest.fixture
def db(dataset_engine):
    session = make_session_factory(dataset_engine)()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def users(db):
    by_email = {user.email: user for user in db.scalars(select(User))}
    return {key: by_email[email] for key, (email, _name, _role) in USER_SPECS.items()}


@pytest.fixture
def dataset(db):
    return list(db.scalars(select(Incident).order_by(Incident.id)))


def keys(page) -> list[str]:
    return [incident.key for incident in page.incidents]


def find(db, users, query, *, me="member", **kwargs):
    return search.search(session=db, filters=parse_query(query), me_id=users[me].id, **kwargs)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("disk full", ["INC-2"]),  # title words
        ("Disk FULL", ["INC-2"]),
        ("dynamodb", ["INC-5"]),  # a description word
        ("kafka", ["INC-7"]),  # only in the component
        ("evict", ["INC-4"]),  # a word being typed
        ("billing consumer", ["INC-7"]),
        ("nothing matches this", []),
        ("INC-1", ["INC-1", "INC-10", "INC-11", "INC-12"]),  # key prefix
        ("inc-4", ["INC-4"]),
    ],
)
def test_free_text(db, users, dataset, query, expected):
    assert sorted(keys(find(db, users, query, page_size=50))) == sorted(expected)


@pytest.mark.parametrize(
    ("query", "me", "expected"),
    [
        ("owner:me", "member", ["INC-1", "INC-4"]),
        ("owner:me", "other", ["INC-6"]),
        ("owner:none", "member", ["INC-3", "INC-5"]),
        ("owner:other", "member", ["INC-6"]),  # an email's local part
        ("owner:other@example.com", "member", ["INC-6"]),
        ("status:open priority:p1", "member", ["INC-1", "INC-11"]),
        ("status:open priority:p1 database", "member", ["INC-1"]),
        ("status:blocked,resolved", "member", ["INC-3", "INC-4"]),
        ("component:rds", "member", ["INC-1", "INC-12"]),
        ("env:staging", "member", ["INC-3", "INC-5"]),
        ("env:dev component:network owner:me", "other", ["INC-6"]),
        ('owner:"mo member"', "other", ["INC-1", "INC-4"]),  # the whole name, quoted
        ('-owner:"mo member" status:open', "other", ["INC-5", *(f"INC-{n}" for n in range(7, 13))]),
    ],
)
def test_qualifiers_filter(db, users, dataset, query, me, expected):
    assert sorted(keys(find(db, users, query, me=me))) == sorted(expected)


def test_sort_by_priority_puts_p1_first_then_the_most_recently_updated(db, users, dataset):
    page = find(db, users, "", sort="priority")
    assert [i.priority for i in page.incidents] == sorted(i.priority for i in page.incidents)
    assert keys(page)[:3] == ["INC-1", "INC-3", "INC-11"]  # P1s, updated 5 h, 9 h, 10 h ago


def test_sort_by_recent_puts_the_latest_change_first(db, users, dataset):
    assert keys(find(db, users, "", sort="recent"))[:4] == ["INC-2", "INC-4", "INC-5", "INC-7"]
    assert keys(find(db, users, "", sort="oldest"))[0] == "INC-6"


def test_an_unknown_sort_falls_back_to_priority(db, users, dataset):
    assert keys(find(db, users, "", sort="; DROP TABLE incidents")) == keys(find(db, users, "", sort="priority"))


def test_pagination_past_the_page_size(db, users, dataset):
    pages = [find(db, users, "", sort="recent", page=n, page_size=5) for n in (1, 2, 3)]
    assert [len(p.incidents) for p in pages] == [5, 5, 2]
    assert all(p.total == 12 and p.pages == 3 for p in pages)
    assert (pages[0].has_previous, pages[0].has_next, pages[2].has_next, pages[2].has_previous) == (
        False,
        True,
        False,
        True,
    )
    seen = [key for page in pages for key in keys(page)]
    assert sorted(seen) == sorted(i.key for i in dataset)  # nothing twice, nothing missed
    assert find(db, users, "", page=4, page_size=5).incidents == []
    assert keys(find(db, users, "", sort="recent", page=0, page_size=5)) == keys(pages[0])


def test_status_counters_ignore_the_status_filter(db, users, dataset):
    filters = parse_query("status:open env:prod")
    counts = search.count_by_status(session=db, filters=filters, me_id=users["member"].id)
    assert counts == {"open": 6, "in_progress": 1, "blocked": 0, "resolved": 1, "closed": 0}


def test_components_for_the_dropdown(db, users, dataset):
    assert search.distinct_components(session=db) == sorted({row[2] for row in DATASET})


@pytest.mark.parametrize(
    "query",
    [
        *["100%", "'quoted'", "a|b", "!x", "(y)", "<->", "_:*", "ünïcode", "::", "a & b", "%", "\\"],
        *['"', '""', 'owner:"', '"unclosed phrase', 'title:"', '-"x"'],
        "x" * 300,  # one long word, e.g. a pasted path: the typo fallback once built a 500 from it
        "word " * 1200,  # a pasted log: 1,200 clauses were a 500 on SQLite
        "/var/lib/docker/overlay2/" + "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c" * 3 + "/merged/var/log/containers/api.log",
    ],
)
def test_odd_input_never_breaks_the_search(db, users, dataset, query):
    page = find(db, users, query)
    assert page.total == len(page.incidents)


# --- PostgreSQL: typos and indexes -------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("typo", "expected"), [("databse", "INC-1"), ("conections", "INC-1"), ("certficate", "INC-8"), ("shiper", "INC-2")]
)
def test_a_typo_still_finds_the_incident_on_postgresql(db, users, dataset, typo, expected):
    assert expected in keys(find(db, users, typo))


@pytest.mark.postgres_only
def test_a_typo_finds_words_of_titles_filed_or_edited_just_now(db, users, dataset):
    # The typo lookup reads the titles' word list; the database keeps it as incidents are
    # created and edited, so a brand-new word is forgiven at once. Flushed, not committed: the
    # data set is shared by the module, and this test's session is rolled back afterwards.
    filed = incidents.create_incident(session=db, actor=users["lead"], title="Kubernetes node drained")
    db.flush()
    assert keys(find(db, users, "kubernetse")) == [filed.key]
    edited = keys(find(db, users, "databse"))[0]
    incident = incidents.get_incident(session=db, ref=edited)
    incidents.update_details(
        session=db,
        incident_id=incident.id,
        actor=users["lead"],
        title="Memcached evictions",
        description=incident.description,
        component=incident.component,
        environment=incident.environment,
    )
    db.flush()
    assert keys(find(db, users, "memcahced status:all")) == [edited]


@pytest.mark.postgres_only
def test_full_text_matches_word_forms_on_postgresql(db, users, dataset):
    assert keys(find(db, users, "databases")) == ["INC-1"]
