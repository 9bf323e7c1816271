"""The repository's rules for GitHub Actions workflows (CONVENTIONS.md, issue #12, the pipeline
review), as a checker.

`violations(directory)` reads every *.yml in a workflows directory and returns one message per
broken rule, each starting with the rule's name, e.g. "pinned-actions: ci.yml: ...". Run alone:
`python tests/delivery/workflow_rules.py [.github/workflows]`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

AWS_ACTION = "aws-actions/configure-aws-credentials"
DEPLOY_WORKFLOW = "./.github/workflows/deploy.yml"
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"
# Dependabot's pull_request runs get no secrets, no AWS role and a read-only token.
DEPENDABOT_GUARD = "github.actor != 'dependabot[bot]'"
# configure-aws-credentials' session length without role-duration-seconds.
DEFAULT_SESSION_SECONDS = 3600
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")
# libyaml's loader when PyYAML has it (the same objects, 5x faster: the broken-copy tests read
# every workflow ~20 times); the pure-Python one otherwise.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The GitHub environment that alone holds the release images' push token (DOCKERHUB_TOKEN), and
# the one (with its own destroy-only role) that takes previews down.
RELEASE_IMAGES_ENVIRONMENT = "release-images"
PREVIEW_TEARDOWN_ENVIRONMENT = "preview-teardown"
PREVIEW_TEARDOWN_ROLE = "vars.AWS_PREVIEW_TEARDOWN_ROLE_ARN"
ROLE_VARIABLE = re.compile(r"vars\.AWS_[A-Z_]*ROLE_ARNS?\b")
CI_PASSED = "github.event.workflow_run.conclusion == 'success'"
STATIC_KEYS = re.compile(
    r"aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AKIA[0-9A-Z]{16}"
)


def _triggers(workflow: dict) -> dict:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    on = workflow.get("on", workflow.get(True)) or {}
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def _steps(job: dict) -> list[dict]:
    return job.get("steps") or []


def _is_aws_job(job: dict) -> bool:
    """Assumes an AWS role itself, or calls the deploy workflow that does."""
    if job.get("uses") == DEPLOY_WORKFLOW:
        return True
    return any(str(step.get("uses", "")).startswith(AWS_ACTION + "@") for step in _steps(job))


def _check_workflow(name: str, text: str) -> list[str]:
    problems: list[str] = []
    workflow = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)
    triggers = _triggers(workflow)
    jobs: dict[str, dict] = workflow.get("jobs") or {}

    # permissions: read-only at the top, raised per job.
    if workflow.get("permissions") != {"contents": "read"}:
        problems.append(f"top-permissions: {name}: top-level permissions must be exactly `contents: read`")

    for job_id, job in jobs.items():
        where = f"{name}: job {job_id}"
        permissions = job.get("permissions") or {}
        aws = _is_aws_job(job)
        # id-token: write exactly where AWS is assumed.
        if permissions.get("id-token") == "write" and not aws:
            problems.append(f"id-token: {where} has id-token: write but assumes no AWS role")
        if aws and permissions.get("id-token") != "write":
            problems.append(f"id-token: {where} assumes an AWS role without its own id-token: write")
        # Every job with steps has a timeout (a reusable-workflow call takes the callee's).
        if "steps" in job and not isinstance(job.get("timeout-minutes"), int):
            problems.append(f"timeout-minutes: {where} has no timeout-minutes")
        problems.extend(_check_session_duration(where, job))
        for index, step in enumerate(_steps(job)):
            if "${{" in str(step.get("run", "")):
                problems.append(f"run-expressions: {where} step {index + 1} puts ${{{{ }}}} into run: (use env:)")
            if "${{" in str((step.get("with") or {}).get("script", "")):
                problems.append(f"run-expressions: {where} step {index + 1} puts ${{{{ }}}} into a script (use env:)")
            uses = str(step.get("uses", ""))
            if uses and not uses.startswith(("./", "docker://")) and not SHA_PIN.match(uses):
                problems.append(f"pinned-actions: {where} uses {uses}, not a full commit SHA")
            if uses.startswith("docker/metadata-action@"):
                problems.extend(_check_image_tags(where, step.get("with") or {}))
        if job.get("uses") == DEPLOY_WORKFLOW:
            tag = str((job.get("with") or {}).get("image_tag", ""))
            if not tag.startswith("sha-"):
                problems.append(f"no-latest-deploy: {where} deploys image_tag {tag!r}, not a sha- tag")
        if "pull_request" in triggers and _needs_fork_guard(job) and not _fork_safe(str(job.get("if", ""))):
            problems.append(f"fork-guard: {where} can run for a fork's pull request with secrets or AWS")
        if "pull_request" in triggers and _needs_fork_guard(job) and not _dependabot_safe(str(job.get("if", ""))):
            problems.append(f"dependabot: {where} runs for Dependabot, which gets no secrets, AWS role or write token")
        # One AWS account per environment: a deploy role is an environment variable, so the job
        # must name its GitHub environment (without one it would read a repository-wide role).
        role = ROLE_VARIABLE.search(yaml.safe_dump(job))
        if role and not job.get("environment"):
            problems.append(f"environment-role: {where} assumes {role.group(0)} without an environment")
        problems.extend(_check_docker_tokens(where, job, triggers))
        problems.extend(_check_preview_teardown(where, job))
        if job.get("uses") == DEPLOY_WORKFLOW and "workflow_dispatch" not in triggers:
            inputs = job.get("with") or {}
            if not (inputs.get("web_digest") and inputs.get("worker_digest")):
                problems.append(f"digest-deploy: {where} deploys without the digests its build pushed")
        if aws and "environment" in job and job.get("concurrency") is None and workflow.get("concurrency") is None:
            problems.append(f"concurrency: {where} deploys without a concurrency group")

    problems.extend(_check_concurrency(name, workflow, triggers))
    problems.extend(_check_ci_gate(name, jobs, triggers))

    # A pull request's images go to repositories of their own, never among the release images.
    if "pull_request" in triggers:
        repository = str((workflow.get("env") or {}).get("IMAGE_REPOSITORY", ""))
        if repository and not repository.endswith("-preview"):
            problems.append(f"preview-images: {name} pushes pull request images to {repository}, not a -preview one")
        for job_id, job in jobs.items():
            for step in _steps(job):
                images = str((step.get("with") or {}).get("images", ""))
                if str(step.get("uses", "")).startswith("docker/metadata-action@") and (
                    "env.IMAGE_REPOSITORY" not in images or not repository
                ):
                    problems.append(
                        f"preview-images: {name}: job {job_id} names images {images!r}, not the -preview ones"
                    )

    # Version comment beside every pin, so a reader (and Dependabot's PR) sees what the SHA is.
    for number, line in enumerate(text.splitlines(), 1):
        match = USES_LINE.match(line)
        if match and SHA_PIN.match(match.group(1)) and not re.search(r"#\s*v?\d", match.group(2)):
            problems.append(f"pinned-actions: {name}:{number} pins {match.group(1)} without a `# vX.Y.Z` comment")
        if STATIC_KEYS.search(line):
            problems.append(f"no-static-keys: {name}:{number} mentions static AWS access keys (use OIDC)")
        if re.search(r":latest\b|value=latest|latest=true", line):
            problems.append(f"no-latest-deploy: {name}:{number} refers to a latest tag")

    if name == "teardown.yml":
        problems.extend(_check_teardown(workflow))
    return problems


def _only_other_events(condition: str) -> bool:
    """The job runs only for named events other than pull_request (e.g.
    `github.event_name == 'schedule' || ...`)."""
    clauses = [re.fullmatch(r"\s*github\.event_name\s*==\s*'([a-z_]+)'\s*", part) for part in condition.split("||")]
    return all(clauses) and all(c.group(1) not in ("pull_request", "pull_request_target") for c in clauses)


def _fork_safe(condition: str) -> bool:
    """The job checks the pull request comes from this repository, or runs only for other events."""
    return FORK_GUARD in condition or _only_other_events(condition)


def _dependabot_safe(condition: str) -> bool:
    """The job is skipped for Dependabot's runs, or runs only for other events."""
    return DEPENDABOT_GUARD in condition or _only_other_events(condition)


