"""Moments as naive UTC datetimes: the one representation of time inside winback."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from winback.common.errors import SettingsError


def to_utc_naive(moment: date | datetime | str | pd.Timestamp) -> datetime:
    """A cutoff as a naive UTC datetime; a date (or date string) means its UTC midnight."""
    try:
        ts = pd.Timestamp(moment)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"cannot read {moment!r} as a date; use YYYY-MM-DD") from exc
    if ts is pd.NaT:
        raise SettingsError(f"cannot read {moment!r} as a date; use YYYY-MM-DD")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


__all__ = ["to_utc_naive"]
