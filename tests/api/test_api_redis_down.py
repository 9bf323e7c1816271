"""Redis (the rate limits' store) unreachable: requests are still served, under in-memory limits.

Found by `make faults` (Redis stopped while incidents are created): every API call and sign-in
answered 500, because the rate limiter could not reach its storage. REDIS_URL here points at a
port nothing listens on, as a stopped Redis looks to the app.
"""

from __future__ import annotations

import time

from api_helpers import bearer
from servers import free_port


def test_the_api_and_sign_in_work_while_redis_is_down_and_limits_still_apply(make_app, make_token):
    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0", rate_limit_api="5 per minute")
    client = app.test_client()
    token = make_token("lead", "write")

    started = time.monotonic()
    answer = client.post("/api/v1/incidents", json={"title": "Redis is down", "priority": "P2"}, headers=bearer(token))
    assert answer.status_code == 201, answer.get_json()
    assert time.monotonic() - started < 5

    page = client.post("/login", data={"email": "lead@example.com", "password": "wrong"})
    assert page.status_code == 401  # the form again with its message, not an error page
    assert "Something went wrong" not in page.get_data(as_text=True)

    # The fallback still limits: the API's rate per client, counted in this process.
    statuses = [client.get("/api/v1/incidents", headers=bearer(token)).status_code for _ in range(8)]
    assert 429 in statuses
    assert statuses[0] == 200
