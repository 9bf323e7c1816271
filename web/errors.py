"""The seam between domain errors and HTTP: which status each refusal gets, in one place.

HTML pages (web/app.py, the views) and the JSON API (web/api/problems.py) both read it, so the
site and the API answer the same refusal with the same status."""

from __future__ import annotations

from shared.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    ValidationFailed,
)

_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (PermissionDenied, 403),
    (TransitionNotAllowed, 409),
    (Conflict, 409),
    (ValidationFailed, 422),
)

# What a page adds to a Conflict: the page it is shown on was redrawn from the current row.
# Only true of the HTML pages; the API says instead which version is current (its ETag).
STALE_PAGE_HINT = "You are now looking at the latest version: check it, then try again."


def status_for(error: DomainError) -> int:
    """The HTTP status for a refused operation."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def page_message(error: DomainError) -> str:
    """The sentence an HTML page shows for `error` (a redrawn page says it is current)."""
    if isinstance(error, Conflict):
        return f"{error} {STALE_PAGE_HINT}"
    return str(error)
