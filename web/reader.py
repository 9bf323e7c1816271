"""The reader's time zone, as their browser last named it: app.js keeps it in the it_tz cookie
(set on every page, so from the second page a person opens), and the days the pages count are
theirs: the dashboard's `created:`/`updated:` days and `due:`, the Overdue badges, the insights
page. Before the cookie exists (the first page, no JavaScript) the days are UTC days, and app.js
still takes back an Overdue badge drawn before the reader's day is over."""

from __future__ import annotations

from datetime import date, tzinfo

from flask import g, request

from shared.incidents import insights, timers

# Not HttpOnly, as script writes it: an IANA name, nothing secret.
ZONE_COOKIE = "it_tz"


def reader_zone() -> tzinfo:
    """The zone the cookie names; UTC without one, or for a name this server lacks."""
    if "reader_zone" not in g:
        g.reader_zone, _ = insights.reader_zone(None, request.cookies.get(ZONE_COOKIE))
    return g.reader_zone


def reader_today() -> date:
    """Today where the reader is: the day due dates are compared with on their pages."""
    return timers.today(reader_zone())
