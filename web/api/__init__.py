"""The JSON API (/api/v1) over the same shared/ services and policy as the pages.

flask-smorest builds the OpenAPI 3.1 document (/api/v1/openapi.json) from the marshmallow
schemas the views validate with; /api/docs renders it with Swagger UI from our own static files.
Errors are RFC 9457 problem details (web/api/problems.py), wired in web/app.py's handlers."""

from __future__ import annotations

import math
import re
import threading
from typing import Any

from apispec import BasePlugin
from flask import Flask, current_app, render_template, request
from flask_smorest import Api

from web.api import problems
from web.api.auth import client_address_key, rate_limit_key, refused_authentication
from web.extensions import csrf, limiter
from web.input_guard import view_streams_body

JSON_TYPES = ("application/json", "application/merge-patch+json")


def _tag(blueprint_name: str) -> str:
    """The document's name for a blueprint's operations: "Incidents" for api_incidents (a client
    generator names a class after it: IncidentsApi, not ApiIncidentsApi)."""
    return blueprint_name.removeprefix("api_").capitalize()


class _NamedOperations(BasePlugin):
    """Each operation's operationId is its view's name (unique across the API: the test of the
    document checks), which a client generator names its method after; its tag is `_tag`'s."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        for operation in operations.values():
            operation.setdefault("operationId", rule.endpoint.rpartition(".")[2])
            operation["tags"] = [_tag(name) for name in operation.get("tags", [])]


class _Api(Api):
    """flask-smorest's Api, documenting blueprints on the first read of the spec.

    Documenting a blueprint (apispec deep-copies and resolves every operation) was ~60 % of
    create_app, paid by every app the tests build and every gunicorn worker at start; only
    /api/v1/openapi.json reads the spec. Routes are registered at once as before, and the
    document is the same, built in the same order."""

    ERROR_SCHEMA = problems.ProblemSchema

    def __init__(self, *args, **kwargs) -> None:
        self._undocumented: list[tuple[Any, str, Any]] = []
        self._documenting = threading.Lock()
        super().__init__(*args, **kwargs)

    @property
    def spec(self):
        if self._undocumented:
            with self._documenting:
                while self._undocumented:
                    blp, name, parameters = self._undocumented.pop(0)
                    blp.register_views_in_doc(self, self._app, self._spec, name=name, parameters=parameters)
                    self._spec.tag({"name": _tag(name), "description": blp.description})
        return self._spec

    @spec.setter
    def spec(self, value) -> None:
        self._spec = value

    def register_blueprint(self, blp, *, parameters=None, **options) -> None:
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def _register_error_handlers(self):
        # web/app.py's handlers answer every error: problem+json under /api, pages elsewhere.
        pass

    def _register_responses(self):
        # Only the catch-all that every operation names as `default`, as it is sent (flask-smorest
        # would say application/json); the statuses an operation expects are listed on it.
        response = {
            "description": "Any other error, e.g. 413 (a body over the size limit), 503 (the database "
            "is unreachable: see Retry-After) or 500.",
            "content": {problems.MEDIA_TYPE: {"schema": self.ERROR_SCHEMA}},
        }
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def _register_pagination_header(self):
        # We page with `next` and Link, not flask-smorest's X-Pagination: its schema would be a
        # model that nothing uses in every generated client.
        pass


def _api_limit() -> str:
    return current_app.config["SETTINGS"].rate_limit_api


def _text_fields(value, wrong, path: str = "") -> list[str]:
    """Where in a parsed JSON body a string (a value or a key) is `wrong`: "title", "tags[2]"."""
    if isinstance(value, str):
        return [path or "body"] if wrong(value) else []
    if isinstance(value, dict):
        found = []
        for key, inner in value.items():
            where = f"{path}.{key}" if path else str(key)
            found += [where] if wrong(key) else _text_fields(inner, wrong, where)
        return found
    if isinstance(value, list):
        return [f for index, inner in enumerate(value) for f in _text_fields(inner, wrong, f"{path}[{index}]")]
    return []


def _has_nul(text: str) -> bool:
    return "\x00" in text


# "\ud800" is valid JSON syntax but no character: no database or encoder can store it (a 500
# found by QA, in the audit chain's hash first).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(text: str) -> bool:
    return _LONE_SURROGATE.search(text) is not None


def _not_a_number(value) -> bool:
    """NaN or Infinity anywhere: Python's parser takes them, JSON (RFC 8259) has no such numbers."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict | list):
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


