"""Test data builders shared by the test folders (imported as `factories`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.incidents import service as incidents
from shared.incidents.models import Incident

PASSWORD = "correct-horse-battery"
# The accounts the root `users` fixture makes: key -> (email, name, role).
USER_SPECS = {
    "admin": ("admin@example.com", "Ada Admin", "admin"),
    "lead": ("lead@example.com", "Lee Lead", "lead"),
    "member": ("member@example.com", "Mo Member", "member"),
    "other": ("other@example.com", "Oti Other", "member"),
}

# The shortest legal walk from Open to each status, made by a lead.
WALKS: dict[str, list[tuple[str, str | None]]] = {
    "open": [],
    "in_progress": [("in_progress", None)],
    "blocked": [("in_progress", None), ("blocked", "Waiting on AWS support")],
    "resolved": [("in_progress", None), ("resolved", "Restarted the writer")],
    "closed": [("in_progress", None), ("resolved", "Restarted the writer"), ("closed", None)],
}


def build_incident(
    db: Session, users: dict[str, User], status: str, *, reporter: str, owner: str | None, **details
) -> Incident:
    """File an incident as `reporter`, have the lead assign `owner`, walk it to `status`, commit."""
    details.setdefault("title", "RDS primary CPU pinned at 100%")
    incident = incidents.create_incident(session=db, actor=users[reporter], **details)
    if owner is not None:
        # Assigning is a lead's move; members may only take an incident themselves.
        incident = incidents.assign(session=db, incident_id=incident.id, actor=users["lead"], owner_id=users[owner].id)
    for target, reason in WALKS[status]:
        incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to=target, reason=reason)
    db.commit()
    return incident
