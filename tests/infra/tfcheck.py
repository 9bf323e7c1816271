"""Checks of the Terraform tree that Terraform itself cannot make (python-hcl2, offline).

`terraform validate` and the mock plans (test_infra_terraform.py) check that module arguments
are declared, required ones passed, `module.x.y`, `var.x`, `local.x`, `data.t.n` exist and
types fit. What is left here are this project's conventions and contracts:

- every variable has a ``type`` and a non-empty ``description`` and is read somewhere; every
  output has a ``description``;
- every module has main.tf, variables.tf, outputs.tf, versions.tf and README.md, and its
  versions.tf sets ``required_version`` and an ``aws`` provider with a ``>=`` lower bound;
- every environment root has backend.tf, main.tf, variables.tf, outputs.tf, versions.tf and
  terraform.tfvars; main.tf holds only ``module`` blocks; versions are a pinned range
  (``>= 1.10, < 2.0`` / ``>= 5.100, < 7.0``); the backend is S3, encrypted with the state KMS
  key (``kms_key_id``), with locking (``use_lockfile`` and/or ``dynamodb_table``; a ``local``
  backend only for bootstrap); every ``aws`` provider sets ``allowed_account_ids`` and
  ``default_tags`` with Environment, Service (incident-tracker) and Repository;
  terraform.tfvars sets only declared variables and no secret-looking value;
- each module's README tables list exactly its variables and outputs (tfdocs.py writes them).

The contracts with shared/ (tag and metric names) are in test_infra_contracts.py, on top of
the helpers here. Run ``python tests/infra/tfcheck.py [terraform-dir]`` to print the problems
(exit 1 if any).
"""

from __future__ import annotations

import copy
import hashlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")
ENV_FILES = (
    "backend.tf",
    "main.tf",
    "variables.tf",
    "outputs.tf",
    "versions.tf",
    "terraform.tfvars",
)
# Block types allowed in an environment's main.tf ("main.tf with only module calls").
ENV_MAIN_ALLOWED = {"module"}
REQUIRED_DEFAULT_TAGS = ("Environment", "Service", "Repository")
SERVICE_NAME = "incident-tracker"
# Environments allowed to keep their state locally (they create the remote backend).
LOCAL_STATE_ENVS = {"bootstrap"}
MIN_TERRAFORM = (1, 10)
SECRET_NAME = re.compile(r"(password|secret|token|private_key|access_key)", re.IGNORECASE)

_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
_VAR_RE = re.compile(rf"(?<![\w.])var\.({_IDENT})")

SERIALIZATION = hcl2.SerializationOptions(explicit_blocks=False, strip_string_quotes=True)


_PARSED: dict[str, dict[str, Any]] = {}


def load_hcl(path: Path) -> dict[str, Any]:
    """Parse one HCL file (.tf or .tfvars) into plain dicts (blocks are lists of dicts).

    Parsing is slow (tens of milliseconds per file), so results are cached by content: a copied tree with
    one broken file re-parses only that file.
    """
    text = path.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    if digest not in _PARSED:
        _PARSED[digest] = hcl2.loads(text, serialization_options=SERIALIZATION)
    return copy.deepcopy(_PARSED[digest])


def is_meta(key: Any) -> bool:
    """python-hcl2 adds ``__comments__`` / ``__inline_comments__`` keys beside the real ones."""
    return isinstance(key, str) and key.startswith("__") and key.endswith("__")


def strip_comments(value: Any) -> Any:
    """Drop the comment entries python-hcl2 adds."""
    if isinstance(value, dict):
        return {k: strip_comments(v) for k, v in value.items() if not is_meta(k)}
    if isinstance(value, list):
        return [strip_comments(v) for v in value]
    return value


def expressions(text: str) -> list[str]:
    """Return the bodies of the ``${...}`` interpolations in a serialized string.

    python-hcl2 renders every non-literal expression as ``${...}``; literal text (descriptions,
    plain strings) stays outside, so references are only looked for inside these bodies.
    ``$${`` is an escaped literal and skipped. Quote-aware so braces in strings do not count.
    """
    bodies: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        if text.startswith("$${", i):
            i += 3
            continue
        if text.startswith("${", i):
            depth = 1
            j = i + 2
            in_str = False
            while j < n and depth:
                ch = text[j]
                if in_str:
                    if ch == "\\":
                        j += 1
                    elif ch == '"':
                        in_str = False
                elif ch == '"':
                    in_str = True
                elif ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                j += 1
            bodies.append(text[i + 2 : j - 1])
            i = j
            continue
        i += 1
    return bodies


