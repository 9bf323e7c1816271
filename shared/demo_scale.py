"""Seed a PostgreSQL database with up to millions of realistic incidents, for `make bench` and
the query-plan tests (`flask --app web demo seed-scale --incidents 1000000`).

Rows are generated inside PostgreSQL (INSERT ... SELECT over generate_series) and the audit
events are hashed here and streamed in with COPY, so 1M incidents take minutes, not the hours
the service layer would. Distributions follow a team with a few years of history: ~80 % closed,
a long tail over ~200 components, recurring phrases in titles, three years of timestamps, due dates
on ~40 % of the active incidents (weeks overdue to weeks ahead) and ~10 % of the closed ones, and a
discussion of one to three comments on ~20 % of them (a few of them naming a change ticket), and
a follow-up on ~5 % (done on most closed ones).
Seeding is additive and idempotent: a database that already holds N incidents is left alone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit import service as audit
from shared.incidents.models import Incident
from shared.permissions import SYSTEM

EXTRA_USERS = 47
# The incident whose page carries a long timeline (the bench's "incident page with 400 events").
TIMELINE_EVENTS = 400

_COMPONENT_BASES = [
    "rds", "redis", "alb", "ecs", "s3", "network", "dns", "acm", "iam", "kafka", "api-gateway",
    "monitoring", "logging", "ci", "terraform", "secrets", "bastion", "docker", "billing", "auth",
    "search", "checkout", "payments", "cdn", "vpn", "nat", "sqs", "sns", "lambda", "cognito",
    "elasticache", "opensearch", "grafana", "prometheus", "batch", "emr", "glue", "athena", "ses", "waf",
]  # fmt: skip
COMPONENTS = [f"{base}-{n}" if n else base for n in range(5) for base in _COMPONENT_BASES]  # 200

_PROBLEMS = [
    "Disk full", "Certificate expired", "Certificate expires soon", "High CPU", "Memory pressure",
    "Connection pool exhausted", "Replication lag", "5xx spike", "Latency regression", "Timeouts",
    "OOM-killed tasks", "Health checks failing", "Queue backlog growing", "Throttling errors",
    "DNS resolution failures", "Deploy rollback needed", "Backup job failed", "Cost anomaly",
    "Permission denied errors", "Stuck state lock", "Slow queries", "Evictions climbing",
    "Flapping alarm", "Packet loss", "Config drift detected",
]  # fmt: skip
_DETAILS = [
    "Started right after the last deploy.", "Paged twice overnight; auto-recovered once.",
    "Customers report errors at checkout.", "See the runbook; the usual fix did not hold.",
    "Alarm threshold may be too tight at p99.", "Support case opened with AWS.",
    "Only one availability zone affected.", "Graph shows a slow climb since Monday.",
    "Rolled back, root cause still unknown.", "Capacity was raised as a stopgap.",
    "Correlates with the nightly batch window.", "Seen before in staging last quarter.",
]  # fmt: skip
# What people write in an incident's discussion: words the titles and descriptions mostly lack
# ("postmortem", "handover"), so a search by them is answered by the comments.
_REMARKS = [
    "Paged the service owner; they are looking at it now.",
    "Restarted the affected tasks, errors dropped for ten minutes and came back.",
    "Mitigated by failing over to the standby; root cause still open.",
    "Postmortem scheduled for Thursday, draft timeline in the doc.",
    "Handover to the next shift: notes are in the runbook.",
    "Vendor acknowledged the issue and is working on a fix.",
    "Customer support confirmed the impact is limited to one region.",
    "Raised the alarm threshold for now; revisit after the fix.",
]  # fmt: skip
# Share of incidents with a discussion, and of comments that name their change ticket (CHG-<n>,
# n = 100000 + the incident's id: one incident each, the rare word only comments hold).
COMMENTED_SHARE = 0.20
TICKET_SHARE = 0.25
# Share of incidents with a follow-up ("Your follow-ups" on the dashboard reads the open ones by owner).
FOLLOW_UP_SHARE = 0.05
_FOLLOW_UPS = [
    "Add an alert on replica lag",
    "Write the postmortem",
    "Rotate the credentials that were exposed",
    "Add a runbook entry for this failure",
    "Raise the disk alarm threshold",
    "Load-test the fix before the next release",
]  # fmt: skip


@dataclass(frozen=True)
class ScaleReport:
    incidents: int
    added: int
    audit_events: int
    seconds: float


def seed_scale(*, engine: Engine, incidents: int, password: str, audit_events: bool = True) -> ScaleReport:
    """Bring the database to `incidents` incidents (PostgreSQL only); returns what it did."""
    if engine.dialect.name != "postgresql":
        raise ValueError("seed-scale needs PostgreSQL (it generates rows with generate_series and COPY).")
    started = time.monotonic()
    user_ids = _ensure_users(engine, password)
    with Session(engine) as session:
        existing = session.scalar(select(func.count(Incident.id))) or 0
        first_id = (session.scalar(select(func.max(Incident.id))) or 0) + 1
    added = max(0, incidents - existing)
    events = 0
    if added:
        _insert_incidents(engine, first_id, added, user_ids)
        if audit_events:
            events = _append_audit_events(engine, first_id, first_id + added - 1)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # Autovacuum is off on the shared server: without this the planner has no statistics
            # and index-only scans no visibility map.
            connection.execute(text("VACUUM ANALYZE incidents"))
            connection.execute(text("VACUUM ANALYZE audit_events"))
            connection.execute(text("VACUUM ANALYZE incident_comments"))
            connection.execute(text("VACUUM ANALYZE incident_follow_ups"))
    return ScaleReport(incidents=existing + added, added=added, audit_events=events, seconds=time.monotonic() - started)


def _ensure_users(engine: Engine, password: str) -> list[int]:
    from shared.demo import DEMO_USERS

    with Session(engine) as session:
        emails = set(session.scalars(select(User.email)))
        for email, name, role in DEMO_USERS:
            if email not in emails:
                accounts.create_user(
                    session=session, actor=SYSTEM, email=email, name=name, role=role, password=password
                )
        session.flush()
        # Owners and reporters for the spread; they share the member's password hash (argon2 at
        # production cost is ~0.1 s per hash, by design) and are not audited (a fixture, not a hire).
        shared_hash = session.scalar(select(User.password_hash).where(User.email == "member@example.com"))
        for n in range(EXTRA_USERS):
            email = f"engineer{n:02d}@example.com"
            if email not in emails:
                session.add(User(email=email, name=f"Engineer {n:02d}", role="member", password_hash=shared_hash))
        session.commit()
        return list(session.scalars(select(User.id).order_by(User.id)))


def _insert_incidents(engine: Engine, first_id: int, count: int, user_ids: list[int]) -> None:
    last_id = first_id + count - 1
    with engine.begin() as connection:
        # On an empty table, building the indexes once afterwards is several times faster than
        # maintaining nine of them (three GIN) row by row; the same for the comments' two.
        definitions: list[tuple[str, str]] = []
        if first_id == 1:
            definitions = list(
                connection.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes"
                        " WHERE tablename IN ('incidents', 'incident_comments')"
                        " AND indexname NOT IN ('pk_incidents', 'uq_incidents_key', 'pk_incident_comments')"
                    )
                )
            )
            for name, _definition in definitions:
                connection.execute(text(f'DROP INDEX "{name}"'))
        connection.execute(text("SELECT setseed(:seed)"), {"seed": (first_id % 1000) / 1000})
        connection.execute(text("SET LOCAL work_mem = '64MB'"))
        connection.execute(
            text(
                """
                INSERT INTO incidents (id, key, title, description, status, priority, component, environment,
                    owner_id, reporter_id, created_at, updated_at, activity_at, in_progress_at, acknowledged_at,
                    blocked_at, resolved_at, closed_at, blocked_reason, resolution_summary, due_date, version)
                SELECT id, 'INC-' || id, title, description, status, priority, component, environment,
                    -- The last activity is the last change: the comments and follow-ups below are
                    -- written before it.
                    owner_id, reporter_id, created_at, updated_at, updated_at,
                    CASE WHEN status <> 'open' THEN created_at + (updated_at - created_at) / 4 END,
                    CASE WHEN status <> 'open' THEN created_at + (updated_at - created_at) / 5 END,
                    CASE WHEN status = 'blocked' THEN created_at + (updated_at - created_at) / 2 END,
                    CASE WHEN status IN ('resolved', 'closed') THEN created_at + (updated_at - created_at) / 2 END,
                    CASE WHEN status = 'closed' THEN updated_at END,
                    CASE WHEN status = 'blocked' THEN 'Waiting on a vendor' END,
                    CASE WHEN status IN ('resolved', 'closed') THEN 'Fixed and verified.' END,
                    -- Due dates (the `due:` filters, `sort:due`): ~40 % of the active incidents, from
                    -- four weeks overdue to four weeks ahead of today (UTC, as the Overdue badge counts);
                    -- ~10 % of the Closed ones, a week or two after they were filed (long past).
                    CASE WHEN status <> 'closed' AND h.d < 0.40
                             THEN CAST(now() AT TIME ZONE 'UTC' AS date) + (floor(h.w * 57)::int - 28)
                         WHEN status = 'closed' AND h.d < 0.10
                             THEN CAST(created_at AT TIME ZONE 'UTC' AS date) + (1 + floor(h.w * 14)::int)
                    END,
                    1
                FROM (
                    SELECT g AS id,
                        p.problem || ' on ' || c.component AS title,
                        p.problem || ' on ' || c.component || '. ' || d.detail || ' ' ||
                            (CAST(:details AS text[]))[1 + (g % CAST(:details_n AS int))] AS description,
                        CASE WHEN r.s < 0.80 THEN 'closed' WHEN r.s < 0.86 THEN 'resolved'
                             WHEN r.s < 0.93 THEN 'open' WHEN r.s < 0.98 THEN 'in_progress'
                             ELSE 'blocked' END AS status,
                        CASE WHEN r.p < 0.05 THEN 'P1' WHEN r.p < 0.25 THEN 'P2'
                             WHEN r.p < 0.70 THEN 'P3' ELSE 'P4' END AS priority,
                        c.component,
                        CASE WHEN r.e < 0.6 THEN 'prod' WHEN r.e < 0.8 THEN 'staging'
                             WHEN r.e < 0.93 THEN 'dev' WHEN r.e < 0.97 THEN 'preview' ELSE 'shared' END
                            AS environment,
                        CASE WHEN r.o < 0.15 THEN NULL
                             ELSE (CAST(:users AS int[]))[1 + floor(r.o * :user_count)::int % :user_count] END
                            AS owner_id,
                        (CAST(:users AS int[]))[1 + (g % :user_count)] AS reporter_id,
                        r.created AS created_at,
                        r.created + (now() - r.created) * (r.u ^ 3) AS updated_at
                    FROM generate_series(:first, :last) AS g
                    CROSS JOIN LATERAL (
                        SELECT random() AS s, random() AS p, random() AS e, random() AS o, random() AS u,
                               random() AS k, random() AS q, random() AS t,
                               now() - interval '3 years' * random() AS created
                        WHERE g = g
                    ) AS r
                    CROSS JOIN LATERAL (
                        SELECT (CAST(:components AS text[]))
                            [1 + floor(CAST(:components_n AS int) * r.k ^ 2)::int] AS component
                    ) AS c
                    CROSS JOIN LATERAL (
                        SELECT (CAST(:problems AS text[]))
                            [1 + floor(CAST(:problems_n AS int) * r.q ^ 1.5)::int] AS problem
                    ) AS p
                    CROSS JOIN LATERAL (
                        SELECT (CAST(:details AS text[]))[1 + floor(CAST(:details_n AS int) * r.t)::int] AS detail
                    ) AS d
                ) AS rows
                -- From a hash of the id, not random(): the other columns keep the values they always had.
                CROSS JOIN LATERAL (
                    SELECT ('x' || substr(md5(CAST(id AS text)), 1, 8))::bit(32)::bigint / 4294967296.0 AS d,
                           ('x' || substr(md5(CAST(id AS text)), 9, 8))::bit(32)::bigint / 4294967296.0 AS w
                ) AS h
                """
            ),
            {
                "first": first_id,
                "last": last_id,
                "users": user_ids,
                "user_count": len(user_ids),
                "details": _DETAILS,
                "details_n": len(_DETAILS),
                "components": COMPONENTS,
                "components_n": len(COMPONENTS),
                "problems": _PROBLEMS,
                "problems_n": len(_PROBLEMS),
            },
        )
        connection.execute(text("SELECT setval(pg_get_serial_sequence('incidents', 'id'), :last)"), {"last": last_id})
        # The first incident carries a long discussion: the page that renders most Markdown.
        if first_id == 1:
            connection.execute(
                text(
                    "INSERT INTO incident_comments (incident_id, author_id, body, created_at)"
                    " SELECT 1, (CAST(:users AS int[]))[1 + (g % :user_count)],"
                    " '**Update ' || g || ':** checked `pg_stat_activity`, see [runbook](https://example.com/rb).'"
                    " || E'\\n\\n- restarted the writer\\n- raised the pool to ' || (g % 50 + 10) || E'\\n\\n'"
                    " || '> still watching the graph', now() - interval '1 minute' * (:n - g)"
                    " FROM generate_series(1, :n) AS g"
                ),
                {"users": user_ids, "user_count": len(user_ids), "n": TIMELINE_EVENTS},
            )
            # Its discussion goes on to now: that is its last activity.
            connection.execute(text("UPDATE incidents SET activity_at = GREATEST(activity_at, now()) WHERE id = 1"))
        _insert_discussions(connection, first_id, last_id, user_ids)
        _insert_follow_ups(connection, first_id, last_id)
        for _name, definition in definitions:
            connection.execute(text(definition))


def _insert_discussions(connection, first_id: int, last_id: int, user_ids: list[int]) -> None:
    """One to three comments on ~COMMENTED_SHARE of the incidents (not INC-1, which has its own),
    written between the incident's creation and its last change. Chosen from a hash of the id,
    like the due dates: the incidents' own columns keep the values they always had."""
    connection.execute(
        text(
            """
            INSERT INTO incident_comments (incident_id, author_id, body, created_at)
            SELECT i.id,
                (CAST(:users AS int[]))[1 + ((i.id + n) % :user_count)],
                (CAST(:remarks AS text[]))[1 + ((i.id * 7 + n) % CAST(:remarks_n AS int))]
                    || CASE WHEN h.t < :ticket_share AND n = 1
                            THEN ' Change ticket CHG-' || (100000 + i.id) || '.' ELSE '' END,
                i.created_at + (i.updated_at - i.created_at) * n / (h.comments + 1)
            FROM incidents AS i
            CROSS JOIN LATERAL (
                SELECT ('x' || substr(md5(CAST(i.id AS text)), 17, 8))::bit(32)::bigint / 4294967296.0 AS c,
                       1 + ('x' || substr(md5(CAST(i.id AS text)), 25, 8))::bit(32)::bigint % 3 AS comments,
                       ('x' || substr(md5(CAST(i.id AS text) || 't'), 1, 8))::bit(32)::bigint / 4294967296.0 AS t
            ) AS h
            CROSS JOIN LATERAL generate_series(1, h.comments) AS n
            WHERE i.id BETWEEN :first AND :last AND i.id <> 1 AND h.c < :share
            ORDER BY i.id, n
            """
        ),
        {
            "first": first_id,
            "last": last_id,
            "users": user_ids,
            "user_count": len(user_ids),
            "remarks": _REMARKS,
            "remarks_n": len(_REMARKS),
            "share": COMMENTED_SHARE,
            "ticket_share": TICKET_SHARE,
        },
    )


