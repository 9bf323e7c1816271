#!/usr/bin/env bash
# `make bench`: installs wrk when missing (Debian), then runs bench/run.py, bench/evidence.py and
# bench/webhook_fanout.py; each writes its entries into bench/results.json through
# bench/report.py, which prints the combined table at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends wrk >/dev/null;
  else sudo apt-get install -y --no-install-recommends wrk >/dev/null; fi
fi
.venv/bin/python bench/run.py
.venv/bin/python bench/evidence.py
# The webhook fan-out bench (#8, issue #13): 1,000 events to a local receiver. It exits non-zero
# when an event is lost or duplicated; the combined table is still printed.
fanout_status=0
.venv/bin/python bench/webhook_fanout.py || fanout_status=$?
echo
echo "== bench/results.json (every bench, latest figures) =="
.venv/bin/python bench/report.py
exit "$fanout_status"
