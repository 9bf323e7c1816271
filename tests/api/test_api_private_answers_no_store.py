"""The API's answers hold incident data and account emails: no cache keeps them (a browser's
fetch with the session, a proxy in between), as the pages and downloads already said (found by
QA: the CSV exports and JSON answers had no Cache-Control at all)."""

from __future__ import annotations

import pytest
from api_helpers import bearer


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/incidents",
        "/api/v1/incidents?format=csv",
        "/api/v1/audit/events",
        "/api/v1/audit/events?format=csv",
        "/api/v1/me",
        "/api/v1/incidents/INC-999999",  # a problem answer too
    ],
)
def test_an_api_answer_is_not_kept_by_any_cache(client, make_token, make_incident, url):
    make_incident()
    headers = bearer(make_token("lead", "read"))

    response = client.get(url, headers=headers)

    assert response.status_code in (200, 404), response.get_data(as_text=True)
    assert "no-store" in response.headers["Cache-Control"]
