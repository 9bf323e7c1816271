"""docker/: hadolint on every Dockerfile, the compose stack's shape, and the images' command
lines run outside a container (no Docker engine here) against the test PostgreSQL.

Not here yet: the worker and beat command lines (`celery --app worker.celery_app worker|beat`)
need worker/celery_app.py (issue #5); their test comes with it."""

from __future__ import annotations

import importlib
import json
import re
import runpy
import signal
import subprocess
import time
import urllib.request
import uuid

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
RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
RDS_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"
APP_SERVICES = ("migrate", "web", "worker", "beat")
# What the app talks to, and the app itself: each must report health so depends_on can wait.
HEALTH_CHECKED = ("postgres", "redis", "s3", "clamd", "mailpit", "web", "worker", "beat")
ONE_SHOT = ("migrate", "s3-bucket")
SECRET_KEY = "delivery-test-secret-key-0123456789abcdef"
# Redis DB 12: the delivery tests' own, apart from the worker tests' 11 and the app's 0.
REDIS_URL = "redis://127.0.0.1:6379/12"


def dockerfiles():
    return sorted(p for p in DOCKER_DIR.rglob("*Dockerfile*") if p.is_file())


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def app_environment_variables() -> set[str]:
    """Environment variables the app reads: its settings, and what boto3 and gunicorn read."""
    config = importlib.import_module("shared.config")
    gunicorn = set(runpy.run_path(str(REPO_ROOT / "web" / "gunicorn_conf.py"))["ENVIRONMENT_VARIABLES"])
    return set(config.known_environment_variables(include_external=True)) | gunicorn


def compose_problems(data: dict) -> list[str]:
    """What is wrong with a parsed compose file, one message per problem."""
    problems = []
    services = data.get("services") or {}
    for name in sorted(set(HEALTH_CHECKED + ONE_SHOT) - set(services)):
        problems.append(f"missing service {name}")
    for name in HEALTH_CHECKED:
        if name in services and not (services[name].get("healthcheck") or {}).get("test"):
            problems.append(f"{name} has no health check")
    for name in APP_SERVICES:
        depends = (services.get(name) or {}).get("depends_on") or {}
        wanted = {"postgres": "service_healthy"}
        if name != "migrate":
            wanted |= {"redis": "service_healthy", "migrate": "service_completed_successfully"}
        for dependency, condition in wanted.items():
            if (depends.get(dependency) or {}).get("condition") != condition:
                problems.append(f"{name} does not wait for {dependency} ({condition})")
    worker_depends = (services.get("worker") or {}).get("depends_on") or {}
    for dependency in ("clamd", "mailpit", "s3-bucket"):
        if dependency not in worker_depends:
            problems.append(f"worker does not wait for {dependency}")
    if not str((services.get("clamd") or {}).get("image", "")).startswith("clamav/clamav:"):
        problems.append("clamd is not the official clamav/clamav image")
    for name, service in services.items():
        image = service.get("image")
        if image is not None and (":" not in image or image.endswith(":latest")):
            problems.append(f"{name}: image {image} is not pinned")
    commands = {
        "web": image_command("web"),
        "worker": image_command("worker"),
        "migrate": ["flask", "--app", "web", "db", "upgrade"],
    }
    for name, command in commands.items():
        if (services.get(name) or {}).get("command") != command:
            problems.append(f"{name} does not run the image's command {command}")
    if ((services.get("beat") or {}).get("command") or [])[:4] != ["celery", "--app", "worker.celery_app", "beat"]:
        problems.append("beat does not run celery beat")
    allowed = app_environment_variables()
    for name in APP_SERVICES:
        unread = set((services.get(name) or {}).get("environment") or {}) - allowed
        if unread:
            problems.append(f"{name} sets {sorted(unread)}, which the app does not read")
    return problems


def _drop(path: list[str]):
    def mutate(data: dict) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _set(path: list[str], value):
    def mutate(data: dict) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


COMPOSE_BREAKS = {
    "no clamd": (_drop(["services", "clamd"]), "missing service clamd"),
    "redis without health check": (_drop(["services", "redis", "healthcheck"]), "redis has no health check"),
    "web starts before migrations": (
        _set(["services", "web", "depends_on", "migrate", "condition"], "service_started"),
        "web does not wait for migrate",
    ),
    "worker ignores clamd": (_drop(["services", "worker", "depends_on", "clamd"]), "worker does not wait for clamd"),
    "latest image": (_set(["services", "redis", "image"], "redis:latest"), "redis: image redis:latest is not pinned"),
    "web command differs": (_set(["services", "web", "command"], ["flask", "run"]), "web does not run the image's"),
    "unread variable": (
        _set(["services", "worker", "environment", "DATABSE_URL"], "typo"),
        "worker sets ['DATABSE_URL']",
    ),
}


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


