""".github/scripts/deploy.sh against stand-ins for terraform and the AWS CLI (fakes/; curl is a
tripwire): the order of a deploy (a migrate task definition revision with the new image, registered
with the AWS CLI and run before Terraform rolls the services; never `apply -target`), that a failed
migration, a failed rollout, a circuit-breaker rollback, an unhealthy target and a failed readiness
check each fail it, and the readiness check itself against the test PostgreSQL and Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from delivery_helpers import REPO_ROOT, base_environment

from shared import migrate

FAKES = REPO_ROOT / "tests" / "delivery" / "fakes"
TAG = "sha-" + "a" * 40
SAVED_PLAN_APPLY = "apply -input=false -no-color -lock-timeout=5m tfplan"
WEB_IMAGE = f"docker.io/example/incident-tracker-web:{TAG}"
WORKER_IMAGE = f"docker.io/example/incident-tracker-worker:{TAG}"
LAST_REVISION = "task-definition/incident-tracker-staging-web-migrate:7"
NEW_REVISION = "task-definition/incident-tracker-staging-web-migrate:8"
TARGET_GROUP = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/web-tg/73e2d6bc24d8a067"
HEALTHY = {"Target": {"Id": "10.0.1.5", "Port": 8000}, "TargetHealth": {"State": "healthy"}}
FAILING = {
    "Target": {"Id": "10.0.2.9", "Port": 8000},
    "TargetHealth": {
        "State": "unhealthy",
        "Reason": "Target.ResponseCodeMismatch",
        "Description": "Health checks failed with these codes: [503]",
    },
}


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

    def run(tag: str = TAG, cwd=None, **more_env: str):
        env = {
            "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
            "FAKE": str(fake),
            "POLL_SECONDS": "0",
            "HEALTH_CHECK_ATTEMPTS": "4",
            "TF_ROOT": str(root),
            "IMAGE_REPOSITORY": "docker.io/example/incident-tracker",
            "IMAGE_TAG": tag,
            **more_env,
        }
        result = subprocess.run(
            ["bash", str(REPO_ROOT / ".github" / "scripts" / "deploy.sh")],
            cwd=cwd,
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


def _index(calls: list[str], *fragments: str) -> int:
    return next(i for i, call in enumerate(calls) if all(fragment in call for fragment in fragments))


def _target_health(*looks: list[dict]) -> str:
    """$FAKE/target-health: one describe-target-health answer per look."""
    return "".join(json.dumps({"TargetHealthDescriptions": targets}) + "\n" for targets in looks)


def _registered(calls: list[str]) -> dict:
    call = next(call for call in calls if call.startswith("aws ecs register-task-definition"))
    return json.loads(call.split("--cli-input-json ", 1)[1].rsplit(" --query", 1)[0])


def test_migrates_before_the_services_roll_then_waits_for_healthy_targets_and_readiness(deploy):
    deploy.fake.joinpath("rollout-svc-web").write_text("IN_PROGRESS\nIN_PROGRESS\nCOMPLETED\n")
    result, calls = deploy()
    assert result.returncode == 0, result.stderr
    assert not any(call.startswith("terraform") and "-target" in call for call in calls)
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
    targets = _index(calls, "aws elbv2 describe-target-health")
    readiness = _index(calls, "aws ecs run-task", "/readyz")
    assert register < migrate < calls.index(plans[0]) < roll < min(waits)
    assert max(waits) < targets < readiness
    assert len([c for c in calls if "rolloutState" in c and "svc-web" in c]) == 3  # waited for COMPLETED
    # The web service's target group, as ECS names it; the worker has none.
    assert f"--target-group-arn {TARGET_GROUP}" in calls[targets]
    # /readyz from inside the VPC: the task definition Terraform just applied, the new image.
    assert LAST_REVISION in calls[readiness]
    assert not any(call.startswith("curl") for call in calls)  # the ALB does not accept the runner


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
    assert not any("describe-target-health" in call or "/readyz" in call for call in calls)


def test_a_service_left_on_an_older_image_fails_the_deploy(deploy):
    deploy.fake.joinpath("image").write_text("docker.io/example/incident-tracker-worker:sha-" + "b" * 40)
    result, calls = deploy()
    assert result.returncode != 0
    assert f"not {TAG}" in result.stderr
    assert not any("describe-target-health" in call or "/readyz" in call for call in calls)


def test_targets_still_registering_are_waited_for_and_draining_ones_left_out(deploy):
    registering = {"Target": {"Id": "10.0.1.5", "Port": 8000}, "TargetHealth": {"State": "initial"}}
    old = {"Target": {"Id": "10.0.3.3", "Port": 8000}, "TargetHealth": {"State": "draining"}}
    deploy.fake.joinpath("target-health").write_text(_target_health([registering, old], [HEALTHY, old]))
    result, calls = deploy()
    assert result.returncode == 0, result.stderr
    assert len([call for call in calls if "describe-target-health" in call]) == 2
    assert any("/readyz" in call for call in calls)


@pytest.mark.parametrize(
    ("looks", "message"),
    [
        (
            [[HEALTHY, FAILING]],
            "10.0.2.9:8000 unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [503])",
        ),
        ([[]], "no healthy target registered"),
    ],
    ids=["one-target-failing", "no-target"],
)
def test_unhealthy_targets_fail_the_deploy_after_bounded_looks_naming_them(deploy, looks, message):
    deploy.fake.joinpath("target-health").write_text(_target_health(*looks))
    result, calls = deploy()
    assert result.returncode != 0
    assert "svc-web: targets in " + TARGET_GROUP + " not healthy after 4 looks" in result.stderr
    assert message in result.stderr
    assert len([call for call in calls if "describe-target-health" in call]) == 4  # HEALTH_CHECK_ATTEMPTS
    assert not any("/readyz" in call for call in calls)


def test_a_failed_readiness_check_fails_the_deploy(deploy):
    deploy.fake.joinpath("readyz_exit_code").write_text("1")
    result, calls = deploy()
    assert result.returncode != 0
    assert "task/c/readyz failed: exit code 1" in result.stderr
    assert "readiness" in result.stderr
    assert "== deployed " not in result.stderr
    assert LAST_REVISION in calls[_index(calls, "aws ecs run-task", "/readyz")]


def _readyz_code() -> str:
    script = (REPO_ROOT / ".github" / "scripts" / "lib.sh").read_text()
    return script.split("READYZ='", 1)[1].split("'\n", 1)[0]


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("database_reachable", "migrated"),
    [(True, True), (False, True), (True, False)],
    ids=["ready", "database-down", "not-migrated"],
)
def test_the_readiness_code_answers_like_readyz(temporary_database_url, tmp_path, database_reachable, migrated):
    """What the readiness task runs in the new image: exit 0 only when /readyz answers 200 (a
    database this release's migration has not reached is not ready)."""
    database_url = temporary_database_url()
    if migrated:
        migrate.upgrade(database_url)
    if not database_reachable:
        database_url = "postgresql+psycopg2://nobody:nothing@127.0.0.1:1/none"
    env = base_environment(
        APP_ENV="production",
        SECRET_KEY="delivery-test-secret-key-0123456789abcdef",
        DATABASE_URL=database_url,
        REDIS_URL="redis://127.0.0.1:6379/12",
        DATA_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "-c", _readyz_code()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if database_reachable and migrated:
        assert result.returncode == 0, result.stdout + result.stderr
        assert '/readyz answered 200 {"broker":"ok","database":"ok","schema":"ok"' in result.stdout
    else:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "/readyz answered 503" in result.stdout
        if database_reachable:
            assert '"schema":"the database has no schema yet' in result.stdout
        else:
            assert '"database":"OperationalError"' in result.stdout


def test_the_first_deploy_creates_everything_then_migrates(deploy):
    deploy.fake.joinpath("state").write_text("")
    result, calls = deploy()
    assert result.returncode == 0, result.stderr
    assert not any(call.startswith("terraform") and "-target" in call for call in calls)
    assert not any("register-task-definition" in call for call in calls)
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


def _git(repository, *args: str) -> str:
    environment = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    environment |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=repository, env=environment, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def history(tmp_path):
    """A repository whose main has two commits and whose branch has one more, unmerged."""
    repository = tmp_path / "repository"
    repository.mkdir()
    _git(repository, "init", "-q", "-b", "main")
    commits = {}
    for name in ("first", "second"):
        _git(repository, "commit", "-q", "--allow-empty", "-m", name)
        commits[name] = _git(repository, "rev-parse", "HEAD")
    _git(repository, "checkout", "-q", "-b", "feature")
    _git(repository, "commit", "-q", "--allow-empty", "-m", "unreviewed")
    commits["unreviewed"] = _git(repository, "rev-parse", "HEAD")
    return repository, commits


@pytest.mark.parametrize("commit", ["first", "second"], ids=["rollback", "latest"])
def test_staging_and_prod_deploy_a_commit_merged_to_main(deploy, history, commit):
    repository, commits = history
    result, calls = deploy(f"sha-{commits[commit]}", cwd=repository, RELEASE_BRANCH="main")
    assert result.returncode == 0, result.stderr
    assert any(call.startswith("terraform") and " init " in f" {call} " for call in calls)


@pytest.mark.parametrize(
    ("commit", "says"),
    [
        ("unreviewed", "is not on main: only merged commits are deployed to this environment"),
        ("unknown", "is not in this checkout's history"),
    ],
)
def test_an_image_of_a_commit_not_on_main_is_refused_before_anything_changes(deploy, history, commit, says):
    """Found in review: preview images shared the release repositories and deploys accepted
    any sha- tag, so an unreviewed branch's image could be rolled out to prod by hand."""
    repository, commits = history
    sha = commits.get(commit, "c" * 40)
    result, calls = deploy(f"sha-{sha}", cwd=repository, RELEASE_BRANCH="main")
    assert result.returncode != 0
    assert f"::error::sha-{sha}: commit {sha} {says}" in result.stderr
    assert calls == []  # no terraform, no AWS call
