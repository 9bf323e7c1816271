"""The audit log shows its events to the second, so a To copied from a row takes that whole
second in: an event at 16:56:54.22 UTC is shown as "08:56:54 AM PST" and must be found by
To 2026-12-01T08:56:54 read in Los Angeles (it was left out: the bound was that instant, found
by QA). A time to the minute takes its whole minute; a fraction of a second is taken as written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.audit import listing

SHOWN_SECOND = datetime(2026, 12, 1, 16, 56, 54, tzinfo=UTC)


@pytest.mark.parametrize(
    ("to", "before"),
    [
        ("2026-12-01T08:56:54", datetime(2026, 12, 1, 16, 56, 55, tzinfo=UTC)),
        ("2026-12-01T08:56", datetime(2026, 12, 1, 16, 57, tzinfo=UTC)),
        ("2026-12-01T08:56:54.220000", datetime(2026, 12, 1, 16, 56, 54, 220001, tzinfo=UTC)),
        ("2026-12-01T16:56:54+00:00", datetime(2026, 12, 1, 16, 56, 55, tzinfo=UTC)),
        ("2026-12-01", datetime(2026, 12, 2, 8, 0, tzinfo=UTC)),  # the whole day in Los Angeles
    ],
)
def test_a_to_time_takes_in_everything_shown_at_it(db, to, before):
    filters = listing.parse_filters(session=db, params={"to": to, "tz": "America/Los_Angeles"})

    assert filters.before == before


def test_from_and_to_at_one_shown_second_is_that_second(db):
    filters = listing.parse_filters(
        session=db, params={"from": "2026-12-01T08:56:54", "to": "2026-12-01T08:56:54", "tz": "America/Los_Angeles"}
    )

    assert (filters.since, filters.before) == (SHOWN_SECOND, datetime(2026, 12, 1, 16, 56, 55, tzinfo=UTC))
