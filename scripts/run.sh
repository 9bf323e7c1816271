#!/usr/bin/env bash
# `make run`: migrate the embedded SQLite database, seed the demo once, then run the worker,
# the beat and the web server on :8000 (broker: a folder under DATA_DIR). Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
# Started with SIGINT ignored (some launchers do that to what they start, and make passes it on),
# a shell cannot trap it, while the worker, the beat and the web server catch it themselves:
# Ctrl-C stopped them and not this script, which took the first one's stop for a failure
# ("the beat stopped; stopping the others", make: Error 1). Start again with SIGINT at its default.
if [ -n "$(trap -p INT)" ] && [ -z "${_MAKE_RUN_SIGINT_RESET:-}" ]; then
  export _MAKE_RUN_SIGINT_RESET=1
  exec .venv/bin/python -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' scripts/run.sh "$@"
fi
unset _MAKE_RUN_SIGINT_RESET

export DATA_DIR="${DATA_DIR:-$PWD/var}"
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
# Only now, past every refusal above: a refused start leaves nothing behind in DATA_DIR.
mkdir -p "$DATA_DIR"
# A random secret per checkout, kept beside the data so sessions survive a restart.
if [ -z "${SECRET_KEY:-}" ]; then
  if [ ! -s "$DATA_DIR/secret_key" ]; then
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))' > "$DATA_DIR/secret_key")
  fi
  SECRET_KEY="$(cat "$DATA_DIR/secret_key")"
  export SECRET_KEY
fi
url_host="$HOST"
[[ "$HOST" == *:* ]] && url_host="[$HOST]" # an IPv6 address goes in brackets in a URL
export BASE_URL="${BASE_URL:-http://$url_host:$PORT}"
# Notification email: through SMTP_HOST when given, otherwise written as .eml files to a folder.
if [ -z "${SMTP_HOST:-}" ]; then
  if [ -z "${MAIL_DIR:-}" ]; then
    # Ours, so owner-only (the messages hold one-time sign-in links), an older run's too. Made
    # now, so `flask --app web users create --invite` with this DATA_DIR finds it (web/cli.py).
    export MAIL_DIR="$DATA_DIR/mail"
    [ -d "$MAIL_DIR" ] || mkdir -m 700 "$MAIL_DIR"
    chmod 700 "$MAIL_DIR"
  fi
  mail="written to $MAIL_DIR (one .eml file per message; set SMTP_HOST to send)"
else
  mail="sent through $SMTP_HOST:${SMTP_PORT:-587}"
fi
# Development: webhooks may go to plain http:// receivers (private addresses still need
# WEBHOOK_ALLOW_PRIVATE_HOSTS=host:port).
export WEBHOOK_ALLOW_HTTP="${WEBHOOK_ALLOW_HTTP:-true}"

.venv/bin/flask --app web db upgrade
# The commands this script prints must reach this database: with another DATA_DIR than the
# default, they carry it (a bare `flask` would use var/ and make the admin somewhere else).
FLASK_CLI=".venv/bin/flask --app web"
[ "$DATA_DIR" = "$PWD/var" ] || FLASK_CLI="DATA_DIR=$(printf '%q' "$DATA_DIR") $FLASK_CLI"
export FLASK_CLI
# DEMO=0: no demo data (into an empty database: then the banner says how to make an admin).
if [ "${DEMO:-1}" != 0 ]; then
  .venv/bin/flask --app web demo seed
fi
# The demo accounts are offered while the database has no admin of its own; from then on each
# start disables those still on the published password (shared/demo.py), saying so.
demo_accounts="$(
  .venv/bin/python - <<'PY'
import os
import sys

from shared import demo
from shared.config import Settings
from shared.db import make_engine, make_session_factory, transaction

settings = Settings.from_env()
engine = make_engine(settings.effective_database_url)
with transaction(make_session_factory(engine)) as session:
    state = demo.secure_at_start(session=session, passwords=(settings.demo_password, demo.DEFAULT_DEMO_PASSWORD))
engine.dispose()
if state.disabled:
    first = state.disabled[0]
    print(
        f"make run: disabled the demo accounts {', '.join(state.disabled)}: their password is published, and"
        f" this database has an admin of its own ({state.own_admin}). To use one again, give it a password of"
        f" its own first: {os.environ['FLASK_CLI']} users set-password --email {first}, then users enable {first}.",
        file=sys.stderr,
    )
if state.offered:
    names = ", ".join(state.offered[:-1]) + (" or " if len(state.offered) > 1 else "") + state.offered[-1]
    print(f"demo|{names}")
else:
    print(f"{'own' if state.accounts else 'none'}|{state.own_admin or ''}")
PY
)"
IFS='|' read -r demo_state demo_who <<<"$demo_accounts"

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
trap 'asked_to_stop=ctrl-c; stop_all ctrl-c' INT
trap 'asked_to_stop=1; stop_all' TERM
trap stop_all EXIT

