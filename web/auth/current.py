"""The signed-in user as Flask-Login sees it: the domain User plus its login-session id."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from shared.accounts.models import User
from shared.incidents.models import Incident
from shared.permissions import Action, can


class SignedInUser:
    """Wraps a User; Flask-Login stores `get_id()` — the server-side session id, not the
    user id — so revoking the session row signs the browser out."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user: User, token: str):
        self.user = user
        self.token = token

    def get_id(self) -> str:
        return self.token

    def __getattr__(self, name):
        return getattr(self.user, name)

    def can(self, action: Action | str, incident: Incident | None = None) -> bool:
        return can(self.user, Action(action), incident)


def require(action: Action, incident: Incident | None = None) -> None:
    """Abort with 403 unless the current user may do `action`."""
    if not current_user.is_authenticated or not can(current_user.user, action, incident):
        abort(403)
