"""Names of the evidence audit actions and outbox topics, in one place.

The lead maps these onto the shared `EventType` enum at merge; until then every evidence
module imports them from here, never spells them itself.
"""

from __future__ import annotations

# Audit actions (chain of custody: who, when, size, SHA-256).
EVIDENCE_UPLOADED = "evidence.uploaded"
EVIDENCE_DOWNLOADED = "evidence.downloaded"
EVIDENCE_VERDICT = "evidence.verdict"  # data: state, reason, sha256, size, detected type
EVIDENCE_LEGAL_HOLD_CHANGED = "evidence.legal_hold_changed"  # data: on (bool)
EVIDENCE_RETRIED = "evidence.retried"

# Outbox topics (the relay maps each to a worker task, see TOPIC_TASKS).
TOPIC_UPLOADED = "evidence.uploaded"  # payload: evidence_id, incident_id
TOPIC_PROCESSED = "evidence.processed"  # payload: evidence_id, incident_id, state
TOPIC_RETRIED = "evidence.retried"  # payload: evidence_id, incident_id
TOPIC_LEGAL_HOLD_CHANGED = "evidence.legal_hold_changed"  # payload: incident_id, on
# Incident topics whose tasks re-tag the evidence (written by shared/incidents/service.py).
TOPIC_INCIDENT_STATUS_CHANGED = "incident.status_changed"

# Task names (explicit and stable: the outbox publishes by name).
TASK_PROCESS = "incident_tracker.evidence.process"  # args: evidence_id
TASK_RETAG = "incident_tracker.evidence.retag"  # args: incident_id

# topic -> task, for the relay: which task a message starts, and with which payload key.
TOPIC_TASKS = {
    TOPIC_UPLOADED: (TASK_PROCESS, "evidence_id"),
    TOPIC_RETRIED: (TASK_PROCESS, "evidence_id"),
    TOPIC_LEGAL_HOLD_CHANGED: (TASK_RETAG, "incident_id"),
    # Only a move to or from Closed changes the retention class; the retag task is a no-op
    # tag-merge otherwise, so mapping every status change is safe.
    TOPIC_INCIDENT_STATUS_CHANGED: (TASK_RETAG, "incident_id"),
}
