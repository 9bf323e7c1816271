"""Domain errors. They say what was refused and why, in a sentence a person can act on; they carry
no HTTP status and no page wording: web/errors.py maps them to HTML pages and to problem details."""

from __future__ import annotations


class DomainError(Exception):
    """A refused operation; `str(error)` is a message a person can act on."""


class NotFound(DomainError):
    """No such record (or none the caller may know about)."""


class PermissionDenied(DomainError):
    """The policy refuses this actor this action."""


class TransitionNotAllowed(DomainError):
    """The lifecycle has no such move from the current status."""


class Conflict(DomainError):
    """Someone else changed the record since the caller read it."""


class ValidationFailed(DomainError):
    """Input is wrong; `field_errors` maps each field name to its message."""

    def __init__(self, field_errors: dict[str, str]):
        self.field_errors = dict(field_errors)
        # Each message is already a sentence a person can act on; a field's name ("reason:")
        # means nothing to them, so `str(error)` is the sentences alone.
        super().__init__(" ".join(self.field_errors.values()))
