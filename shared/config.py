"""One settings object, read from the environment and validated at start-up.

Nothing else in the project reads os.environ: web, worker, CLI and tests all build a
Settings (tests pass overrides) and hand it down. `Settings.from_env()` reads the process
environment (or a mapping given to it); `Settings(**values)` takes only the values given and
the defaults, so a test never picks up a variable from the shell it runs in.

Every field is the lower-case name of its environment variable (`PAGE_SIZE` -> `page_size`);
`known_environment_variables()` lists them for the Terraform and compose contract tests.
A wrong value stops start-up with `SettingsError`, one line naming the variable.
"""

from __future__ import annotations

import contextvars
import difflib
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from limits import parse_many
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENVIRONMENTS = ("development", "test", "production")
SECRET_KEY_MIN_DISTINCT = 8
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "var"
MIB = 1024 * 1024

# Values never shown in repr, str or an error message.
SECRET_FIELDS = (
    "secret_key",
    "database_url",
    "redis_url",
    "demo_password",
    "smtp_password",
    "celery_broker_url",
    "celery_result_backend",
)
# URLs among them: shown with the password replaced, so a log still says which host is used.
_URL_FIELDS = ("database_url", "redis_url", "celery_broker_url", "celery_result_backend")

# Read by libraries or process managers rather than by Settings; listed so the compose and
# Terraform contract tests accept them. boto3 reads the AWS credential chain itself (ECS
# task roles need none of these; MinIO in compose does), gunicorn_conf.py and Celery their own.
EXTERNAL_ENVIRONMENT_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    # boto3 reads these too; prefer S3_ENDPOINT_URL, which also switches to path-style
    # addressing (MinIO and moto serve buckets by path, not by virtual host).
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "BIND",
    "PORT",
    "WEB_CONCURRENCY",
    "WEB_THREADS",
    "FORWARDED_ALLOW_IPS",
    "REMAP_SIGTERM",  # Celery: SIGQUIT makes SIGTERM a soft shutdown (see WORKER_SOFT_SHUTDOWN_SECONDS)
)

_CLAMD_TCP = re.compile(r"^tcp://(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")
_KEY_PREFIX = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._\-]*/)*$")
_REDIS_KEY_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*:$")
_URL_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# DATABASE_URL scheme -> the SQLAlchemy dialect+driver used. Plain postgresql:// (what RDS and
# Heroku-style secrets hold) would mean psycopg 3 to SQLAlchemy 2, which is not installed:
# it gets psycopg2, the driver requirements.txt pins.
_DATABASE_SCHEMES = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
    "postgresql": "postgresql+psycopg2",
    "postgres": "postgresql+psycopg2",
    "postgresql+psycopg2": "postgresql+psycopg2",
}
_DATABASE_URL_FORMS = "sqlite:///path/to/file.db or postgresql://user:password@host:5432/db"


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


def parse_clamd_address(address: str) -> tuple[Any, ...]:
    """`tcp://host:port` -> ("tcp", host, port); `unix:///path` or `/path` -> ("unix", path)."""
    match = _CLAMD_TCP.match(address)
    if match:
        port = int(match["port"])
        if 0 < port < 65536:
            return ("tcp", match["host"].strip("[]"), port)
    path = address.removeprefix("unix://")
    if path.startswith("/"):
        return ("unix", path)
    raise SettingsError(f"CLAMD_ADDRESS must be tcp://HOST:PORT or unix:///path/to/clamd.sock, got {address!r}")


def normalise_database_url(url: str) -> str:
    """DATABASE_URL with the installed driver named (postgresql:// -> postgresql+psycopg2://);
    the rest (user, password, query) is kept as written. A message never shows the password."""
    if not url:
        return url
    match = _URL_SCHEME.match(url)
    if not match:
        raise SettingsError(f"DATABASE_URL must be {_DATABASE_URL_FORMS}, got a value without scheme://")
    scheme = match["scheme"]
    if scheme.lower() not in _DATABASE_SCHEMES:
        raise SettingsError(f"DATABASE_URL must be {_DATABASE_URL_FORMS}, got a URL starting {scheme + '://'!r}")
    normalised = _DATABASE_SCHEMES[scheme.lower()] + url[match.end("scheme") :]
    try:
        make_url(normalised)
    except (ArgumentError, ValueError):
        raise SettingsError(
            f"DATABASE_URL must be {_DATABASE_URL_FORMS}: this {scheme + '://'!r} URL does not parse"
            " (is the port a number? special characters in the password must be percent-encoded)"
        ) from None
    return normalised


