"""Issue 8, "Robustness and security defects" (found by probing a production-mode instance):
each test sends what the probe sent and asserts what a person (or an observer) would see."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from web_helpers import sign_in

from shared.accounts.models import User
from web.db import get_session

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options")


@pytest.fixture
def production_like(make_app):
    """An app that answers an unhandled error with its 500 page, as production does."""
    app = make_app()
    app.testing = False
    return app


def _failed_statement(session):
    session.execute(text("SELECT * FROM no_such_table"))


def _failed_flush(session):
    # Two accounts with one email: the unique index refuses the flush (an IntegrityError),
    # and the session then refuses every statement until it is rolled back.
    session.add(User(email="admin@example.com", name="Twin", password_hash="x", role="member", is_active=True))
    session.flush()


@pytest.mark.parametrize("failure", [_failed_statement, _failed_flush], ids=["statement", "flush"])
def test_a_database_error_gets_the_500_page_with_its_headers(production_like, users, failure):
    def broken():
        failure(get_session())

    production_like.add_url_rule("/broken-db", view_func=broken)
    client = production_like.test_client()
    sign_in(client, users["admin"])

    response = client.get("/broken-db")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert "Users" in response.get_data(as_text=True)  # the page still knows who is signed in
    for header in SECURITY_HEADERS:
        assert header in response.headers
