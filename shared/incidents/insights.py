"""MTTA, MTTR and open incidents over a window of days, as aggregate SQL.

Every query is a range over one indexed timestamp (filed, resolved or closed since the window
began) grouped into a handful of rows, so the work follows the window, not the table. The one
count outside the window is "open now" (Open, In Progress, Blocked), read from the status index:
it follows the active incidents, which the dashboard counts too.

Days are the reader's (the zone their browser names; UTC without one): a day in Los Angeles
begins eight hours after a UTC day, so an incident filed at 20:00 there on the 1st is on the 1st,
not on the 2nd. The zone's UTC offsets over the window are worked out here (a window holds at
most a few daylight-saving changes), so each backend's SQL only adds a fixed offset per span:
the same days on SQLite and PostgreSQL, whatever time zone data the database has.

Open incidents at the end of a day d, from that anchor:
    open(d) = open now - filed after d + resolved or closed after d
(an incident filed after d is not in open(d); one that ended after d was open at d, unless it
was also filed after d, and then the two terms cancel). A reopened incident counts as open since
it was filed: its earlier resolution is in the audit trail, not in the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from shared.db import utcnow
from shared.incidents.lifecycle import Status
from shared.incidents.models import ENVIRONMENTS, Incident, Priority
from shared.incidents.timers import ACTIVE
from shared.text import is_number
from shared.timeutil import day_start, time_zone, zone_name

WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30
CHARTED_COMPONENTS = 10  # the busiest components in the window; more would be noise on a chart
LISTED_COMPONENTS = 200  # the table lists the rest, up to this many (a page, not a dump)
NO_COMPONENT = "(no component)"


@dataclass(frozen=True)
class Timing:
    """One group's clocks over the window (seconds; None when nothing was acknowledged/resolved)."""

    label: str  # as the page names the group: "P1", "rds", "(no component)"
    filed: int
    acknowledged: int
    mtta: float | None
    resolved: int
    mttr: float | None
    group: str | None = None  # the group's own value: a priority, a component, None for "no component"


@dataclass(frozen=True)
class OpenCount:
    day: date
    open: int


@dataclass(frozen=True)
class Insights:
    days: int
    zone: str  # the zone the days are in, as the page names it ("UTC", "Europe/Berlin")
    environments: tuple[str, ...]  # the incidents counted are in these; () for all
    first_day: date
    last_day: date
    by_priority: list[Timing]
    by_component: list[Timing]  # busiest first, at most LISTED_COMPONENTS
    components: int  # how many components had incidents filed in the window, listed or not
    open_over_time: list[OpenCount]
    open_now: int


def _seconds(session: Session, later, earlier) -> ColumnElement:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


@dataclass(frozen=True)
class _Offsets:
    """A zone's UTC offset over a stretch of time: `first` until the first change, then each
    change's offset from its instant on."""

    first: timedelta
    changes: tuple[tuple[datetime, timedelta], ...]


