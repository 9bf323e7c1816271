""".github/scripts/release-image.sh against a fake registry (fakes/docker): release.yml pushes each
image by digest, then this tags it sha-<commit> only where the tag is new. Found in review: a
release whose tag existed skipped its build and deployed whatever the tag held, so an image
planted under `sha-<commit>` was deployed as if this release had built it."""

from __future__ import annotations

import os
import subprocess

import pytest
from delivery_helpers import REPO_ROOT

FAKES = REPO_ROOT / "tests" / "delivery" / "fakes"
IMAGE = "docker.io/example/incident-tracker-web"
TAG = "sha-" + "d" * 40
BUILT = "sha256:" + "1" * 64
PLANTED = "sha256:" + "2" * 64


@pytest.fixture
def release(tmp_path):
    fake = tmp_path / "fake"
    (fake / "registry").mkdir(parents=True)
    output = tmp_path / "github_output"

    def run(**extra: str):
        env = {
            "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
            "FAKE": str(fake),
            "IMAGE_NAME": IMAGE,
            "IMAGE_TAG": TAG,
            "BUILT_DIGEST": BUILT,
            "GITHUB_OUTPUT": str(output),
            **extra,
        }
        result = subprocess.run(
            ["bash", str(REPO_ROOT / ".github" / "scripts" / "release-image.sh")],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        calls = (fake / "calls").read_text().splitlines() if (fake / "calls").exists() else []
        return result, calls, output.read_text() if output.exists() else ""

    run.fake = fake
    return run


def _tag_now(release) -> str:
    return (release.fake / "registry" / f"{IMAGE}:{TAG}".replace("/", "_").replace(":", "_")).read_text()


def test_a_new_tag_is_pushed_for_the_digest_this_release_built(release):
    release.fake.joinpath("missing").write_text(f"{IMAGE}:{TAG}\n")
    result, calls, output = release()
    assert result.returncode == 0, result.stderr
    assert f"docker buildx imagetools create --tag {IMAGE}:{TAG} {IMAGE}@{BUILT}" in calls
    assert _tag_now(release) == BUILT
    assert output == f"digest={BUILT}\n"


def test_a_rerun_whose_tag_already_holds_the_same_image_goes_on(release):
    release.fake.joinpath("registry", f"{IMAGE}:{TAG}".replace("/", "_").replace(":", "_")).write_text(BUILT)
    result, calls, output = release()
    assert result.returncode == 0, result.stderr
    assert not any("imagetools create" in call for call in calls)
    assert output == f"digest={BUILT}\n"


def test_a_tag_holding_another_image_is_refused_naming_both_digests(release):
    release.fake.joinpath("registry", f"{IMAGE}:{TAG}".replace("/", "_").replace(":", "_")).write_text(PLANTED)
    result, calls, output = release()
    assert result.returncode != 0
    assert (
        f"::error::{IMAGE}:{TAG} already exists as {PLANTED}, but this release built {BUILT}: "
        "refusing to deploy an image this run did not build" in result.stderr
    )
    assert not any("imagetools create" in call for call in calls)  # the tag is never moved
    assert _tag_now(release) == PLANTED
    assert output == ""  # no digest for the deploys: they do not run


def test_a_registry_that_does_not_answer_is_never_taken_for_a_missing_tag(release):
    release.fake.joinpath("registry_down").write_text("")
    result, calls, output = release()
    assert result.returncode != 0
    assert f"could not look up {IMAGE}:{TAG}: ERROR: unexpected status" in result.stderr
    assert not any("imagetools create" in call for call in calls)
    assert output == ""


@pytest.mark.parametrize(("name", "value"), [("IMAGE_TAG", "latest"), ("BUILT_DIGEST", "sha256:abc")])
def test_only_a_sha_tag_and_a_full_digest_are_taken(release, name, value):
    result, calls, _ = release(**{name: value})
    assert result.returncode != 0
    assert calls == []
