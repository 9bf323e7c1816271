"""Conventions of the Terraform tree that Terraform cannot check, offline with python-hcl2 (tfcheck.py).

References, module arguments and types are checked by `terraform validate` and the mock plans
(test_infra_terraform.py).

The real tree must have no problem; deliberately broken copies must fail with a message
that names the problem, so the checker is known to catch what it claims to catch.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import tfcheck

EXPECTED_MODULES = (
    "alb",
    "app_services",
    "bastion",
    "ecs_cluster",
    "ecs_service",
    "evidence_bucket",
    "github_oidc",
    "iam",
    "monitoring",
    "network",
    "platform",
    "rds",
    "redis",
    "state_backend",
)
EXPECTED_ENVS = ("bootstrap", "dev", "staging", "prod", "preview-base", "preview")


def _format(problems: list[str]) -> str:
    return "\n".join(f"  - {p}" for p in problems)


def test_expected_modules_and_envs_exist(terraform_root: Path) -> None:
    modules = {p.name for p in (terraform_root / "modules").iterdir() if p.is_dir()}
    envs = {p.name for p in (terraform_root / "envs").iterdir() if p.is_dir()}
    assert not set(EXPECTED_MODULES) - modules, f"missing modules: {sorted(set(EXPECTED_MODULES) - modules)}"
    assert not set(EXPECTED_ENVS) - envs, f"missing environments: {sorted(set(EXPECTED_ENVS) - envs)}"


def test_real_tree_has_no_wiring_problem(terraform_root: Path) -> None:
    problems = tfcheck.check_tree(terraform_root)
    assert not problems, f"{len(problems)} Terraform wiring problem(s):\n{_format(problems)}"


@pytest.mark.parametrize("module", EXPECTED_MODULES)
def test_module_readme_lists_exactly_its_inputs_and_outputs(terraform_root: Path, module: str) -> None:
    path = terraform_root / "modules" / module
    readme = path / "README.md"
    assert readme.is_file(), f"{readme} is missing"
    tfdir = tfcheck.TfDir.load(path, terraform_root)
    tables = tfcheck.readme_tables(readme.read_text(encoding="utf-8"))
    assert tables["inputs"] == set(tfdir.variables), (
        f"{module}/README.md Inputs table vs variables.tf: "
        f"not listed {sorted(set(tfdir.variables) - tables['inputs'])}, "
        f"not declared {sorted(tables['inputs'] - set(tfdir.variables))}"
    )
    assert tables["outputs"] == set(tfdir.outputs), (
        f"{module}/README.md Outputs table vs outputs.tf: "
        f"not listed {sorted(set(tfdir.outputs) - tables['outputs'])}, "
        f"not declared {sorted(tables['outputs'] - set(tfdir.outputs))}"
    )


def test_preview_reads_only_outputs_that_preview_base_declares(
    terraform_root: Path,
) -> None:
    """`data.terraform_remote_state.<x>.outputs.Y` in preview must be an output of preview-base."""
    preview = tfcheck.TfDir.load(terraform_root / "envs" / "preview", terraform_root)
    base = tfcheck.TfDir.load(terraform_root / "envs" / "preview-base", terraform_root)
    remote_states = {name for kind, name in preview.data_sources if kind == "terraform_remote_state"}
    assert remote_states, "preview should read preview-base through data.terraform_remote_state"
    # Direct reads, and reads through a local alias (locals { base = data.terraform_remote_state.base.outputs }).
    aliases = [
        name
        for name, value in preview.locals.items()
        if re.fullmatch(r"\$\{data\.terraform_remote_state\.[\w-]+\.outputs\}", str(value))
    ]
    patterns = [re.compile(r"data\.terraform_remote_state\.[\w-]+\.outputs\.([\w-]+)")]
    patterns += [re.compile(rf"(?<![\w.])local\.{re.escape(alias)}\.([\w-]+)") for alias in aliases]
    used: set[str] = set()
    for parsed in preview.files.values():
        for text in tfcheck.iter_strings(parsed):
            for body in tfcheck.expressions(text):
                for pattern in patterns:
                    used.update(pattern.findall(body))
    assert used, "preview reads no preview-base output"
    missing = sorted(used - set(base.outputs))
    assert not missing, f"preview reads outputs preview-base does not declare: {missing}"


# -- the checker must catch breakage --------------------------------------------------------


def _copy_tree(terraform_root: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "terraform"
    shutil.copytree(terraform_root, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return copy


def _break_variable_description(tree: Path) -> str:
    variables = tree / "modules" / "network" / "variables.tf"
    if not variables.is_file():
        variables = next(
            p / "variables.tf" for p in sorted((tree / "modules").iterdir()) if (p / "variables.tf").is_file()
        )
    text = variables.read_text()
    match = re.search(
        r'(?m)^variable "([^"]+)" \{\n(?:(?!^\}).*\n)*?(\s*description\s*=\s*".*"\n)',
        text,
    )
    assert match, f"no single-line description to remove in {variables}"
    name = match.group(1)
    variables.write_text(text[: match.start(2)] + text[match.end(2) :])
    return rf'variable "{re.escape(name)}" has no description'


def _break_variable_type(tree: Path) -> str:
    variables = tree / "envs" / "dev" / "variables.tf"
    text = variables.read_text()
    match = re.search(r'(?m)^variable "([^"]+)" \{\n(?:(?!^\}).*\n)*?(\s*type\s*=\s*[a-z]+\n)', text)
    assert match, f"no simple type line to remove in {variables}"
    variables.write_text(text[: match.start(2)] + text[match.end(2) :])
    return rf'variable "{re.escape(match.group(1))}" has no type'


def _break_missing_module_file(tree: Path) -> str:
    (tree / "modules" / "redis" / "versions.tf").unlink()
    return r"terraform/modules/redis: module is missing versions.tf"


def _break_env_provider_tags(tree: Path) -> str:
    versions = tree / "envs" / "staging" / "versions.tf"
    text = versions.read_text()
    new, count = re.subn(r"(?m)^\s*Repository\s*=.*\n", "", text, count=1)
    assert count == 1, "no Repository default tag to remove in staging/versions.tf"
    versions.write_text(new)
    return r'provider "aws" default_tags has no Repository tag'


def _break_unpinned_env_provider(tree: Path) -> str:
    versions = tree / "envs" / "prod" / "versions.tf"
    text = versions.read_text()
    new, count = re.subn(r'version\s*=\s*">= 5\.100, < 7\.0"', 'version = ">= 5.100"', text, count=1)
    assert count == 1, 'prod/versions.tf has no aws version ">= 5.100, < 7.0" to loosen'
    versions.write_text(new)
    return r"aws provider version '>= 5.100' is not a pinned range"


def _break_readme_row(tree: Path) -> str:
    readme = tree / "modules" / "rds" / "README.md"
    text = readme.read_text()
    match = re.search(r"(?m)^\| `([^`]+)` \|.*\n", text)
    assert match, "no table row in rds/README.md"
    readme.write_text(text[: match.start()] + text[match.end() :])
    return rf'modules/rds/README.md: (variable|output) "{re.escape(match.group(1))}" is not listed'


def _break_main_tf_resource(tree: Path) -> str:
    main = tree / "envs" / "dev" / "main.tf"
    with main.open("a") as handle:
        handle.write('\nresource "aws_sns_topic" "stray" {\n  name = "stray"\n}\n')
    return r"envs/dev/main.tf: must hold only module calls, found resource"


def _break_unused_variable(tree: Path) -> str:
    with (tree / "envs" / "dev" / "variables.tf").open("a") as handle:
        handle.write('\nvariable "tfcheck_unused" {\n  description = "Nobody reads it."\n  type        = string\n}\n')
    return r'envs/dev/variables.tf: variable "tfcheck_unused" is declared but never used'


BREAKAGES = {
    "variable without description": _break_variable_description,
    "variable without type": _break_variable_type,
    "module file missing": _break_missing_module_file,
    "default tag missing": _break_env_provider_tags,
    "env provider not pinned": _break_unpinned_env_provider,
    "README out of sync": _break_readme_row,
    "resource in env main.tf": _break_main_tf_resource,
    "unused variable": _break_unused_variable,
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_checker_names_the_problem_in_a_broken_copy(terraform_root: Path, tmp_path: Path, breakage: str) -> None:
    tree = _copy_tree(terraform_root, tmp_path)
    expected = BREAKAGES[breakage](tree)
    problems = tfcheck.check_tree(tree)
    assert problems, f"{breakage}: the checker found nothing in the broken copy"
    assert any(re.search(expected, p) for p in problems), (
        f"{breakage}: no problem matches {expected!r}; got:\n{_format(problems)}"
    )


def test_expressions_extracts_interpolations_only() -> None:
    text = 'see var.not_a_ref and $${var.escaped} then ${var.a}-${module.m["k"].out} ${jsonencode({a = "}"})}'
    assert tfcheck.expressions(text) == [
        "var.a",
        'module.m["k"].out',
        'jsonencode({a = "}"})',
    ]


def test_version_constraints() -> None:
    assert tfcheck.is_pinned_range("~> 6.0")
    assert tfcheck.is_pinned_range(">= 1.10, < 2.0")
    assert not tfcheck.is_pinned_range(">= 6.0")
    assert tfcheck.has_lower_bound(">= 6.0")
    assert tfcheck.lower_bound(">= 1.10, < 2.0") == (1, 10)
    assert tfcheck.lower_bound(">= 1.9") < tfcheck.MIN_TERRAFORM


def test_readme_tables_sections() -> None:
    text = (
        "# m\n\n| `not_counted` | x |\n\n## Inputs\n\n| Name | Description |\n|--|--|\n| `a` | A |\n"
        "### Required\n| `b` | B |\n\n## Outputs\n\n| `o` | O |\n\n## Notes\n\n| `ignored` | x |\n"
        "```\n| `in_code` | x |\n```\n"
    )
    assert tfcheck.readme_tables(text) == {"inputs": {"a", "b"}, "outputs": {"o"}}


# -- environment roots ------------------------------------------------------------------------


def _backend_config(terraform_root: Path, env: str) -> dict:
    tfdir = tfcheck.TfDir.load(terraform_root / "envs" / env, terraform_root)
    for block in tfdir.terraform_blocks("backend.tf"):
        for backend in block.get("backend", []):
            if "s3" in backend:
                return backend["s3"]
    return {}


def _backend_key(terraform_root: Path, env: str) -> str | None:
    return _backend_config(terraform_root, env).get("key")


def test_each_environment_has_its_own_state_key(terraform_root: Path) -> None:
    keys = {env: _backend_key(terraform_root, env) for env in ("dev", "staging", "prod", "preview-base")}
    assert all(keys.values()), f"missing backend keys: {keys}"
    assert len(set(keys.values())) == len(keys), f"environments share a state key: {keys}"
    for env, key in keys.items():
        assert env in key, f"envs/{env} state key {key!r} does not name the environment"
    # Previews: the key is given at init (-backend-config="key=preview/pr-<n>.tfstate").
    assert _backend_key(terraform_root, "preview") is None, "envs/preview must not hard-code its state key"


def test_each_account_keeps_its_state_in_its_own_bucket(terraform_root: Path) -> None:
    """One AWS account per environment: a root's state lives in the bucket bootstrap creates in its account."""
    for env in ("dev", "staging", "prod", "preview-base"):
        account = _tfvars(terraform_root, env)["aws_account_id"]
        config = _backend_config(terraform_root, env)
        bucket = f"incident-tracker-tfstate-{account}"
        assert config.get("bucket") == bucket, f"envs/{env}/backend.tf bucket {config.get('bucket')!r} != {bucket}"
        # state_backend names its key's alias after the bucket.
        assert str(config.get("kms_key_id", "")).endswith(f":{account}:alias/{bucket}"), (
            f"envs/{env}/backend.tf kms_key_id"
        )
    accounts = {env: _tfvars(terraform_root, env)["aws_account_id"] for env in ("dev", "staging", "prod")}
    assert len(set(accounts.values())) == 3, f"dev, staging and prod must live in three accounts: {accounts}"
    base = _backend_config(terraform_root, "preview-base")
    preview = _backend_config(terraform_root, "preview")
    assert preview.get("bucket") == base.get("bucket"), "previews keep their state beside the preview base"
    assert _tfvars(terraform_root, "preview")["state_bucket"] == base.get("bucket"), (
        "preview reads the base state elsewhere"
    )
    assert _tfvars(terraform_root, "bootstrap")["state_bucket_name"] == base.get("bucket")