def _offset_at(zone: tzinfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def _offsets(zone: tzinfo, start: datetime, end: datetime) -> _Offsets:
    """Every change of the zone's offset between two instants, to the second. A zone changes at
    most a few times a year, never twice within a day, so the offset is read at every UTC midnight
    and a change between two readings is found by halving the day."""
    changes: list[tuple[datetime, timedelta]] = []
    first = previous = _offset_at(zone, start)
    at = start
    while at < end:
        step = min(at + timedelta(days=1), end)
        offset = _offset_at(zone, step)
        if offset != previous:
            before, after = at, step  # offset(before) == previous, offset(after) == the new one
            while after - before > timedelta(seconds=1):
                middle = before + (after - before) / 2
                if _offset_at(zone, middle) == previous:
                    before = middle
                else:
                    after = middle
            changes.append((after.replace(microsecond=0), offset))
            previous = offset
        at = step
    return _Offsets(first, tuple(changes))


def _day(session: Session, column, offsets: _Offsets) -> ColumnElement:
    """The reader's calendar day of a timestamp: its UTC time plus the zone's offset then."""

    def shifted(offset: timedelta) -> ColumnElement:
        if session.get_bind().dialect.name == "postgresql":
            return cast(func.timezone("UTC", column) + offset, Date)
        return func.date(column, f"{int(offset.total_seconds()):+d} seconds")

    if not offsets.changes:
        return shifted(offsets.first)
    spans, offset = [], offsets.first
    for changed_at, changed_to in offsets.changes:
        spans.append((column < changed_at, shifted(offset)))
        offset = changed_to
    return case(*spans, else_=shifted(offset))


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _timings(session: Session, group, since: datetime, *where, limit: int | None = None) -> list[tuple]:
    stmt = (
        select(
            group,
            func.count(),
            func.count(Incident.acknowledged_at),
            func.avg(_seconds(session, Incident.acknowledged_at, Incident.created_at)),
            func.count(Incident.resolved_at),
            func.avg(_seconds(session, Incident.resolved_at, Incident.created_at)),
            # How many groups there are in all, LIMIT or not (a window over the grouped rows,
            # evaluated before the LIMIT): the page can say "the 200 busiest of 1,234".
            func.count().over(),
        )
        .where(Incident.created_at >= since, *where)
        .group_by(group)
        .order_by(func.count().desc(), group)
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt))


def _timing(label: str, row) -> Timing:
    group, filed, acknowledged, mtta, resolved, mttr, *_ = row
    return Timing(
        label=label,
        group=group,
        filed=filed,
        acknowledged=acknowledged,
        mtta=float(mtta) if mtta is not None else None,
        resolved=resolved,
        mttr=float(mttr) if mttr is not None else None,
    )


def _per_day(session: Session, column, since: datetime, offsets: _Offsets, *extra) -> dict[date, int]:
    day = _day(session, column, offsets)
    rows = session.execute(select(day, func.count()).where(column >= since, *extra).group_by(day))
    return {_as_date(d): n for d, n in rows}


def window_days(value: str | int | None) -> int:
    """One of WINDOWS from a query-string value; anything else is the default."""
    try:
        days = int(value or DEFAULT_WINDOW)
    except (TypeError, ValueError):
        return DEFAULT_WINDOW
    return days if days in WINDOWS else DEFAULT_WINDOW


_WINDOW_WORDS = ("window", "range", "period", "day")
ENVIRONMENT = "env"  # comma-separated environments, as the dashboard's filter names them
ZONE = "tz"  # the reader's zone, an IANA name: the page's form sends it (app.js)


def window_problems(params: Mapping[str, str]) -> list[str]:
    """Sentences for what the page's query asked that it cannot show: a parameter it does not
    take (`?window=7`, with what the window is called) or a window it does not have
    (`?days=14`). The page says so above the window it shows, instead of showing that window as
    if it were what was asked (found by QA: `?window=7` showed 30 days without a word)."""
    problems = []
    for name in params:
        if name not in ("days", ZONE, ENVIRONMENT):
            meant = " (the window is days, e.g. ?days=7)" if name.lower() in _WINDOW_WORDS else ""
            problems.append(f"This page does not take '{name}'{meant}.")
    given = params.getlist("days") if hasattr(params, "getlist") else [params["days"]] if "days" in params else []
    choices = f"{', '.join(str(days) for days in WINDOWS[:-1])} or {WINDOWS[-1]}"
    if len(given) > 1:
        problems.append(f"Give days once (this address gives {', '.join(given)}): choose {choices}.")
    elif given and not (is_number(given[0]) and int(given[0]) in WINDOWS):
        problems.append(f"There is no '{given[0]}'-day window: choose {choices}.")
    # The first of a repeated env or tz counts: say so rather than guess silently.
    if hasattr(params, "getlist") and len(environments := params.getlist(ENVIRONMENT)) > 1:
        example = ",".join(name[:20] for name in environments[:2])
        problems.append(
            f"Give env once: several environments go in one, comma-separated (env={example}); "
            f"counting env={environments[0][:40]}."
        )
    if hasattr(params, "getlist") and len(zones := params.getlist(ZONE)) > 1:
        problems.append(f"Give tz once; reading the days in the first, {zones[0][:64]}.")
    return problems