# No request of ours nests deeper than a few levels; 5,000 nested brackets were a 500
# (RecursionError) found by QA.
MAX_JSON_DEPTH = 32
TOO_DEEP = object()


def _depth(body) -> int:
    """How deeply lists and objects nest in `body` (without recursion: it may be deep)."""
    deepest, stack = 0, [(body, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                break
            stack.extend((item, level + 1) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


def _require_json() -> None:
    """415 for a body that is not JSON, 400 for JSON that does not parse, 422 for a NUL
    character (PostgreSQL text cannot hold one: it would be a 500)."""
    # A view that reads its own (multipart) body as a stream: reading it here would buffer it.
    if request.method not in ("POST", "PUT", "PATCH") or view_streams_body():
        return
    if not (request.content_length or request.data):
        return
    if request.mimetype not in JSON_TYPES:
        raise problems.ApiProblem(415, "Send the body as application/json.")
    if request.data.startswith(b"\xef\xbb\xbf"):
        # RFC 8259 forbids it; Python's parser took it and the request's own reader then refused
        # the body in other words (found by QA): one answer, saying what to change.
        raise problems.ApiProblem(400, "The body is not valid JSON: it starts with a byte-order mark; send it without.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # thousands of nested brackets: the parser gives up, not the server
        body = TOO_DEEP
    if body is TOO_DEEP or _depth(body) > MAX_JSON_DEPTH:
        raise problems.ApiProblem(400, f"The body is not valid JSON here: nested more than {MAX_JSON_DEPTH} deep.")
    if body is None and request.data.strip() != b"null":
        raise problems.ApiProblem(400, "The body is not valid JSON.")
    if _not_a_number(body):
        raise problems.ApiProblem(400, "The body is not valid JSON: NaN and Infinity are not JSON numbers.")
    if fields := _text_fields(body, _has_nul):
        raise problems.ApiProblem(
            422, "Text cannot contain NUL characters.", errors={f: ["Remove the NUL character."] for f in fields}
        )
    if fields := _text_fields(body, _has_lone_surrogate):
        raise problems.ApiProblem(
            422,
            "Text cannot contain a lone surrogate (an escape such as \\ud800 that is half of a character).",
            errors={f: ["Remove the \\ud800 to \\udfff escape, or send the whole character."] for f in fields},
        )


def init_app(app: Flask) -> None:
    app.config.update(
        API_TITLE="Incident Tracker API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Personal API tokens (create them on your profile page) go in "
                "`Authorization: Bearer <token>`. Errors are RFC 9457 problem details."
            },
            "security": [{"bearerAuth": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "A personal API token; its scope (read, write, admin) caps what it may do.",
                    }
                },
            },
        },
    )
    api = _Api(app, spec_kwargs={"extra_plugins": [_NamedOperations()]})
    from web.api import evidence, views, webhooks

    for blueprint in (*views.BLUEPRINTS, *evidence.BLUEPRINTS, webhooks.webhooks_bp):
        if not getattr(blueprint, "_guarded", False):  # module-level blueprints: set up once per process
            blueprint.before_request(_require_json)
            limiter.limit(_api_limit, key_func=rate_limit_key)(blueprint)
            # Calls that fail authentication also count per address: made-up tokens are each a
            # new key above, and would otherwise be unlimited look-ups.
            limiter.limit(_api_limit, key_func=client_address_key, deduct_when=refused_authentication)(blueprint)
            csrf.exempt(blueprint)  # cookie callers are checked by web/api/auth.py (X-CSRFToken header)
            blueprint._guarded = True
        api.register_blueprint(blueprint)
    app.extensions["api"] = api

    @app.before_request
    def _openapi_document_takes_no_parameters():
        # flask-smorest serves the document outside our blueprints, where every other GET
        # refuses a parameter it does not take (README, API): this one takes none.
        if request.endpoint == "api-docs.openapi_json" and (
            problem := problems.unknown_query_parameters(request.args.keys(), [])
        ):
            raise problem

    @app.get("/api/docs")
    def api_docs():
        """Swagger UI for /api/v1/openapi.json, from /static (no CDN; the page's script is a file)."""
        return render_template("api/docs.html")

    @app.errorhandler(problems.ApiProblem)
    def _api_problem(error: problems.ApiProblem):
        from web import db

        db.rollback()
        return problems.problem(
            error.status, error.detail, errors=error.errors, headers=error.headers, changes=error.changes
        )
