"""Datetime helpers: SQLite hands timestamps back without a zone; everything stored is UTC.
A reader's zone (an IANA name their browser sends) only decides how times are read and shown."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, tzinfo
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# What browsers and systems call UTC: shown as "UTC".
_ZONE_NAME_SHOWN = 64
_UTC_NAMES = frozenset({"UTC", "ETC/UTC", "ETC/UCT", "UCT", "ETC/UNIVERSAL", "UNIVERSAL", "ETC/ZULU", "ZULU"})


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def time_zone(name: str) -> tzinfo:
    """A reader's zone from its IANA name (America/Los_Angeles), or UTC when none is given;
    ValueError naming the value when there is no such zone."""
    if not name or name.upper() in _UTC_NAMES:
        return UTC
    try:
        if name not in _zone_names():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name (tzdata)
        shown = name if len(name) <= _ZONE_NAME_SHOWN else name[:_ZONE_NAME_SHOWN] + "…"  # IANA names are short
        raise ValueError(f"Unknown time zone {shown!r}: use a name such as America/Los_Angeles, or UTC.") from None


@functools.cache
def _zone_names() -> frozenset[str]:
    """The IANA names a reader may give: not every file ZoneInfo opens is one ("posixrules",
    "right/UTC"), and "localtime" (this server's own zone) and "Factory" mean nothing to them."""
    return frozenset(available_timezones() - {"localtime", "Factory"})


def zone_name(zone: tzinfo) -> str:
    """The zone as a page names it: "UTC", or its IANA name."""
    return "UTC" if zone is UTC else str(zone)


def day_start(day: date, zone: tzinfo) -> datetime:
    """The instant (in UTC, as stored) a calendar day begins in a zone (where midnight is
    skipped, the first moment after the jump: Python reads a skipped time with the offset from
    before it)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
