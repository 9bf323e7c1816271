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
fail() {
  printf 'make run: %s\n' "$*" >&2
  exit 1
}
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || ((10#$PORT < 1 || 10#$PORT > 65535)); then
  fail "PORT must be a number from 1 to 65535, got '$PORT'."
fi
# Two runs on one DATA_DIR would share the database, the broker folder and the beat's schedule.
for name in worker beat; do
  pid="$(cat "$DATA_DIR/run/$name.pid" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && grep -qa celery "/proc/$pid/cmdline" 2>/dev/null; then
    fail "another make run is using $DATA_DIR (its $name is process $pid): stop it first (Ctrl-C there), or give this one its own DATA_DIR."
  fi
done
# Before anything starts: gunicorn would fail on a taken port only after the worker and beat did.
.venv/bin/python - "$HOST" "$PORT" <<'PY' || fail "$HOST:$PORT is in use (another make run, or another program): stop it, or choose another port, e.g. PORT=8001 make run."
import socket, sys
with socket.socket() as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((sys.argv[1], int(sys.argv[2])))
    except OSError:
        sys.exit(1)
PY
url_host="$HOST"
[[ "$HOST" == *:* ]] && url_host="[$HOST]" # an IPv6 address goes in brackets in a URL
export BASE_URL="${BASE_URL:-http://$url_host:$PORT}"
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
asked_to_stop=0
trap 'asked_to_stop=1; stop_all ctrl-c' INT
trap 'asked_to_stop=1; stop_all' TERM
trap stop_all EXIT

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
declare -A NAMES=([${PIDS[0]}]=worker [${PIDS[1]}]=beat [${PIDS[2]}]="web server")
# Whichever stops first (Ctrl-C, or a program that died) stops the others. A program that
# stopped on its own (a taken port, a bad setting) makes `make run` fail with its status.
status=0
wait -n -p stopped "${PIDS[@]}" || status=$?
if [ "$asked_to_stop" = 0 ]; then
  printf '\nmake run: the %s stopped (exit status %s); stopping the others.\n' "${NAMES[${stopped:-0}]:-program}" "$status" >&2
  exit $((status == 0 ? 1 : status))
fi