def _insert_follow_ups(connection, first_id: int, last_id: int) -> None:
    """A follow-up on ~FOLLOW_UP_SHARE of the incidents, owned by the incident's owner (else its
    reporter), added by the reporter, due a week or more after it was filed (on ~60 %); most
    of a closed incident's are done. Chosen from a hash of the id, as the discussions are."""
    connection.execute(
        text(
            """
            INSERT INTO incident_follow_ups (incident_id, title, owner_id, due_date, done_at, done_by_id,
                created_by_id, created_at, updated_at, version)
            SELECT i.id,
                (CAST(:titles AS text[]))[1 + (i.id % CAST(:titles_n AS int))],
                COALESCE(i.owner_id, i.reporter_id),
                CASE WHEN h.d < 0.60
                     THEN CAST(i.created_at AT TIME ZONE 'UTC' AS date) + (7 + floor(h.d * 50)::int) END,
                CASE WHEN i.status = 'closed' AND h.d < 0.85 THEN i.updated_at END,
                CASE WHEN i.status = 'closed' AND h.d < 0.85 THEN COALESCE(i.owner_id, i.reporter_id) END,
                i.reporter_id, i.created_at, i.updated_at, 1
            FROM incidents AS i
            CROSS JOIN LATERAL (
                SELECT ('x' || substr(md5(CAST(i.id AS text) || 'f'), 1, 8))::bit(32)::bigint / 4294967296.0 AS f,
                       ('x' || substr(md5(CAST(i.id AS text) || 'f'), 9, 8))::bit(32)::bigint / 4294967296.0 AS d
            ) AS h
            WHERE i.id BETWEEN :first AND :last AND h.f < :share
            ORDER BY i.id
            """
        ),
        {
            "first": first_id,
            "last": last_id,
            "titles": _FOLLOW_UPS,
            "titles_n": len(_FOLLOW_UPS),
            "share": FOLLOW_UP_SHARE,
        },
    )


