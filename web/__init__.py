"""Flask web app. `flask --app web ...` finds create_app here: the one that turns a wrong
setting into one line naming it and exit 4 (web/startup.py), as gunicorn and the worker do."""

from web.startup import create_app_or_exit as create_app

__all__ = ["create_app"]
