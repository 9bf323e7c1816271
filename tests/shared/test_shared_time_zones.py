"""Readers' time zones work where the system has no time zone database: zoneinfo falls back to
the tzdata package (requirements.txt). A slim base image without /usr/share/zoneinfo (Debian
trixie's) would otherwise make every zone "Unknown", and insights and the audit log UTC only."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from servers import REPO_ROOT

from shared.timeutil import time_zone

WITHOUT_SYSTEM_ZONES = """
import zoneinfo
from datetime import datetime, UTC
assert zoneinfo.TZPATH == (), zoneinfo.TZPATH  # no system database is searched
from shared.timeutil import time_zone
zone = time_zone("America/Los_Angeles")
print(datetime(2026, 12, 1, 15, 35, tzinfo=UTC).astimezone(zone).strftime("%H:%M %Z"))
"""


def test_zones_resolve_without_the_system_s_zone_database():
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_SYSTEM_ZONES],
        cwd=REPO_ROOT,
        # An empty PYTHONTZPATH: zoneinfo searches no folder, only the tzdata package.
        env={**os.environ, "PYTHONTZPATH": "", "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "07:35 PST"


@pytest.mark.parametrize("name", ["localtime", "posixrules", "Factory", "right/UTC", "posix/Europe/Berlin", " UTC"])
def test_a_file_of_the_zone_database_that_names_no_zone_is_unknown(name):
    """ "localtime" would be this server's own zone, "posixrules" and "right/…" are files of the
    database, not zones a reader's browser names: refused like any unknown name."""
    with pytest.raises(ValueError, match="Unknown time zone"):
        time_zone(name)


@pytest.mark.parametrize("name", ["America/Los_Angeles", "Asia/Kolkata", "US/Pacific", "Etc/GMT+5", "UTC", "utc"])
def test_zone_names_a_browser_gives_are_known(name):
    assert time_zone(name) is not None
