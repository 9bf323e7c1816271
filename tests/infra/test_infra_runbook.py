"""The by-hand steps of terraform/README.md (and README.md's AWS section) against the Terraform.

What the runbook tells a person to type must work with what the Terraform builds: a password
typed into SQL lands in the PostgreSQL log the parameter group exports, a first apply that
prompts for a variable stops, and two accounts bootstrapped into one local state file destroy
each other's resources. Offline: the Markdown and python-hcl2 (tfcheck.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tfcheck

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks(path: Path, *languages: str) -> list[str]:
    """The bodies of the fenced code blocks in a Markdown file, of the given languages."""
    return [body for lang, body in FENCE.findall(path.read_text(encoding="utf-8")) if lang in languages]


@pytest.fixture(scope="module")
def terraform_readme(terraform_root: Path) -> Path:
    return terraform_root / "README.md"


# -- database roles: no password in a logged statement -----------------------------------------


def test_the_parameter_group_logs_ddl_to_cloudwatch(terraform_root: Path) -> None:
    """The premise of the next test: CREATE/ALTER ROLE statements are logged and exported."""
    rds = tfcheck.TfDir.load(terraform_root / "modules" / "rds", terraform_root)
    assert rds.variables["log_statement"]["default"] in ("ddl", "mod", "all")
    assert "postgresql" in rds.locals["log_exports"]


@pytest.mark.parametrize("readme", ["terraform/README.md", "README.md"])
def test_no_sql_in_the_runbook_sets_a_password_in_plain_text(repo_root: Path, readme: str) -> None:
    """`CREATE ROLE x LOGIN PASSWORD 'secret'` would be in the exported postgresql log verbatim."""
    for block in _blocks(repo_root / readme, "sql", "sh", ""):
        assert not re.search(r"\bPASSWORD\s+'", block, re.IGNORECASE), (
            f"{readme}: SQL that sets a password in plain text (logged by log_statement = ddl):\n{block}"
        )


@pytest.mark.parametrize("role", ["incident_app", "preview_app"])
def test_each_application_role_is_created_and_given_its_password_with_psql(terraform_readme: Path, role: str) -> None:
    sql = "\n".join(_blocks(terraform_readme, "sql"))
    assert re.search(rf"^CREATE ROLE {role} LOGIN\b[^;']*;", sql, re.MULTILINE), (
        f"terraform/README.md: no `CREATE ROLE {role} LOGIN ...;` (without a password) in its SQL"
    )
    assert re.search(rf"^\\password {role}$", sql, re.MULTILINE), (
        f"terraform/README.md: `\\password {role}` (psql sends only the SCRAM hash) does not follow"
    )


# -- the first environment, from zero -----------------------------------------------------------


def _section(path: Path, heading: str) -> str:
    """The text under a Markdown heading, up to the next heading of the same or a higher level."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^(#+) {re.escape(heading)}\n", text, re.MULTILINE)
    assert match, f"{path.name}: no section {heading!r}"
    level = len(match.group(1))
    lines: list[str] = []
    in_code = False
    for line in text[match.end() :].splitlines(keepends=True):
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(rf"#{{1,{level}}} ", line):
            break
        lines.append(line)
    return "".join(lines)


def _unset_required_variables(terraform_root: Path, root: str) -> set[str]:
    """Variables of envs/<root> with no default that its terraform.tfvars does not set either."""
    tfdir = tfcheck.TfDir.load(terraform_root / "envs" / root, terraform_root)
    tfvars = tfcheck.strip_comments(tfcheck.load_hcl(terraform_root / "envs" / root / "terraform.tfvars"))
    return {name for name, body in tfdir.variables.items() if "default" not in body and name not in tfvars}


@pytest.mark.parametrize("root", ["dev", "staging", "prod"])
def test_the_first_apply_passes_every_variable_terraform_would_prompt_for(
    terraform_root: Path, terraform_readme: Path, root: str
) -> None:
    """Without them `terraform plan` stops to ask (and with -input=false it fails)."""
    unset = _unset_required_variables(terraform_root, root)
    assert unset, f"envs/{root}: expected the images to have no default"
    section = _section(terraform_readme, "Secrets (once per environment, before its first apply)")
    plans = [block for block in FENCE.findall(section) if "terraform plan" in block[1]]
    assert plans, "terraform/README.md: the first apply has no `terraform plan` command to copy"
    for _, block in plans:
        for name in sorted(unset):
            assert f"{name}=" in block, f"terraform/README.md: the first apply's plan omits -var {name}=...:\n{block}"


def test_the_runbook_does_not_promise_healthy_tasks_before_the_database_url_is_set(terraform_readme: Path) -> None:
    from shared.config import SettingsError, normalise_database_url

    with pytest.raises(SettingsError):  # the app refuses to start with the placeholder secret
        normalise_database_url("pending")
    promises_healthz = "answer `/healthz` meanwhile" in " ".join(terraform_readme.read_text(encoding="utf-8").split())
    assert not promises_healthz, 'terraform/README.md: the web tasks answer /healthz while DATABASE_URL is "pending"'


@pytest.mark.parametrize(
    ("step", "command"),
    [
        ("ACM certificate", "aws acm request-certificate"),
        ("its DNS validation", "aws acm wait certificate-validated"),
        ("SES domain verification", "aws sesv2 create-email-identity"),
        ("leaving the SES sandbox", "--production-access-enabled"),
        ("the previews' wildcard DNS record", "*.<preview_domain>"),
        ("the DNS record to the load balancer", "alb_dns_name"),
        ("private Docker Hub repositories", "**private**"),
    ],
)
def test_the_runbook_covers_each_step_before_the_first_apply(terraform_readme: Path, step: str, command: str) -> None:
    section = _section(terraform_readme, "Certificate, mail and images (once per environment, before its first apply)")
    assert command in section, f"terraform/README.md: no step for {step} ({command!r}) before the first apply"


def test_each_account_is_bootstrapped_into_its_own_state_file(terraform_readme: Path) -> None:
    """One local terraform.tfstate for every account: the prod plan would replace dev's backend."""
    section = _section(terraform_readme, "Bootstrap (once per account)")
    commands = [line.split("#")[0].strip() for _, block in FENCE.findall(section) for line in block.splitlines()]
    inits = [c for c in commands if c.startswith("terraform init")]
    assert inits, "terraform/README.md: the bootstrap has no terraform init"
    paths = [re.search(r"-backend-config=\"?path=([\w.-]+\.tfstate)", c) for c in inits]
    assert all(paths), f"terraform/README.md: a bootstrap init without its account's state file: {inits}"
    assert len({p.group(1) for p in paths if p}) == len(inits) > 1, f"accounts share a state file: {inits}"
    assert all("-reconfigure" in c for c in inits), f"switching accounts needs terraform init -reconfigure: {inits}"
