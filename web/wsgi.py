"""gunicorn entry point: `gunicorn --config web/gunicorn_conf.py web.wsgi:app`."""

import sys

from shared.config import SettingsError
from web.app import create_app

try:
    app = create_app()
except SettingsError as error:
    # A wrong setting is an operator's problem to fix, not a traceback to read.
    print(f"Incident Tracker cannot start: {error}", file=sys.stderr)
    sys.exit(4)  # gunicorn's "application failed to load" exit code: it stops instead of respawning
