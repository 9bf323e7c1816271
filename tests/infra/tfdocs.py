"""Regenerate the Inputs and Outputs tables of the module READMEs from variables.tf/outputs.tf.

    .venv/bin/python tests/infra/tfdocs.py [terraform/modules/<name> ...]

Everything from the "## Inputs" heading to the end of the Outputs table is replaced; the rest
of the README (purpose, usage, notes) is left alone. tests/infra/test_infra_wiring.py checks
that the tables list exactly the declared variables and outputs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
_BLOCK = re.compile(r'(?m)^(variable|output) "([^"]+)" \{')


def _block_body(text: str, start: int) -> str:
    """Text of the block whose opening brace is the first "{" at or after start."""
    depth = 0
    i = text.index("{", start)
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    raise ValueError("unbalanced braces")


def _attribute(body: str, name: str) -> str | None:
    """Raw expression of a top-level attribute of a block body, whitespace collapsed."""
    depth = 0
    lines = body.splitlines()
    for n, line in enumerate(lines):
        stripped = line.strip()
        if depth == 0 and re.match(rf"{name}\s*=", stripped):
            expr = stripped.split("=", 1)[1].strip()
            if expr.startswith("<<"):
                marker = expr.lstrip("<-").strip()
                rest = []
                for more in lines[n + 1 :]:
                    if more.strip() == marker:
                        break
                    rest.append(more.strip())
                return " ".join(rest)
            opened = expr.count("{") + expr.count("(") + expr.count("[") - expr.count("}") - expr.count(")")
            opened -= expr.count("]")
            k = n
            while opened > 0 and k + 1 < len(lines):
                k += 1
                expr += " " + lines[k].strip()
                opened += lines[k].count("{") + lines[k].count("(") + lines[k].count("[")
                opened -= lines[k].count("}") + lines[k].count(")") + lines[k].count("]")
            return re.sub(r"\s+", " ", re.sub(r"\s*#[^\n]*$", "", expr))
        depth += line.count("{") - line.count("}")
    return None


def _cell(text: str | None, *, unquote: bool = True) -> str:
    if text is None:
        return "n/a"
    text = text.strip()
    if unquote and text.startswith('"') and text.endswith('"'):
        text = text[1:-1].replace('\\"', '"')
    return text.replace("|", "\\|").replace("\n", " ")


def tables(module: Path) -> str:
    variables = (module / "variables.tf").read_text(encoding="utf-8")
    outputs = (module / "outputs.tf").read_text(encoding="utf-8")
    rows = [
        "## Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "|------|-------------|------|---------|:--------:|",
    ]
    for match in _BLOCK.finditer(variables):
        body = _block_body(variables, match.end() - 1)
        default = _attribute(body, "default")
        shown = "n/a" if default is None else f"`{_cell(default, unquote=False)}`"
        rows.append(
            f"| `{match.group(2)}` | {_cell(_attribute(body, 'description'))} | "
            f"`{_cell(_attribute(body, 'type'))}` | {shown} | "
            f"{'yes' if default is None else 'no'} |"
        )
    rows += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    for match in _BLOCK.finditer(outputs):
        body = _block_body(outputs, match.end() - 1)
        rows.append(f"| `{match.group(2)}` | {_cell(_attribute(body, 'description'))} |")
    return "\n".join(rows) + "\n"


def rewrite(module: Path) -> None:
    readme = module / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else f"# {module.name}\n\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == "## Inputs"), None)
    if start is None:
        readme.write_text(text.rstrip("\n") + "\n\n" + tables(module), encoding="utf-8")
        return
    outputs = next(i for i in range(start, len(lines)) if lines[i].strip() == "## Outputs")
    end = len(lines)
    for i in range(outputs + 1, len(lines)):
        line = lines[i].strip()
        if line.startswith("## ") or line.startswith("<!-- END"):
            end = i + (1 if line.startswith("<!-- END_OUTPUTS") else 0)
            break
    # Markers inside the replaced region (BEGIN_INPUTS...) go; a BEGIN_TF_DOCS before it stays.
    head = "".join(lines[:start])
    tail = "".join(lines[end:])
    readme.write_text(
        head + tables(module) + ("\n" + tail if tail and not tail.startswith("\n") else tail), encoding="utf-8"
    )


def main(argv: list[str]) -> int:
    modules = [Path(a) for a in argv] or sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir())
    for module in modules:
        rewrite(module)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
