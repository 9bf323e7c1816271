"""The one report every benchmark writes: bench/results.json (and bench/soak.json), plus a table.

Each figure is one entry `{"name", "value", "unit", "baseline", "baseline_value", "ratio",
"target", "pass"}`: the value next to its baseline measured in the same run (medians of
repeated rounds: the machine is shared and noisy), the ratio value/baseline, the target in
words and whether it was met (`None` where a figure has no target). Two more keys say where an
entry comes from, so each bench can be re-run alone without losing the others' figures:
`source` (the bench that wrote it) and `measured_at` (UTC, minutes).

The benches: `run` (bench/run.py: dashboard, searches, incident page, creates at 10k/100k/1M),
`evidence` (bench/evidence.py: upload, pipeline), `webhook_fanout` (bench/webhook_fanout.py:
1,000 events to a local receiver, deliveries/s and p95 from commit to delivery, duplicates and
lost, issue #13 / #8) and `soak` (bench/soak.py, its own file bench/soak.json).

`python bench/report.py` prints the combined table of bench/results.json and names every
bench that has no figures in it; `--markdown` prints it as the README's table.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"
SOAK_RESULTS = BENCH_DIR / "soak.json"
FIELDS = ("name", "value", "unit", "baseline", "baseline_value", "ratio", "target", "pass")

# Every bench that writes into bench/results.json, with the command that runs it. A bench whose
# script does not exist yet is listed as missing, never given made-up figures.
BENCHES = {
    "run": "make bench SIZES=... (bench/run.py)",
    "evidence": "make bench-evidence (bench/evidence.py)",
    # bench/webhook_fanout.py writes its entries with write_entries(..., source=WEBHOOK_FANOUT);
    # bench/run.sh runs it after the evidence bench.
    "webhook_fanout": ".venv/bin/python bench/webhook_fanout.py (also run by make bench)",
}
WEBHOOK_FANOUT = "webhook_fanout"


def entry(name, value, unit, baseline=None, baseline_value=None, target=None, passed=None) -> dict:
    """One figure; the ratio is value / baseline_value where both are known."""
    ratio = round(value / baseline_value, 3) if baseline_value else None
    return {
        "name": name,
        "value": round(value, 2),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(baseline_value, 2) if baseline_value is not None else None,
        "ratio": ratio,
        "target": target,
        "pass": passed,
    }


def median(samples: Iterable[float]) -> float:
    """The median of the rounds (what every figure reports: one slow round is noise here)."""
    return statistics.median(list(samples))


def _source_of(existing: dict) -> str:
    # Files written before entries carried their source: the evidence bench's names start so.
    return existing.get("source") or ("evidence" if existing["name"].startswith("evidence ") else "run")


def write_entries(entries: Sequence[dict], *, source: str, path: Path = RESULTS) -> list[dict]:
    """Put `entries` into `path`, replacing the same figures from `source`'s earlier runs.

    Figures this run did not measure stay, with their own date: a quick `SIZES=10000` run
    must not erase the 1M figures that take an hour to measure. Returns the file's list."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    existing = json.loads(path.read_text()) if path.exists() else []
    fresh = {e["name"]: {**e, "source": source, "measured_at": stamp} for e in entries}
    # Same place in the list as before (stable tables and small diffs); new figures at the end.
    merged = [fresh.pop(e["name"]) if _source_of(e) == source and e["name"] in fresh else e for e in existing]
    merged += fresh.values()
    path.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n")
    return merged


def _cells(r: dict) -> tuple[str, str, str, str, str]:
    baseline = f"{r['baseline_value']} ({r['baseline']})" if r.get("baseline") else ""
    ratio = "" if r.get("ratio") is None else f"{r['ratio']:.2f}"
    passed = {True: "yes", False: "NO", None: ""}[r.get("pass")]
    return f"{r['value']} {r['unit']}", baseline, ratio, r.get("target") or "", passed


def print_table(entries: Sequence[dict], out=None) -> None:
    out = out or sys.stdout
    print(file=out)
    print(f"{'figure':66} {'value':>16} {'baseline (same run)':>40} {'ratio':>7}  {'target':30} pass", file=out)
    for r in entries:
        value, baseline, ratio, target, passed = _cells(r)
        print(f"{r['name'][:66]:66} {value:>16} {baseline[:40]:>40} {ratio:>7}  {target[:30]:30} {passed}", file=out)
    out.flush()


def markdown_table(entries: Sequence[dict]) -> str:
    lines = [
        "| figure | value | baseline (same run) | ratio | target | pass | measured |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in entries:
        value, baseline, ratio, target, passed = _cells(r)
        passed = "**no**" if passed == "NO" else passed
        when = r.get("measured_at", "")
        lines.append(f"| {r['name']} | {value} | {baseline} | {ratio} | {target} | {passed} | {when} |")
    return "\n".join(lines)


def missing_benches(entries: Sequence[dict]) -> list[str]:
    present = {_source_of(e) for e in entries}
    return [f"{name}: no figures yet ({how})" for name, how in BENCHES.items() if name not in present]


def main(argv: Sequence[str]) -> int:
    path = RESULTS
    for arg in argv:
        if arg.endswith(".json"):
            path = Path(arg)
    if not path.exists():
        print(f"{path} does not exist yet: run `make bench` first", file=sys.stderr)
        return 1
    entries = json.loads(path.read_text())
    if "--markdown" in argv:
        print(markdown_table(entries))
    else:
        print_table(entries)
    if path.name != SOAK_RESULTS.name:
        stamps = sorted({f"{_source_of(e)} {e['measured_at']}" for e in entries if e.get("measured_at")})
        print("\nmeasured: " + ("; ".join(stamps) or "(no dates recorded)"))
        for line in missing_benches(entries):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