def _append_audit_events(engine: Engine, first_id: int, last_id: int) -> int:
    """One `incident.created` event per new incident and one `incident.commented` per comment
    (after its incident's), hashed in id order onto the existing chain and streamed in with COPY."""
    # psycopg2 underneath (untyped): its cursors are context managers, named ones stream.
    raw: Any = engine.raw_connection()
    written = 0
    try:
        with raw.cursor() as cursor:
            # The same lock as every other append, held to the end: nobody chains in between.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (audit.CHAIN_LOCK_ID,))
            cursor.execute("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")
            last = cursor.fetchone()
        prev_hash = last[0] if last else audit.GENESIS_HASH
        reader = raw.cursor(name="seed_scale_incidents")  # server-side: rows stream, memory stays flat
        reader.itersize = 20_000
        reader.execute(
            "SELECT id, title, priority, component, environment, owner_id, reporter_id, created_at"
            " FROM incidents WHERE id BETWEEN %s AND %s ORDER BY id",
            (first_id, last_id),
        )
        # The comments of the same incidents, streamed beside them in the same order.
        comment_reader = raw.cursor(name="seed_scale_comments")
        comment_reader.itersize = 20_000
        comment_reader.execute(
            "SELECT incident_id, id, author_id, body, created_at FROM incident_comments"
            " WHERE incident_id BETWEEN %s AND %s ORDER BY incident_id, id",
            (first_id, last_id),
        )
        comments = iter(comment_reader)
        pending = next(comments, None)
        writer = raw.cursor()
        buffer = io.StringIO()
        out = csv.writer(buffer)

        def emit(action: str, actor_id: int, entity_id: int, incident_id: int, data: dict, occurred) -> None:
            nonlocal prev_hash, written
            canonical = audit.canonical_json_of(
                action=action,
                actor_id=actor_id,
                data=data,
                entity_id=entity_id,
                entity_type="incident",
                incident_id=incident_id,
                occurred_at=occurred,
            )
            digest = audit.chain_hash(prev_hash, canonical)
            out.writerow(
                [occurred.isoformat(), actor_id, action, "incident", entity_id, incident_id,
                 json.dumps(data, ensure_ascii=False), prev_hash, digest]
            )  # fmt: skip
            prev_hash = digest
            written += 1

        def flush() -> None:
            buffer.seek(0)
            writer.copy_expert(
                "COPY audit_events (occurred_at, actor_id, action, entity_type, entity_id, incident_id, data,"
                " prev_hash, hash) FROM STDIN WITH (FORMAT csv)",
                buffer,
            )
            buffer.seek(0)
            buffer.truncate()

        for incident_id, title, priority, component, environment, owner_id, reporter_id, created in reader:
            data = {
                "title": title,
                "priority": priority,
                "component": component,
                "environment": environment,
                "owner_id": owner_id,
            }
            emit("incident.created", reporter_id, incident_id, incident_id, data, created)
            while pending is not None and pending[0] == incident_id:
                _incident, comment_id, author_id, body, at = pending
                emit(
                    "incident.commented",
                    author_id,
                    incident_id,
                    incident_id,
                    {"comment_id": comment_id, "body_sha256": hashlib.sha256(body.encode("utf-8")).hexdigest()},
                    at,
                )
                pending = next(comments, None)
            if buffer.tell() > 8_000_000:
                flush()
        flush()
        reader.close()
        comment_reader.close()
        raw.commit()
    finally:
        raw.close()
    return written
