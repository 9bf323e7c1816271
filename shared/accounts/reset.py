"""Links to choose a password (reset, and a new account's invitation): signed, short-lived,
single-use, stored nowhere.

A link carries the user id and a digest of the user's current password hash, signed with
SECRET_KEY and timestamped (itsdangerous, Flask's own signer). It is made when the mail is sent
(by the worker, so no database row or queued mail holds a working link) and is good for
RESET_LINK_HOURS. Setting a password by any route changes the hash, so a used link, and every
other link of that account, stops working at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import CursorResult, or_, update
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.db import utcnow
from shared.timeutil import as_utc

RESET_LINK_HOURS = 1
# A new account's first link: the person may read the mail the next working day.
INVITE_LINK_HOURS = 72
# At most one reset mail per account in this time (its link works RESET_LINK_HOURS): the form
# answers alike for every address and is limited per client, but requests from many addresses
# could still fill one inbox.
RESET_MAIL_INTERVAL = timedelta(minutes=5)


def claim_reset_mail(session: Session, user: User, now: datetime) -> bool:
    """Take the account's one reset mail of this interval: True, and the account remembers `now`;
    False when one went out less than RESET_MAIL_INTERVAL ago. One conditional UPDATE, so two
    workers fanning out two requests at once cannot both take it (the second waits for the
    first's row lock, then finds the time set)."""
    claimed = session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.password_reset_mailed_at.is_(None), User.password_reset_mailed_at <= now - RESET_MAIL_INTERVAL),
        )
        .values(password_reset_mailed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return cast(CursorResult, claimed).rowcount == 1


_SALT = "incident-tracker.password-reset"
ACCOUNT_DISABLED = "This account is disabled: ask an admin to enable it."


@dataclass(frozen=True)
class ResetLink:
    user: User | None  # None: the link is not (or no longer) good
    problem: str = ""
    # A new account's invitation: the person chooses their first password (no "changed" notice).
    invitation: bool = False
    # A good link of a disabled account: said so, as only the mail's reader holds such a link.
    disabled: bool = False


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def _password_digest(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def make_token(*, secret_key: str, user: User, hours: int = RESET_LINK_HOURS) -> str:
    """The token of a link for `user` to choose a password, good for `hours` (signed into it)
    and until their password changes."""
    return _serializer(secret_key).dumps({"user": user.id, "password": _password_digest(user), "hours": hours})


def read_token(*, session: Session, secret_key: str, token: str) -> ResetLink:
    """The account a link may set a new password for, or why it may not."""
    unusable = "This link has been used already or is not a link we sent. Ask for a new one."
    try:
        # The signature first (the longest life any link has), then this link's own hours.
        claims, signed_at = _serializer(secret_key).loads(
            token, max_age=int(timedelta(hours=INVITE_LINK_HOURS).total_seconds()), return_timestamp=True
        )
    except SignatureExpired:
        return ResetLink(None, _expired(INVITE_LINK_HOURS))
    except BadSignature:
        return ResetLink(None, unusable)
    if not isinstance(claims, dict):
        return ResetLink(None, unusable)
    hours = claims.get("hours", RESET_LINK_HOURS)
    if not isinstance(hours, int) or utcnow() - as_utc(signed_at) > timedelta(hours=hours):
        return ResetLink(None, _expired(hours if isinstance(hours, int) else RESET_LINK_HOURS))
    user = session.get(User, claims.get("user"))
    if user is None:
        return ResetLink(None, unusable)
    if claims.get("password") != _password_digest(user):
        if hours == INVITE_LINK_HOURS and user.invited_at is not None and as_utc(user.invited_at) > as_utc(signed_at):
            # An invitation sent again ("Resend invite") ended this one. Signed by us: whoever
            # holds it read the invitation, so saying so tells a guesser nothing.
            return ResetLink(None, SUPERSEDED, invitation=True)
        return ResetLink(None, unusable)
    # Only invitations are signed for INVITE_LINK_HOURS, and a link ends once any password is
    # set; a reset link asked for before the invitation was opened is the first password too.
    invitation = hours == INVITE_LINK_HOURS or user.invited_at is not None
    if not user.is_active:
        # Signed by us for this account's current password: whoever holds it read the account's
        # mail, so saying the account is disabled tells a guesser nothing.
        return ResetLink(None, ACCOUNT_DISABLED, invitation=invitation, disabled=True)
    return ResetLink(user, invitation=invitation)


SUPERSEDED = "A newer invitation was sent after this one: use the link in the latest mail."


def _expired(hours: int) -> str:
    span = "an hour" if hours == 1 else f"{hours} hours"
    return f"This link has expired: it worked for {span}. Ask for a new one with \u201cForgot your password?\u201d."
