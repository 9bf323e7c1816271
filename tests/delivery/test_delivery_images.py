"""docker/: hadolint on every Dockerfile, the compose stack's shape, and the images' command
lines run outside a container (no Docker engine here) against the test PostgreSQL.

Not here yet: the worker and beat command lines (`celery --app worker.celery_app worker|beat`)
need worker/celery_app.py (issue #5); their test comes with it."""

from __future__ import annotations

import importlib
import json
import subprocess
import urllib.request

import pytest
import yaml
from delivery_helpers import (
    DOCKER_DIR,
    REPO_ROOT,
    base_environment,
    dockerfile_stages,
    free_port,
    image_command,
    running,
    tool,
)

COMPOSE = DOCKER_DIR / "compose.yaml"
APP_SERVICES = ("migrate", "web", "worker", "beat")
# What the app talks to, and the app itself: each must report health so depends_on can wait.
HEALTH_CHECKED = ("postgres", "redis", "s3", "clamd", "mailpit", "web", "worker", "beat")
ONE_SHOT = ("migrate", "s3-bucket")
# Read by the AWS SDK (boto3) itself, not by our settings: MinIO's endpoint and local dummy keys.
AWS_SDK_VARIABLES = {"AWS_REGION", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
# Evidence, scanning and mail settings of issue #5, named as the Terraform roots set them. Accepted
# only while shared.config has no known_environment_variables(); from then on that list decides.
PENDING_SETTINGS = {
    "STORAGE_BACKEND",
    "S3_BUCKET",
    "SCANNING_ENABLED",
    "CLAMD_ADDRESS",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_FROM",
}
SECRET_KEY = "delivery-test-secret-key-0123456789abcdef"


def dockerfiles():
    return sorted(p for p in REPO_ROOT.rglob("*Dockerfile*") if ".venv" not in p.parts and p.is_file())


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def app_environment_variables() -> tuple[set[str], bool]:
    """Environment variables the app reads, and whether the settings module lists them itself.

    Adapter: shared.config.known_environment_variables() once it exists (pydantic-settings,
    issue #5); until then the ENV_NAMES table of today's Settings dataclass."""
    config = importlib.import_module("shared.config")
    gunicorn = {
        "BIND",
        "PORT",
        "WEB_CONCURRENCY",
        "WEB_THREADS",
        "WEB_TIMEOUT",
        "WEB_GRACEFUL_TIMEOUT",
        "WEB_KEEPALIVE",
        "FORWARDED_ALLOW_IPS",
    }
    known = getattr(config, "known_environment_variables", None)
    if known is not None:
        return set(known()) | gunicorn, True
    return set(config.Settings.ENV_NAMES) | gunicorn, False


@pytest.mark.parametrize("path", dockerfiles(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_hadolint_passes(path):
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "info", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_there_is_a_dockerfile_with_web_and_worker_targets():
    stages = dockerfile_stages()
    assert {"builder", "web", "worker"} <= set(stages)
    assert image_command("web") == ["gunicorn", "--config", "web/gunicorn_conf.py", "web.wsgi:app"]
    assert image_command("worker")[:4] == ["celery", "--app", "worker.celery_app", "worker"]
    for target in ("web", "worker"):
        lines = stages[target]
        assert any(line.startswith("USER 10001") for line in lines), f"{target}: not a fixed non-root UID"
        assert any("org.opencontainers.image.revision" in line for line in lines), f"{target}: no revision label"
    assert any(line.startswith("HEALTHCHECK") and "/healthz" in line for line in stages["web"])
    assert any("libmagic1" in line for line in stages["worker"])


def test_compose_has_every_service_with_health_checks_and_ordered_start():
    services = compose()["services"]
    missing = set(HEALTH_CHECKED + ONE_SHOT) - set(services)
    assert not missing, f"compose.yaml lacks {sorted(missing)}"
    for name in HEALTH_CHECKED:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["clamd"]["image"].startswith("clamav/clamav:")
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        if name != "migrate":
            assert depends["migrate"]["condition"] == "service_completed_successfully", name
            assert depends["redis"]["condition"] == "service_healthy", name
    for name in ("clamd", "mailpit", "s3-bucket"):
        assert name in services["worker"]["depends_on"]
    for name, service in services.items():
        if "image" in service:
            assert ":" in service["image"] and not service["image"].endswith(":latest"), f"{name}: unpinned image"


def test_compose_runs_the_images_own_command_lines():
    services = compose()["services"]
    assert services["web"]["command"] == image_command("web")
    assert services["worker"]["command"] == image_command("worker")
    assert services["beat"]["command"][:4] == ["celery", "--app", "worker.celery_app", "beat"]
    assert services["migrate"]["command"] == ["flask", "--app", "web", "db", "upgrade"]
    assert services["web"]["build"]["target"] == "web" and services["worker"]["build"]["target"] == "worker"


def test_every_variable_compose_sets_is_a_setting_the_app_reads():
    known, authoritative = app_environment_variables()
    allowed = known | AWS_SDK_VARIABLES | (set() if authoritative else PENDING_SETTINGS)
    for name in APP_SERVICES:
        unread = set(compose()["services"][name].get("environment", {})) - allowed
        assert not unread, f"compose service {name} sets {sorted(unread)}, which the app does not read"


@pytest.mark.postgres_only
def test_migrate_then_the_web_image_command_line_answers_readyz(temporary_database_url, tmp_path):
    """The migrate command of compose/ECS, then the web image's CMD, run as they are in the image."""
    database_url = temporary_database_url()
    port = free_port()
    env = base_environment(
        APP_ENV="production", SECRET_KEY=SECRET_KEY, DATABASE_URL=database_url, PORT=str(port), WEB_CONCURRENCY="1"
    )

    migrate = compose()["services"]["migrate"]["command"]
    result = subprocess.run(migrate, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

    with running(image_command("web"), env, port, tmp_path / "web.log", ready_path="/healthz") as base:
        response = urllib.request.urlopen(f"{base}/readyz", timeout=5)  # noqa: S310 - http://127.0.0.1 only
        with response:
            status, body = response.status, json.loads(response.read())
    assert (status, body) == (200, {"status": "ok", "database": "ok"})
