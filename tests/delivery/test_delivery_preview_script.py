""".github/scripts/preview.sh against stand-ins for terraform and the AWS and GitHub CLIs (fakes/;
curl is a tripwire): what a preview's up, down and the reaper do, and in which order."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from delivery_helpers import REPO_ROOT, dockerfile_stages

FAKES = REPO_ROOT / "tests" / "delivery" / "fakes"
TAG = "sha-" + "c" * 40


@pytest.fixture
def preview(tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    for name in ("preview", "preview-base"):
        (tmp_path / "envs" / name).mkdir(parents=True)
    (tmp_path / "envs" / "preview" / "variables.tf").write_text(
        'variable "web_image" {\n  type = string\n}\n\nvariable "worker_image" {\n  type = string\n}\n'
    )
    (fake / "open_prs").write_text("42\n")
    (fake / "state_objects").write_text("")
    (fake / "state").write_text("")

    def run(command: str, pr: str = "42", **extra: str):
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
            **extra,
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


def test_up_creates_the_secret_and_database_migrates_applies_and_reports_the_url(preview):
    preview.fake.joinpath("state").write_text("module.app.module.web.aws_ecs_service.this\n")
    result, calls, output = preview("up")
    assert result.returncode == 0, result.stderr
    secrets = [call for call in calls if "create-secret" in call]
    # One per-PR secret: Redis is the base's shared REDIS_URL with REDIS_KEY_PREFIX=pr-42: (Terraform).
    assert [s.split("--name ")[1].split()[0] for s in secrets] == ["incident-tracker/pr-42/database-url"]
    url = sa.engine.make_url(secrets[0].split("--secret-string ")[1].split()[0])
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "preview_app",
        "p@ss/word",
        "db.preview.internal",
        5432,
        "pr_42",
    )
    # The certificate and host name are verified against the CA bundle the image carries.
    assert dict(url.query) == {"sslmode": "verify-full", "sslrootcert": _rds_ca_bundle_in_the_image()}
    assert not any("redis" in call.lower() for call in calls)
    assert not any(call.startswith("gh ") for call in calls)
    init = _index(calls, "init", "-backend-config=key=preview/pr-42.tfstate")
    register = _index(calls, "register-task-definition", "incident-tracker-web:" + TAG)
    create_db = _index(calls, "ecs run-task", "CREATE DATABASE")
    migrate = max(i for i, call in enumerate(calls) if "ecs run-task" in call and "/readyz" not in call)
    plan = _index(calls, " plan ", "-var=pr_number=42", 'pr_secret_arns={database_url="arn:')
    apply = _index(calls, "apply", "tfplan")
    rollout = max(i for i, call in enumerate(calls) if "rolloutState" in call)
    targets = _index(calls, "aws elbv2 describe-target-health", "targetgroup/web-tg/")
    # /readyz twice: in the new revision before anything rolls, then in the applied one.
    ready_before, readiness = [i for i, call in enumerate(calls) if "ecs run-task" in call and "/readyz" in call]
    assert init < _index(calls, "create-secret") < register < create_db < migrate < ready_before < plan < apply
    assert apply < rollout < targets < readiness
    assert "CREATE DATABASE" not in calls[migrate]
    assert not any(call.startswith("curl") for call in calls)  # the ALB does not accept the runner
    assert "-var=web_image=docker.io/example/incident-tracker-web:" + TAG in calls[plan]
    assert "-var=worker_image=docker.io/example/incident-tracker-worker:" + TAG in calls[plan]
    assert not any(call.startswith("terraform") and "-target" in call for call in calls)
    assert output == "url=https://pr-42.preview.example.com\n"


def test_a_new_preview_is_applied_whole_then_gets_its_database_and_migrates(preview):
    result, calls, _ = preview("up")
    assert result.returncode == 0, result.stderr
    assert not any("register-task-definition" in call for call in calls)
    assert _index(calls, "apply", "tfplan") < _index(calls, "ecs run-task", "CREATE DATABASE")


def test_down_drops_the_database_before_destroying_then_deletes_files_secrets_and_state(preview):
    preview.fake.joinpath("state").write_text("module.web.aws_ecs_service.this\n")
    result, calls, _ = preview("down")
    assert result.returncode == 0, result.stderr
    drop = _index(calls, "ecs run-task", "DROP DATABASE")
    # The shared Redis is private to the VPC: a one-off task of the preview's task definition
    # (its REDIS_KEY_PREFIX) deletes pr-42:* and nothing else.
    keys = _index(calls, "ecs run-task", "scan_iter(match=prefix")
    assert "pr-[0-9]+:" in calls[keys]
    destroy = _index(calls, " destroy ", "-var=pr_number=42")
    files = _index(calls, "aws s3 rm s3://preview-evidence/pr-42/ --recursive")
    secrets = [i for i, call in enumerate(calls) if "delete-secret" in call]
    state = _index(calls, "aws s3 rm s3://tfstate-bucket/preview/pr-42.tfstate")
    assert drop < destroy
    assert keys < destroy < files < min(secrets)
    assert max(secrets) < state
    assert 'pr_secret_arns={database_url="' in calls[destroy]
    assert "redis_url" not in calls[destroy]


def test_the_reaper_takes_down_only_previews_of_pull_requests_no_longer_open(preview):
    preview.fake.joinpath("open_prs").write_text("5\n")
    preview.fake.joinpath("state_objects").write_text("preview/pr-5.tfstate\npreview/pr-7.tfstate\n")
    result, calls, _ = preview("reap", pr="")
    assert result.returncode == 0, result.stderr
    assert any("aws s3 rm s3://tfstate-bucket/preview/pr-7.tfstate" in call for call in calls)
    assert not any("preview/pr-5.tfstate" in call and ("rm" in call or "init" in call) for call in calls)


def test_an_unhealthy_preview_is_not_reported_up(preview):
    preview.fake.joinpath("target-health").write_text(
        '{"TargetHealthDescriptions": [{"Target": {"Id": "10.1.0.7", "Port": 8000}, "TargetHealth": '
        '{"State": "unhealthy", "Reason": "Target.Timeout", "Description": "Request timed out"}}]}\n'
    )
    # Three looks, not the default sixty: each is a few processes, and a loaded CI machine took
    # over the minute the run is given.
    result, calls, output = preview("up", HEALTH_CHECK_ATTEMPTS="3")
    assert result.returncode != 0
    assert "10.1.0.7:8000 unhealthy (Target.Timeout: Request timed out)" in result.stderr
    assert output == ""  # no URL for the comment: the job fails
    assert not any("/readyz" in call for call in calls)


def test_the_reaper_leaves_a_closed_pull_request_whose_own_run_is_not_finished(preview):
    # PR 7's destroy job (group preview-7) is running: a second `down` would race it.
    preview.fake.joinpath("open_prs").write_text("5\n")
    preview.fake.joinpath("active_runs").write_text("7\n")
    preview.fake.joinpath("state_objects").write_text("preview/pr-7.tfstate\npreview/pr-8.tfstate\n")
    result, calls, _ = preview("reap", pr="")
    assert result.returncode == 0, result.stderr
    runs = [call for call in calls if call.startswith("gh run list") and "--workflow preview.yml" in call]
    assert any("--branch feature-7" in call for call in runs)
    assert "leaving it to that run" in result.stderr
    assert not any("pr-7" in call and ("init" in call or " rm " in call) for call in calls)
    assert any("aws s3 rm s3://tfstate-bucket/preview/pr-8.tfstate" in call for call in calls)


def test_the_reaper_starts_no_teardown_once_its_budget_is_used(preview):
    # One set of AWS credentials for the whole run: previews left over wait for the next hourly run.
    preview.fake.joinpath("open_prs").write_text("5\n")
    preview.fake.joinpath("state_objects").write_text("preview/pr-7.tfstate\npreview/pr-8.tfstate\n")
    result, calls, _ = preview("reap", pr="", REAP_BUDGET_SECONDS="0")
    assert result.returncode == 0, result.stderr
    assert "the previews of PRs 7 8 are left to the next run" in result.stderr
    assert not any(call.startswith("terraform") or " rm " in call for call in calls)


def test_the_reaper_refuses_a_budget_that_is_not_seconds(preview):
    result, calls, _ = preview("reap", pr="", REAP_BUDGET_SECONDS="1h")
    assert result.returncode != 0
    assert "REAP_BUDGET_SECONDS" in result.stderr
    assert calls == []


def _rds_ca_bundle_in_the_image() -> str:
    """Where docker/Dockerfile's base stage puts the RDS CA bundle (ADD <url> <path>)."""
    adds = [line.split() for line in dockerfile_stages()["base"] if line.startswith("ADD ")]
    bundles = [words[-1] for words in adds if words[-2].endswith("/global/global-bundle.pem")]
    assert len(bundles) == 1, adds
    return bundles[0]


