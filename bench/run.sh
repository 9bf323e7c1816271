#!/usr/bin/env bash
# `make bench`: installs wrk when missing (Debian), then runs bench/run.py and bench/evidence.py
# (see their docstrings; the second merges its entries into bench/results.json).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends wrk >/dev/null;
  else sudo apt-get install -y --no-install-recommends wrk >/dev/null; fi
fi
.venv/bin/python bench/run.py
exec .venv/bin/python bench/evidence.py
