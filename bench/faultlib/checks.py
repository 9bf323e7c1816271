"""What the run's own database says happened: read with plain SQL, never through the app."""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg2

FINAL_STATES = ("clean", "infected", "rejected", "error", "not_scanned")


class Db:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def rows(self, sql: str, *args) -> list[tuple]:
        connection = psycopg2.connect(self.dsn, connect_timeout=5)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(sql, args)
                return cursor.fetchall()
        finally:
            connection.close()

    def value(self, sql: str, *args):
        return self.rows(sql, *args)[0][0]


@dataclass
class EvidenceFacts:
    id: int
    name: str
    state: str
    attempts: int
    storage_key: str
    verdicts: int  # evidence.verdict audit events
    processed_messages: int  # evidence.processed outbox messages (what notifications fan out from)
    retries: int  # evidence.retried audit events (a lead's Retry)


def evidence(db: Db, incident_key: str) -> list[EvidenceFacts]:
    rows = db.rows(
        """
        SELECT e.id, e.display_name, e.state, e.attempts, e.storage_key,
          (SELECT count(*) FROM audit_events a WHERE a.action = 'evidence.verdict' AND a.entity_id = e.id
             AND a.entity_type = 'evidence'),
          (SELECT count(*) FROM outbox_messages o WHERE o.topic = 'evidence.processed'
             AND (o.payload::jsonb ->> 'evidence_id')::int = e.id),
          (SELECT count(*) FROM audit_events a WHERE a.action = 'evidence.retried' AND a.entity_id = e.id
             AND a.entity_type = 'evidence')
        FROM evidence e JOIN incidents i ON i.id = e.incident_id WHERE i.key = %s ORDER BY e.id
        """,
        incident_key,
    )
    return [EvidenceFacts(*row) for row in rows]


def wait_evidence_final(db: Db, incident_key: str, count: int, timeout: float) -> list[EvidenceFacts]:
    """The incident's evidence once `count` rows exist and none is pending (or at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        items = evidence(db, incident_key)
        if len(items) >= count and all(item.state in FINAL_STATES for item in items):
            return items
        if time.monotonic() > deadline:
            return items
        time.sleep(0.5)


def unpublished_messages(db: Db) -> int:
    return db.value("SELECT count(*) FROM outbox_messages WHERE published_at IS NULL")


def wait_outbox_drained(db: Db, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (left := unpublished_messages(db)) and time.monotonic() < deadline:
        time.sleep(1)
    return left


def half_written_incidents(db: Db) -> list[str]:
    """Incidents missing their `incident.created` audit event or outbox message (or with two)."""
    rows = db.rows(
        """
        SELECT i.key,
          (SELECT count(*) FROM audit_events a WHERE a.action = 'incident.created' AND a.incident_id = i.id),
          (SELECT count(*) FROM outbox_messages o WHERE o.topic = 'incident.created'
             AND (o.payload::jsonb ->> 'incident_id')::int = i.id)
        FROM incidents i
        """
    )
    return [
        f"{key} (audit {audits}, outbox {messages})" for key, audits, messages in rows if (audits, messages) != (1, 1)
    ]


def created_events_without_incident(db: Db) -> int:
    return db.value(
        "SELECT count(*) FROM audit_events a WHERE a.action = 'incident.created'"
        " AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = a.entity_id)"
    )


def incident_keys(db: Db, titles: list[str]) -> dict[str, int]:
    """How many incidents carry each of these titles."""
    counts = dict.fromkeys(titles, 0)
    for (title,) in db.rows("SELECT title FROM incidents WHERE title = ANY(%s)", titles):
        counts[title] += 1
    return counts