def _check_rate_limit(name: str, value: str) -> None:
    # Flask-Limiter parses its limit strings with limits.parse_many, and on a failure only logs
    # and lets every request through: a typo would switch the limit off.
    try:
        parse_many(value)
    except ValueError:
        raise SettingsError(
            f"{name} must be a rate limit like '10 per minute' (several: '10 per minute; 100 per hour'), got {value!r}"
        ) from None


def _is_absolute_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
    except ValueError:
        return False
    # Links are made by appending paths: a query or fragment would end up in their middle.
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not (parts.query or parts.fragment)


def _check_base_url(url: str) -> None:
    if not _is_absolute_http_url(url):
        raise SettingsError(
            "BASE_URL must be the absolute http(s) address people open, like https://tracker.example.com"
            f" (links in notifications start with it), got {url!r}"
        )


def _check_data_dir(path: str) -> None:
    # The nearest part of the path that exists must be a folder: the database, broker and
    # evidence folders are made below it when first used (not here).
    for folder in (Path(path), *Path(path).parents):
        if os.path.isdir(folder):
            return
        if os.path.exists(folder):
            if folder == Path(path):
                raise SettingsError(f"DATA_DIR {path!r} is a file, not a folder")
            raise SettingsError(f"DATA_DIR {path!r} is below {str(folder)!r}, which is a file, not a folder")


def _mask_url(url: str) -> str:
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "***"


