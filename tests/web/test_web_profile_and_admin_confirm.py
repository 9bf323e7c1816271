"""Revoking an API token and changing someone's role ask first, on a page that works without
JavaScript (as disabling a user does): both took effect in one tap (found by QA)."""

from __future__ import annotations

import re

from web_helpers import sign_in, snapshot

from shared.accounts import tokens


def test_revoke_asks_first_and_only_yes_revokes(client, db, users):
    token, value = tokens.create_token(session=db, user=users["member"], name="ci-deploy", scope="write")
    db.commit()
    api = client.application.test_client()
    auth = {"Authorization": f"Bearer {value}"}
    sign_in(client, users["member"])
    before = snapshot(db)

    asked = client.post(f"/profile/tokens/{token.id}/revoke")
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert "Revoke token ci-deploy?</h3>" in html
    assert "stop working at once" in html
    assert "Yes, revoke ci-deploy</button>" in html
    assert re.search(r'<a class="button" href="/profile#tokens-heading"[^>]*>Cancel</a>', html)
    assert snapshot(db) == before  # nothing happened yet
    assert api.get("/api/v1/incidents", headers=auth).status_code == 200

    done = client.post(f"/profile/tokens/{token.id}/revoke", data={"confirm": "1"})
    assert done.status_code == 302
    assert f"Token ci-deploy ({token.prefix}…) is revoked." in client.get("/profile").get_data(as_text=True)
    assert api.get("/api/v1/incidents", headers=auth).status_code == 401


def test_revoking_someone_elses_token_is_still_not_found(client, db, users):
    token, _ = tokens.create_token(session=db, user=users["lead"], name="lead's", scope="read")
    db.commit()
    sign_in(client, users["member"])
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 404


def test_change_role_asks_first_naming_the_sign_out(client, db, users):
    sign_in(client, users["admin"])
    member = users["member"]
    before = snapshot(db)

    asked = client.post(f"/admin/users/{member.id}/role", data={"role": "lead"})
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert "Make member@example.com lead?</h2>" in html
    assert "is signed out everywhere at once" in html
    assert "Yes, make member@example.com lead</button>" in html
    assert '<input type="hidden" name="role" value="lead">' in html
    assert snapshot(db) == before

    done = client.post(f"/admin/users/{member.id}/role", data={"role": "lead", "confirm": "1"})
    assert done.status_code == 302
    assert "member@example.com is now lead; their sessions were signed out." in client.get("/admin/users").get_data(
        as_text=True
    )


def test_the_same_role_again_is_not_asked_about(client, db, users):
    sign_in(client, users["admin"])
    response = client.post(f"/admin/users/{users['member'].id}/role", data={"role": "member"})
    assert response.status_code == 302
