"""The images' dependency lock: requirements.txt holds the top-level pins people (and Dependabot)
edit; requirements-lock.txt, written from it by `make lock` (pip-compile --generate-hashes), pins
every package the images install, transitive ones included, each with its hashes, and
docker/Dockerfile installs that file alone with --require-hashes --no-deps. Offline: these checks
read the files, they do not resolve anything."""

from __future__ import annotations

import fnmatch
import itertools
import re
from dataclasses import dataclass, field

import pytest
from delivery_helpers import DOCKER_DIR, REPO_ROOT, dockerfile_stages
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

REQUIREMENTS = REPO_ROOT / "requirements.txt"
LOCK = REPO_ROOT / "requirements-lock.txt"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
# The images' Python: the lock is resolved for it (environment markers, wheels).
IMAGE_PYTHON = "3.11"
# pip install options that take a value (the word after them is not a package).
PIP_VALUE_OPTIONS = {
    *("-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f", "--find-links"),
    *("--only-binary", "--no-binary", "-t", "--target", "--prefix", "--root", "--platform", "--python-version"),
    *("--implementation", "--abi", "--cert", "--trusted-host"),
}
FIX = "run `make lock` and commit requirements.txt with requirements-lock.txt"


@dataclass
class Entry:
    """One requirement of a requirements file: `name==version`, its hashes, where it comes from."""

    line: str
    name: str = ""
    version: str | None = None
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)
    problem: str | None = None


def parse(text: str) -> list[Entry]:
    """The requirements of a pip requirements file, continuation lines joined; the `# via` lines
    pip-compile writes under an entry are kept with it (options such as -r or --index-url are not
    requirements and are skipped)."""
    entries: list[Entry] = []
    logical = ""
    for raw in text.splitlines():
        comment = raw.strip().removeprefix("#").strip() if raw.lstrip().startswith("#") else None
        if comment is not None and not logical:
            if entries and raw.startswith(" "):  # pip-compile's indented annotation of the entry above
                entries[-1].via.append(comment.removeprefix("via").strip())
            continue
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical, line = "", " ".join((logical + line).split())
        if not line or line.startswith("-"):
            continue
        hashes = re.findall(r"--hash[= ](\S+)", line)
        spec = line.split(" --", 1)[0]
        entry = Entry(line=spec, hashes=hashes)
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as error:
            entry.problem = f"{spec!r} is not a requirement: {error}"
            entries.append(entry)
            continue
        entry.name = canonicalize_name(requirement.name)
        pins = [s.version for s in requirement.specifier if s.operator in ("==", "===") and "*" not in s.version]
        if len(requirement.specifier) == 1 and pins:
            entry.version = pins[0]
        entries.append(entry)
    return entries


def lock_problems(requirements_text: str, lock_text: str) -> list[str]:
    """Where the lock is out of step with the top-level pins, or would not install with
    --require-hashes --no-deps; one message per problem."""
    problems: list[str] = []
    top = parse(requirements_text)
    lock = parse(lock_text)
    locked = {entry.name: entry for entry in lock if entry.name}
    for entry in top:
        if entry.problem or entry.version is None:
            problems.append(f"requirements.txt: {entry.line!r} is not pinned with ==")
        elif entry.name not in locked:
            problems.append(f"{entry.name}=={entry.version} (requirements.txt) is not in the lock")
        elif locked[entry.name].version != entry.version:
            problems.append(
                f"{entry.name} is {entry.version} in requirements.txt but {locked[entry.name].version} in the lock"
            )
    pinned = {entry.name for entry in top}
    seen: set[str] = set()
    for entry in lock:
        if entry.problem:
            problems.append(f"lock: {entry.problem}")
            continue
        if entry.name in seen:
            problems.append(f"lock: {entry.name} is listed twice")
        seen.add(entry.name)
        if entry.version is None:
            problems.append(f"lock: {entry.line!r} is not pinned with ==")
        if not entry.hashes:
            problems.append(f"lock: {entry.name} has no --hash")
        elif not all(digest.startswith("sha256:") for digest in entry.hashes):
            problems.append(f"lock: {entry.name} has a hash that is not sha256")
        if any("requirements.txt" in source for source in entry.via) and entry.name not in pinned:
            problems.append(f"lock: {entry.name} is there for requirements.txt, which no longer pins it")
    return problems


def dockerignore_admits(path: str, patterns_text: str) -> bool:
    """Whether a file at the build context's root reaches `docker build` (the last pattern of
    .dockerignore that matches it decides; `!` lets it in again)."""
    admitted = True
    for raw in patterns_text.splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        candidates = [pattern, pattern.removeprefix("**/")] if pattern.startswith("**/") else [pattern]
        if any(fnmatch.fnmatchcase(path, candidate) for candidate in candidates):
            admitted = negated
    return admitted


def pip_installs() -> list[tuple[str, list[str]]]:
    """(stage, words) for every `pip install` command that a RUN of docker/Dockerfile runs."""
    found = []
    for stage, lines in dockerfile_stages(DOCKERFILE).items():
        for line in lines:
            if line.split()[0].upper() != "RUN":
                continue
            for command in re.split(r"&&|\|\||;", line.split(None, 1)[1]):
                words = command.split()
                if "install" in words and re.search(r"\bpip3?\s+install\b", command):
                    found.append((stage, words))
    return found


def copied_files() -> dict[str, str]:
    """Build-context files the Dockerfile copies by name (not `COPY .`, not --from), to where."""
    copies = {}
    for lines in dockerfile_stages(DOCKERFILE).values():
        for line in lines:
            words = line.split()
            if words[0].upper() != "COPY" or any(word.startswith("--from") for word in words):
                continue
            sources = [word for word in words[1:-1] if not word.startswith("--")]
            copies.update({source: words[-1] for source in sources if source not in (".", "./")})
    return copies