def _tfvars(terraform_root: Path, env: str) -> dict:
    return tfcheck.strip_comments(tfcheck.load_hcl(terraform_root / "envs" / env / "terraform.tfvars"))


def test_prod_is_multi_az_protected_and_bigger_than_dev(terraform_root: Path) -> None:
    prod, dev = _tfvars(terraform_root, "prod"), _tfvars(terraform_root, "dev")
    assert prod["database"]["multi_az"] is True
    assert prod["database"]["deletion_protection"] is True
    assert prod["database"].get("skip_final_snapshot", False) is False
    assert prod["database"]["backup_retention_period"] >= 14
    assert prod["cache"]["num_cache_clusters"] >= 2, "prod Redis needs a replica for automatic failover"
    assert prod["network"]["single_nat_gateway"] is False
    assert len(prod["network"]["azs"]) >= 2
    assert prod["alb"].get("deletion_protection", True) is True
    assert prod["alb"].get("waf_enabled") is True, "the public prod load balancer needs the WAF"
    assert prod["evidence"].get("force_destroy", False) is False
    assert prod["worker"].get("spot", False) is False
    for service in ("web", "worker"):
        assert prod[service]["cpu"] > dev[service]["cpu"] or prod[service]["memory"] > dev[service]["memory"]
        assert prod[service]["min_count"] >= 2, f"prod {service} needs at least two tasks"


