"""The OpenAPI document and the docs page; migration 0006 keeps signed-in sessions signed in."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import text

from shared import migrate
from shared.db import make_engine, utcnow


def test_openapi_31_document_lists_the_api_with_bearer_auth(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"/api/v1/incidents", "/api/v1/incidents/{key}", "/api/v1/users", "/api/v1/audit/verify"} <= set(
        spec["paths"]
    )
    refused = spec["paths"]["/api/v1/incidents"]["post"]["responses"]["422"]
    assert "application/problem+json" in refused["content"]


def test_docs_page_is_served_from_our_static_files_under_the_strict_csp(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, sources
    assert all(s.startswith("/") for s in sources), sources  # no CDN
    assert "<script>" not in html  # no inline script
    for source in (s for s in sources if s.startswith("/static/")):
        assert client.get(source).status_code == 200, source
    # A way back to the app, and to where tokens are made.
    assert {"/", "/profile"} <= set(sources)


def test_a_browser_asking_for_favicon_ico_gets_the_apps_icon(client):
    response = client.get("/favicon.ico", follow_redirects=True)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"


def test_migration_0006_rewrites_session_ids_as_their_digest(temporary_database_url):
    url = temporary_database_url()
    migrate.upgrade(url, "0002")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, role, is_active, created_at)"
                    " VALUES (1, 'a@example.com', 'A', 'x', 'member', true, :now)"
                ),
                {"now": utcnow()},
            )
            connection.execute(
                text(
                    "INSERT INTO login_sessions (id, user_id, created_at, expires_at) VALUES ('raw-cookie', 1, :n, :e)"
                ),
                {"n": utcnow(), "e": utcnow() + timedelta(hours=1)},
            )
        migrate.upgrade(url, "0006")
        with engine.connect() as connection:
            ids = connection.execute(text("SELECT id FROM login_sessions")).scalars().all()
        assert ids == [hashlib.sha256(b"raw-cookie").hexdigest()]
    finally:
        engine.dispose()
