"""gunicorn entry point: `gunicorn --config web/gunicorn_conf.py web.wsgi:app`."""

from web.startup import create_app_or_exit

# A wrong setting: one line naming it, exit 4 (gunicorn's "application failed to load": it
# stops instead of respawning).
app = create_app_or_exit()
