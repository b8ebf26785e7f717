"""Moments as naive UTC datetimes: the one representation of time inside winback.

What a user writes is read in the business's time zone: a date (``2024-10-01``, a ``date``) is
that zone's midnight, a date-time without an offset its wall time there; an offset always wins.
A ``datetime`` or ``Timestamp`` object without a zone is taken as UTC, because that is how every
instant travels inside winback once read.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from winback.common.errors import SettingsError

UTC = "UTC"


def check_zone(zone: str) -> str:
    """``zone`` if it is a known IANA time zone name, else a SettingsError naming it."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"unknown time zone {zone!r} (use an IANA name like 'UTC')") from exc
    return zone


def to_utc_naive(moment: date | datetime | str | pd.Timestamp, zone: str = UTC) -> datetime:
    """``moment`` as a naive UTC datetime; dates and zone-less text are read in ``zone``."""
    try:
        ts = pd.Timestamp(moment)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"cannot read {moment!r} as a date; use YYYY-MM-DD") from exc
    if ts is pd.NaT:
        raise SettingsError(f"cannot read {moment!r} as a date; use YYYY-MM-DD")
    user_wall_time = isinstance(moment, str) or type(moment) is date
    if ts.tzinfo is None and user_wall_time and zone != UTC:
        ts = ts.tz_localize(check_zone(zone), ambiguous="NaT", nonexistent="shift_forward")
        if ts is pd.NaT:
            raise SettingsError(
                f"{moment!r} happens twice in {zone} (clocks go back); add an offset"
            )
    if ts.tzinfo is not None:
        ts = ts.tz_convert(UTC).tz_localize(None)
    return ts.to_pydatetime()


def local_day(moment: datetime, zone: str = UTC) -> date:
    """The business's day on which naive-UTC ``moment`` falls: a cutoff is the start of its day.

    What every message, page and answer shows for a cutoff, so that ``--as-of 2024-10-01`` in
    Berlin reads back as 2024-10-01, not as the UTC date of its midnight (2024-09-30).
    """
    return pd.Timestamp(moment).tz_localize(UTC).tz_convert(check_zone(zone)).date()


def local_midnight_after(instant: datetime, zone: str = UTC) -> datetime:
    """The midnight in ``zone`` after the local day of naive-UTC ``instant``, as naive UTC."""
    local = pd.Timestamp(instant).tz_localize(UTC).tz_convert(zone)
    day = (local.normalize() + pd.Timedelta(days=1)).tz_localize(None).date()
    return to_utc_naive(day, zone)


def local_calendar(start: datetime, end: datetime, freq: str, zone: str = UTC) -> list[datetime]:
    """Midnights in ``zone`` that start a ``freq`` period (pandas alias) within [start, end].

    ``start`` and ``end`` are naive UTC; so are the returned cutoffs.
    """
    lo = pd.Timestamp(start).tz_localize(UTC).tz_convert(zone)
    hi = pd.Timestamp(end).tz_localize(UTC).tz_convert(zone)
    days = pd.date_range(lo.tz_localize(None).normalize(), hi.tz_localize(None), freq=freq)
    cutoffs = [to_utc_naive(d.date(), zone) for d in days]
    return [c for c in cutoffs if start <= c <= end]


__all__ = [
    "UTC",
    "check_zone",
    "local_calendar",
    "local_day",
    "local_midnight_after",
    "to_utc_naive",
]
