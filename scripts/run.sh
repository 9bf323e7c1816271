#!/usr/bin/env bash
# `make run`: migrate the embedded SQLite database, seed the demo once, then run the worker,
# the beat and the web server on :8000 (broker: a folder under DATA_DIR). Ctrl-C stops all.
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
# Scanning needs a clamd: on when CLAMD_ADDRESS is given, otherwise off and shown as "not scanned".
if [ -n "${CLAMD_ADDRESS:-}" ]; then
  export SCANNING_ENABLED="${SCANNING_ENABLED:-true}"
else
  export SCANNING_ENABLED="${SCANNING_ENABLED:-false}"
fi
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
export BASE_URL="${BASE_URL:-http://$HOST:$PORT}"
# Notification email: through SMTP_HOST when given, otherwise written as .eml files to a folder.
if [ -z "${SMTP_HOST:-}" ]; then
  export MAIL_DIR="${MAIL_DIR:-$DATA_DIR/mail}"
  mail="written to $MAIL_DIR (one .eml file per message; set SMTP_HOST to send)"
else
  mail="sent through $SMTP_HOST:${SMTP_PORT:-587}"
fi
# Development: webhooks may go to plain http:// receivers (private addresses still need
# WEBHOOK_ALLOW_PRIVATE_HOSTS=host:port).
export WEBHOOK_ALLOW_HTTP="${WEBHOOK_ALLOW_HTTP:-true}"

.venv/bin/flask --app web db upgrade
.venv/bin/flask --app web demo seed

mkdir -p "$DATA_DIR/run"
PIDS=()
stop_all() {
  trap - INT TERM EXIT
  if [ "${1:-}" = ctrl-c ]; then
    # Ctrl-C reached every program too (one process group) and each is stopping on it: give
    # them 10 s before SIGTERM, which would cut into their own shutdown (the beat writing its
    # schedule) and print a traceback.
    for _ in $(seq 100); do
      running=0
      for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
      [ "$running" = 0 ] && break
      sleep 0.1
    done
  fi
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop_all ctrl-c' INT
trap stop_all TERM EXIT

# Each background program writes its own PID (exec keeps it), so Ctrl-C stops exactly these.
start() {
  local name="$1"
  shift
  sh -c 'echo $$ > "$0"; exec "$@"' "$DATA_DIR/run/$name.pid" "$@" &
  PIDS+=("$!")
}
start worker .venv/bin/celery --app worker.celery_app worker --loglevel INFO --concurrency 2 --hostname "worker@%h"
start beat .venv/bin/celery --app worker.celery_app beat --loglevel INFO --schedule "$DATA_DIR/run/celerybeat-schedule"

scanning="off: files are shown as \"not scanned\" (set CLAMD_ADDRESS=tcp://HOST:PORT to scan)"
[ "$SCANNING_ENABLED" = "true" ] && scanning="on, clamd at $CLAMD_ADDRESS"
cat <<MSG

  Incident Tracker is starting on http://$HOST:$PORT
  Sign in as admin@example.com, lead@example.com or member@example.com
  Demo password: $DEMO_PASSWORD   (set DEMO_PASSWORD before the first run to choose another)
  Data: $DATA_DIR   (delete it to start over)   Stop: Ctrl-C
  Worker and beat: running beside the web server; virus scanning $scanning
  Notification email: $mail

MSG

if [ "${DEV:-0}" = "1" ]; then
  .venv/bin/flask --app web run --debug --host "$HOST" --port "$PORT" &
else
  # One process with its threads (web/gunicorn_conf.py: WEB_THREADS): without Redis the rate
  # limits live in process memory, and two processes would each allow RATE_LIMIT_LOGIN.
  .venv/bin/gunicorn --config web/gunicorn_conf.py --bind "$HOST:$PORT" --workers 1 web.wsgi:app &
fi
PIDS+=("$!")
# Whichever stops first (Ctrl-C, or a program that died) stops the others.
wait -n "${PIDS[@]}" || true
