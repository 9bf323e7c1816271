"""Terraform checks Terraform: for every root, `init -backend=false` and `terraform test`.

`terraform test` validates the configuration before each run plans (the same checks as
`terraform validate`, resources with count = 0 included: a bogus argument fails the run with
"Unsupported argument"; terraform 1.11.4), so a separate `terraform validate` only started the
provider once more per directory for its schema: ~4.4 s of CPU each, 35 s for the eight.

The roots' tests (terraform/envs/<root>/tests/*.tftest.hcl) plan against `mock_provider "aws"`
(`command = plan`), so a `for_each` over a value unknown until apply, a type error or a missing
variable fails here, offline. Providers come only from the filesystem mirror named in
terraform/terraformrc (TF_CLI_CONFIG_FILE), linked in place rather than copied. The tree is
copied to a temp dir first so init leaves nothing (.terraform/, lock files) in the working tree.

Without the terraform CLI or the provider mirror the tests skip locally and fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOTS = ("bootstrap", "dev", "staging", "prod", "preview-base", "preview")
# Building blocks with tests of their own (assertions on resources the roots cannot address).
MODULES_WITH_TESTS = ("alb", "evidence_bucket")
# Every directory initialised and tested: envs/<root> and modules/<module>.
DIRS = tuple(f"envs/{r}" for r in ROOTS) + tuple(f"modules/{m}" for m in MODULES_WITH_TESTS)
PROVIDER_MIRROR = Path(os.environ.get("TF_PROVIDER_MIRROR", "/opt/tf-plugins"))
AWS_PROVIDER = PROVIDER_MIRROR / "registry.terraform.io" / "hashicorp" / "aws"
TIMEOUT = 300


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def _describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"$ {' '.join(result.args)}  (rc={result.returncode})\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"


@pytest.fixture(scope="session")
def terraform_env(terraform_root: Path) -> dict[str, str]:
    binary = shutil.which("terraform")
    if binary is None:
        _missing("terraform CLI not found on PATH")
    if not AWS_PROVIDER.is_dir() or not any(AWS_PROVIDER.iterdir()):
        _missing(f"hashicorp/aws provider mirror not found at {AWS_PROVIDER}")
    # No TF_PLUGIN_CACHE_DIR: from an unpacked filesystem mirror, init links the provider in
    # place (a symlink, no copy), while a cache shared by concurrent inits (xdist workers,
    # other runs on the machine) is not safe to write.
    env = {key: value for key, value in os.environ.items() if key != "TF_PLUGIN_CACHE_DIR"}
    return dict(
        env,
        TF_CLI_CONFIG_FILE=str(terraform_root / "terraformrc"),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
    )


def _check(path: Path, env: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
    results = {"init": _run(["terraform", "init", "-backend=false", "-no-color"], path, env)}
    if results["init"].returncode == 0:
        results["test"] = _run(["terraform", "test", "-no-color"], path, env)
    return results


@pytest.fixture(scope="session")
def checked(terraform_root: Path, terraform_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    """checked(dir) -> {"init": result, "test": result} for a dir of DIRS.

    Runs on this process's own copy of terraform/ (init writes .terraform/ and lock files
    there, never in the working tree), each directory once, two at a time (each `terraform
    test` starts the provider for its schema; the machine is shared). `make test` runs this
    file on one xdist worker (--dist loadfile), so the inits are never repeated.
    """
    copy = tmp_path_factory.mktemp("tf") / "terraform"
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")
    shutil.copytree(terraform_root, copy, ignore=ignore)
    pool = ThreadPoolExecutor(max_workers=2)
    futures = {where: pool.submit(_check, copy / where, terraform_env) for where in DIRS}

    def result_for(where: str) -> dict[str, subprocess.CompletedProcess[str]]:
        return futures[where].result()

    yield result_for
    pool.shutdown(wait=True, cancel_futures=True)


def test_every_root_is_tested(terraform_root: Path) -> None:
    roots = {p.name for p in (terraform_root / "envs").iterdir() if p.is_dir()}
    assert roots == set(ROOTS), f"roots on disk {sorted(roots)} != roots tested {sorted(ROOTS)}"
    for root in ROOTS:
        tests = list((terraform_root / "envs" / root / "tests").glob("*.tftest.hcl"))
        assert tests, f"envs/{root} has no tests/*.tftest.hcl"
        text = "\n".join(t.read_text(encoding="utf-8") for t in tests)
        must_plan_against_mock = f'envs/{root}: tests must plan (command = plan) against mock_provider "aws"'
        assert 'mock_provider "aws"' in text, must_plan_against_mock
        assert "command = plan" in text, must_plan_against_mock


@pytest.mark.parametrize("root", ROOTS)
def test_root_inits_and_validates(checked, root: str) -> None:
    results = checked(f"envs/{root}")
    assert results["init"].returncode == 0, _describe(results["init"])
    test = results["test"]  # validates before it plans: any error of the configuration shows here
    assert "Error:" not in test.stdout + test.stderr, _describe(test)


@pytest.mark.parametrize("where", DIRS)
def test_mock_plans_pass_their_assertions(checked, where: str) -> None:
    results = checked(where)
    assert results["init"].returncode == 0, _describe(results["init"])
    result = results["test"]
    assert result.returncode == 0, _describe(result)
    assert " 0 failed" in result.stdout, _describe(result)
    assert "Success!" in result.stdout, _describe(result)