def test_both_images_carry_the_rds_ca_bundle_that_database_url_names():
    """DATABASE_URL (terraform/README.md "Secrets", the preview workflow) verifies the database's
    certificate with sslrootcert=/etc/ssl/certs/rds-global-bundle.pem: the file must be in web and
    worker, readable by UID 10001 (a remote ADD is 0600 otherwise)."""
    adds = [line.split() for line in dockerfile_stages()["base"] if line.split()[0].upper() == "ADD"]
    assert ["ADD", "--chmod=644", RDS_CA_BUNDLE_URL, RDS_CA_BUNDLE] in adds, adds
    dockerfile = (DOCKER_DIR / "Dockerfile").read_text()
    for target in ("web", "worker"):
        assert re.search(rf"^FROM base AS {target}$", dockerfile, re.MULTILINE), f"{target} is not built on base"
    # The DATABASE_URLs the tasks get (a psql through the bastion uses the operator's own copy).
    urls = re.findall(r"postgresql\+psycopg2://\S+", (REPO_ROOT / "terraform" / "README.md").read_text())
    documented = {found for url in urls for found in re.findall(r"sslrootcert=([^\s\"&]+)", url)}
    assert documented == {RDS_CA_BUNDLE}


def test_compose_has_every_service_health_checked_and_running_the_images_commands():
    assert compose_problems(compose()) == []


def test_the_compose_mail_settings_deliver_to_a_server_without_starttls():
    """Mailpit (no certificate) offers no STARTTLS, and the app never falls back to plain text:
    with compose's app environment, pointed at a local SMTP server that offers none either, a
    notification must arrive."""
    from email.message import EmailMessage

    from aiosmtpd.controller import Controller

    from shared.config import Settings
    from shared.notifications import service

    class Inbox:
        def __init__(self):
            self.envelopes = []

        async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
            self.envelopes.append(envelope)
            return "250 OK"

    environment = compose()["services"]["worker"]["environment"]
    assert environment["SMTP_HOST"] == "mailpit"
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = Settings.from_env({**environment, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(controller.port)})
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = settings.smtp_from, "you@example.com", "Incident #1"
        message.set_content("An incident was opened.")
        service.make_mailer(settings).send(message)
    finally:
        controller.stop()
    assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [["you@example.com"]]


@pytest.mark.parametrize("break_name", COMPOSE_BREAKS)
def test_a_broken_compose_file_is_caught(break_name):
    mutate, expected = COMPOSE_BREAKS[break_name]
    data = compose()
    mutate(data)
    problems = compose_problems(data)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.postgres_only
def test_migrate_then_the_web_image_command_line_answers_readyz(temporary_database_url, tmp_path):
    """The migrate command of compose/ECS, then the web image's CMD, run as they are in the image."""
    database_url = temporary_database_url()
    port = free_port()
    env = base_environment(
        APP_ENV="production",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        DATA_DIR=str(tmp_path),  # the local evidence storage /readyz checks
        PORT=str(port),
        WEB_CONCURRENCY="1",
    )

    migrate = compose()["services"]["migrate"]["command"]
    result = subprocess.run(migrate, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

    with running(image_command("web"), env, port, tmp_path / "web.log", ready_path="/healthz") as base:
        response = urllib.request.urlopen(f"{base}/readyz", timeout=5)  # noqa: S310 - http://127.0.0.1 only
        with response:
            status, body = response.status, json.loads(response.read())
    assert (status, body) == (200, {"status": "ok", "database": "ok", "schema": "ok", "broker": "ok", "storage": "ok"})


@pytest.mark.postgres_only
def test_the_worker_and_beat_command_lines_process_a_task(temporary_database_url, tmp_path):
    """The worker image's CMD and compose's beat command, run as they are in the image, on Redis:
    a task published by the app's Celery client is consumed and answered."""
    from celery import Celery

    queue = f"delivery-{uuid.uuid4().hex[:8]}"
    env = base_environment(
        APP_ENV="production",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=temporary_database_url(),
        REDIS_URL=REDIS_URL,
        ALLOW_UNSCANNED_EVIDENCE="true",
        # The app itself keeps no task results; this test reads the answer.
        CELERY_RESULT_BACKEND=REDIS_URL,
    )
    worker_argv = [*image_command("worker"), "--queues", queue, "--concurrency", "1"]
    beat_argv = [*compose()["services"]["beat"]["command"][:-1], str(tmp_path / "celerybeat-schedule")]
    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "beat")}
    processes = {}
    for name, argv in (("worker", worker_argv), ("beat", beat_argv)):
        with logs[name].open("wb") as output:
            processes[name] = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    client = Celery(broker=REDIS_URL, backend=REDIS_URL)
    try:
        answer = client.send_task("incident_tracker.system.ping", queue=queue).get(timeout=60)
        assert answer["pong"] is True
        deadline = time.monotonic() + 30
        while "beat: Starting..." not in logs["beat"].read_text() and time.monotonic() < deadline:
            assert processes["beat"].poll() is None, logs["beat"].read_text()
            time.sleep(0.2)
        assert "beat: Starting..." in logs["beat"].read_text()
    finally:
        client.close()
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    for log in logs.values():
        assert "Traceback" not in log.read_text(), log.read_text()
