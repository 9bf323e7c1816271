"""Which page a browser reads at an address a form posts to."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect


def page_to_read(target: str) -> str:
    """`target`, or the nearest page above it when it is an address only a form posts to: a
    comment (or a move, a token's Revoke) sent after the session had ended comes back by way of
    the sign-in page, whose `next` is that form's address, and a refused form is drawn again at
    its own address, which the address bar then shows; a GET of it is a 405 that loses the way
    back. /incidents/INC-1/comments -> /incidents/INC-1, /profile/tokens/3/revoke -> /profile;
    an address that is no page at all, the nearest page above it."""
    adapter = current_app.url_map.bind("localhost")
    asked = path = urlsplit(target).path or "/"
    while True:
        try:
            adapter.match(path, method="GET")
        except RequestRedirect:
            pass  # the same page with or without a trailing slash
        except HTTPException:
            if path == "/":
                break
            path = path.rsplit("/", 1)[0] or "/"
            continue
        return target if path == asked else path
    return url_for("incidents.dashboard")
