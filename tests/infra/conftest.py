"""Shared fixtures for the infrastructure tests (tests/infra).

The repository root goes on sys.path so `shared.*` (the names agreed with the app) and
`tfcheck` import the same way whether pytest runs from the root or from this folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

INFRA_TESTS = Path(__file__).resolve().parent
REPO_ROOT = INFRA_TESTS.parents[1]
TERRAFORM = REPO_ROOT / "terraform"

for entry in (str(REPO_ROOT), str(INFRA_TESTS)):
    if entry not in sys.path:
        sys.path.insert(0, entry)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def terraform_root() -> Path:
    return TERRAFORM
