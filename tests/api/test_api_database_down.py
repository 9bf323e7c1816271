"""The database unreachable (PostgreSQL restarting, failing over): a 503 that says to retry.

Found by `make faults` (PostgreSQL restarted under load): the requests caught by the restart
answered 500 "Something went wrong", which tells nobody to simply try again. DATABASE_URL here
points at a port nothing listens on, as a restarting PostgreSQL looks to the app.
"""

from __future__ import annotations

import time

from api_helpers import bearer
from servers import free_port


def test_a_request_while_the_database_is_unreachable_gets_503_with_retry_after(make_app):
    app = make_app(database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/gone")
    client = app.test_client()

    started = time.monotonic()
    answer = client.post("/api/v1/incidents", json={"title": "x", "priority": "P2"}, headers=bearer("itk_whatever"))
    assert time.monotonic() - started < 10
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert "database is not reachable" in answer.get_json()["detail"]

    page = client.post("/login", data={"email": "lead@example.com", "password": "whatever"})
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert "The database is not reachable right now. Try again in a few seconds." in page.get_data(as_text=True)
