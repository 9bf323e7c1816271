"""RFC 9457 problem details: every error under /api is `application/problem+json`, never a page."""

from __future__ import annotations

import difflib
import math
import time
from collections.abc import Collection, Iterable, Mapping

from flask import Response, current_app, json, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from shared.errors import DomainError, ValidationFailed
from web.errors import status_for
from web.input_guard import view_streams_body

PROBLEM_TYPE = "about:blank"  # the status's own meaning; `title` is its phrase (RFC 9457 §4.2.1)
MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"


class ProblemChangeBySchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)


class ProblemChangeSchema(Schema):
    """One change a refused write missed (412, 409): who made it, when, and what it changed."""

    by = fields.Nested(
        ProblemChangeBySchema, allow_none=True, metadata={"description": "Who made it; null: the system."}
    )
    at = fields.DateTime(required=True, metadata={"description": "When it was made."})
    field = fields.String(
        required=True,
        metadata={
            "description": "The field it changed, as the API names it (status, priority, owner_email, title, done…)."
        },
    )
    from_ = fields.Raw(
        data_key="from",
        allow_none=True,
        metadata={"description": "Its value before, as the API shows the field (left out for a description)."},
    )
    to = fields.Raw(allow_none=True, metadata={"description": "Its value after (left out for a description)."})


class ProblemSchema(Schema):
    """What every error response carries (for the OpenAPI document)."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Each field at fault, with what is wrong with it."},
    )
    changes = fields.List(
        fields.Nested(ProblemChangeSchema),
        metadata={
            "description": "A stale write (412) or one that collided with another (409): the changes it missed, "
            "oldest first; `detail` says the same in words."
        },
    )


class ApiProblem(Exception):
    """Raised by API code for a refusal that is not a domain error (auth, scope, preconditions)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: dict | None = None,
        headers: dict | None = None,
        changes: list[dict] | None = None,
    ):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers or {}
        self.changes = changes


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX) and not request.path.startswith("/api/docs")


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    errors: dict | None = None,
    headers: dict | None = None,
    changes: list[dict] | None = None,
) -> Response:
    body: dict = {"type": PROBLEM_TYPE, "title": _TITLES.get(status, "Error"), "status": status, "detail": detail}
    body["instance"] = request.path
    if errors:
        body["errors"] = {name: msgs if isinstance(msgs, list) else [str(msgs)] for name, msgs in errors.items()}
    if changes:
        body["changes"] = changes
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_domain(error: DomainError) -> Response:
    errors = {name: [msg] for name, msg in error.field_errors.items()} if isinstance(error, ValidationFailed) else None
    return problem(status_for(error), str(error), errors=errors)


def _flatten(messages) -> dict[str, list[str]]:
    """webargs' {"json": {"title": ["Missing data"]}} -> {"title": ["Missing data"]}."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "body", []).extend(value)
        else:
            flat.setdefault(prefix or "body", []).append(str(value))

    for location, inner in (messages or {}).items():
        walk("" if location in ("json", "query", "form", "files", "headers") else str(location), inner)
    return flat


def _query_detail(messages, errors: dict[str, list[str]]) -> str | None:
    """A refused query parameter's own words as the problem's `detail` ("limit must be a whole
    number from 1 to 200."), each named; None for a body. A client shows `detail`, and the
    generic sentence left the person reading it to find `errors` (found by QA)."""
    if set(messages or {}) != {"query"}:
        return None
    return " ".join(
        texts[0] if texts[0].startswith(f"{name} ") else f"{name}: {texts[0]}" for name, texts in errors.items()
    )


def _size(limit: int) -> str:
    """2097152 -> "2 MiB": the limit as the README states it."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit:,} bytes"


def _too_large() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if view_streams_body() or not limit:
        return "The request body is too large."  # an upload: its own limit (and message) apply
    return f"The request body is larger than the {_size(limit)} limit for JSON requests."


def retry_after(limiter) -> str:
    """Seconds until the limit that refused this request lets one through again."""
    current = getattr(limiter, "current_limit", None)
    if current is not None:
        return str(max(1, math.ceil(current.reset_at - time.time())))
    return "60"


def from_http(error: HTTPException, limiter=None) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if status == 422 and "messages" in data:  # webargs: the body or the query did not validate
        errors = _flatten(data["messages"])
        detail = _query_detail(data["messages"], errors) or "The request did not validate; see errors."
        return problem(422, detail, errors=errors)
    if status == 400 and "messages" in data:
        return problem(400, "The request could not be read; see errors.", errors=_flatten(data["messages"]))
    details = {
        404: "There is no such resource.",
        405: f"{request.method} is not allowed here.",
        415: "Send the body as application/json.",
        # Counted per token, and per address for refused tokens (web/api/__init__.py).
        429: "Too many requests (for this token, or from this address after refused tokens); "
        "wait before retrying (see Retry-After).",
        500: "Something went wrong on our side. It has been logged; try again in a moment.",
    }
    if status == 413:
        details[413] = _too_large()
    detail = details.get(status) or error.description or _TITLES.get(status, "Error")
    headers = {}
    if status == 429:
        headers["Retry-After"] = retry_after(limiter)
    allowed_methods = getattr(error, "valid_methods", None)  # set on werkzeug's MethodNotAllowed only
    if status == 405 and allowed_methods:
        headers["Allow"] = ", ".join(allowed_methods)
    return problem(status, detail, headers=headers)


def unknown_query_parameters(sent: Iterable[str], known: list[str]) -> ApiProblem | None:
    """A 400 naming each query parameter an operation does not take (with a "did you mean" when
    one it takes is close) and listing those it does; None when every one is known. Never
    ignored: a typo'd `?stauts=open` answered with the whole list (found by QA)."""
    unknown = [name for name in dict.fromkeys(sent) if name not in known]
    if not unknown:
        return None
    errors = {}
    for name in unknown:
        close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.75)
        errors[name] = [
            f"Unknown query parameter '{name}' \u2014 did you mean {close[0]}?"
            if close
            else f"Unknown query parameter '{name}'."
        ]
    detail = " ".join(texts[0] for texts in errors.values())
    takes = f"takes: {', '.join(known)}." if known else "takes no query parameters."
    return ApiProblem(400, f"{detail} This endpoint {takes}", errors=errors)


def repeated_query_parameters(sent: Mapping[str, list[str]], comma_separated: Collection[str]) -> ApiProblem | None:
    """A 400 naming each query parameter given more than once (`sent`: each name's values);
    None when none was. Which of the values counts would be a guess: a client library that sends
    a list as `status=open&status=blocked` got the open incidents only, without a word."""
    errors = {}
    for name, values in sent.items():
        if len(values) < 2:
            continue
        if name in comma_separated:
            example = ",".join(value[:20] for value in values[:2])
            errors[name] = [f"Give {name} once: several values go in one, comma-separated ({name}={example})."]
        else:
            errors[name] = [f"Give {name} once (it was given {len(values)} times)."]
    if not errors:
        return None
    return ApiProblem(400, " ".join(texts[0] for texts in errors.values()), errors=errors)