@pytest.mark.parametrize("env", ["dev", "staging", "preview-base"])
def test_non_prod_load_balancers_are_not_open_to_the_internet(terraform_root: Path, env: str) -> None:
    cidrs = _tfvars(terraform_root, env)["alb"]["ingress_cidrs"]
    assert cidrs, f"envs/{env}: alb.ingress_cidrs {cidrs}"
    assert "0.0.0.0/0" not in cidrs, f"envs/{env}: alb.ingress_cidrs {cidrs}"


def _image_variables(terraform_root: Path, env: str) -> dict[str, dict]:
    parsed = tfcheck.strip_comments(tfcheck.load_hcl(terraform_root / "envs" / env / "variables.tf"))
    return {
        name: {key: body.get(key) for key in ("type", "default", "validation")}
        for name, body in tfcheck.iter_blocks(parsed, "variable")
        if name in ("web_image", "worker_image")
    }


@pytest.mark.parametrize("env", ["dev", "staging", "preview"])
def test_the_image_variables_refuse_what_prod_refuses(terraform_root: Path, env: str) -> None:
    """envs/prod/tests/images.tftest.hcl runs Terraform on what the image variables refuse (each
    run a whole plan); dev and staging declare them the same way, so that covers them too."""
    prod = _image_variables(terraform_root, "prod")
    assert set(prod) == {"web_image", "worker_image"}
    assert prod["web_image"]["validation"], "prod's web_image has no validation"
    assert _image_variables(terraform_root, env) == prod, (
        f"envs/{env}'s image variables differ from prod's: test them in envs/{env}/tests/images.tftest.hcl too"
    )
