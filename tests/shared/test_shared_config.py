"""Settings: read from the environment, refused with a message naming the setting, secrets hidden."""

from __future__ import annotations

import pytest

from shared.config import Settings, SettingsError

GOOD_KEY = "k" * 40
PG_URL = "postgresql+psycopg2://tracker:s3cret-db-pass@db.internal:5432/tracker"
PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": GOOD_KEY, "DATABASE_URL": PG_URL}


def test_defaults_make_the_embedded_default():
    settings = Settings.from_env({})
    assert settings.app_env == "development"
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("incident-tracker.db")
    assert settings.effective_log_format == "text"
    assert settings.effective_secret_key  # development works without one
    assert settings.page_size == 50


def test_values_come_from_the_environment():
    settings = Settings.from_env({**PRODUCTION, "PAGE_SIZE": "25", "LOG_LEVEL": "DEBUG", "REDIS_URL": ""})
    assert (settings.is_production, settings.page_size, settings.log_level) == (True, 25, "DEBUG")
    assert settings.effective_database_url == PG_URL
    assert settings.effective_log_format == "json"
    assert settings.redis_url == ""  # empty means unset


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
    settings = Settings.from_env(
        {**PRODUCTION, "REDIS_URL": "rediss://:redis-token-123@cache:6379/0", "DEMO_PASSWORD": "demo-pass-456"}
    )
    shown = repr(settings) + str(settings)
    for secret in (GOOD_KEY, "s3cret-db-pass", "redis-token-123", "demo-pass-456"):
        assert secret not in shown
    assert "production" in shown  # the rest is still there to debug with
