"""Password reset links: signed, short-lived, single-use, stored nowhere.

A link carries the user id and a digest of the user's current password hash, signed with
SECRET_KEY and timestamped (itsdangerous, Flask's own signer). It is made when the mail is sent
(by the worker, so no database row or queued mail holds a working link) and is good for
RESET_LINK_HOURS. Setting a password by any route changes the hash, so a used link, and every
other link of that account, stops working at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from shared.accounts.models import User

RESET_LINK_HOURS = 1
_SALT = "incident-tracker.password-reset"


@dataclass(frozen=True)
class ResetLink:
    user: User | None  # None: the link is not (or no longer) good
    problem: str = ""


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def _password_digest(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def make_token(*, secret_key: str, user: User) -> str:
    """The token of a reset link for `user`, good until their password changes or it expires."""
    return _serializer(secret_key).dumps({"user": user.id, "password": _password_digest(user)})


def read_token(*, session: Session, secret_key: str, token: str) -> ResetLink:
    """The account a reset link may set a new password for, or why it may not."""
    expired = "This link has expired: links to choose a new password work for an hour. Ask for a new one."
    unusable = "This link has been used already or is not a link we sent. Ask for a new one."
    try:
        claims = _serializer(secret_key).loads(token, max_age=int(timedelta(hours=RESET_LINK_HOURS).total_seconds()))
    except SignatureExpired:
        return ResetLink(None, expired)
    except BadSignature:
        return ResetLink(None, unusable)
    user = session.get(User, claims.get("user")) if isinstance(claims, dict) else None
    if user is None or not user.is_active or claims.get("password") != _password_digest(user):
        return ResetLink(None, unusable)
    return ResetLink(user)
