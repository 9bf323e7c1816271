"""Refuse malformed text before any view sees it: a request whose form or query carries a NUL
byte, or bytes that are not UTF-8, is answered 400 instead of being stored (or half-stored).

PostgreSQL text cannot hold NUL (the driver raises: a 500), and werkzeug quietly turns
invalid UTF-8 into "%E9", "\ufffd" or an empty form — none of which is what the person typed."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from flask import Flask, abort, current_app, request
from werkzeug.exceptions import BadRequest

STREAMS_BODY = "_streams_body"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# What werkzeug puts where a multipart field had bytes that are not UTF-8.
REPLACEMENT = "\ufffd"


class InvalidText(BadRequest):
    description = (
        "The request contained text that is not valid UTF-8. Reload the page and try again; "
        "if you pasted text, check it for damaged characters."
    )


def streams_body(view: Callable) -> Callable:
    """Mark a view that reads the request body as a stream (a large upload): the guard leaves
    its body unparsed, so the view, not the guard, decides how to read it."""
    setattr(view, STREAMS_BODY, True)
    return view


def _reads_body() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, STREAMS_BODY, False):
        return False
    return request.mimetype in FORM_TYPES


def _is_utf8_query(raw: bytes) -> bool:
    try:
        parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def _refuse_malformed_text() -> None:
    if not _is_utf8_query(request.query_string):
        raise InvalidText()
    sources = [request.args]
    if _reads_body():
        # Read (and cache) the raw body first: the form is then parsed from the cache. Bodies
        # are small here (MAX_CONTENT_LENGTH); streamed uploads opted out above.
        raw = request.get_data(cache=True)
        if request.mimetype == "application/x-www-form-urlencoded" and not _is_utf8_query(raw):
            raise InvalidText()
        replaced = any(REPLACEMENT in value for _, value in request.form.items(multi=True))
        if replaced and REPLACEMENT.encode() not in raw:  # werkzeug's, not one the person typed
            raise InvalidText()
        sources.append(request.form)
    for values in sources:
        if any("\x00" in value for _, value in values.items(multi=True)):
            abort(400)


def init_app(app: Flask) -> None:
    # First of all before-request hooks: CSRF protection reads the form too, and once werkzeug
    # has parsed it the raw bytes are gone.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_malformed_text)