# The mapping `from_env` reads. Unset (the default) means: no environment at all, only the
# values passed to Settings(...) and the defaults.
_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("settings_environ", default=None)


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading the mapping `from_env` was given."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get() or {}
        return parse_env_vars(environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="forbid", env_ignore_empty=True, validate_default=True)

    # -- core ---------------------------------------------------------------------------------
    app_env: Literal["development", "test", "production"] = "development"
    secret_key: str = Field(default="", repr=False)
    database_url: str = Field(default="", repr=False)
    # Login rate limits (shared by all web tasks), and the task queue unless CELERY_BROKER_URL.
    redis_url: str = Field(default="", repr=False)
    # Previews share one Redis: every key (queue, rate limits) starts with "pr-<n>:".
    redis_key_prefix: str = ""
    data_dir: str = str(DEFAULT_DATA_DIR)
    log_format: Literal["", "json", "text"] = ""  # empty = json in production, text elsewhere
    log_level: str = "INFO"
    rate_limit_login: str = "10 per minute"
    # Per API token (per signed-in user for cookie calls, per address for anonymous ones).
    rate_limit_api: str = "600 per minute"
    session_lifetime_hours: int = Field(default=12, ge=1, le=24 * 30)
    # `db upgrade` on PostgreSQL: how long a migration statement waits for a table lock before
    # that attempt gives up (0: no limit), and how many attempts (shared.migrate.upgrade).
    migration_lock_timeout_seconds: float = Field(default=5.0, ge=0, le=600)
    migration_attempts: int = Field(default=6, ge=1, le=100)
    page_size: int = Field(default=50, ge=1, le=500)
    demo_password: str = Field(default="", repr=False)
    base_url: str = "http://127.0.0.1:8000"
    # How many reverse proxies (the ALB) stand in front of the app. Their X-Forwarded-For /
    # X-Forwarded-Proto are trusted for exactly that many hops, so rate limits see the
    # client's address rather than the load balancer's.
    trusted_proxies: int = Field(default=0, ge=0, le=5)

    # -- evidence storage ---------------------------------------------------------------------
    storage_backend: Literal["local", "s3"] = "local"
    local_storage_path: str = ""  # empty = DATA_DIR/evidence
    s3_bucket: str = ""
    s3_endpoint_url: str = ""  # moto's server or MinIO; empty = AWS
    s3_key_prefix: str = ""  # previews share a bucket under "pr-<n>/"
    aws_region: str = ""  # empty = boto3's own resolution (AWS_DEFAULT_REGION, instance metadata)
    presigned_url_ttl_seconds: int = Field(default=60, ge=5, le=3600)
    # Uploads have their own limit; the rest of the app keeps its small request limit.
    upload_max_bytes: int = Field(default=200 * MIB, ge=1)
    # Streaming puts to S3 send parts of this size, two at a time while the next is read:
    # memory per upload stays near three parts. 6 MiB measured best on a 1 GiB upload into moto
    # (0.79-0.93x boto3 against 0.75-0.78x with 5 MiB parts; peak RSS growth +24-63 MiB, 8 MiB
    # parts reached +65; README "Evidence uploads and the pipeline").
    s3_multipart_chunk_bytes: int = Field(default=6 * MIB, ge=5 * MIB, le=512 * MIB)

    # -- scanning -----------------------------------------------------------------------------
    scanning_enabled: bool = False
    clamd_address: str = ""  # tcp://127.0.0.1:3310 or unix:///run/clamav/clamd.ctl
    clamd_timeout_seconds: int = Field(default=120, ge=1, le=3600)
    # Production refuses to run the worker with scanning off unless this says it is deliberate.
    allow_unscanned_evidence: bool = False

    # -- worker / broker ----------------------------------------------------------------------
    celery_broker_url: str = Field(default="", repr=False)  # empty = REDIS_URL, else a local folder
    celery_result_backend: str = Field(default="", repr=False)  # empty = results are not kept
    task_time_limit_seconds: int = Field(default=900, ge=1)
    # Redis re-delivers an unacknowledged task after this long: it must outlast the longest task.
    broker_visibility_timeout_seconds: int = Field(default=3600, ge=5)
    # Publishing (from a web request, after commit) gives up after this; the outbox keeps the message.
    broker_publish_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    task_max_retries: int = Field(default=5, ge=0, le=50)
    # On SIGTERM (with REMAP_SIGTERM=SIGQUIT) running tasks get this long to finish before
    # unfinished ones go back to the queue; keep it under ECS's stopTimeout (120 s).
    worker_soft_shutdown_seconds: float = Field(default=90.0, ge=0, le=600)
    # The beat deletes evidence objects no evidence row needs (an upload whose row never
    # committed and whose clean-up failed too) once they are older than the grace period.
    orphan_sweep_interval_seconds: int = Field(default=3600, ge=5, le=7 * 24 * 3600)
    orphan_grace_seconds: int = Field(default=3600, ge=5)
    metrics_environment: str = ""  # EMF "Environment" dimension; empty = APP_ENV
    metrics_interval_seconds: int = Field(default=60, ge=1, le=3600)  # how often the beat measures the queue

    # -- email --------------------------------------------------------------------------------
    smtp_host: str = ""  # empty = no SMTP: MAIL_DIR files, or email off
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_from: str = "incident-tracker@localhost"
    smtp_username: str = ""
    smtp_password: str = Field(default="", repr=False)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    # Without SMTP_HOST, mail goes to .eml files in this folder (`make run` sets var/mail);
    # with neither, email notifications are switched off (the admin pages say so).
    mail_dir: str = ""

    # -- webhooks -----------------------------------------------------------------------------
    # Plain http:// endpoints, for development only (production refuses it).
    webhook_allow_http: bool = False
    # Explicit "host:port" pairs exempt from the private-address check (tests, local receivers);
    # wildcards are refused everywhere, and production accepts only such an explicit list.
    webhook_allow_private_hosts: str = ""
    # Connect and between-reads timeout of one delivery; the whole attempt gets three times this.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # A claimed delivery's lease is the whole attempt (3x the timeout) plus this; a killed
    # worker's delivery waits that long for the beat. Tests of that hand-over set it short.
    notification_lease_margin_seconds: float = Field(default=15.0, ge=1, le=600)
    # A dashboard row's quick move offers Undo: its mail and webhooks wait this long, and an Undo
    # in that time sends nothing at all (not "Blocked" then "In Progress"). 0: sent at once.
    notification_undo_hold_seconds: float = Field(default=20.0, ge=0, le=300)
    # After "Rotate secret" the old secret keeps signing (two v1 signatures) this long.
    webhook_secret_overlap_hours: int = Field(default=24, ge=0, le=24 * 30)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SettingsError(_describe(error)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit values win over the environment; no .env files, no secrets directory.
        return (init_settings, _MappingEnvSource(settings_cls, env_ignore_empty=True))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from environment variables (plus explicit overrides) and validate."""
        environ = os.environ if environ is None else environ
        for warning in misspelled_settings(environ):
            logging.getLogger("incident_tracker.settings").warning(warning)
        token = _ENVIRON.set(environ)
        try:
            return cls(**overrides)
        finally:
            _ENVIRON.reset(token)

    def with_overrides(self, **overrides: Any) -> Settings:
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self)(**{**values, **overrides})

    def validated(self) -> Settings:
        """Kept for callers that build Settings(...) by hand: construction already validated."""
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        yield from super().__repr_args__()
        for name in SECRET_FIELDS:
            value = getattr(self, name)
            yield name, (_mask_url(value) if name in _URL_FIELDS else ("***" if value else ""))

    # -- checks -------------------------------------------------------------------------------
    # SettingsError is not a ValueError, so pydantic lets it through with its message as is.
    @field_validator("database_url")
    @classmethod
    def _database_driver(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (any case), got {value!r}")
        return level

    @model_validator(mode="after")
    def _check(self) -> Settings:
        _check_rate_limit("RATE_LIMIT_LOGIN", self.rate_limit_login)
        _check_rate_limit("RATE_LIMIT_API", self.rate_limit_api)
        _check_base_url(self.base_url)
        _check_data_dir(self.data_dir)
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise SettingsError("S3_BUCKET is required when STORAGE_BACKEND=s3")
        if self.s3_key_prefix and not _KEY_PREFIX.match(self.s3_key_prefix):
            raise SettingsError(f"S3_KEY_PREFIX must look like 'pr-42/' (ends with '/'), got {self.s3_key_prefix!r}")
        if self.redis_key_prefix and not _REDIS_KEY_PREFIX.match(self.redis_key_prefix):
            raise SettingsError(
                f"REDIS_KEY_PREFIX must look like 'pr-42:' (ends with ':'), got {self.redis_key_prefix!r}"
            )
        if self.scanning_enabled:
            if not self.clamd_address:
                raise SettingsError("CLAMD_ADDRESS is required when SCANNING_ENABLED=true")
            parse_clamd_address(self.clamd_address)
        if self.broker_visibility_timeout_seconds <= self.task_time_limit_seconds:
            raise SettingsError(
                "BROKER_VISIBILITY_TIMEOUT_SECONDS must be longer than TASK_TIME_LIMIT_SECONDS"
                " (else Redis hands a running task to a second worker)"
            )
        if self.webhook_allow_private_hosts:
            # Imported here: the SSRF module is plain Python, but config is imported by everything.
            from shared.notifications.ssrf import parse_allowed_hosts

            try:
                parse_allowed_hosts(self.webhook_allow_private_hosts)
            except ValueError as error:
                raise SettingsError(str(error)) from None
        if self.is_production:
            self._check_production()
        return self

    def _check_production_exemptions(self) -> None:
        """Production may exempt an internal receiver (a private address), never the server's own
        task: loopback on ECS reaches the web server and its sidecars."""
        import ipaddress

        for raw in self.webhook_allow_private_hosts.split(","):
            host = raw.strip().rsplit(":", 1)[0].strip("[]").lower().rstrip(".")
            try:
                address = ipaddress.ip_address(host)
                if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                    address = address.ipv4_mapped
                loopback = address.is_loopback
            except ValueError:
                loopback = host == "localhost" or host.endswith(".localhost")
            if loopback:
                raise SettingsError(
                    f"WEBHOOK_ALLOW_PRIVATE_HOSTS must not name a loopback host ({raw.strip()!r}) when "
                    "APP_ENV=production: on ECS that is the server's own task"
                )

    def _check_production(self) -> None:
        if not self.secret_key:
            raise SettingsError("SECRET_KEY is required when APP_ENV=production")
        if len(self.secret_key) < 32:
            raise SettingsError("SECRET_KEY must be at least 32 characters when APP_ENV=production")
        # 40 times "a" is long enough and guessable: a random key of 32+ characters uses more
        # than 8 different ones (hex: about 14 of 16) with overwhelming odds.
        if len(set(self.secret_key)) < SECRET_KEY_MIN_DISTINCT:
            raise SettingsError(
                f"SECRET_KEY uses only {len(set(self.secret_key))} different characters: it is not random. "
                "Generate one: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if not self.database_url:
            raise SettingsError("DATABASE_URL is required when APP_ENV=production")
        if self.database_url.startswith("sqlite"):
            raise SettingsError(
                "DATABASE_URL must point at PostgreSQL when APP_ENV=production (SQLite is for the embedded default)"
            )
        if self.webhook_allow_http:
            raise SettingsError("WEBHOOK_ALLOW_HTTP must not be true when APP_ENV=production (webhooks go over https)")
        self._check_production_exemptions()
        if not self.redis_url:
            raise SettingsError(
                "REDIS_URL is required when APP_ENV=production"
                " (login rate limits must be shared by every web task, not kept per process)"
            )

    def check_worker_can_start(self) -> None:
        """The worker's extra start-up rule: production scans evidence unless told otherwise."""
        if self.is_production and not self.scanning_enabled and not self.allow_unscanned_evidence:
            raise SettingsError(
                "SCANNING_ENABLED must be true when APP_ENV=production"
                " (set ALLOW_UNSCANNED_EVIDENCE=true to serve unscanned files deliberately)"
            )

    # -- derived values -----------------------------------------------------------------------
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

    @property
    def effective_local_storage_path(self) -> Path:
        return Path(self.local_storage_path or Path(self.data_dir) / "evidence")

    @property
    def effective_broker_url(self) -> str:
        """CELERY_BROKER_URL, else REDIS_URL, else kombu's filesystem transport (no server needed)."""
        return self.celery_broker_url or self.redis_url or "filesystem://"

    @property
    def broker_data_dir(self) -> Path:
        """Folder of the filesystem transport (the embedded default's broker)."""
        return Path(self.data_dir) / "broker"

    @property
    def effective_metrics_environment(self) -> str:
        return self.metrics_environment or self.app_env

    @property
    def email_mode(self) -> Literal["smtp", "folder", "off"]:
        """How notification email leaves: SMTP_HOST, else MAIL_DIR files, else not at all."""
        if self.smtp_host:
            return "smtp"
        return "folder" if self.mail_dir else "off"

    @property
    def clamd_endpoint(self) -> tuple[Any, ...]:
        return parse_clamd_address(self.clamd_address)


def known_environment_variables(*, include_external: bool = False) -> tuple[str, ...]:
    """Every environment variable Settings reads (upper-case field names), sorted.

    With include_external, also those read by libraries or gunicorn_conf.py instead
    (EXTERNAL_ENVIRONMENT_VARIABLES)."""
    names = {name.upper() for name in Settings.model_fields}
    if include_external:
        names.update(EXTERNAL_ENVIRONMENT_VARIABLES)
    return tuple(sorted(names))


def misspelled_settings(environ: Mapping[str, str]) -> list[str]:
    """A warning for each variable that is no setting but nearly spells one (DATABSE_URL): it
    would be ignored without a word, and the app would run on a default (SQLite in DATA_DIR)."""
    known = known_environment_variables(include_external=True)
    warnings = []
    for name in sorted(environ):
        if name in known or not re.fullmatch(r"[A-Z][A-Z0-9_]*_[A-Z0-9_]+", name):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
        if close:
            warnings.append(f"{name} is not a setting and is ignored: did you mean {close[0]}?")
    return warnings


def _describe(error: ValidationError) -> str:
    """One line naming the first wrong variable, without echoing a secret."""
    first = error.errors(include_url=False)[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    name = field.upper() or "settings"
    if first["type"] == "extra_forbidden":
        return f"{name} is not a known setting"
    message = first["msg"]
    if first["type"] in ("int_parsing", "int_from_float"):
        message = "must be a whole number"
    elif first["type"] == "bool_parsing":
        message = "must be true or false"
    else:
        message = message[0].lower() + message[1:]
    if field in SECRET_FIELDS:
        return f"{name} is not valid: {message}"
    return f"{name} is not valid: {message}, got {first.get('input')!r}"
