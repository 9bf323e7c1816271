"""ci.yml's tests job on a GitHub runner: terraform/terraformrc installs providers only from a
filesystem mirror, which the project's machines carry and a runner does not (.ci/run refuses to
start without it). .github/scripts/provider-mirror.sh creates it, run against a stand-in terraform
(fakes/terraform) whose `providers mirror` writes the packed layout the real one writes."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import zipfile

import pytest
import yaml
from delivery_helpers import REPO_ROOT, WORKFLOWS_DIR

FAKES = REPO_ROOT / "tests" / "delivery" / "fakes"
SCRIPT = REPO_ROOT / ".github" / "scripts" / "provider-mirror.sh"
TERRAFORMRC = REPO_ROOT / "terraform" / "terraformrc"
ENVS = REPO_ROOT / "terraform" / "envs"
BINARY = "terraform-provider-aws_v5.100.0_x5"


def _tests_job() -> dict:
    return yaml.safe_load((WORKFLOWS_DIR / "ci.yml").read_text())["jobs"]["test"]


def _tests_job_steps() -> list[dict]:
    return _tests_job()["steps"]


def _mirrored_version() -> str:
    step = next(s for s in _tests_job_steps() if "provider-mirror.sh" in str(s.get("run", "")))
    return str(
        (step.get("env") or {}).get("AWS_PROVIDER_VERSION")
        or (_tests_job().get("env") or {}).get("AWS_PROVIDER_VERSION")
        or _script_default_version()
    )


def _index(steps: list[dict], predicate) -> int:
    found = [i for i, step in enumerate(steps) if predicate(step)]
    assert found, steps
    return found[0]


def test_the_tests_job_creates_the_provider_mirror_before_ci_run():
    steps = _tests_job_steps()
    setup = _index(steps, lambda s: str(s.get("uses", "")).startswith("hashicorp/setup-terraform@"))
    mirror = _index(steps, lambda s: "provider-mirror.sh" in str(s.get("run", "")))
    ci_run = _index(steps, lambda s: ".ci/run" in str(s.get("run", "")))
    assert setup < mirror < ci_run


def test_the_provider_comes_from_the_cache_after_the_first_run():
    """Every run downloaded the ~700 MB provider again: a cache of the unpacked binary, keyed
    by its version, restored into the folder the mirror script looks in before it downloads."""
    steps = _tests_job_steps()
    cache = _index(steps, lambda s: str(s.get("uses", "")).startswith("actions/cache@"))
    mirror = _index(steps, lambda s: "provider-mirror.sh" in str(s.get("run", "")))
    assert cache < mirror
    settings = steps[cache]["with"]
    folder = re.search(r'path\s*=\s*"([^"]+)"', TERRAFORMRC.read_text()).group(1)
    version = _mirrored_version()
    expand = lambda text: str(text).replace("${{ env.AWS_PROVIDER_VERSION }}", version)  # noqa: E731
    assert expand(settings["path"]) == f"{folder}/registry.terraform.io/hashicorp/aws/{version}/linux_amd64"
    assert version in expand(settings["key"])
    assert "linux_amd64" in settings["key"]
    made = _index(steps, lambda s: folder in str(s.get("run", "")) and "install -d" in str(s.get("run", "")))
    assert made < cache  # the runner user cannot create it under /opt


def test_ci_mirrors_a_version_every_root_accepts():
    version = _mirrored_version()
    wanted = tuple(int(part) for part in str(version).split("."))
    for versions_tf in ENVS.glob("*/versions.tf"):
        block = versions_tf.read_text().split("aws = {", 1)[1].split("}", 1)[0]
        constraint = re.search(r'version\s*=\s*"([^"]+)"', block).group(1)
        for clause in constraint.split(","):
            operator, bound = re.fullmatch(r"\s*(>=|<)\s*([\d.]+)\s*", clause).groups()
            bound_parts = tuple(int(part) for part in bound.split("."))
            ok = wanted >= bound_parts if operator == ">=" else wanted[: len(bound_parts)] < bound_parts
            assert ok, f"hashicorp/aws {version} does not satisfy {constraint!r} of {versions_tf}"


def _script_default_version() -> str:
    match = re.search(r"AWS_PROVIDER_VERSION:-([\d.]+)", SCRIPT.read_text())
    assert match, "provider-mirror.sh has no default AWS_PROVIDER_VERSION"
    return match.group(1)


@pytest.fixture
def mirror(tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    # What the registry serves: the binary (executable) and its licence in one zip per platform.
    with zipfile.ZipFile(fake / "provider.zip", "w") as archive:
        info = zipfile.ZipInfo(BINARY)
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        archive.writestr(info, "#!/bin/sh\n")
        archive.writestr("LICENSE.txt", "MPL-2.0\n")
    target = tmp_path / "tf-plugins"

    def run(**extra: str):
        env = {
            "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
            "FAKE": str(fake),
            "TF_PROVIDER_MIRROR": str(target),
            "TF_CLI_CONFIG_FILE": str(TERRAFORMRC),  # what a developer's shell may export
            **extra,
        }
        result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, check=False, timeout=60)
        calls = (fake / "calls").read_text().splitlines() if (fake / "calls").exists() else []
        return result, calls

    run.fake = fake
    run.target = target
    return run


def test_the_mirror_is_unpacked_in_the_layout_terraformrc_and_the_tests_read(mirror):
    result, calls = mirror()
    assert result.returncode == 0, result.stderr
    binary = mirror.target / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0" / "linux_amd64" / BINARY
    assert binary.is_file(), sorted(str(p.relative_to(mirror.target)) for p in mirror.target.rglob("*"))
    assert os.access(binary, os.X_OK)
    mirrors = [call for call in calls if " providers mirror " in call]
    assert len(mirrors) == 1, calls
    assert "-platform=linux_amd64" in mirrors[0]
    # terraformrc forbids downloads: the one step that reads the registry runs without it.
    assert "TF_CLI_CONFIG_FILE=/dev/null" in calls
    assert re.search(r'version\s*=\s*"=\s*5\.100\.0"', (mirror.fake / "mirrored_versions.tf").read_text())


def test_a_mirror_already_there_is_kept(mirror):
    assert mirror()[0].returncode == 0
    (mirror.fake / "calls").unlink()
    result, calls = mirror()
    assert result.returncode == 0, result.stderr
    assert calls == []


def test_another_version_is_mirrored_when_asked(mirror):
    result, before = mirror(AWS_PROVIDER_VERSION="5.100.1")
    assert result.returncode == 0, result.stderr
    assert (mirror.target / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.1" / "linux_amd64").is_dir()
    result, after = mirror(AWS_PROVIDER_VERSION="latest")
    assert result.returncode != 0
    assert after == before  # refused before anything runs


def test_the_script_mirrors_into_the_path_terraformrc_names():
    # The CLI configuration cannot read a variable: the script takes the path from terraformrc
    # itself, and .ci/run's default (TF_PROVIDER_MIRROR) is that path.
    configured = re.search(r'path\s*=\s*"([^"]+)"', TERRAFORMRC.read_text()).group(1)
    assert "terraform/terraformrc" in SCRIPT.read_text()
    assert f"TF_PROVIDER_MIRROR:-{configured}" in (REPO_ROOT / ".ci" / "run").read_text()
