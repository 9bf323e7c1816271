""".github/: actionlint on every workflow, shellcheck on the deploy scripts, and the repository's
workflow rules (workflow_rules.py), which must also catch a deliberately broken copy of each rule."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from delivery_helpers import REPO_ROOT, WORKFLOWS_DIR, tool
from workflow_rules import violations

SCRIPTS_DIR = REPO_ROOT / ".github" / "scripts"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
EXPECTED = {"ci.yml", "release.yml", "deploy.yml", "preview.yml", "teardown.yml", "bootstrap.yml"}

# (rule, file, text in the real workflow, what the broken copy has instead)
BREAKS = [
    ("top-permissions", "ci.yml", "\npermissions:\n  contents: read\n", "\npermissions:\n  contents: write\n"),
    ("id-token", "ci.yml", "    name: ruff\n", "    name: ruff\n    permissions:\n      id-token: write\n"),
    ("id-token", "deploy.yml", "      contents: read\n      id-token: write\n", "      contents: read\n"),
    ("timeout-minutes", "ci.yml", "    timeout-minutes: 10\n", ""),
    (
        "environment-role",
        "preview.yml",
        "    environment: preview-teardown\n    permissions:\n",
        "    permissions:\n",
    ),
    (
        "pinned-actions",
        "release.yml",
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
        "actions/checkout@v7",
    ),
    (
        "pinned-actions",
        "deploy.yml",
        "@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
        "@3d3c42e5aac5ba805825da76410c181273ba90b1",
    ),
    (
        "run-expressions",
        "deploy.yml",
        "run: .github/scripts/deploy.sh",
        "run: IMAGE_TAG=${{ inputs.image_tag }} .github/scripts/deploy.sh",
    ),
    (
        "run-expressions",
        "preview.yml",
        "const { PREVIEW_URL, RESULT, HEAD_SHA, RUN_URL } = process.env;",
        "const PREVIEW_URL = '${{ needs.deploy.outputs.url }}';",
    ),
    (
        "no-static-keys",
        "deploy.yml",
        "          role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}\n",
        "          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n",
    ),
    (
        "sha-tags",
        "preview.yml",
        "tags: type=raw,value=sha-${{ github.event.pull_request.head.sha }}",
        "tags: type=ref,event=pr",
    ),
    (
        "preview-images",
        "preview.yml",
        "IMAGE_REPOSITORY: docker.io/${{ vars.DOCKERHUB_NAMESPACE }}/incident-tracker-preview\n",
        "IMAGE_REPOSITORY: docker.io/${{ vars.DOCKERHUB_NAMESPACE }}/incident-tracker\n",
    ),
    (
        "preview-images",
        "preview.yml",
        "images: ${{ env.IMAGE_REPOSITORY }}-${{ matrix.target }}",
        "images: docker.io/${{ vars.DOCKERHUB_NAMESPACE }}/incident-tracker-${{ matrix.target }}",
    ),
    (
        "no-latest-deploy",
        "release.yml",
        "      environment: prod\n      image_tag: sha-${{ github.event.workflow_run.head_sha }}",
        "      environment: prod\n      image_tag: latest",
    ),
    (
        "concurrency",
        "ci.yml",
        "cancel-in-progress: ${{ github.event_name == 'pull_request' }}",
        "cancel-in-progress: true",
    ),
    ("concurrency", "release.yml", "concurrency:\n  group: release\n  cancel-in-progress: false\n", ""),
    (
        "concurrency",
        "deploy.yml",
        "    concurrency:\n      group: deploy-${{ inputs.environment }}\n      cancel-in-progress: false\n",
        "",
    ),
    ("teardown-confirmation", "teardown.yml", "    if: inputs.confirm == inputs.environment\n", ""),
    (
        "teardown-confirmation",
        "teardown.yml",
        "inputs.backend_cleanup && inputs.environment != 'prod' &&",
        "inputs.backend_cleanup &&",
    ),
    (
        "fork-guard",
        "preview.yml",
        "github.event.action != 'closed' &&\n      github.event.pull_request.head.repo.full_name == github.repository\n"
        "    runs-on: ubuntu-24.04\n    timeout-minutes: 60",
        "github.event.action != 'closed'\n    runs-on: ubuntu-24.04\n    timeout-minutes: 60",
    ),
    (
        "fork-guard",
        "preview.yml",
        "if: github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'",
        "if: github.event_name == 'schedule' || github.event_name == 'pull_request'",
    ),
    ("session-duration", "deploy.yml", "          role-duration-seconds: 7200\n", ""),
    ("session-duration", "preview.yml", "    timeout-minutes: 110\n", "    timeout-minutes: 150\n"),
    (
        "dependabot",
        "preview.yml",
        "      always() && github.actor != 'dependabot[bot]' &&\n",
        "      always() &&\n",
    ),
    (
        "dependabot",
        "preview.yml",
        "      github.actor != 'dependabot[bot]' &&\n"
        "      github.event_name == 'pull_request' && github.event.action != 'closed' &&\n"
        "      github.event.pull_request.head.repo.full_name == github.repository\n    runs-on: ubuntu-24.04\n"
        "    timeout-minutes: 60",
        "      github.event_name == 'pull_request' && github.event.action != 'closed' &&\n"
        "      github.event.pull_request.head.repo.full_name == github.repository\n    runs-on: ubuntu-24.04\n"
        "    timeout-minutes: 60",
    ),
    # Found in review: branch pushers could overwrite the release images, CI did not gate a
    # release, and teardown shared the (reviewable) preview environment.
    ("docker-tokens", "preview.yml", "secrets.DOCKERHUB_PREVIEW_TOKEN", "secrets.DOCKERHUB_TOKEN"),
    ("docker-tokens", "release.yml", "    environment: release-images\n", ""),
    ("docker-tokens", "deploy.yml", "secrets.DOCKERHUB_READ_TOKEN", "secrets.DOCKERHUB_TOKEN"),
    (
        "ci-gate",
        "release.yml",
        "on:\n  workflow_run:\n    workflows: [ci]\n    types: [completed]\n    branches: [main]\n",
        "on:\n  push:\n    branches: [main]\n",
    ),
    ("ci-gate", "release.yml", "      github.event.workflow_run.conclusion == 'success' &&\n", ""),
    ("digest-deploy", "release.yml", "      worker_digest: ${{ needs.images.outputs.worker_digest }}\n", ""),
    (
        "teardown-environment",
        "preview.yml",
        "    timeout-minutes: 110\n    environment: preview-teardown\n",
        "    timeout-minutes: 110\n    environment: preview\n",
    ),
    (
        "teardown-environment",
        "preview.yml",
        "role-to-assume: ${{ vars.AWS_PREVIEW_TEARDOWN_ROLE_ARN }}\n"
        "          role-session-name: preview-pr-${{ github.event.pull_request.number }}-destroy",
        "role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}\n"
        "          role-session-name: preview-pr-${{ github.event.pull_request.number }}-destroy",
    ),
]


def test_every_workflow_of_the_issue_is_there():
    assert {path.name for path in WORKFLOWS} >= EXPECTED
    assert (REPO_ROOT / ".github" / "dependabot.yml").exists()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_passes(path):
    # With shellcheck, actionlint also checks the shell of every run: block.
    result = subprocess.run(
        [tool("actionlint"), "-shellcheck", tool("shellcheck"), "-no-color", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


SHELL_SCRIPTS = sorted(SCRIPTS_DIR.glob("*.sh")) + sorted((REPO_ROOT / "tests" / "delivery" / "fakes").iterdir())


@pytest.mark.parametrize("path", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_shellcheck_passes_on_the_scripts(path):
    result = subprocess.run(
        [tool("shellcheck"), "--external-sources", "--severity=style", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflows_follow_the_rules():
    assert violations(WORKFLOWS_DIR) == []


@pytest.mark.parametrize(
    ("rule", "name", "good", "bad"), BREAKS, ids=[f"{b[0]}-{b[1]}-{i}" for i, b in enumerate(BREAKS)]
)
def test_a_broken_copy_fails_its_rule(tmp_path, rule, name, good, bad):
    copy = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS_DIR, copy)
    text = (copy / name).read_text()
    assert good in text, f"the break of {rule} no longer applies to {name}: update BREAKS"
    (copy / name).write_text(text.replace(good, bad, 1))
    yaml.safe_load((copy / name).read_text())  # still a workflow, just a wrong one
    found = violations(copy)
    assert any(problem.startswith(f"{rule}: {name}") for problem in found), found


def test_dependabot_covers_every_ecosystem():
    config = yaml.safe_load((REPO_ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert {"pip", "github-actions", "docker", "terraform"} <= ecosystems
