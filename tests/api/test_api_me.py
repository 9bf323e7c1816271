"""GET /api/v1/me: a script with a token asks who it is (GitHub /user, PagerDuty /users/me): the
account, the scope its calls have, and the token it used; never the token's value or digest."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from api_helpers import bearer
from sqlalchemy import select, update

from shared.accounts import service as accounts
from shared.accounts import tokens
from shared.accounts.models import ApiToken
from shared.db import utcnow
from shared.timeutil import as_utc

ME = "/api/v1/me"
PROBLEM = "application/problem+json"


def _token_row(db, value: str) -> ApiToken:
    db.expire_all()
    return db.scalar(select(ApiToken).where(ApiToken.digest == accounts.token_digest(value)))


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(("who", "scope"), [("member", "read"), ("lead", "write"), ("admin", "admin")])
def test_a_token_of_any_scope_is_told_its_user_and_itself(client, db, users, make_token, who, scope):
    value = make_token(who, scope, expires_days=30)

    response = client.get(ME, headers=bearer(value))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    user = users[who]
    assert {k: body[k] for k in ("id", "email", "name", "role", "scope")} == {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": who,
        "scope": scope,
    }
    row = _token_row(db, value)
    token = body["token"]
    assert set(token) == {"id", "name", "scope", "created_at", "expires_at", "last_used_at"}
    assert (token["id"], token["name"], token["scope"]) == (row.id, f"{who}-{scope}", scope)
    assert _when(token["created_at"]) == as_utc(row.created_at)
    assert timedelta(days=29) < _when(token["expires_at"]) - _when(token["created_at"]) <= timedelta(days=30)
    assert token["last_used_at"] is not None


def test_a_token_that_never_expires_says_null(client, make_token):
    body = client.get(ME, headers=bearer(make_token("lead", "read"))).get_json()
    assert body["token"]["expires_at"] is None


def test_a_token_never_used_before_shows_this_call_as_its_last_use(client, db, users):
    token, value = tokens.create_token(session=db, user=users["lead"], name="new bridge", scope="read")
    db.commit()
    assert token.last_used_at is None
    before = utcnow()

    body = client.get(ME, headers=bearer(value)).get_json()

    assert (body["token"]["id"], body["token"]["name"]) == (token.id, "new bridge")
    assert _when(body["token"]["last_used_at"]) >= before - timedelta(seconds=1)


def test_the_body_holds_neither_the_tokens_value_nor_its_digest(client, db, make_token):
    value = make_token("admin", "admin")
    row = _token_row(db, value)

    text = client.get(ME, headers=bearer(value)).get_data(as_text=True)

    for secret in (value, value.removeprefix(tokens.PREFIX), row.digest, row.prefix):
        assert secret not in text
    assert "digest" not in text
    assert "password" not in text


def test_a_demoted_admins_admin_token_says_what_it_can_do_now(client, db, users, make_token):
    value = make_token("admin", "admin")
    accounts.change_role(session=db, actor=None, user_id=users["admin"].id, role="lead")
    db.commit()

    body = client.get(ME, headers=bearer(value)).get_json()

    assert (body["role"], body["scope"], body["token"]["scope"]) == ("lead", "write", "admin")


def test_revoked_expired_and_made_up_tokens_are_401_problems(client, db, users, make_token):
    revoked, expired = make_token("lead", "read"), make_token("lead", "read", expires_days=1)
    tokens.revoke_token(session=db, user=users["lead"], token_id=_token_row(db, revoked).id)
    db.execute(
        update(ApiToken)
        .where(ApiToken.digest == accounts.token_digest(expired))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    for headers in (bearer(revoked), bearer(expired), bearer("itk_not-a-token"), {}):
        response = client.get(ME, headers=headers)
        assert response.status_code == 401, headers
        assert response.mimetype == PROBLEM
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "email" not in response.get_json()


def test_a_browser_session_with_the_csrf_header_gets_its_user_and_no_token(client, users):
    from web_helpers import csrf_token_from, sign_in

    sign_in(client, users["lead"])
    refused = client.get(ME)
    assert refused.status_code == 401
    assert "X-CSRFToken" in refused.get_json()["detail"]
    csrf = csrf_token_from(client.get("/profile").get_data(as_text=True))

    response = client.get(ME, headers={"X-CSRFToken": csrf})

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["email"], body["role"], body["scope"], body["token"]) == ("lead@example.com", "lead", "write", None)


@pytest.mark.parametrize("query", ["foo=1", "fields=email", "token=1"])
def test_a_query_parameter_is_a_400_naming_it(client, make_token, query):
    refused = client.get(f"{ME}?{query}", headers=bearer(make_token("member", "read")))
    assert refused.status_code == 400
    assert refused.mimetype == PROBLEM
    body = refused.get_json()
    named = query.partition("=")[0]
    assert list(body["errors"]) == [named]
    assert "This endpoint takes no query parameters." in body["detail"]


def test_only_get_is_answered(client, make_token):
    headers = bearer(make_token("lead", "write"))
    for method in ("POST", "PATCH", "DELETE"):
        assert client.open(ME, method=method, json={}, headers=headers).status_code == 405, method


def test_it_counts_against_the_tokens_rate_limit(make_app, make_token):
    client = make_app(rate_limit_api="2 per minute").test_client()
    headers = bearer(make_token("lead", "read"))
    answers = [client.get(ME, headers=headers) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[-1].mimetype == PROBLEM
    assert int(answers[-1].headers["Retry-After"]) >= 1


def test_the_document_describes_the_operation_with_examples(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"][ME]["get"]
    assert operation["operationId"] == "get_me"
    assert operation["summary"]
    assert "`token` is null" in operation["description"]
    assert {"400", "401", "403", "429"} <= set(operation["responses"])
    ok = operation["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"$ref": "#/components/schemas/MeOut"}
    examples = ok["examples"]
    assert examples["token"]["value"]["token"]["scope"] == "write"
    assert examples["browser session"]["value"]["token"] is None
    me = document["components"]["schemas"]["MeOut"]
    assert set(me["required"]) == {"id", "email", "name", "role", "scope", "token"}
    token = document["components"]["schemas"]["CallerTokenOut"]
    assert set(token["properties"]) == {"id", "name", "scope", "created_at", "expires_at", "last_used_at"}
