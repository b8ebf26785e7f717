"""The subscription-shaped benchmark: payments plus usage events, judged on cancellations.

No public, real per-account log of subscription payments and usage over months ships inside a
package on PyPI that we could find (the searches are listed in the README section), and the
simulator is never evidence. So this benchmark runs on a directory the user supplies::

    BENCH_REAL_SUBSCRIPTION=/path/to/dir make bench-real

The directory holds (CSV or Parquet, by the file's ending; the names are fixed):

``payments.csv``  one row per payment: ``customer_id``, ``timestamp``, ``amount`` and optionally
                  ``period_end`` (when the paid service runs out; default: one calendar month
                  after the payment);
``usage.csv``     one row per usage event: ``customer_id``, ``timestamp``, ``event_type`` and
                  optionally ``value`` (e.g. seconds played);
``customers.csv`` optional: ``customer_id`` and attributes (``signup_date``, ``plan``, …).

Definitions, with ``T`` the cutoff (``--subscription-as-of``, default the latest month start
whose next month the data cover), ``h`` the horizon (30 days) and ``g`` the grace (7 days):

- an account is *covered* at time ``t`` when a payment stamped at or before ``t`` has
  ``period_end + g > t`` (the grace lets a late renewal count as a renewal);
- *active at T*: covered at ``T`` by payments stamped strictly before ``T``;
- *cancelled*: active at ``T`` and not covered at ``T + h``.

Models, all fitted on records before ``T`` only: winback through its CLI (payments as
transactions, usage as events; score = ``churn_probability``), a plain LightGBM on the payment
RFM features plus usage features, trained on monthly cutoffs whose cancellation windows close
by ``T`` (early stopping on held-out accounts), and BG/NBD on the payments (1 − P(a payment in
the horizon)) as the classical reference. Judged on the accounts active at ``T``: ROC AUC, PR AUC
and top-decile lift (cancellation rate among the 10% riskiest over the overall rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import rfm_lightgbm

GRACE_DAYS = 7
HORIZON_DAYS = 30
TABLES = {
    "payments": ("customer_id", "timestamp", "amount"),
    "usage": ("customer_id", "timestamp", "event_type"),
    "customers": ("customer_id",),
}
USAGE_FEATURES = (
    "events_30d",
    "events_90d",
    "value_30d",
    "value_90d",
    "days_since_last_event",
    "event_trend",
    "active_days_30d",
)


@dataclass(frozen=True)
class SubscriptionData:
    """The user's directory, read: payments (with ``period_end``), usage, customers."""

    payments: pd.DataFrame
    usage: pd.DataFrame
    customers: pd.DataFrame | None
    source: Path


