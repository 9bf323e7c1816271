"""Personal API tokens: created shown once, stored as a digest, scoped, expiring, revocable."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from shared.accounts.models import ApiToken, Role, TokenScope, User
from shared.accounts.service import token_digest
from shared.audit import service as audit
from shared.db import utcnow
from shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shared.permissions import Action, SystemPrincipal, can
from shared.text import one_line, unwanted_message
from shared.timeutil import as_utc

PREFIX = "itk_"  # recognisable in logs and by secret scanners
SCOPE_ORDER = (TokenScope.READ, TokenScope.WRITE, TokenScope.ADMIN)
# The widest scope each role may hold: a token never carries more than its owner's role.
ROLE_MAX_SCOPE = {Role.MEMBER: TokenScope.WRITE, Role.LEAD: TokenScope.WRITE, Role.ADMIN: TokenScope.ADMIN}
MAX_EXPIRY_DAYS = 366
NAME_MAX = 80  # what ApiToken.name holds


def scope_includes(held: str, needed: str) -> bool:
    """True when a token of scope `held` may make a call that needs `needed`."""
    return SCOPE_ORDER.index(TokenScope(held)) >= SCOPE_ORDER.index(TokenScope(needed))


def allowed_scopes(user: User) -> list[TokenScope]:
    """The scopes this user may give a token."""
    widest = ROLE_MAX_SCOPE.get(Role(user.role), TokenScope.READ)
    return list(SCOPE_ORDER[: SCOPE_ORDER.index(widest) + 1])


def create_token(
    *,
    session: Session,
    user: User,
    name: str,
    scope: str,
    expires_days: int | None = None,
    actor: User | SystemPrincipal | None = None,
    newest_seen: int | None = None,
) -> tuple[ApiToken, str]:
    """A new token for `user`, made by `actor` (`user` when None; SYSTEM at the command line);
    returns the row and the bearer value (shown once, never stored). `newest_seen`: the id of
    the newest of `user`'s tokens when the form was drawn (0: none); a newer one is a Conflict."""
    errors: dict[str, str] = {}
    name = one_line(name or "") or "API token"
    if len(name) > NAME_MAX:
        errors["name"] = f"The name is too long: use at most {NAME_MAX} characters."
    elif hidden := unwanted_message(name, "name"):
        errors["name"] = hidden
    try:
        parsed = TokenScope((scope or "").strip().lower())
    except ValueError:
        parsed = None
        errors["scope"] = "Choose a scope: read, write or admin."
    if parsed is not None and parsed not in allowed_scopes(user):
        raise PermissionDenied(f"A {user.role} cannot hold an {parsed.value}-scope token.")
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        errors["expires_days"] = f"Choose an expiry from 1 to {MAX_EXPIRY_DAYS} days, or none."
    if errors:
        raise ValidationFailed(errors)
    assert parsed is not None  # a missing or unknown scope was refused above
    if newest_seen is not None:
        _refuse_a_form_sent_again(session, user, newest_seen)
    value = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        digest=token_digest(value),
        prefix=value[: len(PREFIX) + 6],
        user_id=user.id,
        name=name,
        scope=parsed.value,
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    session.add(token)
    session.flush()
    audit.append(
        session=session,
        actor_id=user.id if actor is None else actor.id,
        action="api_token.created",
        entity_type="user",
        entity_id=user.id,
        # The owner by id (the audit log names them), as the entity is: when the operator made it
        # at the command line, the event's actor is the system, not the owner.
        data={"token_id": token.id, "name": name, "scope": token.scope, "owner_id": user.id},
    )
    return token, value


def _refuse_a_form_sent_again(session: Session, user: User, newest_seen: int) -> None:
    """Conflict when `user` has a token newer than the form that asks for this one: that form was
    posted already (a reload of the page that showed the secret posts it again; found by an
    integrator: a second token of the name), or a token was made in another tab since. As a
    webhook's "Rotate secret" form drawn from an older secret is refused."""
    # Locked until the commit: two posts of one form at once (a double click) cannot both pass.
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    newest = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()).limit(1))
    if newest is not None and newest.id > newest_seen:
        raise Conflict(
            f"Token {newest.name} ({newest.prefix}…) was created at {as_utc(newest.created_at):%H:%M} UTC, after "
            "this form was drawn: reloading the page that showed its secret (once) sends the form again. To make "
            "another token, use the form below; if that secret was not copied, revoke the token and make a new one."
        )


def list_tokens(*, session: Session, user: User) -> list[ApiToken]:
    """This user's tokens, newest first (revoked ones included, marked so)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_token(*, session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of this user's tokens (at once: the next call with it is refused)."""
    token = session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if token is None or token.user_id != user.id:
        raise NotFound(f"No token {token_id}.")
    _revoke(session, token, actor_id=user.id)
    return token


def get_token(*, session: Session, token_id: int) -> ApiToken:
    """Anyone's token with this id (its owner loaded), or NotFound."""
    token = session.get(ApiToken, token_id, options=[joinedload(ApiToken.user)]) if 0 < token_id < 2**31 else None
    if token is None:
        raise NotFound(f"No token {token_id}.")
    return token


def list_all_tokens(*, session: Session, owner: User | None = None) -> list[ApiToken]:
    """Everyone's tokens (or `owner`'s), owners loaded, newest first (revoked ones included)."""
    statement = select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.id.desc())
    if owner is not None:
        statement = statement.where(ApiToken.user_id == owner.id)
    return list(session.scalars(statement))


def revoke_any_token(*, session: Session, actor: User | SystemPrincipal, token_id: int) -> ApiToken:
    """An admin (or the command line) revokes anyone's token, e.g. one that leaked; at once."""
    if not can(actor, Action.MANAGE_USERS):
        raise PermissionDenied("Only admins can revoke other people's tokens.")
    token = get_token(session=session, token_id=token_id)
    _revoke(session, token, actor_id=actor.id)
    return token


def _revoke(session: Session, token: ApiToken, *, actor_id: int | None) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    audit.append(
        session=session,
        actor_id=actor_id,
        action="api_token.revoked",
        entity_type="user",
        entity_id=token.user_id,
        data={"token_id": token.id, "name": token.name},
    )


# last_used_at is written at most this often per token: a busy script must not turn every
# read into a row update.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def authenticate_token(*, session: Session, value: str | None) -> ApiToken | None:
    """The live token with this bearer value (not revoked, not expired, owner active), else None."""
    if not value or not value.startswith(PREFIX) or len(value) > 200:
        return None
    token = session.scalar(
        select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.digest == token_digest(value))
    )
    now = utcnow()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    if token.expires_at is not None and as_utc(token.expires_at) <= now:
        return None
    if token.last_used_at is None or now - as_utc(token.last_used_at) >= LAST_USED_GRANULARITY:
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        token.last_used_at = now
    return token