def _check_session_duration(where: str, job: dict) -> list[str]:
    """AWS credentials outlive the job: a job may run timeout-minutes, counted from its start,
    and its credentials last role-duration-seconds from the step that assumes the role."""
    timeout = job.get("timeout-minutes")
    problems = []
    for step in _steps(job):
        if not str(step.get("uses", "")).startswith(AWS_ACTION + "@"):
            continue
        seconds = int((step.get("with") or {}).get("role-duration-seconds", DEFAULT_SESSION_SECONDS))
        if isinstance(timeout, int) and timeout * 60 > seconds:
            problems.append(
                f"session-duration: {where} may run {timeout} minutes, its AWS credentials expire after "
                f"{seconds // 60} (role-duration-seconds)"
            )
    return problems


def _needs_fork_guard(job: dict) -> bool:
    text = yaml.safe_dump(job)
    writes = any(value == "write" for value in (job.get("permissions") or {}).values())
    return _is_aws_job(job) or "secrets." in text or writes


def _check_image_tags(where: str, inputs: dict) -> list[str]:
    problems = []
    tags = [t.strip() for t in str(inputs.get("tags", "")).splitlines() if t.strip()]
    if not tags:
        problems.append(f"sha-tags: {where} metadata-action without explicit tags")
    for tag in tags:
        if tag != "type=sha,format=long" and not tag.startswith("type=raw,value=sha-"):
            problems.append(f"sha-tags: {where} tags images with {tag!r}, not sha-<full commit sha>")
    if "latest=false" not in str(inputs.get("flavor", "")):
        problems.append(f"sha-tags: {where} metadata-action must set flavor latest=false")
    return problems


def _environment_name(job: dict) -> str:
    environment = job.get("environment")
    return str(environment.get("name", "") if isinstance(environment, dict) else environment or "")