def iter_strings(value: Any) -> Iterator[str]:
    """Yield every string (values and keys) inside a parsed structure."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if is_meta(key):
                continue
            yield key
            yield from iter_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_strings(item)


def iter_blocks(parsed: dict[str, Any], block_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (label, body) for one-label blocks (variable, output, module, provider)."""
    for entry in parsed.get(block_type, []) or []:
        for label, body in entry.items():
            if is_meta(label):
                continue
            yield label, body if isinstance(body, dict) else {}


def iter_two_label_blocks(parsed: dict[str, Any], block_type: str) -> Iterator[tuple[str, str, dict]]:
    """Yield (type, name, body) for resource and data blocks."""
    for entry in parsed.get(block_type, []) or []:
        for kind, named in entry.items():
            if is_meta(kind) or not isinstance(named, dict):
                continue
            for name, body in named.items():
                if is_meta(name):
                    continue
                yield kind, name, body if isinstance(body, dict) else {}


def is_literal_string(value: Any) -> bool:
    return isinstance(value, str) and "${" not in value.replace("$${", "")


def literal_text(value: Any) -> str:
    """A string value with heredoc markers removed (descriptions may be heredocs)."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    match = re.match(r"^<<-?(\w+)\n(.*)\n\s*\1$", text, re.DOTALL)
    if match:
        text = match.group(2)
    return text.strip()


@dataclass
class TfDir:
    """One directory of .tf files, merged."""

    path: Path
    root: Path  # the terraform/ directory, for readable paths
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # file name -> parsed
    parse_errors: list[str] = field(default_factory=list)

    @property
    def rel(self) -> str:
        try:
            return str(self.path.relative_to(self.root.parent))
        except ValueError:
            return str(self.path)

    @classmethod
    def load(cls, path: Path, root: Path) -> TfDir:
        tfdir = cls(path=path, root=root)
        for tf in sorted(path.glob("*.tf")):
            try:
                tfdir.files[tf.name] = load_hcl(tf)
            except Exception as exc:  # any parse failure is a reported problem
                tfdir.parse_errors.append(f"{tfdir.rel}/{tf.name}: does not parse as HCL: {exc}")
        return tfdir

    def blocks(self, block_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Yield (file, label, body) for one-label blocks across files."""
        for fname, parsed in self.files.items():
            for label, body in iter_blocks(parsed, block_type):
                yield fname, label, body

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {label: body for _, label, body in self.blocks("variable")}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return {label: body for _, label, body in self.blocks("output")}

    @property
    def modules(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return {label: (fname, body) for fname, label, body in self.blocks("module")}

    @property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for parsed in self.files.values():
            for entry in parsed.get("locals", []) or []:
                merged.update({k: v for k, v in entry.items() if not is_meta(k)})
        return merged

    @property
    def data_sources(self) -> set[tuple[str, str]]:
        found = set()
        for parsed in self.files.values():
            for kind, name, _ in iter_two_label_blocks(parsed, "data"):
                found.add((kind, name))
        return found

    def terraform_blocks(self, fname: str | None = None) -> list[dict[str, Any]]:
        out = []
        for name, parsed in self.files.items():
            if fname is None or name == fname:
                out.extend(b for b in parsed.get("terraform", []) or [] if isinstance(b, dict))
        return out


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def constraint_parts(constraint: str) -> list[tuple[str, tuple[int, ...]]]:
    parts = []
    for raw in constraint.split(","):
        match = re.match(r"^\s*(>=|<=|~>|>|<|=|!=)?\s*v?([\d.]+)\s*$", raw)
        if match:
            parts.append((match.group(1) or "=", parse_version(match.group(2))))
        else:
            parts.append(("?", ()))
    return parts


def has_lower_bound(constraint: str) -> bool:
    return any(op in (">=", ">", "~>") for op, _ in constraint_parts(constraint))


def is_pinned_range(constraint: str) -> bool:
    """`~> X.Y`, or both a lower (>=) and an upper (<) bound."""
    ops = {op for op, _ in constraint_parts(constraint)}
    return "~>" in ops or (bool(ops & {">=", ">"}) and bool(ops & {"<", "<="}))


def lower_bound(constraint: str) -> tuple[int, ...] | None:
    bounds = [v for op, v in constraint_parts(constraint) if op in (">=", ">", "~>", "=")]
    return max(bounds) if bounds else None


class Checker:
    """Collects problems for a whole terraform/ tree."""

    def __init__(self, terraform_root: Path):
        self.root = Path(terraform_root).resolve()
        self._dirs: dict[Path, TfDir] = {}
        self.problems: list[str] = []

    # -- loading ---------------------------------------------------------------------------
    def dir(self, path: Path) -> TfDir:
        path = path.resolve()
        if path not in self._dirs:
            self._dirs[path] = TfDir.load(path, self.root)
        return self._dirs[path]

    def module_dirs(self) -> list[Path]:
        base = self.root / "modules"
        return sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def env_dirs(self) -> list[Path]:
        base = self.root / "envs"
        return sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def all_tf_dirs(self) -> list[Path]:
        dirs = {p.parent for p in self.root.rglob("*.tf") if ".terraform" not in p.parts}
        return sorted(dirs)

    def report(self, message: str) -> None:
        self.problems.append(message)

    # -- checks ----------------------------------------------------------------------------
    def run(self) -> list[str]:
        for path in self.all_tf_dirs():
            tfdir = self.dir(path)
            self.problems.extend(tfdir.parse_errors)
            self.check_declarations(tfdir)
            self.check_unused_variables(tfdir)
        for path in self.module_dirs():
            self.check_module_layout(self.dir(path))
        for path in self.env_dirs():
            self.check_env_layout(self.dir(path))
        return self.problems

    def check_declarations(self, tfdir: TfDir) -> None:
        for fname, name, body in tfdir.blocks("variable"):
            where = f'{tfdir.rel}/{fname}: variable "{name}"'
            if "type" not in body:
                self.report(f"{where} has no type")
            if not literal_text(body.get("description")):
                self.report(f"{where} has no description")
        for fname, name, body in tfdir.blocks("output"):
            if not literal_text(body.get("description")):
                self.report(f'{tfdir.rel}/{fname}: output "{name}" has no description')

    def check_unused_variables(self, tfdir: TfDir) -> None:
        """A variable nothing reads (outside its own validation) is a dead input."""
        used: set[str] = set()
        for parsed in tfdir.files.values():
            for block_type, entries in parsed.items():
                if block_type == "variable" or is_meta(block_type):
                    continue
                for text in iter_strings(entries):
                    for body in expressions(text):
                        used.update(_VAR_RE.findall(body))
        for fname, name, _ in tfdir.blocks("variable"):
            if name not in used:
                self.report(f'{tfdir.rel}/{fname}: variable "{name}" is declared but never used')

    def check_versions(self, tfdir: TfDir, *, pinned: bool) -> None:
        where = f"{tfdir.rel}/versions.tf"
        blocks = tfdir.terraform_blocks("versions.tf")
        required_version = next((b["required_version"] for b in blocks if "required_version" in b), None)
        if not isinstance(required_version, str):
            self.report(f"{where}: terraform block has no required_version")
        else:
            low = lower_bound(required_version)
            if pinned and not is_pinned_range(required_version):
                self.report(
                    f"{where}: required_version {required_version!r} is not a pinned range (e.g. '>= 1.10, < 2.0')"
                )
            if not pinned and not has_lower_bound(required_version):
                self.report(f"{where}: required_version {required_version!r} has no lower bound")
            if low is not None and low < MIN_TERRAFORM:
                self.report(f"{where}: required_version {required_version!r} allows Terraform older than 1.10")
        aws = None
        for block in blocks:
            for providers in block.get("required_providers", []) or []:
                if isinstance(providers, dict) and "aws" in providers:
                    aws = providers["aws"]
        if not isinstance(aws, dict):
            self.report(f"{where}: required_providers has no aws provider")
            return
        if aws.get("source") != "hashicorp/aws":
            self.report(f"{where}: aws provider source should be hashicorp/aws, got {aws.get('source')!r}")
        version = aws.get("version")
        if not isinstance(version, str):
            self.report(f"{where}: aws provider has no version constraint")
        elif pinned and not is_pinned_range(version):
            self.report(f"{where}: aws provider version {version!r} is not a pinned range (e.g. '~> 6.0')")
        elif not pinned and ">=" not in version:
            self.report(f"{where}: aws provider version {version!r} has no '>=' lower bound")

    def check_module_layout(self, tfdir: TfDir) -> None:
        for fname in MODULE_FILES:
            if not (tfdir.path / fname).is_file():
                self.report(f"{tfdir.rel}: module is missing {fname}")
        if (tfdir.path / "versions.tf").is_file():
            self.check_versions(tfdir, pinned=False)
        for block in tfdir.terraform_blocks():
            if block.get("backend"):
                self.report(f"{tfdir.rel}: a module must not configure a backend")
        if (tfdir.path / "README.md").is_file():
            self.problems.extend(readme_problems(tfdir))

    def check_env_layout(self, tfdir: TfDir) -> None:
        env = tfdir.path.name
        for fname in ENV_FILES:
            if not (tfdir.path / fname).is_file():
                self.report(f"{tfdir.rel}: environment root is missing {fname}")
        main = tfdir.files.get("main.tf")
        if main is not None:
            extra = sorted(k for k in main if k not in ENV_MAIN_ALLOWED and not is_meta(k))
            if extra:
                self.report(f"{tfdir.rel}/main.tf: must hold only module calls, found {', '.join(extra)}")
            if not main.get("module"):
                self.report(f"{tfdir.rel}/main.tf: has no module calls")
        if (tfdir.path / "versions.tf").is_file():
            self.check_versions(tfdir, pinned=True)
        self.check_backend(tfdir, env)
        self.check_providers(tfdir)
        self.check_tfvars(tfdir)

    def check_backend(self, tfdir: TfDir, env: str) -> None:
        backends = []
        for block in tfdir.terraform_blocks():
            for entry in block.get("backend", []) or []:
                backends.extend((k, v) for k, v in entry.items() if not is_meta(k))
        if not backends:
            self.report(f"{tfdir.rel}/backend.tf: no backend configured")
            return
        kind, config = backends[0]
        config = config if isinstance(config, dict) else {}
        if kind == "local":
            if env not in LOCAL_STATE_ENVS:
                self.report(f'{tfdir.rel}/backend.tf: only bootstrap may use local state, found backend "local"')
            return
        if kind != "s3":
            self.report(f'{tfdir.rel}/backend.tf: backend should be "s3", found "{kind}"')
            return
        if config.get("use_lockfile") is not True and not config.get("dynamodb_table"):
            self.report(f"{tfdir.rel}/backend.tf: s3 backend has no locking (use_lockfile = true or dynamodb_table)")
        if config.get("encrypt") is not True:
            self.report(f"{tfdir.rel}/backend.tf: s3 backend should set encrypt = true")
        elif not config.get("kms_key_id"):
            # encrypt = true without kms_key_id writes SSE-S3, overriding the bucket's SSE-KMS default.
            self.report(f"{tfdir.rel}/backend.tf: s3 backend should set kms_key_id (the state bucket's KMS key)")

    def check_providers(self, tfdir: TfDir) -> None:
        providers = [(f, body) for f, label, body in tfdir.blocks("provider") if label == "aws"]
        if not providers:
            self.report(f'{tfdir.rel}: no provider "aws" block')
        for fname, body in providers:
            where = f'{tfdir.rel}/{fname}: provider "aws"'
            if body.get("alias"):
                where += f" (alias {body['alias']})"
            if not body.get("allowed_account_ids"):
                self.report(f"{where} has no allowed_account_ids")
            tags: dict[str, Any] = {}
            for default_tags in body.get("default_tags", []) or []:
                if isinstance(default_tags, dict) and isinstance(default_tags.get("tags"), dict):
                    tags.update(default_tags["tags"])
            for key in REQUIRED_DEFAULT_TAGS:
                if key not in tags:
                    self.report(f"{where} default_tags has no {key} tag")
            if "Service" in tags and tags["Service"] != SERVICE_NAME:
                self.report(f'{where} default_tags Service is {tags["Service"]!r}, expected "{SERVICE_NAME}"')

    def check_tfvars(self, tfdir: TfDir) -> None:
        path = tfdir.path / "terraform.tfvars"
        if not path.is_file():
            return
        try:
            values = strip_comments(load_hcl(path))
        except Exception as exc:
            self.report(f"{tfdir.rel}/terraform.tfvars: does not parse: {exc}")
            return
        declared = tfdir.variables
        for key, value in values.items():
            if key not in declared:
                self.report(f'{tfdir.rel}/terraform.tfvars: sets "{key}" which is not a declared variable')
            if SECRET_NAME.search(key) and _has_plain_value(value):
                self.report(f'{tfdir.rel}/terraform.tfvars: "{key}" looks like a secret; do not commit it')


def _has_plain_value(value: Any) -> bool:
    """True when a secret-looking tfvars value holds something other than references (ARNs)."""
    if isinstance(value, dict):
        return any(_has_plain_value(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_plain_value(v) for v in value)
    if isinstance(value, str):
        return bool(value) and not value.startswith("arn:")
    return False


# -- README tables ---------------------------------------------------------------------------
_ROW_RE = re.compile(r"^\s*\|\s*`([^`]+)`\s*\|")
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*)$")


def readme_tables(text: str) -> dict[str, set[str]]:
    """Names listed in the Inputs and Outputs tables of a module README.

    A row is ``| `name` | ...``; it belongs to the nearest heading mentioning "input" or
    "output"; a heading of the same or a higher level that mentions neither closes the section.
    """
    found: dict[str, set[str]] = {"inputs": set(), "outputs": set()}
    mode: str | None = None
    mode_level = 0
    in_code = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        heading = _HEADING_RE.match(line)
        if heading:
            level, title = len(heading.group(1)), heading.group(2).lower()
            if "input" in title:
                mode, mode_level = "inputs", level
            elif "output" in title:
                mode, mode_level = "outputs", level
            elif mode is not None and level <= mode_level:
                mode = None
            continue
        row = _ROW_RE.match(line)
        if row and mode:
            found[mode].add(row.group(1).strip())
    return found


def readme_problems(tfdir: TfDir) -> list[str]:
    readme = tfdir.path / "README.md"
    tables = readme_tables(readme.read_text(encoding="utf-8"))
    where = f"{tfdir.rel}/README.md"
    problems = []
    for kind, declared, listed in (
        ("variable", set(tfdir.variables), tables["inputs"]),
        ("output", set(tfdir.outputs), tables["outputs"]),
    ):
        table = "Inputs" if kind == "variable" else "Outputs"
        for name in sorted(declared - listed):
            problems.append(f'{where}: {kind} "{name}" is not listed in the {table} table')
        for name in sorted(listed - declared):
            problems.append(f'{where}: {table} table lists "{name}" which is not a declared {kind}')
    return problems


def check_tree(terraform_root: Path) -> list[str]:
    return Checker(terraform_root).run()


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "terraform"
    problems = check_tree(root)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) in {root}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))


