"""`flask tokens create` acts as the operator (by no user), as `tokens revoke` does: the trail
said the token's owner made it (found by an integrator). The owner is the event's account and in
its data."""

from __future__ import annotations

from sqlalchemy import select

from shared.accounts import tokens
from shared.audit.models import AuditEvent


def _bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_a_token_made_at_the_command_line_is_recorded_as_the_operators_doing(runner, app, db, users):
    member = users["member"]
    result = runner.invoke(args=["tokens", "create", "--user", "member@example.com", "--scope", "write"])
    assert result.exit_code == 0, result.output

    db.expire_all()
    [created] = db.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.created")).all()
    assert (created.actor_id, created.entity_type, created.entity_id) == (None, "user", member.id)
    assert created.data["owner_id"] == member.id
    assert created.data["name"] == "CLI token"

    # What an auditor reads: the system did it, not the member.
    _, admin_value = tokens.create_token(session=db, user=users["admin"], name="audit reader", scope="read")
    db.commit()
    listed = app.test_client().get(
        "/api/v1/audit/events", query_string={"action": "api_token.created"}, headers=_bearer(admin_value)
    )
    assert listed.status_code == 200
    by_cli = [e for e in listed.get_json()["items"] if e["data"]["name"] == "CLI token"]
    assert len(by_cli) == 1
    assert by_cli[0]["actor"] is None


def test_a_token_made_on_the_profile_is_still_its_owners_doing(client, db, users):
    from web_helpers import sign_in

    sign_in(client, users["member"])
    assert client.post("/profile/tokens", data={"name": "laptop", "scope": "read"}).status_code == 201
    db.expire_all()
    [created] = db.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.created")).all()
    assert created.actor_id == users["member"].id
    assert created.data["owner_id"] == users["member"].id
