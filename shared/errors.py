"""Domain errors: the web layer maps them to 400/403/404/409/422 with the message as-is."""

from __future__ import annotations


class DomainError(Exception):
    """A refused operation; `str(error)` is a message a person can act on."""

    http_status = 400


class NotFound(DomainError):
    http_status = 404


class PermissionDenied(DomainError):
    http_status = 403


class TransitionNotAllowed(DomainError):
    http_status = 409


class Conflict(DomainError):
    """Someone else changed the record since the caller read it."""

    http_status = 409


class ValidationFailed(DomainError):
    """Input is wrong; `field_errors` maps each field name to its message."""

    http_status = 422

    def __init__(self, field_errors: dict[str, str]):
        self.field_errors = dict(field_errors)
        # Each message is already a sentence a person can act on; a field's name ("reason:")
        # means nothing to them, so `str(error)` is the sentences alone.
        super().__init__(" ".join(self.field_errors.values()))