# -- value resolution (for the contract tests) -----------------------------------------------
_SIMPLE_REF = re.compile(r"^\$\{\s*(var|local)\.([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*)*)\s*\}$")
_OPTIONAL_DEFAULT = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*optional\(\s*\w+\s*,\s*"([^"]*)"\s*\)')


def optional_defaults(type_expr: Any) -> dict[str, str]:
    """String defaults of `optional(string, "x")` attributes in an object type expression."""
    return dict(_OPTIONAL_DEFAULT.findall(type_expr)) if isinstance(type_expr, str) else {}


def resolve(tfdir: TfDir, value: Any, overrides: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """Resolve `${var.x}`, `${var.x.attr}` and `${local.x}` to literals where they are static.

    var.x uses `overrides[x]` (what a caller passes) or the variable's default; an attribute of
    an object variable falls back to its `optional(type, "default")`. Anything dynamic is
    returned unchanged. Lists and maps are resolved element-wise.
    """
    if depth > 10:
        return value
    if isinstance(value, list):
        return [resolve(tfdir, v, overrides, depth + 1) for v in value]
    if isinstance(value, dict):
        return {
            resolve(tfdir, k, overrides, depth + 1): resolve(tfdir, v, overrides, depth + 1) for k, v in value.items()
        }
    if not isinstance(value, str):
        return value
    text = value
    if text.startswith("${(") and text.endswith(")}"):  # a computed map key: { (local.k) = v }
        text = "${" + text[3:-2] + "}"
    match = _SIMPLE_REF.match(text)
    if not match:
        return value
    kind, name, attrs = match.group(1), match.group(2), [a for a in match.group(3).split(".") if a]
    if kind == "local":
        if name not in tfdir.locals:
            return value
        base: Any = tfdir.locals[name]
    else:
        variable = tfdir.variables.get(name)
        if variable is None:
            return value
        if overrides and name in overrides:
            base = overrides[name]
        elif "default" in variable:
            base = variable["default"]
        else:
            return value
        if attrs and (base is None or (isinstance(base, dict) and attrs[0] not in base)):
            default = optional_defaults(variable.get("type")).get(attrs[0])
            return default if default is not None and len(attrs) == 1 else value
    for attr in attrs:
        if not isinstance(base, dict) or attr not in base:
            return value
        base = base[attr]
    return resolve(tfdir, base, overrides, depth + 1)
