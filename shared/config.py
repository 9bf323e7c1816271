"""One settings object, read from the environment and validated at start-up.

Nothing else in the project reads os.environ: web, worker, CLI and tests all build a
Settings (tests pass overrides) and hand it down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

ENVIRONMENTS = ("development", "test", "production")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "var"


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    app_env: str = "development"
    secret_key: str = field(default="", repr=False)
    database_url: str = field(default="", repr=False)
    redis_url: str = field(default="", repr=False)
    data_dir: str = str(DEFAULT_DATA_DIR)
    log_format: str = ""  # "json" or "text"; empty = json in production, text elsewhere
    log_level: str = "INFO"
    rate_limit_login: str = "10 per minute"
    session_lifetime_hours: int = 12
    page_size: int = 50
    demo_password: str = field(default="", repr=False)
    base_url: str = "http://127.0.0.1:8000"
    # How many reverse proxies (the ALB) stand in front of the app. Their X-Forwarded-For /
    # X-Forwarded-Proto are trusted for exactly that many hops, so rate limits see the
    # client's address rather than the load balancer's.
    trusted_proxies: int = 0

    # env var name -> field name; every setting is documented in README "Settings".
    ENV_NAMES = {
        "APP_ENV": "app_env",
        "SECRET_KEY": "secret_key",
        "DATABASE_URL": "database_url",
        "REDIS_URL": "redis_url",
        "DATA_DIR": "data_dir",
        "LOG_FORMAT": "log_format",
        "LOG_LEVEL": "log_level",
        "RATE_LIMIT_LOGIN": "rate_limit_login",
        "SESSION_LIFETIME_HOURS": "session_lifetime_hours",
        "PAGE_SIZE": "page_size",
        "DEMO_PASSWORD": "demo_password",
        "BASE_URL": "base_url",
        "TRUSTED_PROXIES": "trusted_proxies",
    }

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Build settings from environment variables (plus explicit overrides) and validate."""
        environ = os.environ if environ is None else environ
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, object] = {}
        for env_name, attr in cls.ENV_NAMES.items():
            raw = environ.get(env_name)
            if raw is None or raw == "":
                continue
            if types[attr] in ("int", int):
                try:
                    values[attr] = int(raw)
                except ValueError:
                    raise SettingsError(f"{env_name} must be a whole number, got {raw!r}") from None
            else:
                values[attr] = raw
        values.update(overrides)
        return cls(**values).validated()

    def with_overrides(self, **overrides) -> Settings:
        return replace(self, **overrides).validated()

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir) / 'incident-tracker.db'}"

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("json" if self.is_production else "text")

    @property
    def effective_secret_key(self) -> str:
        # Development gets a fixed key so a restart keeps people signed in; production must set one.
        return self.secret_key or "dev-only-insecure-secret-key"

    def validated(self) -> Settings:
        if self.app_env not in ENVIRONMENTS:
            raise SettingsError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {self.app_env!r}")
        if self.log_format not in ("", "json", "text"):
            raise SettingsError(f"LOG_FORMAT must be 'json' or 'text', got {self.log_format!r}")
        if not 0 <= self.trusted_proxies <= 5:
            raise SettingsError("TRUSTED_PROXIES must be between 0 and 5")
        if self.page_size < 1 or self.page_size > 500:
            raise SettingsError("PAGE_SIZE must be between 1 and 500")
        if self.is_production:
            if not self.secret_key:
                raise SettingsError("SECRET_KEY is required when APP_ENV=production")
            if len(self.secret_key) < 32:
                raise SettingsError("SECRET_KEY must be at least 32 characters when APP_ENV=production")
            if not self.database_url:
                raise SettingsError("DATABASE_URL is required when APP_ENV=production")
            if self.database_url.startswith("sqlite"):
                raise SettingsError(
                    "DATABASE_URL must point at PostgreSQL when APP_ENV=production (SQLite is for the embedded default)"
                )
        return self
