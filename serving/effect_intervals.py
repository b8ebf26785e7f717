"""95% intervals for the difference between a treated and a control group.

A rate difference (response among treated − among control) gets Newcombe's hybrid score
interval (his method 10, 1998): each group's Wilson score interval, combined by the square-root
rule. Unlike the normal (Wald) interval it stays inside [−1, 1], is never zero-width at 0% or
100%, and keeps close to its nominal coverage at a few dozen contacts per group, where the
normal interval is too narrow. A difference of means (spend or margin per contact) gets
Welch's interval: each group's own variance, Student's t with the Welch–Satterthwaite degrees of
freedom; with a group of one there is no interval (NaN).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats

Z_95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (0, 1) for an empty group."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    scale = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / scale
    half = z / scale * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(
    successes_t: int, n_t: int, successes_c: int, n_c: int, z: float = Z_95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of (rate of treated − rate of control)."""
    p_t, p_c = successes_t / n_t, successes_c / n_c
    lo_t, hi_t = wilson_interval(successes_t, n_t, z)
    lo_c, hi_c = wilson_interval(successes_c, n_c, z)
    difference = p_t - p_c
    low = difference - math.sqrt((p_t - lo_t) ** 2 + (hi_c - p_c) ** 2)
    high = difference + math.sqrt((hi_t - p_t) ** 2 + (p_c - lo_c) ** 2)
    return low, high


def welch_interval(
    treated: npt.ArrayLike, control: npt.ArrayLike, level: float = 0.95
) -> tuple[float, float]:
    """Welch's interval of mean(treated) − mean(control); NaN with fewer than two in a group."""
    a = np.asarray(treated, dtype=np.float64)
    b = np.asarray(control, dtype=np.float64)
    if a.size < 2 or b.size < 2:
        return math.nan, math.nan
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    difference = float(a.mean() - b.mean())
    se = math.sqrt(va + vb)
    if se == 0.0:
        return difference, difference
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return difference - half, difference + half


__all__ = ["Z_95", "newcombe_interval", "welch_interval", "wilson_interval"]
