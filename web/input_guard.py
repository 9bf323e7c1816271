"""Refuse malformed text before any view sees it: a request whose form or query carries a NUL
byte, or bytes that are not UTF-8, is answered 400 instead of being stored (or half-stored).

PostgreSQL text cannot hold NUL (the driver raises: a 500), and werkzeug quietly turns
invalid UTF-8 into "%E9", "\ufffd" or an empty form — none of which is what the person typed.

A body sent without Content-Length (Transfer-Encoding: chunked) over MAX_CONTENT_LENGTH is
answered 413, as one that declares its length is: werkzeug would quietly cut it off at the limit."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from web import logs

STREAMS_BODY = "_streams_body"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# What werkzeug puts where a multipart field had bytes that are not UTF-8.
REPLACEMENT = "\ufffd"


class InvalidText(BadRequest):
    description = (
        "The request contained text that is not valid UTF-8. Reload the page and try again; "
        "if you pasted text, check it for damaged characters."
    )


class NulCharacter(BadRequest):
    description = (
        "The request contained a NUL character (\\0), which text cannot hold. Remove it (it often "
        "comes with text pasted from a binary file or a terminal) and try again."
    )


def streams_body(view: Callable) -> Callable:
    """Mark a view that reads the request body as a stream (a large upload): the guard leaves
    its body unparsed, so the view, not the guard, decides how to read it."""
    setattr(view, STREAMS_BODY, True)
    return view


def view_streams_body() -> bool:
    """The view of this request reads its own body as a stream (see `streams_body`)."""
    view = current_app.view_functions.get(request.endpoint or "")
    return view is not None and getattr(view, STREAMS_BODY, False)


def _reads_body() -> bool:
    return not view_streams_body() and request.mimetype in FORM_TYPES


def _refuse_unsized_body_over_limit() -> None:
    """413 for a body without Content-Length that is longer than the limit.

    werkzeug reads such a body (the server ends it: gunicorn sets wsgi.input_terminated) up to
    MAX_CONTENT_LENGTH and stops there without a word, so an overlong JSON body was cut and
    refused as "not valid JSON" (found by QA). Reading one byte past the limit tells the two
    apart, and no more than that is ever held. A view that streams its body sets its own limit."""
    limit = request.max_content_length
    if (
        limit is None
        or request.content_length is not None
        or not request.environ.get("wsgi.input_terminated")
        or view_streams_body()
    ):
        return
    request.max_content_length = limit + 1  # before the stream is first opened, which fixes its limit
    try:
        body = request.get_data(cache=True)
    finally:
        request.max_content_length = limit
    if len(body) > limit:
        raise RequestEntityTooLarge()


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
            raise NulCharacter()


def init_app(app: Flask) -> None:
    # First of all before-request hooks: CSRF protection reads the form too, and once werkzeug
    # has parsed it the raw bytes are gone. The size check goes first: it reads the body the
    # text check then reads from the cache.
    # Only the request log's hook comes before them: a refused request still has its id and
    # its duration (a chunked body over the limit answered 413 with an empty X-Request-ID).
    hooks = app.before_request_funcs.setdefault(None, [])
    position = hooks.index(logs.start_request) + 1 if logs.start_request in hooks else 0
    hooks.insert(position, _refuse_malformed_text)
    hooks.insert(position, _refuse_unsized_body_over_limit)
