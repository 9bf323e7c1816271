"""Server-drawn SVG charts for the insights page: geometry only, the template draws it.

No chart library and no script: the page works under the strict CSP, prints, and each chart
carries a text alternative (title, description) and a table of the same numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from shared.incidents.insights import OpenCount, Timing

WIDTH = 640
LABEL_WIDTH = 130  # the group names left of the bars
VALUE_WIDTH = 110  # room right of the longest bar for its value
BAR = 14
BAR_GAP = 3
GROUP_GAP = 14
TOP = 8


def duration_text(seconds: float | None) -> str:
    """A duration as on-call people say it: "45 min", "3 h 20 min", "2 d 4 h"."""
    if seconds is None:
        return "—"
    # Rounded first: SQLite's julianday arithmetic lands a hair under whole seconds (299.99).
    minutes = round(seconds) // 60
    if minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@dataclass(frozen=True)
class Bar:
    series: str  # "mtta" or "mttr": the colour and the legend entry
    x: float
    y: float
    width: float
    text: str
    text_x: float


@dataclass(frozen=True)
class Group:
    label: str
    label_y: float  # the text baseline
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    groups: list[Group]
    summary: str  # the description a screen reader reads instead of the picture


def timing_bars(timings: list[Timing]) -> BarChart:
    """Two bars per group (MTTA, MTTR) on one scale: the longest mean fills the width."""
    longest = max([t.mtta or 0 for t in timings] + [t.mttr or 0 for t in timings] + [1])
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    groups, y = [], TOP
    for timing in timings:
        bars = []
        for series, value in (("mtta", timing.mtta), ("mttr", timing.mttr)):
            width = 0 if value is None else max(2.0, span * value / longest)
            label = duration_text(value) if value is not None else "none yet"
            bars.append(Bar(series, LABEL_WIDTH, y, round(width, 1), label, round(LABEL_WIDTH + width + 6, 1)))
            y += BAR + BAR_GAP
        # Baseline a little below the middle of the pair, so the name sits level with its bars.
        groups.append(Group(timing.label, bars[0].y + BAR + BAR_GAP / 2 + 4, bars))
        y += GROUP_GAP
    summary = "; ".join(
        f"{t.label}: {t.filed} filed, MTTA {duration_text(t.mtta)}, MTTR {duration_text(t.mttr)}" for t in timings
    )
    return BarChart(WIDTH, int(y), groups, summary or "No incidents were filed in this window.")


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    bottom: float
    right: int
    points: str  # for <polyline points="...">
    dots: list[tuple[float, float, str]]  # x, y, "day: n open" (a hover title per day)
    ticks: list[Tick]
    day_labels: list[tuple[float, str, str]]  # x, text, text-anchor (the ends stay inside the chart)
    summary: str


def open_line(counts: list[OpenCount]) -> LineChart:
    """Open incidents at the end of each day, with a y axis of round numbers."""
    width, height, left, right, top, bottom = WIDTH, 220, 44, 16, 10, 190
    peak = max([c.open for c in counts] + [1])
    step = _nice_step(peak)
    top_value = step * math.ceil(peak / step)
    x_span = width - left - right
    n = max(len(counts) - 1, 1)

    def x(i: int) -> float:
        return round(left + x_span * i / n, 1)

    def y(v: int) -> float:
        return round(bottom - (bottom - top) * v / top_value, 1)

    dots = [(x(i), y(c.open), f"{c.day.isoformat()}: {c.open} open") for i, c in enumerate(counts)]
    ticks = [Tick(v, y(v)) for v in range(0, top_value + 1, step)]
    picks = sorted({0, len(counts) // 2, len(counts) - 1}) if counts else []
    anchors = {0: "start", len(counts) - 1: "end"}
    day_labels = [(x(i), counts[i].day.strftime("%d %b"), anchors.get(i, "middle")) for i in picks]
    if counts:
        first, last = counts[0], counts[-1]
        low, high = min(counts, key=lambda c: c.open), max(counts, key=lambda c: c.open)
        summary = (
            f"{first.open} open on {first.day.isoformat()}, {last.open} open on {last.day.isoformat()}; "
            f"highest {high.open} on {high.day.isoformat()}, lowest {low.open} on {low.day.isoformat()}."
        )
    else:
        summary = "No data."
    points = " ".join(f"{dx},{dy}" for dx, dy, _ in dots)
    return LineChart(width, height + 10, left, bottom, width - right, points, dots, ticks, day_labels, summary)


def _nice_step(peak: int) -> int:
    """A round tick step giving about four ticks: 1, 2, 5, 10, 20, 50, ..."""
    raw = max(peak / 4, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return int(factor * magnitude)
    return int(10 * magnitude)
