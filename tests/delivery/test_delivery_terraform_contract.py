"""The delivery scripts against the Terraform roots they run: every output they read exists in
the root they read it from, and the -var names they pass are variables of that root (a rename on
either side fails here, not in the middle of a deploy)."""

from __future__ import annotations

import re

import pytest
from delivery_helpers import REPO_ROOT

SCRIPTS = REPO_ROOT / ".github" / "scripts"
ENVS = REPO_ROOT / "terraform" / "envs"
OUTPUT_READS = re.compile(r"(?:tf_output_raw|tf output -json)\s+([a-z_]+)")


def _declared(root: str, kind: str) -> set[str]:
    text = "\n".join(path.read_text() for path in (ENVS / root).glob("*.tf"))
    return set(re.findall(rf'^{kind} "([a-z_]+)"', text, re.MULTILINE))


def _outputs_read(*scripts: str) -> set[str]:
    return {name for script in scripts for name in OUTPUT_READS.findall((SCRIPTS / script).read_text())}


@pytest.mark.parametrize("root", ["dev", "staging", "prod"])
def test_deploy_reads_only_outputs_of_the_environment_roots(root):
    used = _outputs_read("lib.sh", "deploy.sh")
    # No base_url or alb_dns_name: the load balancer does not accept the runner; the deploy
    # checks target health and /readyz through AWS APIs (the target group from ECS).
    assert {"cluster_name", "migrate_task_definition_arn", "service_names"} <= used
    assert used <= _declared(root, "output")


def test_preview_reads_only_outputs_of_the_preview_roots():
    assert _outputs_read("lib.sh", "preview.sh") <= _declared("preview", "output")
    base = set(re.findall(r"base_output \.([a-z_]+)\.", (SCRIPTS / "preview.sh").read_text()))
    assert base
    assert base <= _declared("preview-base", "output")


@pytest.mark.parametrize("root", ["dev", "staging", "prod", "preview"])
def test_the_image_variables_the_scripts_pass_are_declared(root):
    passed = set(re.findall(r"-var=([a-z_]+)=", (SCRIPTS / "lib.sh").read_text()))
    assert passed == {"web_image", "worker_image"}
    assert passed <= _declared(root, "variable")


def test_preview_passes_exactly_the_secrets_the_preview_root_takes():
    script = (SCRIPTS / "preview.sh").read_text()
    passed = set(re.findall(r'([a-z_]+)="%s"', script))
    variables = (ENVS / "preview" / "variables.tf").read_text()
    block = variables.split('variable "pr_secret_arns"', 1)[1].split("\n}\n", 1)[0]
    declared = set(re.findall(r"^\s+([a-z_]+)\s+=\s+(?:optional\()?string", block, re.MULTILINE))
    assert passed == declared == {"database_url"}
