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

One AWS provider process serves every `terraform test` (TF_REATTACH_PROVIDERS, Terraform's
mechanism for attaching to a provider started outside it, with `-debug`): the binary is the
mirror's, the one init installs, but started once instead of three to five times per directory
(schema, validation, each run), each start ~2-3 s of CPU for a 600 MB binary and its schema.
All Terraform here 100 -> 73 s of CPU (eight directories, two at a time, 2 cores). Each `init`
still installs the provider from the mirror and checks the version constraints; the tests check
that init picked the version the shared process runs.

Without the terraform CLI or the provider mirror the tests skip locally and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOTS = ("bootstrap", "dev", "staging", "prod", "preview-base", "preview")
# Building blocks with tests of their own (assertions on resources the roots cannot address).
MODULES_WITH_TESTS = (
    "alb",
    "app_services",
    "evidence_bucket",
    "iam",
    "monitoring",
    "platform",
    "redis",
    "state_backend",
)
# Every directory initialised and tested: envs/<root> and modules/<module>.
DIRS = tuple(f"envs/{r}" for r in ROOTS) + tuple(f"modules/{m}" for m in MODULES_WITH_TESTS)
PROVIDER_MIRROR = Path(os.environ.get("TF_PROVIDER_MIRROR", "/opt/tf-plugins"))
AWS_PROVIDER = PROVIDER_MIRROR / "registry.terraform.io" / "hashicorp" / "aws"
TIMEOUT = 300
# Go's garbage collector at 8x its default heap growth for terraform and the provider: a mocked
# plan allocates heavily (the AWS provider's schema, a value for every attribute), and with the
# default (GOGC=100) about a third of terraform test's CPU was collection. envs/dev's two runs:
# 18.1 s of CPU at 100, 13.0 at 400, 11.5 at 800 (peak 1 GB instead of 0.28 GB; two run at a time);
# this file 86-90 -> 63-65 s of CPU, 49-52 -> 36-37 s wall.
GO_GARBAGE_COLLECTION = {"GOGC": "800"}


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
        **GO_GARBAGE_COLLECTION,
    )


def _check(path: Path, env: dict[str, str], reattach: str) -> dict[str, subprocess.CompletedProcess[str]]:
    results = {"init": _run(["terraform", "init", "-backend=false", "-no-color"], path, env)}
    if results["init"].returncode == 0:
        results["test"] = _run(["terraform", "test", "-no-color"], path, dict(env, TF_REATTACH_PROVIDERS=reattach))
    return results


def _newest_mirrored_provider() -> tuple[str, Path]:
    """(version, binary) of the newest hashicorp/aws in the mirror for this platform."""
    found = sorted(
        (tuple(int(part) for part in version_dir.name.split(".")), binary)
        for version_dir in AWS_PROVIDER.iterdir()
        if re.fullmatch(r"\d+\.\d+\.\d+", version_dir.name)
        for binary in version_dir.glob("linux_amd64/terraform-provider-aws_*")
    )
    if not found:
        _missing(f"no linux_amd64 hashicorp/aws binary under {AWS_PROVIDER}")
    version, binary = found[-1]
    return ".".join(map(str, version)), binary


REATTACH_LINE = re.compile(r"TF_REATTACH_PROVIDERS='(\{.*\})'")
INSTALLED = re.compile(r"Installing hashicorp/aws v(\d+\.\d+\.\d+)")


@pytest.fixture(scope="session")
def shared_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(version, TF_REATTACH_PROVIDERS value) of one AWS provider process started with -debug,
    stopped at the end. Its output goes to a file, not a pipe nobody reads while it serves."""
    version, binary = _newest_mirrored_provider()
    log = tmp_path_factory.mktemp("provider") / "provider.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(binary), "-debug"], stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, **GO_GARBAGE_COLLECTION)
        )
    try:
        deadline = time.monotonic() + 120
        while (match := REATTACH_LINE.search(log.read_text(errors="replace"))) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{binary} -debug printed no TF_REATTACH_PROVIDERS line:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        reattach = match.group(1)
        assert "registry.terraform.io/hashicorp/aws" in json.loads(reattach), reattach
        yield version, reattach
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def checked(
    terraform_root: Path,
    terraform_env: dict[str, str],
    shared_provider: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
):
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
    futures = {where: pool.submit(_check, copy / where, terraform_env, shared_provider[1]) for where in DIRS}

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
def test_root_inits_and_validates(checked, shared_provider: tuple[str, str], root: str) -> None:
    results = checked(f"envs/{root}")
    assert results["init"].returncode == 0, _describe(results["init"])
    installed = INSTALLED.search(results["init"].stdout)
    assert installed, f"init did not say which hashicorp/aws it installed:\n{_describe(results['init'])}"
    assert installed.group(1) == shared_provider[0], (
        f"init picked hashicorp/aws v{installed.group(1)}, the tests ran v{shared_provider[0]}"
    )
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
