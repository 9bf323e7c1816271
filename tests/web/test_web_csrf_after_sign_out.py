"""Found by a security probe: a form sent after signing out in another tab (sign-out renews the
CSRF token) was answered "The CSRF tokens do not match" (and in silence from the New incident
dialog and a dashboard row) instead of going to sign in and back, as the README promises for
any session that ended. A signed-in person's bad token, and a forged post, still change nothing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from web_helpers import PASSWORD, csrf_token_from, login, sign_in, snapshot

HTMX = {"HX-Request": "true"}
NOT_SAVED = "Your session has ended, so that was not saved. Sign in again, then send it again."


@pytest.fixture
def incident(make_incident):
    return make_incident("open", reporter="member", owner="member")


def signed_out_elsewhere(client, users, page: str) -> str:
    """Sign in, open `page` (tab 1), sign out from another tab of the same browser: the token
    tab 1's forms still carry."""
    sign_in(client, users["member"])
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    other_tab = client.get("/").get_data(as_text=True)
    signed_out = client.post("/logout", data={"csrf_token": csrf_token_from(other_tab)})
    assert signed_out.status_code == 302
    return token


def sign_in_target(response) -> str:
    """Where the sign-in page will return to, from a redirect to it."""
    assert response.status_code == 302, response.get_data(as_text=True)
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    return parse_qs(location.query)["next"][0]


def test_a_comment_sent_after_signing_out_elsewhere_goes_to_sign_in_and_back(csrf_app, db, users, incident):
    client = csrf_app.test_client()
    page = f"/incidents/{incident.key}"
    token = signed_out_elsewhere(client, users, page)
    before = snapshot(db)

    response = client.post(
        f"{page}/comments",
        data={"csrf_token": token, "body": "Rolled back the 14:00 deploy."},
        headers={"Referer": f"http://localhost{page}"},
    )

    assert sign_in_target(response) == page
    sign_in_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert NOT_SAVED in sign_in_page
    assert "CSRF" not in sign_in_page
    assert snapshot(db) == before
    signed_in = client.post(
        response.headers["Location"],
        data={"csrf_token": csrf_token_from(sign_in_page), "email": users["member"].email, "password": PASSWORD},
    )
    assert urlsplit(signed_in.headers["Location"]).path == page


def test_the_new_incident_dialog_after_signing_out_elsewhere_goes_to_sign_in_and_back_to_the_form(csrf_app, db, users):
    client = csrf_app.test_client()
    token = signed_out_elsewhere(client, users, "/")
    before = snapshot(db)

    response = client.post(
        "/incidents/new",
        data={"title": "Checkout 500s", "priority": "P1", "environment": "prod"},
        headers={**HTMX, "X-CSRFToken": token, "Referer": "http://localhost/"},
    )

    # The form's own page, where app.js puts the kept draft back after signing in.
    assert sign_in_target(response) == "/incidents/new"
    assert snapshot(db) == before
    # htmx follows the redirect, then app.js goes to the sign-in page for real: the message
    # must still be there for that page, not used up by the page htmx fetched.
    assert client.get(response.headers["Location"], headers=HTMX).status_code == 204
    assert NOT_SAVED in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_row_move_after_signing_out_elsewhere_goes_to_sign_in_and_back_to_the_list(csrf_app, db, users, incident):
    client = csrf_app.test_client()
    token = signed_out_elsewhere(client, users, "/")
    before = snapshot(db)

    response = client.post(
        f"/incidents/{incident.key}/transition",
        data={"to": "in_progress", "version": str(incident.version), "from_row": "1"},
        headers={**HTMX, "X-CSRFToken": token, "Referer": "http://localhost/?q=status%3Aopen"},
    )

    assert sign_in_target(response) == "/?q=status%3Aopen"
    assert snapshot(db) == before


def test_a_signed_in_persons_bad_token_is_still_refused(csrf_app, db, users, incident):
    client = csrf_app.test_client()
    sign_in(client, users["member"])
    before = snapshot(db)

    response = client.post(
        f"/incidents/{incident.key}/comments", data={"csrf_token": "forged", "body": "Forged comment."}
    )

    assert response.status_code == 400
    assert "reload it and try again" in response.get_data(as_text=True)
    assert snapshot(db) == before


def test_a_cross_site_post_without_a_session_creates_nothing(csrf_app, db, users, incident):
    client = csrf_app.test_client()  # no cookie at all: a form on another site posting here
    before = snapshot(db)

    created = client.post(
        "/incidents/new",
        data={"title": "Forged", "priority": "P1", "environment": "prod"},
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/form"},
    )
    moved = client.post(f"/incidents/{incident.key}/transition", data={"to": "in_progress", "csrf_token": "x"})

    assert sign_in_target(created) == "/incidents/new"
    assert sign_in_target(moved) == f"/incidents/{incident.key}/transition"
    assert snapshot(db) == before


def test_a_sign_in_form_with_a_stale_token_is_still_refused(csrf_app, db, users):
    """Nobody is signed in there by design: "sign in first" would be no answer."""
    client = csrf_app.test_client()
    stale = csrf_token_from(client.get("/login").get_data(as_text=True))
    login(client, users["member"].email)
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})

    response = client.post("/login", data={"csrf_token": stale, "email": users["member"].email, "password": "x"})

    assert response.status_code == 400
    assert "reload it and try again" in response.get_data(as_text=True)
