"""Names of the evidence audit actions, outbox topics and worker tasks, in one place.

Actions and topics are `shared.events.EventType` members; `shared.events.TASK_ROUTES` says which
task each topic starts.
"""

from __future__ import annotations

from shared.events import EVIDENCE_PROCESS_TASK, EVIDENCE_RETAG_TASK, EventType

# Audit actions (chain of custody: who, when, size, SHA-256).
EVIDENCE_UPLOADED = EventType.EVIDENCE_UPLOADED
EVIDENCE_DOWNLOADED = EventType.EVIDENCE_DOWNLOADED
EVIDENCE_VERDICT = EventType.EVIDENCE_VERDICT  # data: state, reason, sha256, size, detected type
EVIDENCE_LEGAL_HOLD_CHANGED = EventType.EVIDENCE_LEGAL_HOLD_CHANGED  # data: legal_hold (bool)
EVIDENCE_RETRIED = EventType.EVIDENCE_RETRIED

# Outbox topics.
TOPIC_UPLOADED = EventType.EVIDENCE_UPLOADED  # payload: evidence_id, incident_id
TOPIC_PROCESSED = EventType.EVIDENCE_PROCESSED  # payload: evidence_id, incident_id, state, as_of (the incident then)
TOPIC_RETRIED = EventType.EVIDENCE_RETRIED  # payload: evidence_id, incident_id
TOPIC_LEGAL_HOLD_CHANGED = EventType.EVIDENCE_LEGAL_HOLD_CHANGED  # payload: incident_id, legal_hold

# Task names (explicit and stable: the outbox publishes by name).
TASK_PROCESS = EVIDENCE_PROCESS_TASK  # kwargs: evidence_id
TASK_RETAG = EVIDENCE_RETAG_TASK  # kwargs: incident_id