@pytest.mark.parametrize("pr", ["", "0", "42; rm -rf /", "abc"])
def test_a_pull_request_number_is_validated(preview, pr):
    result, calls, _ = preview("down", pr=pr)
    assert result.returncode != 0
    assert calls == []


@pytest.mark.parametrize("pr", ["50000", "99999"])
def test_a_pull_request_past_what_the_preview_root_takes_gets_no_preview(preview, pr):
    """Found in review: the script took PR numbers up to 99999, envs/preview only up to 49999, so
    #50000 got its secret and database before Terraform refused it."""
    result, calls, _ = preview("up", pr=pr)
    assert result.returncode != 0
    assert f"::error::pull request #{pr}: previews exist only for pull requests #1 to #49999" in result.stderr
    assert calls == []  # no secret, no database, no Terraform


def test_the_highest_pull_request_number_the_preview_root_takes_gets_a_preview(preview):
    result, calls, _ = preview("up", pr="49999")
    assert result.returncode == 0, result.stderr
    assert any("-var=pr_number=49999" in call for call in calls)


@pytest.mark.parametrize("prefix", ["", "pr-42", "*", "pr-*:"])
def test_the_redis_cleanup_refuses_a_prefix_that_is_not_one_preview(prefix):
    script = (REPO_ROOT / ".github" / "scripts" / "preview.sh").read_text()
    code = script.split("DELETE_REDIS_KEYS='", 1)[1].split("'\n", 1)[0]
    env = {**os.environ, "REDIS_KEY_PREFIX": prefix, "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, timeout=30
    )
    assert result.returncode != 0
    assert "refusing to delete keys" in result.stderr
