"""Seasonal intensity curves of the synthetic world, and placing event times under them.

Inside the simulator time is float days since ``start``. An :class:`Intensity` is an hourly grid
over ``[0, horizon)`` built as ``yearly(day of year) × weekly(day of week) × daily(hour of day)``,
each profile normalised to mean one over its own cycle, so that a customer with rate ``r`` per day
expects ``r`` events per average day; a December day simply holds more than a July day. Events of
a Poisson process on a customer's interval are placed by inverse-CDF sampling of the cumulative
intensity, which is exact for the piecewise-constant hourly grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

HOURS_PER_DAY = 24
_DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class SeasonalProfile:
    """Shape of an intensity: Gaussian bumps on a flat year, a week and a day.

    ``yearly`` and ``daily`` hold ``(centre, width, height)`` bumps (day of year or hour of day);
    a negative height is a dip. ``weekly`` is Monday..Sunday. Each part is normalised to mean one.
    """

    yearly: tuple[tuple[float, float, float], ...]
    weekly: tuple[float, float, float, float, float, float, float]
    daily: tuple[tuple[float, float, float], ...]
    daily_floor: float = 0.15


#: Orders: a Black Friday spike and a December peak, a summer dip and a January lull.
PURCHASE_PROFILE = SeasonalProfile(
    yearly=(
        (331.0, 4.0, 0.9),  # Black Friday / Cyber Monday week
        (350.0, 14.0, 0.45),  # December gift season
        (305.0, 30.0, 0.15),  # Q4 build-up
        (205.0, 32.0, -0.2),  # summer dip
        (18.0, 12.0, -0.15),  # January lull
    ),
    weekly=(1.0, 0.95, 0.95, 0.97, 0.98, 1.03, 1.12),
    daily=((20.0, 3.0, 1.0), (12.5, 2.0, 0.45)),
)

#: Visits, sessions, app opens, support tickets: the same calendar, flatter.
WEB_PROFILE = SeasonalProfile(
    yearly=(
        (331.0, 5.0, 0.4),
        (348.0, 16.0, 0.2),
        (205.0, 32.0, -0.12),
    ),
    weekly=(1.05, 1.0, 1.0, 0.98, 0.95, 0.97, 1.05),
    daily=((20.5, 3.0, 1.0), (13.0, 2.5, 0.5), (8.5, 1.5, 0.25)),
)

#: Email opens and clicks follow the send calendar: Tuesday and Thursday mornings, more in Q4.
EMAIL_PROFILE = SeasonalProfile(
    yearly=((330.0, 25.0, 0.2),),
    weekly=(0.7, 1.7, 0.85, 1.5, 0.85, 0.75, 0.65),
    daily=((9.0, 2.0, 1.0), (19.0, 3.0, 0.45)),
)


def _bumps(
    x: np.ndarray, bumps: tuple[tuple[float, float, float], ...], period: float
) -> np.ndarray:
    """1 + a sum of Gaussian bumps on a circle of length ``period``."""
    out = np.ones_like(x, dtype=np.float64)
    for centre, width, height in bumps:
        d = np.abs(x - centre) % period
        d = np.minimum(d, period - d)
        out += height * np.exp(-0.5 * (d / width) ** 2)
    return out


def _yearly(profile: SeasonalProfile, day_of_year: np.ndarray) -> np.ndarray:
    grid = np.arange(0.0, _DAYS_PER_YEAR, 0.25)
    return (
        _bumps(day_of_year, profile.yearly, _DAYS_PER_YEAR)
        / _bumps(grid, profile.yearly, _DAYS_PER_YEAR).mean()
    )


def _daily(profile: SeasonalProfile, hour: np.ndarray) -> np.ndarray:
    def shape(h: np.ndarray) -> np.ndarray:
        return profile.daily_floor + _bumps(h, profile.daily, HOURS_PER_DAY) - 1.0

    return shape(hour) / shape(np.arange(0.0, HOURS_PER_DAY, 0.25)).mean()


class Intensity:
    """An hourly intensity over ``[0, horizon_days)`` (per-day units) with fast inverse CDF.

    ``trend_per_year`` multiplies the grid by ``exp(trend × years since start)`` (growth).
    """

    def __init__(
        self,
        profile: SeasonalProfile,
        start: datetime,
        horizon_days: float,
        trend_per_year: float = 0.0,
    ) -> None:
        n_hours = max(1, math.ceil(horizon_days * HOURS_PER_DAY))
        start_us = np.datetime64(start.replace(tzinfo=None), "us")
        # Calendar fields at the middle of each hour of the grid.
        mid = start_us + (np.arange(n_hours) * 3600 + 1800).astype("timedelta64[s]")
        days = mid.astype("datetime64[D]")
        day_of_year = (days - mid.astype("datetime64[Y]")).astype(np.float64)
        day_of_week = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        hour = (mid - days).astype("timedelta64[s]").astype(np.float64) / 3600.0
        weekly = np.asarray(profile.weekly) / np.mean(profile.weekly)
        rate = _yearly(profile, day_of_year) * weekly[day_of_week] * _daily(profile, hour)
        if trend_per_year:
            rate *= np.exp(trend_per_year * (np.arange(n_hours) + 0.5) / (24 * _DAYS_PER_YEAR))
        self.horizon_days = horizon_days
        self.rate = rate  # per day, hour by hour
        self._mass = rate / HOURS_PER_DAY  # expected events of a rate-1 customer in each hour
        self._cum = np.concatenate(([0.0], np.cumsum(self._mass)))
        # Guide table: buckets narrower than the lightest hour, so a value lies in the guided
        # hour or the next one; inversion is then two lookups instead of a binary search.
        self._step = float(self._mass.min()) / 2.0
        edges = np.arange(math.ceil(self._cum[-1] / self._step) + 2) * self._step
        self._guide = np.minimum(np.searchsorted(self._cum, edges, side="right") - 1, n_hours - 1)

    def cumulative(self, t: np.ndarray) -> np.ndarray:
        """Integral of the intensity over ``[0, t)`` for times in days (clipped to the grid)."""
        h = np.clip(np.asarray(t, dtype=np.float64), 0.0, self.horizon_days) * HOURS_PER_DAY
        k = np.minimum(h.astype(np.int64), self._mass.size - 1)
        return self._cum[k] + (h - k) * self._mass[k]

    def invert(self, v: np.ndarray) -> np.ndarray:
        """Times in days at which the cumulative intensity reaches ``v``."""
        k = self._guide[(v / self._step).astype(np.int64)]
        k = np.minimum(k + (self._cum[k + 1] <= v), self._mass.size - 1)
        return (k + (v - self._cum[k]) / self._mass[k]) / HOURS_PER_DAY

    def expected(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Expected events of a rate-1 customer in ``[lo, hi)`` (0 where the interval is empty)."""
        return np.maximum(self.cumulative(hi) - self.cumulative(lo), 0.0)

    def place(
        self, lo: np.ndarray, hi: np.ndarray, counts: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Times of ``counts[i]`` events in ``[lo[i], hi[i])``, ∝ intensity, grouped by ``i``."""
        s_lo = np.repeat(self.cumulative(lo), counts)
        span = np.repeat(self.cumulative(hi), counts) - s_lo
        t = self.invert(s_lo + rng.random(s_lo.size) * span)
        # Round-off must not push a time out of its interval (e.g. before a signup).
        lo_r = np.repeat(lo, counts)
        hi_r = np.repeat(np.nextafter(hi, -np.inf), counts)
        return np.minimum(np.maximum(t, lo_r), hi_r)


def fade(t: np.ndarray, dropout: np.ndarray, window: np.ndarray, floor: float) -> np.ndarray:
    """Activity multiplier before drop-out: 1 until ``window`` days before, then linear to floor.

    ``floor`` above one makes a ramp up (support tickets pile up before people leave).
    """
    left = dropout - t  # days until drop-out (the caller only asks about t < dropout)
    frac = np.clip(left / window, 0.0, 1.0)
    return floor + (1.0 - floor) * frac


__all__ = [
    "EMAIL_PROFILE",
    "HOURS_PER_DAY",
    "PURCHASE_PROFILE",
    "WEB_PROFILE",
    "Intensity",
    "SeasonalProfile",
    "fade",
]
