"""Flask web app. `flask --app web ...` finds create_app here."""

from web.app import create_app

__all__ = ["create_app"]