def _check_docker_tokens(where: str, job: dict, triggers: dict) -> list[str]:
    """The release images' push token only in the main-only release-images environment; a pull
    request's workflow logs in with the -preview repositories' token only."""
    text = yaml.safe_dump(job)
    problems = []
    if "secrets.DOCKERHUB_TOKEN" in text and _environment_name(job) != RELEASE_IMAGES_ENVIRONMENT:
        problems.append(
            f"docker-tokens: {where} reads DOCKERHUB_TOKEN (push to the release images) outside the "
            f"{RELEASE_IMAGES_ENVIRONMENT} environment"
        )
    if "pull_request" in triggers:
        for step in _steps(job):
            if str(step.get("uses", "")).startswith("docker/login-action@"):
                password = str((step.get("with") or {}).get("password", ""))
                if "secrets.DOCKERHUB_PREVIEW_TOKEN" not in password:
                    problems.append(f"docker-tokens: {where} logs in with {password}, not DOCKERHUB_PREVIEW_TOKEN")
    return problems


def _check_preview_teardown(where: str, job: dict) -> list[str]:
    """Previews go down in an environment of their own (no reviewers) with a destroy-only role."""
    runs = " ".join(str(step.get("run", "")) for step in _steps(job))
    if "preview.sh down" not in runs and "preview.sh reap" not in runs:
        return []
    problems = []
    if _environment_name(job) != PREVIEW_TEARDOWN_ENVIRONMENT:
        problems.append(f"teardown-environment: {where} takes previews down outside {PREVIEW_TEARDOWN_ENVIRONMENT}")
    roles = set(ROLE_VARIABLE.findall(yaml.safe_dump(job)))
    if roles != {PREVIEW_TEARDOWN_ROLE}:
        problems.append(f"teardown-environment: {where} assumes {sorted(roles)}, not {PREVIEW_TEARDOWN_ROLE}")
    return problems


def _check_ci_gate(name: str, jobs: dict, triggers: dict) -> list[str]:
    """A workflow that deploys on its own (not by hand) runs after CI passed, never on the push."""
    deploys = any(job.get("uses") == DEPLOY_WORKFLOW for job in jobs.values())
    if not deploys or set(triggers) <= {"workflow_dispatch"}:
        return []
    problems = []
    if set(triggers) != {"workflow_run"} or (triggers["workflow_run"] or {}).get("workflows") != ["ci"]:
        problems.append(f"ci-gate: {name} deploys on {sorted(triggers)}, not after the ci workflow (workflow_run)")
    for job_id, job in jobs.items():
        if not job.get("needs") and CI_PASSED not in str(job.get("if", "")):
            problems.append(f"ci-gate: {name}: job {job_id} runs whether or not CI passed")
    return problems


def _check_concurrency(name: str, workflow: dict, triggers: dict) -> list[str]:
    problems = []
    groups = [workflow.get("concurrency")] + [job.get("concurrency") for job in (workflow.get("jobs") or {}).values()]
    groups = [g for g in groups if g is not None]
    if not groups:
        problems.append(f"concurrency: {name} has no concurrency group")
    for group in groups:
        cancel = group.get("cancel-in-progress", False) if isinstance(group, dict) else False
        if cancel is True or (isinstance(cancel, str) and "pull_request" not in cancel):
            problems.append(f"concurrency: {name} may cancel runs that are not superseded pull request runs")
    if ("push" in triggers or "schedule" in triggers) and workflow.get("concurrency", {}).get(
        "cancel-in-progress"
    ) is True:
        problems.append(f"concurrency: {name} cancels runs on main")
    return problems


def _check_teardown(workflow: dict) -> list[str]:
    problems = []
    inputs = (_triggers(workflow).get("workflow_dispatch") or {}).get("inputs") or {}
    if "confirm" not in inputs:
        problems.append("teardown-confirmation: teardown.yml: no `confirm` input")
    for job_id, job in (workflow.get("jobs") or {}).items():
        runs = " ".join(str(step.get("run", "")) for step in _steps(job))
        condition = str(job.get("if", ""))
        if "teardown.sh destroy" in runs and "inputs.confirm == inputs.environment" not in condition:
            problems.append(
                f"teardown-confirmation: teardown.yml: job {job_id} destroys without the typed confirmation"
            )
        if "teardown.sh backend" in runs and not (
            "inputs.environment != 'prod'" in condition and "inputs.backend_confirm ==" in condition
        ):
            problems.append(
                f"teardown-confirmation: teardown.yml: job {job_id} deletes the backend without its own confirmation"
            )
    return problems


def violations(directory: Path) -> list[str]:
    problems = []
    for path in sorted(directory.glob("*.yml")):
        problems.extend(_check_workflow(path.name, path.read_text()))
    return problems


if __name__ == "__main__":
    found = violations(Path(sys.argv[1] if len(sys.argv) > 1 else ".github/workflows"))
    print("\n".join(found) or "OK: every workflow follows the rules")
    sys.exit(1 if found else 0)
