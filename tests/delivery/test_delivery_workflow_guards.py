"""What the deploy, teardown and preview workflows refuse or bound before anything reaches AWS:
staging and prod (and any state-backend cleanup) only from main, AWS sessions as long as the jobs
that use them, and a preview reaper that starts no teardown its credentials cannot finish.

The branch guards are run, not read: the `run:` steps a job waits for (its `needs`, transitively,
and its own steps before its first action) are executed with bash, with the job's environment
from the inputs and GITHUB_REF as GitHub sets it."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml
from delivery_helpers import REPO_ROOT, WORKFLOWS_DIR
from workflow_rules import AWS_ACTION

BOOTSTRAP = REPO_ROOT / "terraform" / "envs" / "bootstrap" / "main.tf"
TAG = "sha-" + "a" * 40
INPUT = re.compile(r"^\$\{\{\s*inputs\.([a-z_]+)\s*\}\}$")


def _workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS_DIR / name).read_text())


def _gate_steps(jobs: dict, job_id: str, seen: set[str] | None = None) -> list[tuple[dict, dict]]:
    """(job, step) of every run: step that must pass before `job_id` reaches its first action."""
    seen = set() if seen is None else seen
    if job_id in seen:
        return []
    seen.add(job_id)
    job = jobs[job_id]
    needs = job.get("needs") or []
    gates = [gate for need in ([needs] if isinstance(needs, str) else needs) for gate in _gate_steps(jobs, need, seen)]
    for step in job.get("steps") or []:
        if "uses" in step:
            break
        if "run" in step:
            gates.append((job, step))
    return gates


def _job_env(job: dict, inputs: dict[str, str]) -> dict[str, str]:
    env = {}
    for name, value in (job.get("env") or {}).items():
        match = INPUT.match(str(value))
        if match:
            env[name] = inputs.get(match.group(1), "")
    return env


def _run_gates(workflow: str, job_id: str, ref: str, **inputs: str) -> subprocess.CompletedProcess[str]:
    jobs = _workflow(workflow)["jobs"]
    gates = _gate_steps(jobs, job_id)
    assert gates, f"{workflow}: nothing is checked before job {job_id} runs"
    result = None
    for job, step in gates:
        env = {"PATH": os.environ["PATH"], "GITHUB_REF": ref, **_job_env(job, inputs), **_job_env(step, inputs)}
        result = subprocess.run(
            ["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, check=False, timeout=30
        )
        if result.returncode != 0:
            return result
    return result


@pytest.mark.parametrize(
    ("environment", "ref", "allowed"),
    [
        ("prod", "refs/heads/main", True),  # release.yml calls it from main pushes
        ("staging", "refs/heads/main", True),
        ("prod", "refs/heads/feature-x", False),
        ("staging", "refs/heads/feature-x", False),
        ("prod", "refs/tags/v1.0.0", False),
        ("dev", "refs/heads/feature-x", True),
    ],
)
def test_staging_and_prod_are_deployed_only_from_main(environment, ref, allowed):
    result = _run_gates("deploy.yml", "deploy", ref, environment=environment, image_tag=TAG)
    if allowed:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode != 0
        assert "::error::" in result.stdout + result.stderr
        assert "only from main" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("environment", "ref", "backend_cleanup", "allowed"),
    [
        ("prod", "refs/heads/main", "false", True),
        ("staging", "refs/heads/main", "true", True),
        ("prod", "refs/heads/feature-x", "false", False),
        ("staging", "refs/heads/feature-x", "false", False),
        ("dev", "refs/heads/feature-x", "false", True),
        ("preview-base", "refs/heads/feature-x", "false", True),
        # The backend cleanup assumes an account administrator role: main only, whatever the environment.
        ("dev", "refs/heads/feature-x", "true", False),
    ],
)
def test_teardown_destroys_staging_and_prod_and_cleans_backends_only_from_main(
    environment, ref, backend_cleanup, allowed
):
    inputs = {"environment": environment, "confirm": environment, "backend_cleanup": backend_cleanup}
    result = _run_gates("teardown.yml", "destroy", ref, **inputs)
    if allowed:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode != 0
        assert "::error::" in result.stdout + result.stderr
        assert "only from main" in result.stdout + result.stderr


def test_the_backend_cleanup_waits_for_the_branch_check():
    jobs = _workflow("teardown.yml")["jobs"]
    checked = " ".join(step["run"] for _, step in _gate_steps(jobs, "backend-cleanup"))
    assert "GITHUB_REF" in checked
    assert "BACKEND_CLEANUP" in checked


def _aws_steps():
    for path in sorted(WORKFLOWS_DIR.glob("*.yml")):
        for job_id, job in (yaml.safe_load(path.read_text())["jobs"] or {}).items():
            for step in job.get("steps") or []:
                if str(step.get("uses", "")).startswith(AWS_ACTION + "@"):
                    yield f"{path.name}: {job_id}", job, step.get("with") or {}


def test_deploy_role_sessions_last_as_long_as_the_roles_allow_and_the_jobs_run():
    allowed = {int(s) for s in re.findall(r"max_session_duration\s*=\s*(\d+)", BOOTSTRAP.read_text())}
    assert len(allowed) == 1, f"envs/bootstrap sets the deploy roles' max_session_duration to {allowed}"
    (max_session,) = allowed
    roles = ("AWS_DEPLOY_ROLE_ARN", "AWS_PREVIEW_TEARDOWN_ROLE_ARN")
    deploy_steps = [(where, job, inputs) for where, job, inputs in _aws_steps() if any(r in str(inputs) for r in roles)]
    assert len(deploy_steps) >= 5  # deploy, teardown destroy, preview deploy, destroy and reap
    for where, job, inputs in deploy_steps:
        # Longer than the role allows would fail AssumeRoleWithWebIdentity; shorter would expire
        # under a long job (the action's default is one hour).
        assert int(inputs.get("role-duration-seconds", 3600)) == max_session, where
        assert job["timeout-minutes"] * 60 <= max_session, where


def test_the_reaper_starts_no_teardown_its_credentials_cannot_finish():
    jobs = _workflow("preview.yml")["jobs"]
    reap, destroy = jobs["reap"], jobs["destroy"]
    budget_minutes = int(reap["env"]["REAP_BUDGET_SECONDS"]) / 60
    (credentials,) = [
        int(step["with"]["role-duration-seconds"])
        for step in reap["steps"]
        if str(step.get("uses", "")).startswith(AWS_ACTION + "@")
    ]
    # The last teardown starts before the budget is used and may take as long as a closed pull
    # request's own destroy job; the job (and so the teardown) ends before the credentials do.
    assert budget_minutes + destroy["timeout-minutes"] <= reap["timeout-minutes"] <= credentials / 60


@pytest.mark.parametrize("job_id", ["images", "deploy", "comment", "destroy"])
def test_dependabot_pull_requests_get_no_preview(job_id):
    condition = str(_workflow("preview.yml")["jobs"][job_id]["if"])
    assert "github.actor != 'dependabot[bot]'" in condition


def test_a_release_deploy_checks_the_digests_its_build_pushed_with_the_released_commits_scripts():
    """release.yml hands deploy.yml the digests from build-push-action's outputs.digest; the
    deploy job gives them to deploy.sh, which refuses a tag that points elsewhere by then."""
    deploy = _workflow("deploy.yml")["jobs"]["deploy"]
    assert deploy["env"]["EXPECTED_WEB_DIGEST"] == "${{ inputs.web_digest }}"
    assert deploy["env"]["EXPECTED_WORKER_DIGEST"] == "${{ inputs.worker_digest }}"
    (checkout,) = [step for step in deploy["steps"] if str(step.get("uses", "")).startswith("actions/checkout@")]
    assert checkout["with"]["ref"] == "${{ inputs.ref }}"
    release = _workflow("release.yml")["jobs"]
    images = release["images"]
    built = {
        step["id"]: step
        for step in images["steps"]
        if str(step.get("uses", "")).startswith("docker/build-push-action@")
    }
    for target in ("web", "worker"):
        assert "push-by-digest=true" in built[f"build-{target}"]["with"]["outputs"]  # never by tag
        (tagging,) = [step for step in images["steps"] if step.get("id") == target]
        assert tagging["env"]["BUILT_DIGEST"] == f"${{{{ steps.build-{target}.outputs.digest }}}}"
        assert tagging["run"] == ".github/scripts/release-image.sh"
        assert images["outputs"][f"{target}_digest"] == f"${{{{ steps.{target}.outputs.digest }}}}"
        handed = f"${{{{ needs.images.outputs.{target}_digest }}}}"
        for environment in ("staging", "prod"):
            assert release[environment]["with"][f"{target}_digest"] == handed
