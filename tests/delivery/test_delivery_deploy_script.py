""".github/scripts/deploy.sh against stand-ins for terraform, the AWS CLI and curl (fakes/):
the order of a deploy (a migrate task definition revision with the new image, registered with the
AWS CLI and run before Terraform rolls the services; never `apply -target`), and that a failed
migration, a failed rollout and a circuit-breaker rollback each fail it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from delivery_helpers import REPO_ROOT

FAKES = REPO_ROOT / "tests" / "delivery" / "fakes"
TAG = "sha-" + "a" * 40
SAVED_PLAN_APPLY = "apply -input=false -no-color -lock-timeout=5m tfplan"
WEB_IMAGE = f"docker.io/example/incident-tracker-web:{TAG}"
WORKER_IMAGE = f"docker.io/example/incident-tracker-worker:{TAG}"
LAST_REVISION = "task-definition/incident-tracker-staging-web-migrate:7"
NEW_REVISION = "task-definition/incident-tracker-staging-web-migrate:8"


@pytest.fixture
def deploy(tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    root = tmp_path / "envs" / "staging"
    root.mkdir(parents=True)
    (root / "variables.tf").write_text(
        'variable "web_image" {\n  type = string\n}\n\nvariable "worker_image" {\n  type = string\n}\n'
    )
    (fake / "state").write_text("module.web.aws_ecs_service.this\n")

    def run(tag: str = TAG):
        env = {
            "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
            "FAKE": str(fake),
            "POLL_SECONDS": "0",
            "TF_ROOT": str(root),
            "IMAGE_REPOSITORY": "docker.io/example/incident-tracker",
            "IMAGE_TAG": tag,
        }
        result = subprocess.run(
            ["bash", str(REPO_ROOT / ".github" / "scripts" / "deploy.sh")],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        calls = (fake / "calls").read_text().splitlines() if (fake / "calls").exists() else []
        return result, calls

    run.fake = fake
    return run


def _index(calls: list[str], fragment: str) -> int:
    return next(i for i, call in enumerate(calls) if fragment in call)


def _registered(calls: list[str]) -> dict:
    call = next(call for call in calls if call.startswith("aws ecs register-task-definition"))
    return json.loads(call.split("--cli-input-json ", 1)[1].rsplit(" --query", 1)[0])


def test_migrates_before_the_services_roll_then_waits_and_smoke_tests(deploy):
    deploy.fake.joinpath("rollout-svc-web").write_text("IN_PROGRESS\nIN_PROGRESS\nCOMPLETED\n")
    result, calls = deploy()
    assert result.returncode == 0, result.stderr
    assert not any("-target" in call for call in calls)
    plans = [call for call in calls if " plan " in call]
    assert len(plans) == 1
    assert f"-var=web_image={WEB_IMAGE}" in plans[0]
    assert f"-var=worker_image={WORKER_IMAGE}" in plans[0]
    # The last apply's migrate task definition, only its app image changed, its tags kept.
    definition = _registered(calls)
    assert definition["family"] == "incident-tracker-staging-web-migrate"
    assert definition["containerDefinitions"][0]["image"] == WEB_IMAGE
    assert definition["containerDefinitions"][0]["command"] == ["flask", "--app", "web", "db", "upgrade"]
    assert definition["tags"] == [{"key": "Service", "value": "incident-tracker"}]
    assert {"status", "revision", "taskDefinitionArn", "registeredAt"}.isdisjoint(definition)
    described = _index(calls, "aws ecs describe-task-definition --task-definition arn:aws:ecs:")
    assert LAST_REVISION in calls[described]  # the last apply's revision, not the family's newest
    register = _index(calls, "aws ecs register-task-definition")
    migrate = _index(calls, "aws ecs run-task")
    assert NEW_REVISION in calls[migrate]
    assert NEW_REVISION in calls[_index(calls, "aws ecs deregister-task-definition")]
    roll = _index(calls, SAVED_PLAN_APPLY)
    waits = [i for i, call in enumerate(calls) if "rolloutState" in call]
    smoke = _index(calls, "curl ")
    assert register < migrate < calls.index(plans[0]) < roll < min(waits)
    assert max(waits) < smoke
    assert len([c for c in calls if "rolloutState" in c and "svc-web" in c]) == 3  # waited for COMPLETED
    assert "--connect-to incidents.example.com:443:alb-1.eu-west-1.elb.amazonaws.com:443" in calls[smoke]
    assert calls[smoke].endswith("https://incidents.example.com/readyz")


def test_a_failed_migration_stops_before_the_services_roll(deploy):
    deploy.fake.joinpath("exit_code").write_text("3")
    result, calls = deploy()
    assert result.returncode != 0
    assert "exit code 3" in result.stderr
    assert not any(" plan " in call or " apply " in call for call in calls)
    assert not any("rolloutState" in call for call in calls)


@pytest.mark.parametrize(
    ("answers", "message"),
    [("IN_PROGRESS\nFAILED\n", "rollout FAILED"), ("IN_PROGRESS\nNone\n", "rolled back")],
    ids=["circuit-breaker-failed", "replaced-by-rollback"],
)
def test_a_rollout_that_does_not_complete_fails_the_deploy(deploy, answers, message):
    deploy.fake.joinpath("rollout-svc-worker").write_text(answers)
    result, calls = deploy()
    assert result.returncode != 0
    assert message in result.stderr
    assert not any(call.startswith("curl") for call in calls)


def test_a_service_left_on_an_older_image_fails_the_deploy(deploy):
    deploy.fake.joinpath("image").write_text("docker.io/example/incident-tracker-worker:sha-" + "b" * 40)
    result, calls = deploy()
    assert result.returncode != 0
    assert f"not {TAG}" in result.stderr
    assert not any(call.startswith("curl") for call in calls)


def test_the_first_deploy_creates_everything_then_migrates(deploy):
    deploy.fake.joinpath("state").write_text("")
    result, calls = deploy()
    assert result.returncode == 0, result.stderr
    assert not any("-target" in call or "register-task-definition" in call for call in calls)
    migrate = _index(calls, "aws ecs run-task")
    assert _index(calls, SAVED_PLAN_APPLY) < migrate
    assert LAST_REVISION in calls[migrate]
    assert len([call for call in calls if " apply " in call]) == 1


@pytest.mark.parametrize("tag", ["latest", "sha-abc123", "main"])
def test_only_a_full_sha_tag_is_deployed(deploy, tag):
    result, calls = deploy(tag)
    assert result.returncode != 0
    assert "sha-<full commit sha>" in result.stderr
    assert calls == []
