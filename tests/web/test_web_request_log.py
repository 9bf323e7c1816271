"""Each request's log line names who made it: the signed-in user for a browser request, the
token's owner and the token's id for an API call (an operator traces what a token did, and
`tokens revoke TOKEN_ID` takes that id). Found by a platform engineer: every API line read
`user_id=None`, even a 201 create with a valid bearer token."""

from __future__ import annotations

import io
import logging

from web_helpers import sign_in

from shared.accounts import tokens


def _log_lines(make_app) -> tuple[object, io.StringIO]:
    app = make_app()  # APP_ENV=test: the readable text format an operator reads under `make run`
    (handler,) = logging.getLogger().handlers
    buffer = io.StringIO()
    handler.setStream(buffer)
    return app, buffer


def _request_line(buffer: io.StringIO, start: str) -> str:
    (line,) = [line for line in buffer.getvalue().splitlines() if f"INFO  {start} " in line]
    return line


def test_an_api_call_with_a_token_logs_its_owner_and_the_token_id(make_app, db, users):
    app, buffer = _log_lines(make_app)
    token, value = tokens.create_token(session=db, user=users["lead"], name="deploy bot", scope="write")
    db.commit()

    created = app.test_client().post(
        "/api/v1/incidents",
        json={"title": "Disk full on db-1", "priority": "P2"},
        headers={"Authorization": f"Bearer {value}"},
    )

    assert created.status_code == 201
    line = _request_line(buffer, "POST /api/v1/incidents 201")
    assert f" user_id={users['lead'].id} token_id={token.id} " in line
    assert value not in buffer.getvalue()


def test_a_refused_token_logs_nobody(make_app, users):
    app, buffer = _log_lines(make_app)

    refused = app.test_client().get("/api/v1/incidents", headers={"Authorization": "Bearer not-a-token"})

    assert refused.status_code == 401
    line = _request_line(buffer, "GET /api/v1/incidents 401")
    assert " user_id=None " in line
    assert "token_id" not in line


def test_a_browser_request_logs_the_signed_in_user_and_no_token(make_app, users):
    app, buffer = _log_lines(make_app)
    client = app.test_client()
    sign_in(client, users["member"])

    assert client.get("/").status_code == 200

    line = _request_line(buffer, "GET / 200")
    assert f" user_id={users['member'].id} " in line
    assert "token_id" not in line


def test_a_chunked_body_over_the_limit_keeps_its_request_id_and_timing(make_app, db, users):
    """A chunked JSON body over 2 MiB is refused 413 by web/input_guard.py before any view runs.
    Found by QA: that 413 carried an empty X-Request-ID and its log line read `request_id=None
    ... duration_ms=None`. The guard answers before the token is read, so nobody is named."""
    app, buffer = _log_lines(make_app)
    _token, value = tokens.create_token(session=db, user=users["lead"], name="alert bridge", scope="write")
    db.commit()

    refused = app.test_client().post(
        "/api/v1/incidents",
        input_stream=io.BytesIO(b'{"title": "' + b"x" * (3 * 1024 * 1024) + b'"}'),
        content_type="application/json",
        headers={"Authorization": f"Bearer {value}", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert refused.status_code == 413
    request_id = refused.headers.get("X-Request-ID", "")
    assert request_id != ""
    line = _request_line(buffer, "POST /api/v1/incidents 413")
    assert f" request_id={request_id} " in line
    assert " user_id=None " in line
    assert "duration_ms=None" not in line
    assert value not in buffer.getvalue()
