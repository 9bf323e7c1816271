""".github/scripts/deploy.sh against stand-ins for terraform, the AWS CLI and the Docker CLI's
registry lookup (fakes/; curl is a tripwire): the order of a deploy (the tag resolved to digests
once; a migrate task definition revision with the new image, registered with the AWS CLI, run and
asked /readyz before Terraform rolls the services; never `apply -target`), that a failed
migration, a failed rollout, a circuit-breaker rollback, an unhealthy target and a failed readiness
check each fail it (those after the apply rolling the services back), that a one-off task is
stopped when the deploy times out or is cancelled, and the readiness check itself against the test
PostgreSQL and Redis."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from delivery_helpers import REPO_ROOT, base_environment

FAKES = REPO_ROOT / "tests" / "delivery" / "fakes"
TAG = "sha-" + "a" * 40
SAVED_PLAN_APPLY = "apply -input=false -no-color -lock-timeout=5m tfplan"
WEB_TAGGED = f"docker.io/example/incident-tracker-web:{TAG}"
WORKER_TAGGED = f"docker.io/example/incident-tracker-worker:{TAG}"


def _digest(reference: str) -> str:
    """The digest the fake registry (fakes/docker) holds for a tag nobody pushed again."""
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


WEB_DIGEST = _digest(WEB_TAGGED)
WORKER_DIGEST = _digest(WORKER_TAGGED)
WEB_IMAGE = f"docker.io/example/incident-tracker-web@{WEB_DIGEST}"
WORKER_IMAGE = f"docker.io/example/incident-tracker-worker@{WORKER_DIGEST}"
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
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
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
    run.summary = tmp_path / "summary.md"
    return run


def _index(calls: list[str], *fragments: str) -> int:
    return next(i for i, call in enumerate(calls) if all(fragment in call for fragment in fragments))


def _after_apply(calls: list[str]) -> list[str]:
    return calls[_index(calls, SAVED_PLAN_APPLY) :]


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
    waits = [i for i, call in enumerate(calls) if "rolloutState" in call and "[?id==" in call]
    targets = _index(calls, "aws elbv2 describe-target-health")
    ready_before, ready_after = [i for i, call in enumerate(calls) if "ecs run-task" in call and "/readyz" in call]
    assert register < migrate < ready_before < calls.index(plans[0]) < roll < min(waits)
    assert max(waits) < targets < ready_after
    assert len([i for i in waits if "svc-web" in calls[i]]) == 3  # waited for COMPLETED
    # The web service's target group, as ECS names it; the worker has none.
    assert f"--target-group-arn {TARGET_GROUP}" in calls[targets]
    # /readyz from inside the VPC: first the new revision (before anything rolls), then the task
    # definition Terraform just applied, both with the new image.
    assert NEW_REVISION in calls[ready_before]
    assert LAST_REVISION in calls[ready_after]
    assert not any(call.startswith("curl") for call in calls)  # the ALB does not accept the runner
    assert not any("update-service" in call for call in calls)  # nothing rolled back or forced


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
    assert not any("describe-target-health" in call or "/readyz" in call for call in _after_apply(calls))


def test_a_service_left_on_an_older_image_fails_the_deploy(deploy):
    older = "docker.io/example/incident-tracker-worker@sha256:" + "b" * 64
    deploy.fake.joinpath("image").write_text(older)
    result, calls = deploy()
    assert result.returncode != 0
    assert f"the primary deployment runs {older}, not {WEB_IMAGE} or {WORKER_IMAGE}" in result.stderr
    assert not any("describe-target-health" in call or "/readyz" in call for call in _after_apply(calls))


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
    assert [call for call in calls if "/readyz" in call and "run-task" in call] == [
        call for call in calls[: _index(calls, " plan ")] if "/readyz" in call and "run-task" in call
    ]  # only the one before the rollout
    assert "rolled the services back to their previous task definitions" in result.stderr


def test_a_release_that_is_not_ready_never_rolls(deploy):
    """Found in review: /readyz was asked only after the rollout, so a release that starts but
    cannot reach its database, broker or storage became the running release with no way back."""
    deploy.fake.joinpath("readyz_exit_code").write_text("1")
    result, calls = deploy()
    assert result.returncode != 0
    assert (
        "::error::readiness before the rollout: the new image does not answer /readyz 200 (nothing was rolled: "
        "the services still run the previous release): one-off task arn:aws:ecs:eu-west-1:111111111111:task/c/readyz "
        "failed: exit code 1" in result.stderr
    )
    assert "== deployed " not in result.stderr
    assert NEW_REVISION in calls[_index(calls, "aws ecs run-task", "/readyz")]
    assert not any(" plan " in call or " apply " in call for call in calls)
    # The revision Terraform does not know is retired anyway.
    assert NEW_REVISION in calls[_index(calls, "aws ecs deregister-task-definition")]


def test_a_failed_readiness_check_after_the_rollout_rolls_the_services_back(deploy):
    deploy.fake.joinpath("readyz_exit_code").write_text("0\n1\n")  # ready before, not after
    result, calls = deploy()
    assert result.returncode != 0
    assert "readiness after the rollout: the new image does not answer /readyz 200" in result.stderr
    assert "== deployed " not in result.stderr
    rollbacks = [call for call in calls if "ecs update-service" in call]
    previous = "arn:aws:ecs:eu-west-1:111111111111:task-definition"
    assert len(rollbacks) == 2
    assert f"--service svc-web --task-definition {previous}/svc-web:41" in rollbacks[0]
    assert f"--service svc-worker --task-definition {previous}/svc-worker:41" in rollbacks[1]
    assert _index(calls, SAVED_PLAN_APPLY) < calls.index(rollbacks[0])
    assert (
        "rolled the services back to their previous task definitions "
        "(svc-web -> arn:aws:ecs:eu-west-1:111111111111:task-definition/svc-web:41;"
        "svc-worker -> arn:aws:ecs:eu-west-1:111111111111:task-definition/svc-worker:41)" in result.stderr
    )


def _readyz_code() -> str:
    script = (REPO_ROOT / ".github" / "scripts" / "lib.sh").read_text()
    return script.split("READYZ='", 1)[1].split("'\n", 1)[0]


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("database_reachable", "migrated"),
    [(True, True), (False, True), (True, False)],
    ids=["ready", "database-down", "not-migrated"],
)
def test_the_readiness_code_answers_like_readyz(request, db_backend, tmp_path, database_reachable, migrated):
    """What the readiness task runs in the new image: exit 0 only when /readyz answers 200 (a
    database this release's migration has not reached is not ready)."""
    if not database_reachable:
        database_url = "postgresql+psycopg2://nobody:nothing@127.0.0.1:1/none"
    elif migrated:
        database_url = request.getfixturevalue("database_url")  # this process's, migrated to head
    else:
        database_url = request.getfixturevalue("temporary_database_url")()  # empty: no schema
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


def test_the_tag_is_deployed_by_the_digest_it_points_at_and_recorded_in_the_summary(deploy):
    """Found in review: Terraform and the migrate task got `repo:tag`, so whatever the tag pointed
    at when ECS pulled it ran, whoever pushed it."""
    result, calls = deploy()
    assert result.returncode == 0, result.stderr
    lookups = [call for call in calls if call.startswith("docker buildx imagetools inspect")]
    assert [call.split()[4] for call in lookups] == [WEB_TAGGED, WORKER_TAGGED]  # once each
    assert calls.index(lookups[-1]) < _index(calls, "terraform", " init ")
    (plan,) = [call for call in calls if " plan " in call]
    assert f"-var=web_image={WEB_IMAGE}" in plan
    assert f"-var=worker_image={WORKER_IMAGE}" in plan
    assert _registered(calls)["containerDefinitions"][0]["image"] == WEB_IMAGE
    summary = deploy.summary.read_text()
    assert f"| `docker.io/example/incident-tracker-web` | `{TAG}` | `{WEB_DIGEST}` |" in summary
    assert f"| `docker.io/example/incident-tracker-worker` | `{TAG}` | `{WORKER_DIGEST}` |" in summary


def test_a_tag_pushed_again_after_the_release_built_it_is_refused_naming_both_digests(deploy):
    built = "sha256:" + "1" * 64
    result, calls = deploy(EXPECTED_WEB_DIGEST=built, EXPECTED_WORKER_DIGEST=WORKER_DIGEST)
    assert result.returncode != 0
    assert (
        f"::error::{WEB_TAGGED} points at {WEB_DIGEST}, not at {built} that this release built and pushed: "
        "the tag was pushed again since; refusing to deploy it" in result.stderr
    )
    assert all(call.startswith("docker ") for call in calls)  # no terraform, no AWS call


def test_the_digests_this_release_built_are_deployed(deploy):
    result, calls = deploy(EXPECTED_WEB_DIGEST=WEB_DIGEST, EXPECTED_WORKER_DIGEST=WORKER_DIGEST)
    assert result.returncode == 0, result.stderr
    assert f"-var=web_image={WEB_IMAGE}" in next(call for call in calls if " plan " in call)


def test_a_tag_missing_from_the_registry_is_refused_before_anything_changes(deploy):
    deploy.fake.joinpath("missing").write_text(WORKER_TAGGED + "\n")
    result, calls = deploy()
    assert result.returncode != 0
    assert f"::error::{WORKER_TAGGED} is not in the registry" in result.stderr
    assert all(call.startswith("docker ") for call in calls)


def test_a_migrate_task_past_its_deadline_is_stopped_and_its_revision_deregistered(deploy):
    """Found in review: on its 30-minute cap the deploy failed but the task went on migrating."""
    deploy.fake.joinpath("task_status").write_text("RUNNING")
    result, calls = deploy(ONE_OFF_TIMEOUT_SECONDS="0")
    assert result.returncode != 0
    assert "task arn:aws:ecs:eu-west-1:111111111111:task/c/abc did not stop within 0 minutes" in result.stderr
    assert "stopped the one-off task arn:aws:ecs:eu-west-1:111111111111:task/c/abc" in result.stderr
    stop = _index(calls, "aws ecs stop-task")
    assert "--cluster incident-tracker-staging --task arn:aws:ecs:eu-west-1:111111111111:task/c/abc" in calls[stop]
    assert NEW_REVISION in calls[_index(calls, "aws ecs deregister-task-definition")]
    assert not any(" plan " in call or " apply " in call or "update-service" in call for call in calls)


def test_a_cancelled_deploy_stops_its_migrate_task(deploy, tmp_path):
    """GitHub cancels a job with SIGINT then SIGTERM: the migrate task must not outlive it."""
    deploy.fake.joinpath("task_status").write_text("RUNNING")
    env = {
        "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
        "FAKE": str(deploy.fake),
        "POLL_SECONDS": "30",
        "TF_ROOT": str(tmp_path / "envs" / "staging"),
        "IMAGE_REPOSITORY": "docker.io/example/incident-tracker",
        "IMAGE_TAG": TAG,
    }
    process = subprocess.Popen(
        ["bash", str(REPO_ROOT / ".github" / "scripts" / "deploy.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    calls_file = deploy.fake / "calls"
    try:
        for _ in range(600):  # until the deploy polls its migrate task
            if calls_file.exists() and "lastStatus" in calls_file.read_text():
                break
            try:
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"deploy.sh ended before it polled its task: {process.communicate()[1]}")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143
    calls = calls_file.read_text().splitlines()
    assert "arn:aws:ecs:eu-west-1:111111111111:task/c/abc" in calls[_index(calls, "aws ecs stop-task")]
    assert NEW_REVISION in calls[_index(calls, "aws ecs deregister-task-definition")]
    assert "stopped the one-off task" in stderr


def test_a_redeploy_after_a_failed_first_rollout_starts_a_new_deployment(deploy):
    """Found in review: the same tag again changes nothing in Terraform, so ECS started nothing
    and the deploy failed on the old deployment's FAILED."""
    deploy.fake.joinpath("primary-svc-web").write_text("FAILED")
    result, calls = deploy()
    assert result.returncode == 0, result.stderr
    (forced,) = [call for call in calls if "--force-new-deployment" in call]
    assert "--service svc-web" in forced
    assert _index(calls, SAVED_PLAN_APPLY) < calls.index(forced)
    assert "its primary deployment ecs-svc/1 had FAILED" in result.stderr


def test_one_off_tasks_carry_the_task_definition_tags(deploy):
    result, calls = deploy()
    assert result.returncode == 0, result.stderr
    runs = [call for call in calls if "ecs run-task" in call]
    assert len(runs) == 3  # migrate, /readyz before and after
    assert all("--propagate-tags TASK_DEFINITION" in call for call in runs)


def test_a_signal_just_as_a_pause_begins_leaves_no_sleep_holding_the_job_s_log():
    """The job cancelled in the instant between a pause's `sleep &` and the recording of its pid:
    the trap used to kill only the recorded pid, so that sleep outlived the script with its stdout
    and stderr open, and whatever read the log waited out the whole pause (a whole-run flake of
    the test above). Every background job goes with the script now."""
    script = f'source "{REPO_ROOT / ".github" / "scripts" / "lib.sh"}"; sleep 30 & kill -TERM $$; wait'
    started = time.monotonic()
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 143, result.stderr
    assert time.monotonic() - started < 10
