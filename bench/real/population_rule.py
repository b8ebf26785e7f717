"""How the activity rule splits CDNOW's calibration period: the measurement behind its default.

    python bench/real/population_rule.py

For cutoffs inside the calibration period only (the holdout is never read), the share of
customers each rule calls active, the rate at which active and lapsed customers order in the next
13 weeks, and the share of those next-13-week buyers the active population holds. Results:
docs/2026-12-05-populations-and-short-histories.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cdnow  # noqa: E402

CACHE = HERE.parents[1] / ".cache" / "bench-real"
HORIZON = 91


def _at(tx: pd.DataFrame, cutoff: pd.Timestamp) -> tuple[pd.Series, pd.Series, np.ndarray]:
    before = tx[tx["timestamp"] < cutoff]
    stamps = before.groupby("customer_id")["timestamp"]
    last, first, n = stamps.max(), stamps.min(), stamps.count()
    gap = ((last - first).dt.days / (n - 1)).where(n > 1)
    since = (cutoff - last).dt.days
    window = (tx["timestamp"] >= cutoff) & (tx["timestamp"] < cutoff + pd.Timedelta(days=HORIZON))
    buy = since.index.isin(tx.loc[window, "customer_id"].unique())
    return since, gap, buy


def main() -> None:
    """Print the table for two cutoffs and each rule."""
    days, _ = cdnow.load(CACHE)
    calibration, _ = cdnow.split(days)
    for cutoff in (pd.Timestamp("1997-06-01"), pd.Timestamp("1997-07-01")):
        since, gap, buy = _at(calibration, cutoff)
        print(f"{cutoff:%Y-%m-%d}: {len(since):,} customers, {buy.sum():,} order in 13 weeks")
        for multiple in (1.5, 2, 3, 4):
            for low in (60, HORIZON):
                allowed = np.clip(np.nan_to_num(multiple * gap.to_numpy(), nan=low), low, 365)
                active = since.to_numpy() <= allowed
                print(
                    f"  {multiple}× gap, at least {low} days: active {active.mean():.2f}; "
                    f"order rate active {buy[active].mean():.3f}, "
                    f"lapsed {buy[~active].mean():.3f}; "
                    f"buyers among the active {buy[active].sum() / buy.sum():.2f}"
                )


if __name__ == "__main__":
    main()
