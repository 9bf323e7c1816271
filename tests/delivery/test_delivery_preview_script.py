""".github/scripts/preview.sh against stand-ins for terraform, the AWS and GitHub CLIs and curl
(fakes/): what a preview's up, down and the reaper do, and in which order."""

from __future__ import annotations

import os
import subprocess

import pytest
from delivery_helpers import REPO_ROOT

FAKES = REPO_ROOT / "tests" / "delivery" / "fakes"
TAG = "sha-" + "c" * 40


@pytest.fixture
def preview(tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    for name in ("preview", "preview-base"):
        root = tmp_path / "envs" / name
        root.mkdir(parents=True)
        (root / "variables.tf").write_text('variable "image" {\n  type = string\n}\n')
    (fake / "open_prs").write_text("42\n")
    (fake / "state_objects").write_text("")
    (fake / "state").write_text("")

    def run(command: str, pr: str = "42"):
        output = tmp_path / "github_output"
        env = {
            "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
            "FAKE": str(fake),
            "POLL_SECONDS": "0",
            "TF_ROOT": str(tmp_path / "envs" / "preview"),
            "BASE_ROOT": str(tmp_path / "envs" / "preview-base"),
            "IMAGE_REPOSITORY": "docker.io/example/incident-tracker",
            "IMAGE_TAG": TAG,
            "PR_NUMBER": pr,
            "STATE_BUCKET": "tfstate-bucket",
            "AWS_REGION": "eu-west-1",
            "GITHUB_REPOSITORY": "example-org/incident-tracker",
            "GITHUB_OUTPUT": str(output),
        }
        result = subprocess.run(
            ["bash", str(REPO_ROOT / ".github" / "scripts" / "preview.sh"), command],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        calls = (fake / "calls").read_text().splitlines() if (fake / "calls").exists() else []
        return result, calls, output.read_text() if output.exists() else ""

    run.fake = fake
    return run


def _index(calls, *fragments):
    return next(i for i, call in enumerate(calls) if all(f in call for f in fragments))


def test_up_creates_secrets_applies_creates_the_database_migrates_and_reports_the_url(preview):
    result, calls, output = preview("up")
    assert result.returncode == 0, result.stderr
    secrets = [call for call in calls if "create-secret" in call]
    assert [s.split("--name ")[1].split()[0] for s in secrets] == [
        "incident-tracker/pr-42/database-url",
        "incident-tracker/pr-42/redis-url",
    ]
    # Credentials are URL-encoded; Redis database = PR number mod 16.
    database_url = "postgresql+psycopg2://preview_app:p%40ss%2Fword@db.preview.internal:5432/pr_42?sslmode=require"
    assert database_url in secrets[0]
    assert "rediss://:tok%2Ben@redis.preview.internal:6379/10" in secrets[1]
    init = _index(calls, "init", "-backend-config=key=preview/pr-42.tfstate")
    plan = _index(calls, " plan ", "-var=pr_number=42", "pr_secret_arns={database_url=")
    create_db = _index(calls, "ecs run-task", "CREATE DATABASE")
    migrate = max(i for i, call in enumerate(calls) if "ecs run-task" in call)
    smoke = _index(calls, "curl ", "https://pr-42.preview.example.com/readyz")
    assert init < _index(calls, "create-secret") < plan < create_db < migrate < smoke
    assert "CREATE DATABASE" not in calls[migrate]
    assert output == "url=https://pr-42.preview.example.com\n"


def test_up_refuses_when_another_open_preview_has_the_same_redis_database(preview):
    preview.fake.joinpath("open_prs").write_text("42\n26\n")  # 26 mod 16 == 42 mod 16 == 10
    preview.fake.joinpath("state_objects").write_text("preview/pr-26.tfstate\n")
    result, calls, _ = preview("up")
    assert result.returncode != 0
    assert "PR #26's preview already uses Redis database 10" in result.stderr
    assert not any(call.startswith("terraform") for call in calls)


def test_up_stops_when_the_open_pull_requests_cannot_be_listed(preview):
    preview.fake.joinpath("gh_fails").write_text("")
    result, calls, _ = preview("up")
    assert result.returncode != 0
    assert not any(call.startswith("terraform") for call in calls)


def test_down_drops_the_database_before_destroying_then_deletes_files_secrets_and_state(preview):
    preview.fake.joinpath("state").write_text("module.web.aws_ecs_service.this\n")
    result, calls, _ = preview("down")
    assert result.returncode == 0, result.stderr
    drop = _index(calls, "ecs run-task", "DROP DATABASE")
    destroy = _index(calls, " destroy ", "-var=pr_number=42")
    files = _index(calls, "aws s3 rm s3://preview-evidence/pr-42/ --recursive")
    secrets = [i for i, call in enumerate(calls) if "delete-secret" in call]
    state = _index(calls, "aws s3 rm s3://tfstate-bucket/preview/pr-42.tfstate")
    assert drop < destroy < files < min(secrets) and max(secrets) < state
    assert len(secrets) == 2


def test_the_reaper_takes_down_only_previews_of_pull_requests_no_longer_open(preview):
    preview.fake.joinpath("open_prs").write_text("5\n")
    preview.fake.joinpath("state_objects").write_text("preview/pr-5.tfstate\npreview/pr-7.tfstate\n")
    result, calls, _ = preview("reap", pr="")
    assert result.returncode == 0, result.stderr
    assert any("aws s3 rm s3://tfstate-bucket/preview/pr-7.tfstate" in call for call in calls)
    assert not any("preview/pr-5.tfstate" in call and ("rm" in call or "init" in call) for call in calls)


@pytest.mark.parametrize("pr", ["", "0", "42; rm -rf /", "abc"])
def test_a_pull_request_number_is_validated(preview, pr):
    result, calls, _ = preview("down", pr=pr)
    assert result.returncode != 0
    assert calls == []