def test_the_lock_pins_every_top_level_package_at_its_version_with_hashes():
    assert LOCK.is_file(), f"no requirements-lock.txt: {FIX}"
    problems = lock_problems(REQUIREMENTS.read_text(), LOCK.read_text())
    assert problems == [], f"{FIX}:\n" + "\n".join(problems)


def test_the_lock_was_compiled_for_the_images_python():
    """pip-compile resolves environment markers for the Python it runs on, and writes which in its
    header: the lock must have been made for the base image's CPython."""
    header = "\n".join(itertools.takewhile(lambda line: line.startswith("#"), LOCK.read_text().splitlines()))
    assert f"with Python {IMAGE_PYTHON}" in header, f"{FIX} (on CPython {IMAGE_PYTHON}):\n{header}"
    assert "make lock" in header, header
    image = re.search(r"^ARG PYTHON_IMAGE=(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert image, "docker/Dockerfile names no PYTHON_IMAGE"
    assert image.group(1).startswith(f"python:{IMAGE_PYTHON}."), (
        f"the images run {image.group(1)}, the lock is for CPython {IMAGE_PYTHON}: {FIX} with that Python"
    )


def test_the_images_install_the_lock_alone_with_hashes():
    copies = copied_files()
    assert "requirements-lock.txt" in copies, f"docker/Dockerfile does not copy the lock: {copies}"
    assert "requirements.txt" not in copies, "the images must install the lock, not the top-level pins"
    installs = pip_installs()
    assert installs, "docker/Dockerfile runs no pip install"
    for stage, words in installs:
        command = " ".join(words)
        assert "--require-hashes" in words, f"{stage}: {command}"
        assert "--no-deps" in words, f"{stage}: {command}"
        arguments = words[words.index("install") + 1 :]
        pairs = list(itertools.pairwise(["", *arguments]))
        files = [word for before, word in pairs if before in ("-r", "--requirement")]
        assert files == [copies["requirements-lock.txt"]], f"{stage}: {command}"
        named = [word for before, word in pairs if not word.startswith("-") and before not in PIP_VALUE_OPTIONS]
        assert named == [], f"{stage} installs {named} outside the lock: add them to requirements.txt, then make lock"
    builder = " ".join(dockerfile_stages(DOCKERFILE)[installs[0][0]])
    assert re.search(r"\bpip check\b", builder), "no `pip check` after the install (a dependency the lock lacks)"


def test_the_build_context_carries_the_files_the_dockerfile_copies():
    """.dockerignore keeps everything but what the images run out of the build context: a COPY of a
    file it leaves out fails the build ("not found")."""
    patterns = DOCKERIGNORE.read_text()
    left_out = [source for source in copied_files() if not dockerignore_admits(source, patterns)]
    assert left_out == [], f".dockerignore leaves out {left_out}: add a `!<file>` line for each"


REQUIREMENTS_TEXT = "flask==3.1.3\nkombu==5.7.0\n"
LOCK_TEXT = """\
#
# This file is autogenerated by pip-compile with Python 3.11
# by the following command:
#
#    make lock
#
blinker==1.9.0 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
    # via flask
flask==3.1.3 \\
    --hash=sha256:cccc
    # via -r requirements.txt
kombu==5.7.0 \\
    --hash=sha256:dddd
    # via
    #   -r requirements.txt
    #   celery
"""

# What a pull request can leave behind, and the message it gets.
LOCK_BREAKS = {
    "a pin bumped without make lock (a Dependabot update)": (
        REQUIREMENTS_TEXT.replace("kombu==5.7.0", "kombu==5.7.1"),
        LOCK_TEXT,
        "kombu is 5.7.1 in requirements.txt but 5.7.0 in the lock",
    ),
    "a package added without make lock": (
        REQUIREMENTS_TEXT + "redis==8.1.0\n",
        LOCK_TEXT,
        "redis==8.1.0 (requirements.txt) is not in the lock",
    ),
    "a package removed without make lock": (
        "flask==3.1.3\n",
        LOCK_TEXT,
        "lock: kombu is there for requirements.txt, which no longer pins it",
    ),
    "a lock entry without hashes": (
        REQUIREMENTS_TEXT,
        LOCK_TEXT.replace("blinker==1.9.0 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n", "blinker==1.9.0\n"),
        "lock: blinker has no --hash",
    ),
    "a lock entry with a range": (
        REQUIREMENTS_TEXT,
        LOCK_TEXT.replace("blinker==1.9.0", "blinker>=1.9"),
        "lock: 'blinker>=1.9' is not pinned with ==",
    ),
    "a top-level requirement with a range": (
        REQUIREMENTS_TEXT + "redis>=8\n",
        LOCK_TEXT,
        "requirements.txt: 'redis>=8' is not pinned with ==",
    ),
}


def test_a_lock_in_step_has_no_problem():
    assert lock_problems(REQUIREMENTS_TEXT, LOCK_TEXT) == []


@pytest.mark.parametrize("break_name", LOCK_BREAKS)
def test_a_lock_out_of_step_is_caught(break_name):
    requirements_text, lock_text, expected = LOCK_BREAKS[break_name]
    problems = lock_problems(requirements_text, lock_text)
    assert expected in problems, problems


def test_a_copied_file_that_dockerignore_leaves_out_is_caught():
    patterns = "*\n!requirements.txt\n!shared/\n**/*.pyc\n"
    assert dockerignore_admits("requirements.txt", patterns)
    assert not dockerignore_admits("requirements-lock.txt", patterns)
    assert dockerignore_admits("requirements-lock.txt", patterns + "!requirements-lock.txt\n")
