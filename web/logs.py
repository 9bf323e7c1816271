"""Request logging: one JSON line per request in production (CloudWatch reads stdout),
a readable line in development. Never logs bodies, query strings or headers, so
passwords and tokens cannot end up in logs."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import inspect as sa_inspect

from shared.text import is_unwanted

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
logger = logging.getLogger("incident_tracker.request")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _escaped(value: object) -> str:
    # A request path is the client's text: "%0A" in it would start a forged log line, and an
    # ESC could rewrite the operator's terminal. Show such characters as escapes instead.
    return "".join(char.encode("unicode_escape").decode("ascii") if is_unwanted(char) else char for char in str(value))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        extra = " ".join(f"{k}={_escaped(v)}" for k, v in fields.items())
        clock = datetime.fromtimestamp(record.created, UTC).astimezone().strftime("%H:%M:%S")
        line = f"{clock} {record.levelname:<5} {_escaped(record.getMessage())} {extra}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line.rstrip()


class RequestContextFilter(logging.Filter):
    """Stamp every record logged during a request (including Flask's exception log for a
    500) with that request's id, so one id finds everything about a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            fields = getattr(record, "fields", {})
            if "request_id" not in fields:
                record.fields = {"request_id": g.request_id, **fields}
        return True


def configure_logging(log_format: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # werkzeug's own access lines would repeat ours (and include query strings).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Alembic narrates every plugin it loads at INFO; only its warnings matter to an operator.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _row_id(row: object) -> object:
    # The id as the session knows it, without a query: a request that rolled back has expired
    # its rows, and reading `.id` would go back to the database (perhaps the reason it failed).
    identity = sa_inspect(row).identity
    return identity[0] if identity else None


def _who() -> tuple[object, object]:
    """(user id, API token id) of this request's caller, for its log line; (None, None) when
    nobody signed in. An API call is the API's caller (web/api/auth.py keeps it on `g` as
    `api_caller`): a bearer token's owner and the token's id, which `tokens list` shows and
    `tokens revoke` takes (never its value). A browser request is the signed-in user."""
    caller = g.get("api_caller")
    if caller is not None:
        return _row_id(caller.user), (_row_id(caller.token) if caller.token is not None else None)
    try:
        user_id = getattr(current_user, "id", None) if current_user and current_user.is_authenticated else None
    except Exception:  # the user could not be loaded (database gone); still log the line
        user_id = None
    return user_id, None


def start_request() -> None:
    """Give the request its id and start its clock. The first before-request hook of all (see
    `init_app`; web/input_guard.py inserts its guards after it), so a request refused by any
    other hook still answers with an X-Request-ID and logs its id and duration."""
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
        user_id, token_id = _who()
        response.headers["X-Request-ID"] = g.get("request_id", "")
        fields = {
            "request_id": g.get("request_id"),
            "user_id": user_id,
            **({"token_id": token_id} if token_id is not None else {}),
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
        }
        logger.info(f"{request.method} {request.path} {response.status_code}", extra={"fields": fields})
        return response
