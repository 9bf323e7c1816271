"""Settings: read from the environment, refused with a message naming the setting, secrets hidden."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.config import Settings, SettingsError, known_environment_variables

GOOD_KEY = "config-tests-only-secret-key-0123456789abcdef"
PG_URL = "postgresql+psycopg2://tracker:s3cret-db-pass@db.internal:5432/tracker"
REDIS_URL = "rediss://:redis-token-123@cache:6379/0"
PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": GOOD_KEY, "DATABASE_URL": PG_URL, "REDIS_URL": REDIS_URL}
TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"


def test_defaults_make_the_embedded_default():
    settings = Settings.from_env({})
    assert settings.app_env == "development"
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("incident-tracker.db")
    assert settings.effective_log_format == "text"
    assert settings.effective_secret_key  # development works without one
    assert settings.page_size == 50


def test_values_come_from_the_environment():
    settings = Settings.from_env({**PRODUCTION, "PAGE_SIZE": "25", "LOG_LEVEL": "DEBUG"})
    assert (settings.is_production, settings.page_size, settings.log_level) == (True, 25, "DEBUG")
    assert settings.effective_database_url == PG_URL
    assert settings.effective_log_format == "json"


def test_an_empty_variable_means_unset():
    settings = Settings.from_env({"REDIS_URL": "", "PAGE_SIZE": "", "UPLOAD_MAX_BYTES": ""})
    assert (settings.redis_url, settings.page_size, settings.upload_max_bytes) == ("", 50, 200 * 1024 * 1024)


def test_settings_built_by_hand_ignore_the_process_environment(monkeypatch):
    monkeypatch.setenv("PAGE_SIZE", "7")
    assert Settings(app_env="test").page_size == 50
    assert Settings.from_env().page_size == 7


def test_explicit_overrides_win_over_the_environment():
    settings = Settings.from_env({"PAGE_SIZE": "25"}, page_size=10)
    assert settings.page_size == 10
    assert settings.with_overrides(page_size=5).page_size == 5


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"APP_ENV": "production", "DATABASE_URL": PG_URL}, "SECRET_KEY"),
        ({**PRODUCTION, "SECRET_KEY": "too-short"}, "SECRET_KEY"),
        ({"APP_ENV": "production", "SECRET_KEY": GOOD_KEY}, "DATABASE_URL"),
        ({**PRODUCTION, "DATABASE_URL": "sqlite:////srv/tracker.db"}, "DATABASE_URL"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"PAGE_SIZE": "fifty"}, "PAGE_SIZE"),
        ({"PAGE_SIZE": "0"}, "PAGE_SIZE"),
        ({"PAGE_SIZE": "501"}, "PAGE_SIZE"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"SESSION_LIFETIME_HOURS": "12h"}, "SESSION_LIFETIME_HOURS"),
        ({k: v for k, v in PRODUCTION.items() if k != "REDIS_URL"}, "REDIS_URL"),
        ({"STORAGE_BACKEND": "gcs"}, "STORAGE_BACKEND"),
        ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET"),
        ({"S3_KEY_PREFIX": "pr-42"}, "S3_KEY_PREFIX"),
        ({"S3_KEY_PREFIX": "../pr-42/"}, "S3_KEY_PREFIX"),
        ({"SCANNING_ENABLED": "true"}, "CLAMD_ADDRESS"),
        ({"SCANNING_ENABLED": "true", "CLAMD_ADDRESS": "127.0.0.1:3310"}, "CLAMD_ADDRESS"),
        ({"SCANNING_ENABLED": "maybe"}, "SCANNING_ENABLED"),
        ({"UPLOAD_MAX_BYTES": "200MB"}, "UPLOAD_MAX_BYTES"),
        ({"SMTP_SECURITY": "ssl3"}, "SMTP_SECURITY"),
        ({"SMTP_PORT": "70000"}, "SMTP_PORT"),
        ({"TASK_TIME_LIMIT_SECONDS": "7200"}, "BROKER_VISIBILITY_TIMEOUT_SECONDS"),
    ],
)
def test_a_wrong_setting_stops_start_up_naming_it(environ, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(environ)


def test_production_with_everything_set_starts():
    assert Settings.from_env(PRODUCTION).is_production


def test_a_bad_override_is_refused_too():
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings.from_env(PRODUCTION).with_overrides(database_url="sqlite:///x.db")


def test_repr_hides_secrets():
    settings = Settings.from_env({**PRODUCTION, "DEMO_PASSWORD": "demo-pass-456", "SMTP_PASSWORD": "smtp-pass-789"})
    shown = repr(settings) + str(settings)
    for secret in (GOOD_KEY, "s3cret-db-pass", "redis-token-123", "demo-pass-456", "smtp-pass-789"):
        assert secret not in shown
    assert "production" in shown  # the rest is still there to debug with
    assert "db.internal" in shown  # URLs keep their host, only the password is masked


def test_an_error_never_echoes_a_secret():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SMTP_PASSWORD": "p" * 10, "SMTP_PORT": "x"})
    assert "p" * 10 not in str(raised.value)
    with pytest.raises(SettingsError, match="SECRET_KEY") as raised:
        Settings.from_env({**PRODUCTION, "SECRET_KEY": "short-secret-value"})
    assert "short-secret-value" not in str(raised.value)


def test_a_misspelt_setting_passed_by_hand_is_refused():
    with pytest.raises(SettingsError, match="PAGE_SIZES is not a known setting"):
        Settings(page_sizes=10)


def test_storage_scanning_and_broker_settings():
    settings = Settings.from_env(
        {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": "evidence",
            "S3_KEY_PREFIX": "pr-42/",
            "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "SCANNING_ENABLED": "true",
            "CLAMD_ADDRESS": "tcp://127.0.0.1:3310",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert (settings.storage_backend, settings.s3_bucket, settings.s3_key_prefix) == ("s3", "evidence", "pr-42/")
    assert settings.clamd_endpoint == ("tcp", "127.0.0.1", 3310)
    assert settings.effective_broker_url == "redis://127.0.0.1:6379/0"
    assert Settings.from_env(
        {"SCANNING_ENABLED": "1", "CLAMD_ADDRESS": "unix:///run/clamav/clamd.ctl"}
    ).clamd_endpoint == (
        "unix",
        "/run/clamav/clamd.ctl",
    )


def test_the_embedded_default_needs_no_server(tmp_path):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert settings.effective_broker_url == "filesystem://"
    assert settings.broker_data_dir == tmp_path / "broker"
    assert settings.effective_local_storage_path == tmp_path / "evidence"
    assert (settings.storage_backend, settings.scanning_enabled) == ("local", False)
    assert settings.upload_max_bytes == 200 * 1024 * 1024
    assert settings.effective_metrics_environment == "development"


def test_production_worker_refuses_to_run_without_scanning_unless_allowed():
    with pytest.raises(SettingsError, match="SCANNING_ENABLED"):
        Settings.from_env(PRODUCTION).check_worker_can_start()
    Settings.from_env({**PRODUCTION, "ALLOW_UNSCANNED_EVIDENCE": "true"}).check_worker_can_start()
    Settings.from_env(
        {**PRODUCTION, "SCANNING_ENABLED": "true", "CLAMD_ADDRESS": "tcp://clamd:3310"}
    ).check_worker_can_start()
    Settings.from_env({}).check_worker_can_start()  # the embedded default runs unscanned, and says so


# -- the Terraform roots give the app only settings it knows ---------------------------------------

_MAP_START = re.compile(r"\b(app_environment|app_secrets)\s*=\s*")
_MAP_KEY = re.compile(r"^\s*\"?([A-Z][A-Z0-9_]*)\"?\s*[=:]", re.MULTILINE)


def _expression_after(text: str, start: int) -> str:
    """The HCL expression starting at `start`: up to the newline where every bracket is closed."""
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
        elif char == "\n" and depth <= 0:
            break
        index += 1
    return text[start:index]


def terraform_app_variables() -> dict[str, set[str]]:
    """Env var name -> the .tf files whose app_environment / app_secrets maps set it.

    Searches every .tf file under terraform/ (roots or composition modules alike), so the
    layout may change; `local.app_environment` references and variables are not maps and add nothing."""
    found: dict[str, set[str]] = {}
    for path in sorted(TERRAFORM.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        text = re.sub(r"(?m)^\s*(#|//).*$", "", path.read_text())
        for match in _MAP_START.finditer(text):
            expression = _expression_after(text, match.end())
            for key in _MAP_KEY.findall(expression):
                found.setdefault(key, set()).add(str(path.relative_to(TERRAFORM)))
    return found


def test_every_variable_terraform_gives_the_app_is_a_known_setting():
    given = terraform_app_variables()
    # Guard against the search silently finding nothing after a Terraform restructuring.
    assert {"APP_ENV", "DATABASE_URL", "SECRET_KEY", "REDIS_URL"} <= set(given), sorted(given)
    known = set(known_environment_variables(include_external=True))
    unknown = {name: sorted(files) for name, files in given.items() if name not in known}
    assert not unknown, f"Terraform sets environment variables the app does not read: {unknown}"


def test_issue_7_settings_are_known():
    known = set(known_environment_variables())
    issue_7 = "STORAGE_BACKEND S3_BUCKET S3_ENDPOINT_URL S3_KEY_PREFIX SCANNING_ENABLED CLAMD_ADDRESS SMTP_HOST"
    issue_7 += " SMTP_PORT SMTP_FROM SMTP_USERNAME SMTP_PASSWORD SMTP_SECURITY METRICS_ENVIRONMENT BASE_URL"
    issue_7 += " UPLOAD_MAX_BYTES LOCAL_STORAGE_PATH CELERY_BROKER_URL CELERY_RESULT_BACKEND AWS_REGION"
    for name in issue_7.split():
        assert name in known
    assert "AWS_ACCESS_KEY_ID" not in known  # boto3 reads it itself
    assert "AWS_ACCESS_KEY_ID" in known_environment_variables(include_external=True)


# Found by a security review: 40 times "a" passed as a production SECRET_KEY, and a loopback
# webhook exemption was taken silently in production.
@pytest.mark.parametrize("key", ["a" * 40, "ab" * 20, "changeme" * 5])
def test_production_refuses_a_secret_key_that_is_not_random(key):
    with pytest.raises(
        SettingsError, match=r"SECRET_KEY uses only .* different characters: it is not random"
    ) as raised:
        Settings.from_env({**PRODUCTION, "SECRET_KEY": key})
    assert key not in str(raised.value)  # the message never repeats the secret


def test_a_hex_key_from_secrets_passes():
    import secrets

    for _ in range(200):
        assert Settings.from_env({**PRODUCTION, "SECRET_KEY": secrets.token_hex(16)}).is_production


@pytest.mark.parametrize("value", ["127.0.0.1:9000", "localhost:8080", "[::1]:443", "receiver:9000,LOCALHOST.:80"])
def test_production_refuses_a_loopback_webhook_exemption(value):
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOW_PRIVATE_HOSTS must not name a loopback host"):
        Settings.from_env({**PRODUCTION, "WEBHOOK_ALLOW_PRIVATE_HOSTS": value})
    assert Settings.from_env({"WEBHOOK_ALLOW_PRIVATE_HOSTS": value}).webhook_allow_private_hosts == value


def test_production_takes_an_internal_receiver_exemption():
    settings = Settings.from_env({**PRODUCTION, "WEBHOOK_ALLOW_PRIVATE_HOSTS": "hooks.internal:443,10.0.3.4:8443"})
    assert settings.is_production
