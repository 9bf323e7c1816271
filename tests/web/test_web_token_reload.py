"""/profile "Create token": reloading the page that showed the new token posts the form again,
and that is refused, as a webhook's Rotate secret is (found by an integrator: a second token of
the name was made, two `api_token.created` events 2 s apart). The secret is shown once."""

from __future__ import annotations

import re

from sqlalchemy import select
from web_helpers import sign_in, texts

from shared.accounts import tokens
from shared.accounts.models import ApiToken
from shared.audit.models import AuditEvent

SECRET = re.compile(r'id="new-token" type="text" readonly value="(itk_[^"]+)"')
DRAWN_WITH = re.compile(r'name="newest_token" value="(\d+)"')


def _form(page: str, **fields) -> dict[str, str]:
    """What the page's "Create token" form posts (its hidden fields as drawn)."""
    hidden = {"newest_token": drawn.group(1)} if (drawn := DRAWN_WITH.search(page)) else {}
    return {"name": "pager bridge", "scope": "write", **hidden, **fields}


def _created(db) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.created")))


def test_reloading_after_create_token_makes_no_second_token(client, db, users):
    sign_in(client, users["member"])
    form = _form(client.get("/profile").get_data(as_text=True))
    created = client.post("/profile/tokens", data=form)
    assert created.status_code == 201
    first = SECRET.search(created.get_data(as_text=True)).group(1)

    reloaded = client.post("/profile/tokens", data=form)  # what the browser's reload sends
    html = reloaded.get_data(as_text=True)
    assert reloaded.status_code == 409
    assert SECRET.search(html) is None  # no new secret, and the first is never shown again
    assert first not in html
    [token] = db.scalars(select(ApiToken)).all()
    [alert] = texts(html, "p", "role", "alert")
    assert alert.startswith(f"Token pager bridge ({token.prefix}…) was created at ")
    assert "reloading the page that showed its secret (once) sends the form again" in alert
    assert len(_created(db)) == 1


def test_the_form_on_the_page_with_the_secret_makes_another_token(client, db, users):
    sign_in(client, users["member"])
    created = client.post("/profile/tokens", data=_form(client.get("/profile").get_data(as_text=True)))
    again = client.post("/profile/tokens", data=_form(created.get_data(as_text=True), name="laptop"))
    assert again.status_code == 201
    assert len(_created(db)) == 2


def test_a_form_drawn_before_a_token_made_elsewhere_is_refused(client, db, users):
    sign_in(client, users["member"])
    form = _form(client.get("/profile").get_data(as_text=True))
    tokens.create_token(session=db, user=users["member"], name="other tab", scope="read")
    db.commit()
    refused = client.post("/profile/tokens", data=form)
    assert refused.status_code == 409
    assert "Token other tab (" in refused.get_data(as_text=True)
    assert len(_created(db)) == 1


def test_two_tokens_of_one_name_are_still_allowed(client, db, users):
    """Not refused: scripts run `flask tokens create` for one user again and again with its
    default name (bench/), and the reload is refused without it."""
    sign_in(client, users["member"])
    assert client.post("/profile/tokens", data=_form(client.get("/profile").get_data(as_text=True))).status_code == 201
    assert client.post("/profile/tokens", data=_form(client.get("/profile").get_data(as_text=True))).status_code == 201
    assert len(_created(db)) == 2
