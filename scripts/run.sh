#!/usr/bin/env bash
# `make run`: migrate the embedded SQLite database, seed the demo once, serve on :8000.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATA_DIR="${DATA_DIR:-$PWD/var}"
mkdir -p "$DATA_DIR"
# A random secret per checkout, kept beside the data so sessions survive a restart.
if [ -z "${SECRET_KEY:-}" ]; then
  if [ ! -s "$DATA_DIR/secret_key" ]; then
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))' > "$DATA_DIR/secret_key")
  fi
  SECRET_KEY="$(cat "$DATA_DIR/secret_key")"
  export SECRET_KEY
fi
export DEMO_PASSWORD="${DEMO_PASSWORD:-incident-demo-2026}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"

.venv/bin/flask --app web db upgrade
.venv/bin/flask --app web demo seed

cat <<MSG

  Incident Tracker is starting on http://$HOST:$PORT
  Sign in as admin@example.com, lead@example.com or member@example.com
  Demo password: $DEMO_PASSWORD   (set DEMO_PASSWORD before the first run to choose another)
  Data: $DATA_DIR   (delete it to start over)   Stop: Ctrl-C

MSG

if [ "${DEV:-0}" = "1" ]; then
  exec .venv/bin/flask --app web run --debug --host "$HOST" --port "$PORT"
fi
exec .venv/bin/gunicorn --config web/gunicorn_conf.py --bind "$HOST:$PORT" --workers 2 web.wsgi:app
