"""Helpers for the delivery checks (a module of its own: a second `conftest` would clash with the
root one on import): the repository's paths, linters from the virtualenv, and a gunicorn started
with the repository's config as a real process (stopped by its own PID)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
DOCKER_DIR = REPO_ROOT / "docker"
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """Path of a linter installed from requirements-dev.txt (next to this Python, else on PATH)."""
    candidate = VENV_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed: pip install -r requirements-dev.txt"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def base_environment(**extra: str) -> dict[str, str]:
    """A clean environment for a child process: PATH with the virtualenv first, no app settings
    leaking in from the developer's shell."""
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
    keep["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    keep["PYTHONPATH"] = str(REPO_ROOT)
    keep.update(extra)
    return keep


@contextmanager
def running(argv: list[str], env: dict[str, str], port: int, log: Path, ready_path: str = "/healthz") -> Iterator[str]:
    """Run `argv` from the repository root, wait until http://127.0.0.1:<port><ready_path> answers,
    yield the base URL, then stop the process with SIGTERM (SIGKILL after 15 s)."""
    with log.open("wb") as output:
        process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"{argv[0]} exited with {process.returncode}:\n{log.read_text()}", pytrace=False)
            try:
                with urllib.request.urlopen(base + ready_path, timeout=2):  # noqa: S310 - http://127.0.0.1 only
                    break
            except urllib.error.HTTPError:
                break  # it answers; the test judges the status
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{argv[0]} did not answer on {base} in 30 s:\n{log.read_text()}", pytrace=False)
                time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def dockerfile_stages(path: Path = DOCKER_DIR / "Dockerfile") -> dict[str, list[str]]:
    """Instructions of each named stage (continuation lines joined), by stage name."""
    stages: dict[str, list[str]] = {}
    current: list[str] | None = None
    logical = ""
    for raw in path.read_text().splitlines():
        if not logical and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        logical += raw.rstrip().removesuffix("\\") + " " if raw.rstrip().endswith("\\") else raw.strip()
        if raw.rstrip().endswith("\\"):
            continue
        line, logical = " ".join(logical.split()), ""
        words = line.split()
        if words[0].upper() == "FROM":
            current = []
            if len(words) >= 4 and words[-2].upper() == "AS":
                stages[words[-1]] = current
        elif current is not None:
            current.append(line)
    return stages


def image_command(target: str) -> list[str]:
    """The JSON-form CMD of a Dockerfile target, e.g. ["gunicorn", "--config", ...]."""
    import json

    commands = [line for line in dockerfile_stages()[target] if line.split()[0].upper() == "CMD"]
    assert commands, f"docker/Dockerfile target {target!r} has no CMD"
    return json.loads(commands[-1].split(None, 1)[1])
