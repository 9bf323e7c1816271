"""End to end through the API: a token uploads to S3 (moto's server), a real Celery worker on the
real Redis scans with a real clamd, and the API serves what it decided: a clean file through a
presigned URL with its bytes and original name, an infected one refused with the virus name.

Redis: TEST_API_EVIDENCE_REDIS_URL, default DB 10 of the local server (this module's own: it
empties only the queue keys of that DB). Runs once per database backend.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from api_helpers import bearer
from servers import (
    S3_TEST_BUCKET,
    CeleryWorker,
    clamd_server,
    redis_url_or_skip,
    s3_endpoint_fixture,  # noqa: F401 - provides the s3_endpoint fixture
)

from shared.config import Settings
from shared.metrics import DEFAULT_QUEUE
from web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "worker"))  # the sample files
from samples import EICAR, image_bytes

TEST_REDIS_URL = os.environ.get("TEST_API_EVIDENCE_REDIS_URL", "redis://127.0.0.1:6379/10")
PNG = image_bytes("PNG", (320, 240))


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    url = redis_url_or_skip(TEST_REDIS_URL)
    client = redis.Redis.from_url(url)
    client.delete(DEFAULT_QUEUE, "unacked", "unacked_index")
    yield url
    client.delete(DEFAULT_QUEUE, "unacked", "unacked_index")
    client.close()


@pytest.fixture(scope="module")
def settings_env(database_url, s3_endpoint, redis_url, tmp_path_factory) -> Iterator[dict[str, str]]:
    with clamd_server(tmp_path_factory.mktemp("clamd")) as clamd_address:
        yield {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": redis_url,
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": S3_TEST_BUCKET,
            "S3_ENDPOINT_URL": s3_endpoint,
            "S3_KEY_PREFIX": f"api{os.getpid()}-{Path(database_url).name[:12].replace('.', '-')}/",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "SCANNING_ENABLED": "true",
            "CLAMD_ADDRESS": clamd_address,
            "CLAMD_TIMEOUT_SECONDS": "60",
            "TASK_MAX_RETRIES": "2",
            "SECRET_KEY": "x" * 40,
            "DATA_DIR": str(tmp_path_factory.mktemp("data")),
        }


@pytest.fixture(scope="module")
def worker(settings_env, tmp_path_factory) -> Iterator[CeleryWorker]:
    started = CeleryWorker(tmp_path_factory.mktemp("worker"), settings_env, queue=DEFAULT_QUEUE)
    try:
        started.wait_until_ready()
        yield started
    finally:
        started.stop()


@pytest.fixture
def client(settings_env, users, worker):
    settings = Settings.from_env({k: v for k, v in settings_env.items() if not k.startswith("AWS_")})
    app = create_app(settings)
    app.config.update(TESTING=True)
    yield app.test_client()
    app.extensions["db_engine"].dispose()


def upload(client, incident, headers, name: str, data: bytes, content_type: str) -> dict:
    import io

    answer = client.post(
        f"/api/v1/incidents/{incident.key}/evidence",
        data={"file": (io.BytesIO(data), name, content_type)},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()[0]


def decided(client, headers, url: str, timeout: float = 60) -> dict:
    """The file's metadata once the worker has decided (polled as a client would)."""
    deadline = time.monotonic() + timeout
    while True:
        item = client.get(url, headers=headers).get_json()
        if item["state"] != "pending":
            return item
        if time.monotonic() > deadline:
            raise AssertionError(f"the worker did not decide {item['name']} in {timeout} s")
        time.sleep(0.2)


def fetch(url: str):
    """GET a presigned URL of the test's own moto server."""
    assert url.startswith("http://127.0.0.1:"), url
    return urllib.request.urlopen(url, timeout=10)  # noqa: S310 - checked just above


def test_a_clean_png_downloads_through_a_presigned_url_with_its_bytes_and_name(client, make_incident, make_token):
    member = bearer(make_token("member", "write"))
    incident = make_incident()
    uploaded = upload(client, incident, member, "Grafana — p99.png", PNG, "image/png")
    assert uploaded["state"] == "pending"
    assert uploaded["download_url"] is None

    item = decided(client, member, f"/api/v1/incidents/{incident.key}/evidence/{uploaded['id']}")

    assert (item["state"], item["detected_type"]) == ("clean", "image/png"), item["reason"]
    # HEAD is no download: the file's headers, never a link to its bytes (which would download
    # without a trace on the timeline).
    head = client.head(item["download_url"], headers=member)
    assert head.status_code == 200
    assert "Location" not in head.headers
    assert (head.headers["Content-Length"], head.mimetype) == (str(len(PNG)), "image/png")
    download = client.get(item["download_url"], headers=member)
    assert download.status_code == 303
    assert download.headers["Cache-Control"] == "no-store"
    with fetch(download.location) as fetched:
        assert fetched.read() == PNG
        assert fetched.headers["Content-Type"] == "image/png"
        disposition = fetched.headers["Content-Disposition"]
    # RFC 6266: the exact UTF-8 name, and an ASCII fallback for old clients.
    assert disposition == "attachment; filename=\"Grafana _ p99.png\"; filename*=UTF-8''Grafana%20%E2%80%94%20p99.png"


def test_an_infected_file_is_refused_with_the_virus_name(client, make_incident, make_token):
    member = bearer(make_token("member", "write"))
    incident = make_incident()
    uploaded = upload(client, incident, member, "notes.txt", b"see attached\n" + EICAR, "text/plain")
    url = f"/api/v1/incidents/{incident.key}/evidence/{uploaded['id']}"

    item = decided(client, member, url)

    assert item["state"] == "infected"
    assert item["download_url"] is None
    refused = client.get(f"{url}/download", headers=member)
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert "Eicar-Test-Signature" in refused.get_json()["detail"]
    assert "Location" not in refused.headers
