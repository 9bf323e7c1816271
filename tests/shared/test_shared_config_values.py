"""Settings whose wrong values used to pass start-up and fail later (a limit silently off, a
traceback in gunicorn while the worker reported ready, links without a scheme): each is now
refused at load, in one line naming the variable, without echoing a password."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.config import Settings, SettingsError
from shared.db import make_engine

PASSWORD = "pw-Secret-42"


# -- RATE_LIMIT_LOGIN, RATE_LIMIT_API: parsed as Flask-Limiter parses them ---------------------


@pytest.mark.parametrize("name", ["RATE_LIMIT_LOGIN", "RATE_LIMIT_API"])
@pytest.mark.parametrize("value", ["lots", "10 per fortnight", "ten per minute", "10"])
def test_a_rate_limit_flask_limiter_cannot_parse_is_refused(name, value):
    with pytest.raises(SettingsError, match=rf"^{name} must be a rate limit like '10 per minute'") as raised:
        Settings.from_env({name: value})
    assert repr(value) in str(raised.value)


@pytest.mark.parametrize("value", ["10 per minute", "10/minute", "5 per second; 100 per hour", "10000 per minute"])
def test_rate_limits_in_the_forms_flask_limiter_reads_are_accepted(value):
    settings = Settings.from_env({"RATE_LIMIT_LOGIN": value, "RATE_LIMIT_API": value})
    assert (settings.rate_limit_login, settings.rate_limit_api) == (value, value)


def test_a_rate_limit_passed_by_hand_is_checked_too():
    with pytest.raises(SettingsError, match="RATE_LIMIT_API"):
        Settings(rate_limit_api="")


# -- DATABASE_URL: the common postgresql:// form works, an unknown scheme is refused -------------


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            f"postgresql://tracker:{PASSWORD}@db.internal:5432/tracker",
            f"postgresql+psycopg2://tracker:{PASSWORD}@db.internal:5432/tracker",
        ),
        (
            # Heroku's form; the percent-encoded password and the query are kept byte for byte.
            "postgres://tracker:p%40ss%2Fw0rd@db.internal/tracker?sslmode=verify-full",
            "postgresql+psycopg2://tracker:p%40ss%2Fw0rd@db.internal/tracker?sslmode=verify-full",
        ),
        ("postgresql+psycopg2://tracker@db.internal/tracker", "postgresql+psycopg2://tracker@db.internal/tracker"),
        ("sqlite:////srv/tracker.db", "sqlite:////srv/tracker.db"),
    ],
)
def test_a_plain_postgresql_url_uses_the_installed_driver(given, used):
    settings = Settings.from_env({"DATABASE_URL": given})
    assert settings.database_url == settings.effective_database_url == used
    assert settings.with_overrides(page_size=10).database_url == used  # normalising twice changes nothing


@pytest.mark.postgres_only
def test_a_plain_postgresql_url_connects(database_url):
    plain = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    assert plain.startswith("postgresql://")
    engine = make_engine(Settings.from_env({"DATABASE_URL": plain}).effective_database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "value",
    [
        f"notaurl://tracker:{PASSWORD}@db.internal/tracker",
        f"mysql://tracker:{PASSWORD}@db.internal/tracker",
        f"postgresql+psycopg://tracker:{PASSWORD}@db.internal/tracker",  # psycopg 3 is not installed
        f"tracker:{PASSWORD}@db.internal/tracker",
        f"postgresql://tracker:{PASSWORD}@db.internal:port/tracker",
        f"//tracker:{PASSWORD}@db.internal/tracker",
    ],
)
def test_a_database_url_of_another_kind_is_refused_without_its_password(value):
    with pytest.raises(SettingsError, match=r"^DATABASE_URL must be sqlite:///.* or postgresql://") as raised:
        Settings.from_env({"DATABASE_URL": value})
    assert PASSWORD not in str(raised.value)


def test_no_database_url_message_shows_the_password():
    given = f"postgresql://tracker:{PASSWORD}@db.internal/tracker"
    settings = Settings.from_env({"DATABASE_URL": given})
    assert PASSWORD not in repr(settings) + str(settings)
    with pytest.raises(SettingsError) as raised:  # another setting wrong beside it
        Settings.from_env({"DATABASE_URL": given, "PAGE_SIZE": "x"})
    assert PASSWORD not in str(raised.value)


# -- BASE_URL: links in mail must be absolute -----------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "tracker.example.com",
        "//tracker.example.com",
        "https://",
        "ftp://tracker.example.com",
        "http://h:99999",
        "https://tracker.example.com/?team=ops",
    ],
)
def test_a_base_url_that_is_not_an_absolute_http_url_is_refused(value):
    with pytest.raises(SettingsError, match=r"^BASE_URL must be .*https://tracker\.example\.com") as raised:
        Settings.from_env({"BASE_URL": value})
    assert repr(value) in str(raised.value)


@pytest.mark.parametrize(
    "value", ["https://tracker.example.com", "http://127.0.0.1:8000", "https://example.com/tracker/", "http://[::1]:80"]
)
def test_absolute_base_urls_are_accepted(value):
    assert Settings.from_env({"BASE_URL": value}).base_url == value


# -- LOG_LEVEL --------------------------------------------------------------------------------


def test_an_unknown_log_level_is_refused_naming_the_levels():
    with pytest.raises(SettingsError, match=r"^LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"):
        Settings.from_env({"LOG_LEVEL": "LOUD"})


@pytest.mark.parametrize(("given", "level"), [("debug", "DEBUG"), ("Warning", "WARNING"), (" error ", "ERROR")])
def test_a_log_level_in_any_case_is_accepted(given, level):
    assert Settings.from_env({"LOG_LEVEL": given}).log_level == level


# -- DATA_DIR ---------------------------------------------------------------------------------


def test_a_data_dir_that_is_a_file_is_refused(tmp_path):
    file = tmp_path / "data"
    file.write_text("not a folder")
    with pytest.raises(SettingsError, match="^" + re.escape(f"DATA_DIR {str(file)!r} is a file, not a folder")):
        Settings.from_env({"DATA_DIR": str(file)})
    with pytest.raises(SettingsError, match=r"^DATA_DIR .* is below .*, which is a file, not a folder"):
        Settings.from_env({"DATA_DIR": str(file / "below")})


def test_a_data_dir_still_to_be_made_is_accepted_and_not_made_at_load(tmp_path):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path / "new" / "data")})
    assert settings.data_dir == str(tmp_path / "new" / "data")
    assert not (tmp_path / "new").exists()


def test_a_misspelled_setting_is_named_with_the_one_it_nearly_spells(caplog, tmp_path):
    """Found by QA: DATABSE_URL was ignored without a word and the app ran on SQLite in DATA_DIR."""
    environ = {"DATA_DIR": str(tmp_path), "DATABSE_URL": "postgresql://u:pw@db/x", "SMTP_HOTS": "mail", "PATH": "/bin"}
    with caplog.at_level(logging.WARNING, logger="incident_tracker.settings"):
        settings = Settings.from_env(environ)
    assert settings.database_url == ""  # the default still applies...
    assert [record.getMessage() for record in caplog.records] == [  # ...and says why
        "DATABSE_URL is not a setting and is ignored: did you mean DATABASE_URL?",
        "SMTP_HOTS is not a setting and is ignored: did you mean SMTP_HOST?",
    ]
    assert "pw" not in caplog.text
