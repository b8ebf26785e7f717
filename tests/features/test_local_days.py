"""The SQL of a moment's local day agrees with how cutoffs read days (its Python oracle)."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
import pytest

from winback.common.timestamps import to_utc_naive
from winback.features.definitions import local_day_start

MOMENTS = [
    ("UTC", "2024-01-01 05:00"),
    ("Europe/Berlin", "2024-01-10 22:30"),  # 23:30 local: the same day
    ("Europe/Berlin", "2024-01-10 23:30"),  # 00:30 local: the next day
    ("Europe/Berlin", "2024-03-31 12:00"),  # the day the clocks go forward
    ("Europe/Berlin", "2024-10-27 12:00"),  # and back
    ("America/New_York", "2024-01-11 04:30"),  # 23:30 local: the day before in UTC
    ("America/Santiago", "2024-09-08 12:00"),  # a day whose midnight the clocks skip
]


@pytest.mark.parametrize(("zone", "moment"), MOMENTS)
def test_local_day_start_is_the_midnight_cutoffs_read_for_that_day(zone: str, moment: str) -> None:
    instant = datetime.fromisoformat(moment)  # naive UTC
    sql = local_day_start("CAST(? AS TIMESTAMP)", zone)
    [(got,)] = duckdb.connect().execute(f"SELECT {sql}", [instant]).fetchall()
    day = pd.Timestamp(instant).tz_localize("UTC").tz_convert(zone).date()
    assert got == to_utc_naive(day, zone)
