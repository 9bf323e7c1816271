"""Attaching evidence in the browser: a PNG and the EICAR test file go through a real worker
(Redis DB 14, clamd with the test signatures, local-disk storage shared with the web app),
and "clean" with a thumbnail and "infected" appear on the page without a reload."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from servers import CeleryWorker, clamd_server, delete_prefixed_keys, private_redis_prefix, redis_url_or_skip

from shared.config import Settings
from shared.metrics import DEFAULT_QUEUE

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "worker"))
from live_server import LiveServer, serve_app
from samples import EICAR, image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]
REDIS_URL = os.environ.get("TEST_EVIDENCE_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's own live server, with a worker beside it that scans."""
    redis_url = redis_url_or_skip(REDIS_URL)
    redis_prefix = private_redis_prefix()
    data_dir = tmp_path_factory.mktemp("e2e-evidence")
    with clamd_server(tmp_path_factory.mktemp("clamd")) as clamd_address:
        env = {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": redis_url,
            "REDIS_KEY_PREFIX": redis_prefix,
            "SCANNING_ENABLED": "true",
            "CLAMD_ADDRESS": clamd_address,
            "SECRET_KEY": "x" * 40,
            "DATA_DIR": str(data_dir),
        }
        worker = CeleryWorker(tmp_path_factory.mktemp("e2e-worker"), env, queue=DEFAULT_QUEUE)
        try:
            worker.wait_until_ready()
            settings = Settings.from_env(
                {**env, "RATE_LIMIT_LOGIN": "1000 per minute", "LOG_LEVEL": "WARNING"}
            ).validated()
            with serve_app(settings, name="e2e-evidence-server") as server:
                yield server
        finally:
            worker.stop()
            delete_prefixed_keys(redis_url, redis_prefix)


def test_attached_files_show_their_verdicts_without_a_reload(page: Page, sign_in, file_incident, tmp_path) -> None:
    file_incident("Suspicious attachment in the on-call inbox")
    png, eicar = tmp_path / "graph.png", tmp_path / "eicar.txt"
    png.write_bytes(image_bytes("PNG", (320, 200)))
    eicar.write_bytes(EICAR)
    sign_in("member@example.com")
    page.get_by_role("link", name="Suspicious attachment in the on-call inbox").click()
    page.wait_for_load_state()
    page.evaluate("window.notReloaded = true")

    page.get_by_label("Attach evidence").set_input_files([png, eicar])

    files = page.get_by_role("list", name="Evidence files")
    image = files.get_by_role("listitem").filter(has_text="graph.png")
    virus = files.get_by_role("listitem").filter(has_text="eicar.txt")
    expect(image.get_by_role("status")).to_have_text("clean", timeout=30_000)
    expect(image.get_by_role("img", name="Thumbnail of graph.png")).to_be_visible()
    expect(image.get_by_role("link", name="graph.png")).to_be_visible()
    expect(virus.get_by_role("status")).to_have_text("infected", timeout=30_000)
    expect(virus).to_contain_text("Cannot be downloaded: virus found: Eicar-Test-Signature")
    # The live incident page brings the timeline up to date too (its poll: 10 s).
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline).to_contain_text("Mo Member uploaded “graph.png”", timeout=30_000)
    expect(timeline).to_contain_text("system checked “eicar.txt”", timeout=30_000)
    expect(virus.get_by_role("link")).to_have_count(0)
    expect(virus.get_by_role("button", name="Copy SHA-256 of eicar.txt")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
