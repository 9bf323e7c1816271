"""Security headers on every response."""

from __future__ import annotations

from flask import Flask, request
from flask_login import current_user

# No inline scripts or styles anywhere: every script and stylesheet is a file under /static.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# What a signed-in person or a token reads besides pages: CSV and Markdown exports, API answers.
PRIVATE_DATA_TYPES = frozenset(
    {"text/csv", "text/markdown", "application/json", "application/problem+json", "application/x-ndjson"}
)


def _maybe_signed_in() -> bool:
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:  # the user could not be loaded (database gone): assume signed in
        return True  # and never cache; this hook must not turn an error page into a bare 500


def init_app(app: Flask, *, hsts: bool) -> None:
    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if response.mimetype == "text/html" and _maybe_signed_in():
            # Signed-in pages hold incident data: after sign-out, Back must not show them from cache.
            headers["Cache-Control"] = "no-store"
        elif response.mimetype in PRIVATE_DATA_TYPES and request.endpoint != "static":
            # Exports and API answers hold incidents, account emails and token names: no cache (a
            # shared machine's browser, a proxy) keeps them, unless the view chose its own rule.
            headers.setdefault("Cache-Control", "private, no-store")
        if hsts:
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        return response
