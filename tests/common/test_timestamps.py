"""A cutoff reads back as the business's day it starts, whatever the zone."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from winback.common import SettingsError
from winback.common.timestamps import local_day, to_utc_naive


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize("day", ["2024-01-01", "2024-03-31", "2024-10-27", "2024-11-03"])
def test_a_cutoff_reads_back_as_the_day_it_starts(zone: str, day: str) -> None:
    assert local_day(to_utc_naive(day, zone), zone) == date.fromisoformat(day)


def test_the_utc_date_of_a_berlin_midnight_is_the_day_before() -> None:
    cutoff = to_utc_naive("2024-10-01", "Europe/Berlin")
    assert cutoff == datetime(2024, 9, 30, 22, 0)
    assert local_day(cutoff, "Europe/Berlin") == date(2024, 10, 1)
    assert local_day(cutoff) == date(2024, 9, 30)


def test_an_unknown_zone_is_named() -> None:
    with pytest.raises(SettingsError, match="Mars/Olympus"):
        local_day(datetime(2024, 1, 1), "Mars/Olympus")
