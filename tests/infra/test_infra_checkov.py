"""checkov on terraform/ (offline): zero failed checks, and every skip carries a reason.

checkov lives in its own virtualenv (it pins an old `packaging` and ships bc-python-hcl2,
which would overwrite python-hcl2's `hcl2` module): set CHECKOV_BIN, or install it in
<repo>/.venv-checkov (`python -m venv .venv-checkov && .venv-checkov/bin/pip install -r
requirements-checkov.txt`). Without the binary the test skips locally and fails under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

# checkov's command line with a reused expression interpreter (same report, ~15% less CPU).
RUN_CHECKOV = Path(__file__).with_name("run_checkov.py")
SKIP_COMMENT = re.compile(r"checkov:skip\s*=\s*(.*)$")
SKIP_WITH_REASON = re.compile(r"^(CKV2?_[A-Z0-9]+_\d+):\s*(\S.{9,})$")


def _checkov_bin(repo_root: Path) -> Path | None:
    configured = os.environ.get("CHECKOV_BIN")
    if configured:
        path = Path(configured)
        return path if path.is_file() else None
    candidate = repo_root / ".venv-checkov" / "bin" / "checkov"
    return candidate if candidate.is_file() else None


def _checkov_command(binary: Path) -> list[str]:
    """run_checkov.py under the python of checkov's virtualenv; the bare binary without one."""
    python = binary.parent / "python"
    return [str(python), str(RUN_CHECKOV)] if python.is_file() else [str(binary)]


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def _failed_checks(report: object) -> list[dict]:
    reports = report if isinstance(report, list) else [report]
    failed: list[dict] = []
    for item in reports:
        if isinstance(item, dict):
            failed.extend((item.get("results") or {}).get("failed_checks") or [])
    return failed


def _parsing_errors(report: object) -> int:
    reports = report if isinstance(report, list) else [report]
    count = 0
    for item in reports:
        if isinstance(item, dict):
            value = (item.get("summary") or {}).get("parsing_errors") or 0
            count += value if isinstance(value, int) else len(value)
    return count


def _describe(check: dict) -> str:
    lines = check.get("file_line_range") or ["?", "?"]
    return (
        f"{check.get('check_id')} {check.get('check_name')} -- {check.get('resource')} "
        f"at {check.get('repo_file_path') or check.get('file_path')}:{lines[0]}-{lines[1]}"
    )


def test_checkov_has_no_failed_checks(repo_root: Path) -> None:
    binary = _checkov_bin(repo_root)
    if binary is None:
        _missing("checkov not found: set CHECKOV_BIN or install requirements-checkov.txt into .venv-checkov")
    env = dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE")
    result = subprocess.run(
        [
            *_checkov_command(binary),
            "-d",
            "terraform",
            "--framework",
            "terraform",
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
        ],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"checkov output is not JSON (rc={result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    failed = _failed_checks(report)
    assert not failed, f"{len(failed)} failed checkov check(s):\n" + "\n".join(f"  - {_describe(c)}" for c in failed)
    errors = _parsing_errors(report)
    assert not errors, (
        f"checkov could not parse {errors} file(s): its checks did not run on them\n{result.stderr[-3000:]}"
    )


def test_every_checkov_skip_has_a_reason(repo_root: Path) -> None:
    bad = []
    count = 0
    for tf in sorted((repo_root / "terraform").rglob("*.tf")):
        if ".terraform" in tf.parts:
            continue
        for number, line in enumerate(tf.read_text(encoding="utf-8").splitlines(), start=1):
            match = SKIP_COMMENT.search(line)
            if not match:
                continue
            count += 1
            if not line.lstrip().startswith(("#checkov:skip=", "# checkov:skip=")):
                bad.append(
                    f"{tf.relative_to(repo_root)}:{number}: skip must be a comment line of its own: {line.strip()}"
                )
            elif not SKIP_WITH_REASON.match(match.group(1).strip()):
                bad.append(
                    f"{tf.relative_to(repo_root)}:{number}: skip needs '#checkov:skip=CKV_X_N:<reason a reviewer "
                    f"would accept>' (10+ characters): {line.strip()}"
                )
    assert not bad, f"{len(bad)} of {count} checkov skip(s) lack a reason:\n" + "\n".join(f"  - {b}" for b in bad)
