"""bench/report.py: the one writer of bench/results.json that every benchmark goes through."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import report

REPO_ROOT = Path(__file__).resolve().parents[2]


def figure(name: str, value: float, baseline_value: float | None = None) -> dict:
    baseline = "hello-world req/s" if baseline_value else None
    passed = None if baseline_value is None else value >= 0.3 * baseline_value
    return report.entry(name, value, "req/s", baseline, baseline_value, ">= 30% of hello-world", passed)


def test_a_quick_run_replaces_its_own_figures_and_keeps_the_other_sizes_and_benches(tmp_path):
    results = tmp_path / "results.json"
    report.write_entries([figure("dashboard req/s @10,000", 50, 5000), figure("dashboard req/s @1,000,000", 40, 5000)],
                         source="run", path=results)  # fmt: skip
    report.write_entries([figure("evidence upload 64 MiB via web", 30, 90)], source="evidence", path=results)

    report.write_entries([figure("dashboard req/s @10,000", 2000, 5000)], source="run", path=results)

    written = {e["name"]: e for e in json.loads(results.read_text())}
    # In the same order as before: the table reads the same from run to run.
    assert list(written) == ["dashboard req/s @10,000", "dashboard req/s @1,000,000", "evidence upload 64 MiB via web"]
    quick = written["dashboard req/s @10,000"]
    assert (quick["value"], quick["baseline_value"], quick["ratio"], quick["pass"]) == (2000, 5000, 0.4, True)
    assert written["dashboard req/s @1,000,000"]["value"] == 40  # the hour-long 1M figure survives
    assert {e["source"] for e in written.values()} == {"run", "evidence"}
    assert all(set(report.FIELDS) <= set(e) and e["measured_at"].endswith("UTC") for e in written.values())


def test_the_report_prints_every_figure_beside_its_baseline_and_names_the_benches_without_figures(tmp_path):
    results = tmp_path / "results.json"
    report.write_entries([figure("dashboard req/s @10,000", 60.2, 6055.48)], source="run", path=results)

    shown = subprocess.run([sys.executable, "bench/report.py", str(results)], cwd=REPO_ROOT, capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    markdown = subprocess.run([sys.executable, "bench/report.py", "--markdown", str(results)], cwd=REPO_ROOT,
                              capture_output=True, text=True, check=True).stdout  # fmt: skip

    row = next(line for line in shown.splitlines() if line.startswith("dashboard req/s @10,000"))
    assert "60.2 req/s" in row
    assert "6055.48 (hello-world req/s)" in row
    assert "0.01" in row
    assert row.endswith("NO")
    # No figures are made up for a bench that does not exist yet: it is named as missing.
    assert "webhook_fanout: no figures yet" in shown
    assert "evidence: no figures yet" in shown
    assert (
        "| dashboard req/s @10,000 | 60.2 req/s | 6055.48 (hello-world req/s) | 0.01 | >= 30% of hello-world | **no** |"
        in markdown
    )