def _find(directory: Path, name: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        path = directory / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def _read(directory: Path, name: str) -> pd.DataFrame | None:
    path = _find(directory, name)
    if path is None:
        return None
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = set(TABLES[name]) - set(frame.columns)
    if missing:
        raise ValueError(
            f"{path}: lacks the column(s) {sorted(missing)} (layout: bench/real/subscription.py)"
        )
    frame["customer_id"] = frame["customer_id"].astype(str)
    for column in ("timestamp", "period_end", "signup_date"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
    return frame


def read_directory(directory: Path) -> SubscriptionData:
    """Read the layout of the module docstring; payments and usage are required."""
    payments = _read(directory, "payments")
    usage = _read(directory, "usage")
    if payments is None or usage is None:
        raise FileNotFoundError(
            f"{directory}: needs payments.csv|parquet and usage.csv|parquet "
            "(layout: bench/real/subscription.py)"
        )
    if "period_end" not in payments:
        payments["period_end"] = payments["timestamp"] + pd.DateOffset(months=1)
    payments["period_end"] = payments["period_end"].fillna(
        payments["timestamp"] + pd.DateOffset(months=1)
    )
    return SubscriptionData(payments, usage, _read(directory, "customers"), directory)


def covered(payments: pd.DataFrame, at: pd.Timestamp, *, strictly_before: bool) -> pd.Index:
    """Accounts covered at ``at``: a payment stamped by then whose period (+ grace) runs past it."""
    stamped = payments["timestamp"] < at if strictly_before else payments["timestamp"] <= at
    runs = payments["period_end"] + pd.Timedelta(days=GRACE_DAYS) > at
    return pd.Index(payments.loc[stamped & runs, "customer_id"].unique(), name="customer_id")


def cancellations(payments: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> pd.Series:
    """1 for each account active at ``as_of`` that is not covered ``horizon_days`` later, else 0."""
    active = covered(payments, as_of, strictly_before=True).sort_values()
    later = covered(payments, as_of + pd.Timedelta(days=horizon_days), strictly_before=False)
    return pd.Series((~active.isin(later)).astype(float), index=active, name="cancelled")


def default_as_of(payments: pd.DataFrame, horizon_days: int) -> pd.Timestamp:
    """The latest month start ``T`` with ``T + horizon`` no later than the last payment's day."""
    last = payments["timestamp"].max().normalize()
    month = last.to_period("M").to_timestamp()
    while month + pd.Timedelta(days=horizon_days) > last:
        month -= pd.DateOffset(months=1)
    return pd.Timestamp(month)


def usage_features(usage: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Usage before ``as_of`` per account: events and value over 30 and 90 days, recency, trend.

    event_trend = events in the last 30 days / (events in the 60 days before them / 2), NaN when
    both are 0; active_days_30d = distinct days with an event in the last 30 days.
    """
    seen = usage[usage["timestamp"] < as_of]
    age = (as_of - seen["timestamp"]) / pd.Timedelta(days=1)
    value = seen["value"].astype(float) if "value" in seen else pd.Series(1.0, index=seen.index)
    frame = pd.DataFrame(
        {
            "customer_id": seen["customer_id"],
            "age": age,
            "in_30": (age < 30).astype(float),
            "in_90": (age < 90).astype(float),
            "v_30": value.where(age < 30, 0.0),
            "v_90": value.where(age < 90, 0.0),
            "day_30": seen["timestamp"].dt.normalize().where(age < 30),
        }
    )
    per = frame.groupby("customer_id").agg(
        events_30d=("in_30", "sum"),
        events_90d=("in_90", "sum"),
        value_30d=("v_30", "sum"),
        value_90d=("v_90", "sum"),
        days_since_last_event=("age", "min"),
        active_days_30d=("day_30", "nunique"),
    )
    before = (per["events_90d"] - per["events_30d"]) / 2.0
    per["event_trend"] = per["events_30d"] / before.where(before > 0)
    return per.astype(float)[list(USAGE_FEATURES)]


def features(data: SubscriptionData, as_of: pd.Timestamp, accounts: pd.Index) -> pd.DataFrame:
    """Payment RFM and usage features at ``as_of`` for ``accounts`` (absent usage: no events)."""
    payments = data.payments[["customer_id", "timestamp", "amount"]]
    rfm = rfm_lightgbm.rfm_features(payments, as_of).reindex(accounts)
    usage = usage_features(data.usage, as_of).reindex(accounts)
    counts = [c for c in USAGE_FEATURES if c not in ("days_since_last_event", "event_trend")]
    usage[counts] = usage[counts].fillna(0.0)
    return rfm.join(usage)


FEATURES = (*rfm_lightgbm.FEATURES, *USAGE_FEATURES)


def lightgbm_risk(
    data: SubscriptionData, as_of: pd.Timestamp, horizon_days: int, accounts: pd.Index
) -> tuple[pd.Series, dict[str, int]]:
    """P(cancel) from a LightGBM trained on monthly cutoffs whose windows close by ``as_of``."""
    first = data.payments["timestamp"].min().normalize()
    cutoffs = []
    month = (as_of - pd.Timedelta(days=horizon_days)).to_period("M").to_timestamp()
    while month >= first + pd.Timedelta(days=90):
        if month + pd.Timedelta(days=horizon_days) <= as_of:
            cutoffs.append(pd.Timestamp(month))
        month -= pd.DateOffset(months=1)
    if not cutoffs:
        raise ValueError(
            f"no training cutoff: under 90 days + one horizon of history before {as_of}"
        )
    before = data.payments[data.payments["timestamp"] < as_of]
    parts = []
    for cutoff in sorted(cutoffs):
        label = cancellations(before, cutoff, horizon_days)
        x = features(data, cutoff, label.index)
        parts.append(x.join(label).reset_index())
    table = pd.concat(parts, ignore_index=True)
    booster, rounds = rfm_lightgbm.fit_early_stopped(table, list(FEATURES), "cancelled", "binary")
    x_now = features(data, as_of, accounts)
    risk = pd.Series(booster.predict(x_now[list(FEATURES)]), index=accounts)
    return risk, {"training_cutoffs": len(cutoffs), "training_rows": len(table), "rounds": rounds}


__all__ = [
    "FEATURES",
    "SubscriptionData",
    "cancellations",
    "covered",
    "default_as_of",
    "features",
    "lightgbm_risk",
    "read_directory",
    "usage_features",
]
