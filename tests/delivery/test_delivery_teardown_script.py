""".github/scripts/teardown.sh backend against a stand-in AWS CLI (fakes/aws): the state bucket is
emptied and deleted only when no state holds resources, and an unreadable state stops it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from delivery_helpers import REPO_ROOT

FAKES = REPO_ROOT / "tests" / "delivery" / "fakes"
EMPTY_STATE = json.dumps({"version": 4, "resources": []})
LIVE_STATE = json.dumps({"version": 4, "resources": [{"type": "aws_ecs_service", "name": "this"}]})


@pytest.fixture
def backend(tmp_path):
    fake = tmp_path / "fake"
    (fake / "objects").mkdir(parents=True)
    root = tmp_path / "envs" / "staging"
    root.mkdir(parents=True)
    (root / "backend.tf").write_text(
        'terraform {\n  backend "s3" {\n    bucket  = "incident-tracker-tfstate-222222222222"\n'
        '    region  = "eu-west-1"\n  }\n}\n'
    )

    def run(states: dict[str, str | None], state_bucket: str | None = "tfstate-bucket"):
        (fake / "state_objects").write_text("".join(f"{key}\n" for key in states))
        for key, content in states.items():
            if content is not None:
                (fake / "objects" / key.replace("/", "_")).write_text(content)
        env = {
            "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
            "FAKE": str(fake),
            "LOCK_TABLE": "tfstate-lock",
            "TF_ROOT": str(root),
        }
        if state_bucket:
            env["STATE_BUCKET"] = state_bucket
        result = subprocess.run(
            ["bash", str(REPO_ROOT / ".github" / "scripts" / "teardown.sh"), "backend"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        calls = (fake / "calls").read_text().splitlines() if (fake / "calls").exists() else []
        return result, calls

    return run


def test_an_empty_backend_is_emptied_and_deleted_with_its_lock_table(backend):
    result, calls = backend({"envs/dev/terraform.tfstate": EMPTY_STATE, "envs/dev/terraform.tfstate.tflock": None})
    assert result.returncode == 0, result.stderr
    assert any("delete-objects" in call for call in calls)
    assert any(call.startswith("aws s3api delete-bucket --bucket tfstate-bucket") for call in calls)
    assert any("dynamodb delete-table --table-name tfstate-lock" in call for call in calls)


def test_a_state_with_resources_keeps_the_backend(backend):
    result, calls = backend({"envs/dev/terraform.tfstate": EMPTY_STATE, "envs/staging/terraform.tfstate": LIVE_STATE})
    assert result.returncode != 0
    assert "envs/staging/terraform.tfstate" in result.stderr
    assert not any("delete" in call for call in calls)


def test_an_unreadable_state_keeps_the_backend(backend):
    result, calls = backend({"envs/prod/terraform.tfstate": None})
    assert result.returncode != 0
    assert not any("delete" in call for call in calls)


def test_the_bucket_is_the_one_of_the_environments_backend(backend):
    # One account (and state bucket) per environment: never a repository-wide bucket name.
    result, calls = backend({"envs/staging/terraform.tfstate": EMPTY_STATE}, state_bucket=None)
    assert result.returncode == 0, result.stderr
    assert any(
        call.startswith("aws s3api delete-bucket --bucket incident-tracker-tfstate-222222222222") for call in calls
    )
