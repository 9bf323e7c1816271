#!/usr/bin/env bash
# `make bench`: installs wrk when missing (Debian), then runs bench/run.py, bench/evidence.py and
# (once it exists) bench/webhook_fanout.py; each writes its entries into bench/results.json
# through bench/report.py, which prints the combined table at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends wrk >/dev/null;
  else sudo apt-get install -y --no-install-recommends wrk >/dev/null; fi
fi
.venv/bin/python bench/run.py
.venv/bin/python bench/evidence.py
# The webhook fan-out bench (#8, issue #13) plugs in here: 1,000 events to a local receiver,
# written with bench/report.py's write_entries(..., source="webhook_fanout").
if [ -f bench/webhook_fanout.py ]; then
  .venv/bin/python bench/webhook_fanout.py
fi
echo
echo "== bench/results.json (every bench, latest figures) =="
exec .venv/bin/python bench/report.py