def reader_zone(asked: str | None, remembered: str | None = None) -> tuple[tzinfo, list[str]]:
    """The zone the page's days are in, and what to say about it: the address's (`?tz=`, which
    the page's form sends), else the one the reader's browser last named (a cookie app.js keeps,
    so the top bar's plain /insights shows their days too), else UTC. An unknown zone in the
    address is said; an unknown remembered one (a browser's own name we lack) quietly is UTC."""
    if asked and asked.strip():
        try:
            return time_zone(asked.strip()), []
        except ValueError as error:
            return UTC, [f"{error} The days are UTC days."]
    try:
        return time_zone((remembered or "").strip()), []
    except ValueError:
        return UTC, []


def environments_given(value: str | None) -> tuple[tuple[str, ...], list[str]]:
    """The environments `env` names (comma-separated, any case; empty: all), and a sentence for
    each name that is none of them."""
    names = [name.strip().lower() for name in (value or "").split(",") if name.strip()]
    known = tuple(dict.fromkeys(name for name in names if name in ENVIRONMENTS))
    unknown = list(dict.fromkeys(name for name in names if name not in ENVIRONMENTS))
    choices = f"{', '.join(ENVIRONMENTS[:-1])} or {ENVIRONMENTS[-1]}"
    shown = [name if len(name) <= 40 else name[:40] + "…" for name in unknown[:3]]  # a name, not a dump
    return known, [f"There is no environment '{name}': choose {choices}." for name in shown]


def compute(
    *,
    session: Session,
    days: int = DEFAULT_WINDOW,
    now: datetime | None = None,
    zone: tzinfo = UTC,
    environments: tuple[str, ...] = (),
) -> Insights:
    """MTTA/MTTR per priority and component for incidents filed in the last `days` days
    (today included, the reader's days in `zone`), and the open incidents at the end of each of
    those days; of the incidents in `environments` only, when given (an incident counts in the
    environment it is in now)."""
    now = now or utcnow()
    last_day = now.astimezone(zone).date()
    first_day = last_day - timedelta(days=days - 1)
    since = day_start(first_day, zone)
    offsets = _offsets(zone, since, max(now, since))
    within = (Incident.environment.in_(environments),) if environments else ()

    rows = {row[0]: row for row in _timings(session, Incident.priority, since, *within)}
    by_priority = [_timing(p.value, rows.get(p.value, (p.value, 0, 0, None, 0, None))) for p in Priority]
    component_rows = _timings(session, Incident.component, since, *within, limit=LISTED_COMPONENTS)
    by_component = [_timing(row[0] or NO_COMPONENT, row) for row in component_rows]
    components = component_rows[0][-1] if component_rows else 0

    active = select(func.count()).select_from(Incident).where(Incident.status.in_(ACTIVE), *within)
    open_now = session.scalar(active) or 0
    filed = _per_day(session, Incident.created_at, since, offsets, *within)
    ended = _per_day(session, Incident.resolved_at, since, offsets, *within)
    # Closed straight from Open (duplicate, won't fix): never resolved, ended when closed.
    closed_unresolved = (Incident.resolved_at.is_(None), Incident.status == Status.CLOSED.value, *within)
    for day, count in _per_day(session, Incident.closed_at, since, offsets, *closed_unresolved).items():
        ended[day] = ended.get(day, 0) + count

    open_over_time: list[OpenCount] = []
    count = open_now
    for offset in range(days):  # from today backwards: undo each later day's filings and endings
        day = last_day - timedelta(days=offset)
        open_over_time.append(OpenCount(day=day, open=max(count, 0)))
        count = count - filed.get(day, 0) + ended.get(day, 0)
    open_over_time.reverse()
    return Insights(
        days=days,
        zone=zone_name(zone),
        environments=environments,
        first_day=first_day,
        last_day=last_day,
        by_priority=by_priority,
        by_component=by_component,
        components=components,
        open_over_time=open_over_time,
        open_now=open_now,
    )
