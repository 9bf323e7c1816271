"""Build the app from the environment, or stop with one line naming the wrong setting (exit 4).

A wrong setting is an operator's problem to fix, not a traceback to read. Meant for every
entry point that builds the app from the environment: the flask command's factory
(`flask --app web` calls web/__init__.py's create_app) and gunicorn's (web/wsgi.py)."""

from __future__ import annotations

import sys

from flask import Flask

from shared.config import Settings, SettingsError
from web.app import create_app

# gunicorn's "application failed to load" exit code: it stops instead of respawning. The flask
# command exits with it too, so a script can tell a wrong setting from a failed command (1).
SETTINGS_EXIT_CODE = 4


def create_app_or_exit(settings: Settings | None = None) -> Flask:
    """create_app(settings); a SettingsError prints "Incident Tracker cannot start: ..." to
    stderr and exits 4."""
    try:
        return create_app(settings)
    except SettingsError as error:
        print(f"Incident Tracker cannot start: {error}", file=sys.stderr)
        sys.exit(SETTINGS_EXIT_CODE)