# Each background program writes its own PID (exec keeps it), so Ctrl-C stops exactly these.
# Written aside and renamed: whoever reads it while a worker is started again (the check above,
# a script, a test) finds the old number or the new one, never an empty file.
declare -A NAMES=()
start() {
  local name="$1"
  shift
  sh -c 'echo $$ > "$0.new" && mv -f "$0.new" "$0"; exec "$@"' "$DATA_DIR/run/$name.pid" "$@" &
  PIDS+=("$!")
  NAMES[$!]="$name"
}
start_worker() {
  start worker .venv/bin/celery --app worker.celery_app worker --loglevel INFO --concurrency 2 --hostname "worker@%h"
}
start_beat() {
  start beat .venv/bin/celery --app worker.celery_app beat --loglevel INFO --schedule "$DATA_DIR/run/celerybeat-schedule"
}
start_worker
start_beat

scanning="off: files are shown as \"not scanned\" (set CLAMD_ADDRESS=tcp://HOST:PORT to scan)"
[ "$SCANNING_ENABLED" = "true" ] && scanning="on, clamd at $CLAMD_ADDRESS"
case "$demo_state" in
  demo) signin="Sign in as $demo_who
  Demo password: $DEMO_PASSWORD   (set DEMO_PASSWORD before the first run to choose another)" ;;
  own) signin="Sign in with your own account${demo_who:+ (the demo password opens no account any more: this database has an admin of its own, $demo_who)}" ;;
  *) signin="No accounts yet: make an admin with $FLASK_CLI users create --email you@example.com --role admin" ;;
esac
cat <<MSG

  Incident Tracker is starting on http://$HOST:$PORT
  $signin
  Data: $DATA_DIR   (delete it to start over)   Stop: Ctrl-C
  Worker and beat: running beside the web server; virus scanning $scanning
  Notification email: $mail

MSG

if [ "${DEV:-0}" = "1" ]; then
  # A program started in the background by a script starts with SIGINT ignored; gunicorn and
  # Celery catch it themselves, the Flask development server does not, and Ctrl-C waited out
  # stop_all's 10 s before a SIGTERM (found in QA). Started with SIGINT at its default instead.
  .venv/bin/python -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
    .venv/bin/flask --app web run --debug --host "$HOST" --port "$PORT" &
else
  # One process with its threads (web/gunicorn_conf.py: WEB_THREADS): without Redis the rate
  # limits live in process memory, and two processes would each allow RATE_LIMIT_LOGIN.
  .venv/bin/gunicorn --config web/gunicorn_conf.py --bind "$HOST:$PORT" --workers 1 web.wsgi:app &
fi
PIDS+=("$!")
NAMES[$!]="web server"
# A worker or beat that stopped on its own (a crash, the kernel's out-of-memory killer) is started
# again after a short pause, and the web server stays up. CRASH_LIMIT stops of one of them within
# CRASH_WINDOW_SECONDS mean it cannot run here (a bad setting, a broken install): `make run` gives
# up. Whatever else stops first (Ctrl-C, the web server) stops the others; a program that stopped
# on its own makes `make run` fail with its status.
CRASH_LIMIT=5
CRASH_WINDOW_SECONDS=60
declare -A STOPPED_AT=() RESTARTS=()
while true; do
  status=0
  wait -n -p stopped "${PIDS[@]}" || status=$?
  [ "$asked_to_stop" = 0 ] || break
  name="${NAMES[${stopped:-0}]:-program}"
  if [ "$name" != worker ] && [ "$name" != beat ]; then
    printf '\nmake run: the %s stopped (exit status %s); stopping the others.\n' "$name" "$status" >&2
    exit $((status == 0 ? 1 : status))
  fi
  recent=("$SECONDS")
  for at in ${STOPPED_AT[$name]:-}; do
    if ((SECONDS - at < CRASH_WINDOW_SECONDS)); then recent+=("$at"); fi
  done
  STOPPED_AT[$name]="${recent[*]}"
  if ((${#recent[@]} >= CRASH_LIMIT)); then
    printf '\nmake run: the %s stopped (exit status %s), %s times within %s s: giving up (its output above says why); stopping the others.\n' \
      "$name" "$status" "${#recent[@]}" "$CRASH_WINDOW_SECONDS" >&2
    exit $((status == 0 ? 1 : status))
  fi
  RESTARTS[$name]=$((${RESTARTS[$name]:-0} + 1))
  printf '\nmake run: the %s stopped unexpectedly (exit status %s); starting it again in %s s (restart %s; make run gives up after %s stops within %s s).\n' \
    "$name" "$status" "${#recent[@]}" "${RESTARTS[$name]}" "$CRASH_LIMIT" "$CRASH_WINDOW_SECONDS" >&2
  kept=()
  for pid in "${PIDS[@]}"; do [ "$pid" = "$stopped" ] || kept+=("$pid"); done
  PIDS=("${kept[@]}")
  # The pause grows with each stop in the window. In the background: Ctrl-C or SIGTERM is handled at once.
  sleep "${#recent[@]}" &
  wait "$!" || true
  [ "$asked_to_stop" = 0 ] || break
  "start_$name"
done
if [ "$asked_to_stop" = ctrl-c ]; then
  printf '\nmake run: stopped (Ctrl-C).\n' >&2
fi
