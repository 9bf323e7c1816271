"""Refuse malformed text before any view sees it: a request whose form or query carries a NUL
byte, or bytes that are not UTF-8, is answered 400 instead of being stored (or half-stored).

PostgreSQL text cannot hold NUL (the driver raises: a 500), and werkzeug quietly turns
invalid UTF-8 into "%E9" or "\ufffd" — neither is what the person typed."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, abort, current_app, request

STREAMS_BODY = "_streams_body"


def streams_body(view: Callable) -> Callable:
    """Mark a view that reads the request body as a stream (a large upload): the guard leaves
    its body unparsed, so the view, not the guard, decides how to read it."""
    setattr(view, STREAMS_BODY, True)
    return view


def _reads_body() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, STREAMS_BODY, False):
        return False
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_malformed_text():
        sources = [request.args]
        if _reads_body():
            sources.append(request.form)
        for values in sources:
            if any("\x00" in value for _, value in values.items(multi=True)):
                abort(400)
