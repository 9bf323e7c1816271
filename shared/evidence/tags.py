"""S3 object tags and key prefixes the worker writes and the Terraform lifecycle rules read.

This is the one place these names are agreed: terraform/modules/evidence_bucket and the
tests in tests/infra read them from here, so a rename here breaks the infra tests loudly.
"""

# Key prefixes inside the evidence bucket.
PREFIX_INCOMING = "incoming/"  # web writes uploads here; nothing is served from it
PREFIX_EVIDENCE = "evidence/"  # worker moves clean (or unscanned) files here
PREFIX_QUARANTINE = "quarantine/"  # worker moves infected/rejected files here; never served
PREFIX_THUMBNAILS = "thumbnails/"  # worker writes image thumbnails here

# Tag: result of the worker's checks. Only "clean" (or "not-scanned") objects may be read.
TAG_SCAN_STATUS = "scan-status"
SCAN_CLEAN = "clean"
SCAN_INFECTED = "infected"
SCAN_REJECTED = "rejected"
SCAN_ERROR = "error"
SCAN_NOT_SCANNED = "not-scanned"
SCAN_STATUS_VALUES = (
    SCAN_CLEAN,
    SCAN_INFECTED,
    SCAN_REJECTED,
    SCAN_ERROR,
    SCAN_NOT_SCANNED,
)

# Tag: retention class, rewritten by the worker when the incident is closed or reopened.
TAG_RETENTION = "retention"
RETENTION_ACTIVE = "active"  # incident not closed: keep in STANDARD
RETENTION_CLOSED = "closed"  # incident closed: lifecycle may transition and expire it
RETENTION_VALUES = (RETENTION_ACTIVE, RETENTION_CLOSED)

# Tag: legal hold. Always written ("true"/"false") so lifecycle filters can match "false"
# exactly: S3 lifecycle filters cannot express "tag absent".
TAG_LEGAL_HOLD = "legal-hold"
LEGAL_HOLD_ON = "true"
LEGAL_HOLD_OFF = "false"
