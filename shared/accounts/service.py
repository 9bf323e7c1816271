"""User accounts and server-side login sessions."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import cast

import email_validator
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from shared.accounts.models import ApiToken, LoginSession, Role, User
from shared.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from shared.audit import service as audit
from shared.db import utcnow
from shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shared.events import EventType
from shared.outbox import service as outbox
from shared.permissions import SYSTEM, Action, SystemPrincipal, can
from shared.text import one_line, unwanted_message
from shared.timeutil import as_utc

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The longest email address and name an account takes (what User.email and User.name hold).
EMAIL_MAX = 254
NAME_MAX = 120

# Mail inside an Active Directory domain is often name@corp.local: a self-hosted tracker must
# take it. The library refuses special-use names by default; its documentation lets that list be
# changed, and only "local" goes.
if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")


def email_problem(email: str) -> str | None:
    """Why `email` cannot be an account's address, in words, or None. Refused: what is not an
    address (RFC 5322), control, direction-override and invisible characters (an address that
    reads as someone else's), and a non-ASCII part our SMTP mail cannot reach."""
    try:
        checked = email_validator.validate_email(email, check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError as error:
        return f"{error} Enter an address like name@example.com."
    if not email.isascii():
        return f"Type the domain as mail servers know it: {checked.ascii_email}."
    return None


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def get_user(*, session: Session, user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = session.get(User, user_id) if 0 < user_id < 2**31 else None  # past the column: no such user
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def find_by_email(*, session: Session, email: str) -> User | None:
    """The user with this email (case-insensitive), if any."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def list_users(*, session: Session) -> list[User]:
    """All users, by email."""
    return list(session.scalars(select(User).order_by(User.email)))


def last_sign_ins(*, session: Session) -> dict[int, datetime]:
    """user id -> when their newest login session began (signing in, or choosing or changing a
    password); users who never signed in are absent. One grouped query for the Users page: it
    reads every row of login_sessions (one per sign-in, none deleted; the team is small)."""
    rows = session.execute(
        select(LoginSession.user_id, func.max(LoginSession.created_at)).group_by(LoginSession.user_id)
    )
    return {user_id: started for user_id, started in rows}


Actor = User | SystemPrincipal | None


def _require(actor: Actor, action: Action) -> User | SystemPrincipal:
    """The acting principal, checked against the policy. `None` is the old spelling of SYSTEM,
    still accepted from callers that predate it; it goes through `can()` like everyone."""
    principal = SYSTEM if actor is None else actor
    if not can(principal, action):
        raise PermissionDenied("Only admins can manage users.")
    return principal


def token_digest(token: str) -> str:
    """How a bearer value (login-session cookie, API token) is stored and looked up: its
    SHA-256. The values are 256-bit random, so a fast hash suffices, and a leaked table
    holds nothing that signs anyone in."""
    return hashlib.sha256(token.encode()).hexdigest()


def _parse_role(role: str) -> Role:
    try:
        return Role(role.strip().lower())
    except ValueError:
        raise ValidationFailed({"role": f"Unknown role {role!r}: use member, lead or admin."}) from None


def create_user(
    *,
    session: Session,
    actor: Actor,
    email: str,
    name: str,
    role: str,
    password: str,
) -> User:
    """Create an account with a role; refuses a taken email or an easily guessed password."""
    actor = _require(actor, Action.MANAGE_USERS)
    errors: dict[str, str] = {}
    email = normalise_email(email)
    name = one_line(name or "")
    if len(email) > EMAIL_MAX:
        errors["email"] = f"The email address is too long: use at most {EMAIL_MAX} characters."
    elif not EMAIL_RE.match(email):
        errors["email"] = "Enter an email address like name@example.com."
    elif problem := email_problem(email):
        errors["email"] = problem
    elif find_by_email(session=session, email=email) is not None:
        errors["email"] = f"{email} already has an account."
    if len((name or "").strip()) > NAME_MAX:
        errors["name"] = f"The name is too long: use at most {NAME_MAX} characters."
    elif hidden := unwanted_message(name or "", "name"):
        errors["name"] = hidden
    if weak := password_problem(password or "", email=email, name=name or ""):
        errors["password"] = weak
    try:
        parsed_role = _parse_role(role)
    except ValidationFailed as error:
        errors.update(error.field_errors)
    if errors:
        raise ValidationFailed(errors)
    user = User(
        email=email,
        name=(name or "").strip() or email.split("@")[0],
        password_hash=hash_password(password),
        role=parsed_role.value,
        is_active=True,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        # Another request created this email between the look-up above and this insert (two
        # admins, or a double submit): the unique index decides, and the answer is the same
        # as the look-up's. The caller rolls back, as after any ValidationFailed.
        raise ValidationFailed({"email": f"{email} already has an account."}) from None
    audit.append(
        session=session,
        actor_id=actor.id,
        action=EventType.USER_CREATED,
        entity_type="user",
        entity_id=user.id,
        data={"email": user.email, "role": user.role},
    )
    outbox.enqueue(session=session, topic=EventType.USER_CREATED, payload={"user_id": user.id})
    return user


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, else None — the same answer for an unknown
    email, a wrong password and a disabled account, in the same time."""
    user = find_by_email(session=session, email=email)
    valid = verify_password(user.password_hash if user else None, password or "")
    if not valid or user is None or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def start_session(*, session: Session, user: User, lifetime: timedelta) -> str:
    """Open a login session; returns the random value the cookie carries (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(id=token_digest(token), user_id=user.id, expires_at=utcnow() + lifetime))
    return token


def user_for_session(*, session: Session, token: str | None) -> User | None:
    """The user behind a live login session (not revoked, not expired, user active)."""
    if not token:
        return None
    # One query for the login session and its user: this runs on every request.
    login = session.scalar(
        select(LoginSession).options(joinedload(LoginSession.user)).where(LoginSession.id == token_digest(token))
    )
    if login is None or login.revoked_at is not None or as_utc(login.expires_at) <= utcnow():
        return None
    user = login.user
    return user if user.is_active else None


def end_session(*, session: Session, token: str | None) -> None:
    """Revoke one login session (sign out)."""
    if token:
        session.execute(
            update(LoginSession)
            .where(LoginSession.id == token_digest(token), LoginSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def _revoke_all(session: Session, user_id: int, *, keep: str | None = None) -> int:
    statement = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
    if keep:
        statement = statement.where(LoginSession.id != token_digest(keep))
    return session.execute(statement.values(revoked_at=utcnow())).rowcount  # type: ignore[attr-defined]


def live_sessions(*, session: Session, user: User) -> int:
    """How many browsers are signed in as `user` now (sessions neither ended nor expired)."""
    expiries = session.scalars(
        select(LoginSession.expires_at).where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
    )
    # Compared here, not in SQL: SQLite keeps these timestamps without their zone.
    now = utcnow()
    return sum(1 for expires_at in expiries if as_utc(expires_at) > now)


def sign_out_elsewhere(*, session: Session, user: User, keep: str) -> int:
    """End every login session of `user` but this browser's (a laptop left signed in, a lost
    phone); returns how many ended."""
    return _revoke_all(session, user.id, keep=keep)


def change_own_password(
    *, session: Session, user: User, current_password: str, new_password: str, repeated: str
) -> None:
    """A signed-in person changes their password, proving they know the current one. Every
    login session of theirs ends, this browser's too: the caller starts a new one for it, so
    a session someone else may hold (a shared or lost device) is signed out. API tokens stay:
    they are separate credentials, listed and revoked on the profile page."""
    errors: dict[str, str] = {}
    if not verify_password(user.password_hash, current_password or ""):
        errors["current_password"] = "That is not your current password."  # noqa: S105 - a message
    new_password = new_password or ""
    if weak := password_problem(new_password, email=user.email, name=user.name):
        errors["new_password"] = weak
    elif new_password == current_password:
        errors["new_password"] = "Choose a password other than your current one."  # noqa: S105 - a message
    elif new_password != (repeated or ""):
        errors["repeated_password"] = "The two new passwords differ; type the same one twice."  # noqa: S105 - a message
    if errors:
        raise ValidationFailed(errors)
    _replace_password(session, user, new_password, actor_id=user.id, action=EventType.USER_PASSWORD_CHANGED)


def create_invited_user(*, session: Session, actor: Actor, email: str, name: str, role: str) -> User:
    """Create an account whose owner chooses the password from a mailed link (good for
    shared.accounts.reset.INVITE_LINK_HOURS): nobody else ever knows it, the admin included.
    Until then the account has a random password no one has seen."""
    user = create_user(
        session=session, actor=actor, email=email, name=name, role=role, password=secrets.token_urlsafe(32)
    )
    user.invited_at = utcnow()
    principal = SYSTEM if actor is None else actor
    outbox.enqueue(
        session=session, topic=EventType.USER_INVITED, payload={"user_id": user.id, "actor_id": principal.id}
    )
    return user


def resend_invitation(*, session: Session, actor: Actor, user_id: int) -> User:
    """Mail an invited person who has not chosen a password yet a new link, good for
    INVITE_LINK_HOURS from now. A link is bound to the account's password hash (see
    shared.accounts.reset), so a new random one ends every link sent before."""
    actor = _require(actor, Action.MANAGE_USERS)
    user = get_user(session=session, user_id=user_id)
    if user.invited_at is None:
        raise Conflict(f"{user.email} has chosen a password already: there is no invitation to send again.")
    if not user.is_active:
        raise ValidationFailed({"user": f"{user.email} is disabled: enable the account before sending a new link."})
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.invited_at = utcnow()
    audit.append(
        session=session,
        actor_id=actor.id,
        action=EventType.USER_INVITE_RESENT,
        entity_type="user",
        entity_id=user.id,
        data={"email": user.email},
    )
    # The first invitation's message, marked as sent again: the worker writes the link at sending.
    outbox.enqueue(
        session=session,
        topic=EventType.USER_INVITED,
        payload={"user_id": user.id, "actor_id": actor.id, "resent": True},
    )
    return user


def looks_like_email(email: str) -> bool:
    """An address shaped like name@example.com (what an account's email must be)."""
    return len(email) <= EMAIL_MAX and bool(EMAIL_RE.match(email))


def request_password_reset(*, session: Session, email: str) -> None:
    """Someone at the sign-in page asks for a link to choose a new password. Only queued here,
    the same for every address: the worker looks the account up and mails an active one a link
    (made at sending, see shared.accounts.reset), so neither the answer nor its timing tells
    who has an account."""
    outbox.enqueue(
        session=session, topic=EventType.USER_PASSWORD_RESET_REQUESTED, payload={"email": normalise_email(email)}
    )


def reset_password(*, session: Session, user: User, new_password: str, repeated: str, first: bool = False) -> None:
    """A new password from a reset link (its owner proved they read the account's mail):
    every session ends, and the owner is told by mail as for any change; `first` (an
    invitation's link): the person's first password, recorded but not announced as a change."""
    new_password = new_password or ""
    if weak := password_problem(new_password, email=user.email, name=user.name):
        raise ValidationFailed({"new_password": weak})
    if verify_password(user.password_hash, new_password):
        raise ValidationFailed({"new_password": "That is your current password: choose another one."})
    if new_password != (repeated or ""):
        raise ValidationFailed({"repeated_password": "The two new passwords differ; type the same one twice."})
    _replace_password(
        session, user, new_password, actor_id=user.id, action=EventType.USER_PASSWORD_CHANGED, announce=not first
    )


def set_password(*, session: Session, actor: Actor, user_id: int, password: str) -> User:
    """An admin (or the command line) gives someone a new password, e.g. one who forgot theirs;
    their login sessions end at once. Admins change their own on the profile page, where the
    current password is asked for."""
    actor = _require(actor, Action.MANAGE_USERS)
    user = get_user(session=session, user_id=user_id)
    if actor.id == user.id:
        raise ValidationFailed({"password": "Change your own password on your profile page."})
    if weak := password_problem(password or "", email=user.email, name=user.name):
        raise ValidationFailed({"password": weak})
    _replace_password(session, user, password, actor_id=actor.id, action=EventType.USER_PASSWORD_RESET)
    return user


def _replace_password(
    session: Session, user: User, password: str, *, actor_id: int | None, action: EventType, announce: bool = True
):
    user.password_hash = hash_password(password)
    user.invited_at = None  # a password is set: the invitation, if any, is taken up
    _revoke_all(session, user.id)
    # The audit trail says whose password changed and who did it, never anything about the value.
    audit.append(
        session=session,
        actor_id=actor_id,
        action=action,
        entity_type="user",
        entity_id=user.id,
        data={"email": user.email} if announce else {"email": user.email, "first": True},
    )
    # The owner is emailed about it (a password changed by someone else is how a takeover shows);
    # not about the first one they chose from their invitation.
    if announce:
        outbox.enqueue(session=session, topic=action, payload={"user_id": user.id, "actor_id": actor_id})


def change_role(*, session: Session, actor: Actor, user_id: int, role: str) -> User:
    """Give a user another role; their open sessions end so the new rights apply at once."""
    actor = _require(actor, Action.MANAGE_USERS)
    user = get_user(session=session, user_id=user_id)
    new_role = _parse_role(role)
    if actor.id == user.id and new_role != Role.ADMIN:
        raise ValidationFailed({"role": "You cannot remove your own admin role; ask another admin."})
    old_role = user.role
    if old_role == new_role.value:
        return user
    user.role = new_role.value
    _revoke_all(session, user.id)
    audit.append(
        session=session,
        actor_id=actor.id,
        action=EventType.USER_ROLE_CHANGED,
        entity_type="user",
        entity_id=user.id,
        data={"email": user.email, "from": old_role, "to": user.role},
    )
    outbox.enqueue(
        session=session,
        topic=EventType.USER_ROLE_CHANGED,
        payload={"user_id": user.id},
    )
    return user


def set_active(*, session: Session, actor: Actor, user_id: int, active: bool) -> User:
    """Disable (ending every session and revoking every API token at once) or re-enable an
    account. Tokens stay revoked when the account is enabled again: an account is often disabled
    because it was taken over, and tokens made by whoever took it must not come back with it."""
    actor = _require(actor, Action.MANAGE_USERS)
    user = get_user(session=session, user_id=user_id)
    if actor.id == user.id and not active:
        raise ValidationFailed({"user": "You cannot disable your own account."})
    if user.is_active == active:
        return user
    user.is_active = active
    data: dict = {"email": user.email}
    if not active:
        _revoke_all(session, user.id)
        data["tokens_revoked"] = _revoke_all_tokens(session, user.id)
    action = EventType.USER_ENABLED if active else EventType.USER_DISABLED
    audit.append(
        session=session,
        actor_id=actor.id,
        action=action,
        entity_type="user",
        entity_id=user.id,
        data=data,
    )
    outbox.enqueue(session=session, topic=action, payload={"user_id": user.id})
    return user


def _revoke_all_tokens(session: Session, user_id: int) -> int:
    """Revoke every API token of the user that still works; how many there were."""
    now = utcnow()
    revoked = session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user_id,
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return cast(CursorResult, revoked).rowcount


def count_users(*, session: Session) -> int:
    """How many accounts exist."""
    return session.scalar(select(func.count(User.id))) or 0


def count_active_admins(*, session: Session) -> int:
    """How many enabled accounts hold the admin role (who can manage users in the browser)."""
    admins = select(func.count(User.id)).where(User.role == Role.ADMIN.value, User.is_active.is_(True))
    return session.scalar(admins) or 0
