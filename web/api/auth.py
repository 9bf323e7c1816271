"""Who is calling the API, and with what scope.

`Authorization: Bearer <token>` (a personal API token), or the browser's session cookie together
with the `X-CSRFToken` header (the same token the site's forms carry): a cookie alone is sent by
the browser to any site's request, so alone it proves nothing and is refused."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from flask import g, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from shared.accounts import tokens
from shared.accounts.models import ApiToken, TokenScope, User
from shared.permissions import Action, can
from web.api.problems import ApiProblem, unknown_query_parameters
from web.db import get_session

CSRF_HEADER = "X-CSRFToken"


@dataclass(frozen=True)
class Caller:
    user: User
    scope: str  # what this call may do: the token's scope, capped by the user's role today
    token: ApiToken | None = None


def _capped(user: User, scope: str) -> str:
    # A token keeps the scope it was made with, but a user demoted since cannot use more than
    # the new role allows.
    allowed = tokens.allowed_scopes(user)
    return scope if TokenScope(scope) in allowed else allowed[-1].value


def _bearer() -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    kind, _, value = header.partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        raise ApiProblem(401, "Use `Authorization: Bearer <token>` with a personal API token.")
    return value.strip()


def authenticate() -> Caller:
    """The caller of this request (cached on `g`), or a 401 problem."""
    if "api_caller" in g:
        return g.api_caller
    value = _bearer()
    if value is not None:
        session = get_session()
        token = tokens.authenticate_token(session=session, value=value)
        if token is None:
            raise ApiProblem(401, "This token is unknown, revoked or expired.")
        session.commit()  # its last-used time, before anything the call itself may roll back
        caller = Caller(token.user, _capped(token.user, token.scope), token)
    elif current_user.is_authenticated:
        try:
            validate_csrf(request.headers.get(CSRF_HEADER))
        except ValidationError:
            raise ApiProblem(
                401, f"With a session cookie, send the {CSRF_HEADER} header too (or use an API token)."
            ) from None
        caller = Caller(current_user.user, tokens.allowed_scopes(current_user.user)[-1].value)
    else:
        raise ApiProblem(401, "Sign in: send `Authorization: Bearer <token>` with a personal API token.")
    g.api_caller = caller
    return caller


def declared_query_parameters(view) -> list[str]:
    """The query parameters a view declares: those of its `arguments(..., location="query")`
    schemas and of any `doc(parameters=[...])` in the query, as the OpenAPI document lists them."""
    apidoc = getattr(view, "_apidoc", {})
    names: list[str] = []
    for parameter in apidoc.get("arguments", {}).get("parameters", []):
        if parameter.get("in") == "query":
            schema = parameter["schema"]
            schema = schema() if isinstance(schema, type) else schema
            names += [field.data_key or name for name, field in schema.load_fields.items()]
    for parameter in apidoc.get("manual_doc", {}).get("parameters", []):
        if isinstance(parameter, dict) and parameter.get("in") == "query":
            names.append(parameter["name"])
    return list(dict.fromkeys(names))


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"  # "an admin-scope token"


def _scope_too_narrow(caller: Caller, needed: TokenScope) -> str:
    """Why this caller may not make a call that needs `needed`. A token whose owner was demoted
    since keeps its scope (GET /api/v1/me shows it) but acts with no more than the new role: say
    so, rather than call it the narrower scope it was never given (found by an integrator)."""
    wants = f"this call needs {_article(needed.value)} {needed.value}-scope token"
    held = caller.token.scope if caller.token is not None else caller.scope
    if held != caller.scope and tokens.scope_includes(held, needed):
        role = caller.user.role
        return (
            f"This token's owner is now {_article(role)} {role}: {_article(held)} {held}-scope token acts with at "
            f"most its owner's role, so it has {caller.scope} scope now; {wants} whose owner's role allows that."
        )
    return f"This token's scope is {caller.scope}; {wants}."


def needs(scope: TokenScope):
    """The view needs a caller whose scope includes `scope` (read ⊂ write ⊂ admin). A GET whose
    query names a parameter the view does not declare is then a 400 naming it, on every
    operation alike (after the 401/403, as a list's own parameters are checked)."""

    def decorate(view):
        known = declared_query_parameters(view)

        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            caller = authenticate()
            # Seeing incidents at all is the policy's call too (every active role today).
            if not can(caller.user, Action.VIEW):
                raise ApiProblem(403, "You cannot use the API.")
            if not tokens.scope_includes(caller.scope, scope):
                raise ApiProblem(403, _scope_too_narrow(caller, scope))
            if request.method in ("GET", "HEAD") and (problem := unknown_query_parameters(request.args.keys(), known)):
                raise problem
            return view(*args, **kwargs)

        return wrapper

    return decorate


def rate_limit_key() -> str:
    """Rate limits count per token (per signed-in browser session, else per address). The token
    as authentication reads it: `bearer` in any case and any spaces around the value are one
    token, not a fresh count each (found by a security probe: 699 of 700 calls past the limit)."""
    header = request.headers.get("Authorization")
    if header is not None:
        kind, _, value = header.partition(" ")
        if kind.lower() == "bearer" and value.strip():
            return "api-token:" + hashlib.sha256(value.strip().encode()).hexdigest()[:32]
        return client_address_key()
    cookie = request.cookies.get("it_session")
    if cookie:
        return "api-cookie:" + hashlib.sha256(cookie.encode()).hexdigest()[:32]
    return client_address_key()


def client_address_key() -> str:
    """The caller's address: what refused authentications count against (every made-up token
    or cookie would otherwise start a count of its own)."""
    return "api-addr:" + (request.remote_addr or "-")


def refused_authentication(response) -> bool:
    return response.status_code == 401
