"""A signed-in person's exports are never kept by the browser's cache: the dashboard's and the
audit log's CSV hold every incident, account email and token name, and a shared machine's
cache must not hand them to the next person after sign-out (the pages and the Markdown export
already said no-store; the CSVs said nothing, found by QA)."""

from __future__ import annotations

import pytest
from web_helpers import sign_in


@pytest.mark.parametrize("url", ["/incidents.csv?q=status:all", "/audit.csv"])
def test_a_csv_export_is_not_kept_in_the_browsers_cache(client, users, url):
    sign_in(client, users["lead"])

    response = client.get(url)

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "no-store" in response.headers["Cache-Control"]


def test_static_files_keep_their_own_caching(client, users):
    sign_in(client, users["lead"])

    response = client.get("/static/app.css")

    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
