"""The audit log's listing (shared/audit/listing.py): each filter narrows to exactly the events it
names, pages follow a cursor without repeating or skipping while events are appended, a filter
value that matches nothing known is refused by name, only leads, admins and the operator read
it, a page is one query, and an exported event re-hashes to its chain hash."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event

from shared.accounts import service as accounts
from shared.accounts import tokens
from shared.audit import listing
from shared.audit import service as audit
from shared.config import Settings
from shared.errors import PermissionDenied, ValidationFailed
from shared.events import EventType
from shared.incidents import service as incidents
from shared.notifications import service as notifications
from shared.permissions import SYSTEM

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_URL = "https://93.184.215.14/hooks/incidents"  # an IP literal: checked without a DNS look-up


@pytest.fixture
def history(db, users, make_incident):
    """A trail with something of each kind: the users' creation (by no user), an incident's life,
    a role change, a token, a webhook, and three events long ago (for time windows)."""
    incident = make_incident("in_progress", reporter="member", owner="member", title="Disk full on db-1")
    other = make_incident("open", reporter="lead", owner=None, title="Slow deploys")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="Looking.")
    accounts.change_role(session=db, actor=users["admin"], user_id=users["other"].id, role="lead")
    tokens.create_token(session=db, user=users["lead"], name="alert bridge", scope="read")
    notifications.create_endpoint(
        session=db,
        actor=users["admin"],
        settings=Settings(app_env="test", secret_key="x" * 40),
        url=WEBHOOK_URL,
        event_types=["incident.created"],
    )
    db.commit()
    for moment, action in (
        (datetime(2025, 3, 10, 12, 0, tzinfo=UTC), EventType.USER_DISABLED),
        (datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC), EventType.USER_ENABLED),
        (datetime(2025, 4, 1, 0, 0, tzinfo=UTC), EventType.USER_DISABLED),
    ):
        audit.append(
            session=db,
            actor_id=users["admin"].id,
            action=action,
            entity_type="user",
            entity_id=users["other"].id,
            data={"email": "other@example.com"},
            occurred_at=moment,
        )
    db.commit()
    return {"incident": incident, "other": other}


def _everything(db) -> list[listing.ListedEvent]:
    return list(listing.iterate(session=db, actor=SYSTEM, filters=listing.AuditFilters()))


def _listed(db, **params) -> list[listing.ListedEvent]:
    filters = listing.parse_filters(session=db, params=params)
    return list(listing.iterate(session=db, actor=SYSTEM, filters=filters))


FILTERS = [
    ("exact action", {"action": "user.role_changed"}, lambda e, u, h: e.action == "user.role_changed"),
    ("family", {"action": "user."}, lambda e, u, h: e.action.startswith("user.")),
    ("family with a star", {"action": "incident.*"}, lambda e, u, h: e.action.startswith("incident.")),
    ("family by name", {"action": "webhook"}, lambda e, u, h: e.action.startswith("webhook.")),
    (
        "several",
        {"action": "api_token.created, incident.commented"},
        lambda e, u, h: e.action in ("api_token.created", "incident.commented"),
    ),
    ("actor by email", {"actor": "ADMIN@example.com"}, lambda e, u, h: e.actor_id == u["admin"].id),
    ("actor by id", {"actor": "{lead}"}, lambda e, u, h: e.actor_id == u["lead"].id),
    ("system", {"actor": "System"}, lambda e, u, h: e.actor is None),
    ("entity type", {"entity_type": "webhook"}, lambda e, u, h: e.entity_type == "webhook"),
    (
        "entity",
        {"entity_type": "user", "entity_id": "{other}"},
        lambda e, u, h: (e.entity_type, e.entity_id) == ("user", u["other"].id),
    ),
    ("incident by key", {"incident": "{incident_key}"}, lambda e, u, h: e.incident_id == h["incident"].id),
    ("incident by number", {"incident": "{other_number}"}, lambda e, u, h: e.incident_id == h["other"].id),
    (
        "from a date",
        {"from": "2025-03-31"},
        lambda e, u, h: e.occurred_at >= datetime(2025, 3, 31, tzinfo=UTC),
    ),
    (
        "to a date takes its whole day",
        {"to": "2025-03-31"},
        lambda e, u, h: e.occurred_at < datetime(2025, 4, 1, tzinfo=UTC),
    ),
    (
        "a window of times, both ends included",
        {"from": "2025-03-10T12:00:00Z", "to": "2025-04-01T02:00+02:00"},
        lambda e, u, h: datetime(2025, 3, 10, 12, tzinfo=UTC) <= e.occurred_at <= datetime(2025, 4, 1, tzinfo=UTC),
    ),
    (
        "a family by an actor within a window",
        {"action": "user.", "actor": "admin@example.com", "from": "2025-03-11", "to": "2025-12-31"},
        lambda e, u, h: (
            e.action.startswith("user.")
            and e.actor_id == u["admin"].id
            and datetime(2025, 3, 11, tzinfo=UTC) <= e.occurred_at < datetime(2026, 1, 1, tzinfo=UTC)
        ),
    ),
]


@pytest.mark.parametrize(("params", "matches"), [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS])
def test_each_filter_lists_exactly_the_events_it_names_newest_first(db, users, history, params, matches):
    values = {
        "lead": str(users["lead"].id),
        "other": str(users["other"].id),
        "incident_key": history["incident"].key,
        "other_number": str(history["other"].id),
    }
    params = {name: value.format(**values) for name, value in params.items()}
    everything = _everything(db)
    expected = [e.id for e in everything if matches(e, users, history)]
    assert 0 < len(expected) < len(everything)  # the filter narrows, and to something
    assert [e.id for e in _listed(db, **params)] == expected


def test_the_trail_reads_newest_first_by_time_even_where_the_chain_order_differs(db, history):
    listed = _everything(db)
    assert [(e.occurred_at, e.id) for e in listed] == sorted(((e.occurred_at, e.id) for e in listed), reverse=True)
    # The three events dated 2025 were appended last, yet are the oldest.
    assert [e.occurred_at.year for e in listed[-3:]] == [2025, 2025, 2025]
    assert listed[-1].id > listed[0].id


def test_an_event_carries_its_actor_incident_and_data(db, users, history):
    [commented] = _listed(db, action="incident.commented")
    assert (commented.actor.email, commented.actor.name) == ("lead@example.com", "Lee Lead")
    assert (commented.entity_type, commented.entity_id) == ("incident", history["incident"].id)
    assert commented.incident_key == history["incident"].key
    assert set(commented.data) == {"comment_id", "body_sha256"}
    created = _listed(db, action="user.created")
    assert {e.actor for e in created} == {None}  # the users fixture creates them as no user
    assert {e.data["email"] for e in created} == {
        "admin@example.com",
        "lead@example.com",
        "member@example.com",
        "other@example.com",
    }


def test_pages_follow_the_cursor_without_repeating_or_skipping_while_events_are_appended(db, users, history):
    before = [e.id for e in _everything(db)]
    seen: list[int] = []
    dated_long_ago: list[int] = []
    cursor = None
    while True:
        page = listing.page(session=db, actor=users["lead"], filters=listing.AuditFilters(), cursor=cursor, limit=4)
        seen.extend(e.id for e in page.events)
        # Meanwhile: a new event, and one dated long ago (a transaction that committed late).
        incidents.add_comment(session=db, incident_id=history["incident"].id, actor=users["member"], body="More.")
        late = audit.append(
            session=db,
            actor_id=None,
            action=EventType.USER_ENABLED,
            entity_type="user",
            entity_id=users["other"].id,
            occurred_at=datetime(2024, 1, 1, tzinfo=UTC),
        )
        db.commit()
        dated_long_ago.append(late.id)
        if page.next_cursor is None:
            break
        assert page.next_cursor == page.events[-1].id
        cursor = str(page.next_cursor)
    assert len(seen) == len(set(seen))  # no event twice
    assert [i for i in seen if i in set(before)] == before  # every event there at the start, in order
    # Events appended meanwhile come into the walk only where they sort after the cursor (older).
    assert set(seen) - set(before) <= set(dated_long_ago)
    assert set(seen) - set(before)


def test_the_last_page_has_no_cursor_and_a_limit_is_kept_within_bounds(db, users, history):
    total = len(_everything(db))
    whole = listing.page(session=db, actor=users["admin"], filters=listing.AuditFilters(), limit=10_000)
    assert (len(whole.events), whole.next_cursor) == (min(total, listing.MAX_LIMIT), None)
    one = listing.page(session=db, actor=users["admin"], filters=listing.AuditFilters(), limit=0)
    assert len(one.events) == 1
    assert one.next_cursor == one.events[0].id


@pytest.mark.parametrize(
    ("params", "name", "message"),
    [
        ({"action": "usr."}, "action", "Unknown action 'usr.': use an action family (api_token., evidence."),
        ({"action": "user.create"}, "action", "Unknown action 'user.create': user actions are user.created,"),
        ({"action": "*"}, "action", "Unknown action '*'"),
        ({"actor": "nobody@example.com"}, "actor", "No user with the email 'nobody@example.com'"),
        ({"actor": "999999"}, "actor", "No user with id 999999."),
        (
            {"entity_type": "comment"},
            "entity_type",
            "Unknown entity type 'comment': use evidence, incident, user, webhook.",
        ),
        ({"entity_type": "user", "entity_id": "x7"}, "entity_id", "entity_id 'x7' is not an id"),
        ({"entity_type": "user", "entity_id": "99999999999"}, "entity_id", "is not an id"),
        ({"entity_id": "7"}, "entity_id", "Give entity_type with entity_id"),
        ({"incident": "INC-424242"}, "incident", "No incident INC-424242"),
        ({"from": "2026-13-01"}, "from", "'2026-13-01' is not a date or a time"),
        ({"from": "yesterday"}, "from", "is not a date or a time"),
        ({"to": "2026-12-01T25:00"}, "to", "is not a date or a time"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "to", "to (2026-12-01) must be later than from (2026-12-02)."),
    ],
    ids=[
        "unknown-family",
        "unknown-action-in-a-known-family",
        "star-alone",
        "unknown-email",
        "unknown-user-id",
        "unknown-entity-type",
        "entity-id-not-a-number",
        "entity-id-past-the-column",
        "entity-id-without-type",
        "unknown-incident",
        "malformed-date",
        "words-for-a-date",
        "malformed-time",
        "window-backwards",
    ],
)
def test_a_value_that_matches_nothing_known_is_refused_naming_its_filter(db, users, params, name, message):
    with pytest.raises(ValidationFailed) as refused:
        listing.parse_filters(session=db, params=params)
    assert list(refused.value.field_errors) == [name]
    assert message in refused.value.field_errors[name]


def test_every_bad_filter_is_named_at_once(db, users):
    with pytest.raises(ValidationFailed) as refused:
        listing.parse_filters(session=db, params={"action": "usr.", "actor": "nobody@example.com", "from": "x"})
    assert set(refused.value.field_errors) == {"action", "actor", "from"}


def test_the_end_of_time_is_no_bound_and_blank_values_filter_nothing(db, users, history):
    everything = [e.id for e in _everything(db)]
    assert [e.id for e in _listed(db, to="9999-12-31")] == everything
    assert [e.id for e in _listed(db, action=" ", actor="", incident=None)] == everything


@pytest.mark.parametrize("cursor", ["abc", "-1", "0", "99999999999", "424242"])
def test_a_cursor_this_list_did_not_give_out_is_refused_by_name(db, users, history, cursor):
    with pytest.raises(ValidationFailed) as refused:
        listing.page(session=db, actor=users["lead"], filters=listing.AuditFilters(), cursor=cursor)
    assert list(refused.value.field_errors) == ["cursor"]


# "other" was a member: `history` made them a lead, and the policy reads the role as it is now.
@pytest.mark.parametrize(("who", "allowed"), [("member", False), ("other", True), ("lead", True), ("admin", True)])
def test_leads_admins_and_the_operator_read_the_audit_log_members_do_not(db, users, history, who, allowed):
    read = [
        lambda actor: listing.page(session=db, actor=actor, filters=listing.AuditFilters()),
        lambda actor: listing.iterate(session=db, actor=actor, filters=listing.AuditFilters()),
    ]
    for attempt in read:
        if allowed:
            attempt(users[who])
        else:
            with pytest.raises(PermissionDenied, match=r"Only leads and admins can read the audit log\."):
                attempt(users[who])  # refused at the call, not at the first row read
    assert listing.page(session=db, actor=SYSTEM, filters=listing.AuditFilters()).events


def test_a_disabled_lead_reads_nothing(db, users, history):
    accounts.set_active(session=db, actor=users["admin"], user_id=users["lead"].id, active=False)
    db.commit()
    with pytest.raises(PermissionDenied):
        listing.page(session=db, actor=users["lead"], filters=listing.AuditFilters())


def _statements(db, work) -> list[str]:
    seen: list[str] = []
    engine = db.get_bind()

    def capture(_conn, _cursor, statement, _parameters, _context, _many):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen


def test_a_page_is_one_query_whatever_its_actors_and_incidents(db, users, history):
    first = listing.page(session=db, actor=users["lead"], filters=listing.AuditFilters(), limit=20)
    assert len({e.actor_id for e in first.events}) >= 3
    assert len({e.incident_key for e in first.events}) >= 2
    statements = _statements(
        db, lambda: listing.page(session=db, actor=users["lead"], filters=listing.AuditFilters(), limit=20)
    )
    assert len(statements) == 1, statements
    statements = _statements(
        db,
        lambda: listing.page(
            session=db, actor=users["lead"], filters=listing.AuditFilters(), limit=5, cursor=first.events[4].id
        ),
    )
    assert len(statements) == 2, statements  # the cursor's position, then the page


def test_a_long_trail_streams_out_in_bounded_chunks(db, users, history):
    total = len(_everything(db))
    statements = _statements(
        db, lambda: list(listing.iterate(session=db, actor=SYSTEM, filters=listing.AuditFilters(), chunk=4))
    )
    assert len(statements) == total // 4 + 1
    assert all(re.search(r"\bLIMIT\b", statement) for statement in statements)
    oldest_first = list(
        listing.iterate(session=db, actor=SYSTEM, filters=listing.AuditFilters(), oldest_first=True, chunk=4)
    )
    assert [e.id for e in oldest_first] == [e.id for e in reversed(_everything(db))]
    capped = list(listing.iterate(session=db, actor=SYSTEM, filters=listing.AuditFilters(), max_events=5, chunk=2))
    assert len(capped) == 5


def test_an_exported_record_re_hashes_to_its_chain_hash(db, history):
    for item in _everything(db):
        record = json.loads(json.dumps(listing.record(item)))  # as an archive file holds it
        canonical = audit.canonical_json_of(
            action=record["action"],
            actor_id=record["actor_id"],
            data=record["data"],
            entity_id=record["entity_id"],
            entity_type=record["entity_type"],
            incident_id=record["incident_id"],
            occurred_at=datetime.fromisoformat(record["occurred_at"]),
        )
        assert audit.chain_hash(record["prev_hash"], canonical) == record["hash"], record


def test_no_secret_reaches_the_audit_log(db, users):
    settings = Settings(app_env="test", secret_key="x" * 40)
    endpoint, secret = notifications.create_endpoint(
        session=db,
        actor=users["admin"],
        settings=settings,
        url=WEBHOOK_URL + "?token=s3cr3t-in-url",
        event_types=["incident.created"],
    )
    _endpoint, rotated = notifications.rotate_secret(
        session=db, actor=users["admin"], settings=settings, endpoint_id=endpoint.id
    )
    _token, value = tokens.create_token(session=db, user=users["lead"], name="bridge", scope="read")
    db.commit()
    trail = json.dumps([listing.record(e) for e in _everything(db)])
    assert {"webhook.created", "webhook.secret_rotated", "api_token.created"} <= {e.action for e in _everything(db)}
    for leaked in (secret, rotated, value, "s3cr3t-in-url"):
        assert leaked not in trail


def _literals(pattern: str) -> set[str]:
    found = set()
    for path in (ROOT / "shared").rglob("*.py"):
        if "migrations" in path.parts or (path.name == "listing.py" and path.parent.name == "audit"):
            continue
        found |= set(re.findall(pattern, path.read_text(encoding="utf-8")))
    return found


def test_every_action_and_entity_type_appended_in_shared_is_one_the_filters_know():
    """An action or entity type the filters did not know would be refused as a typo, and its
    events could not be found by family: every string appended in shared/ is in the lists."""
    actions = _literals(r'action="([a-z_]+\.[a-z_]+)"')
    assert actions
    assert actions <= set(listing.ACTIONS)
    entity_types = _literals(r'entity_type="([a-z_]+)"')
    assert entity_types
    assert entity_types <= set(listing.ENTITY_TYPES)
    # Every event type is an audit action, but for the few that are only ever outbox messages.
    assert {str(e) for e in EventType} <= set(listing.ACTIONS) | listing.OUTBOX_ONLY
    assert not set(listing.ACTIONS) & listing.OUTBOX_ONLY
