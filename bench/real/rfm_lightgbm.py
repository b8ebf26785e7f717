"""A plain LightGBM on ten RFM features: the benchmark's "what a careful analyst does in an hour".

Trained only inside the calibration period: snapshots at weekly cutoffs whose label windows close
by the calibration end, each labelled with the ``window_days`` after it; early stopping on a
random 20% of the *customers* (all their snapshots), then refit on every customer with the number
of rounds that chose. Forecasts at the calibration end are for one window; longer horizons are
the window's forecast times the number of windows (a constant-rate extrapolation, stated in the
report), and the ranking score is P(purchase in the next window).
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

FEATURES = (
    "frequency",
    "recency",
    "days_since_last",
    "tenure",
    "spend_total",
    "spend_mean",
    "spend_90d",
    "orders_90d",
    "orders_30d",
    "quantity_total",
)
_PARAMS = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 100,
    "verbosity": -1,
    "seed": 0,
    "deterministic": True,
    # One thread: OpenMP threads spin when the cores are shared, which costs far more than it saves.
    "num_threads": 1,
}


def rfm_features(days: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Ten RFM features per customer from purchase days strictly before ``as_of`` (days, dollars).

    frequency: repeat purchase days; recency: days from the first to the last purchase day;
    days_since_last; tenure: days since the first purchase day; spend_total and spend_mean (per
    purchase day); spend_90d, orders_90d and orders_30d in the windows before ``as_of``;
    quantity_total (items; 0 without a quantity column).
    """
    seen = days[days["timestamp"] < as_of]
    age = (as_of - seen["timestamp"]).dt.days
    quantity = seen["quantity"] if "quantity" in seen else pd.Series(0, index=seen.index)
    frame = pd.DataFrame(
        {
            "customer_id": seen["customer_id"],
            "age": age,
            "amount": seen["amount"],
            "quantity": quantity,
            "amount_90": seen["amount"].where(age < 90, 0.0),
            "in_90": (age < 90).astype(int),
            "in_30": (age < 30).astype(int),
        }
    )
    per = frame.groupby("customer_id").agg(
        n=("age", "size"),
        first=("age", "max"),
        last=("age", "min"),
        spend_total=("amount", "sum"),
        spend_90d=("amount_90", "sum"),
        orders_90d=("in_90", "sum"),
        orders_30d=("in_30", "sum"),
        quantity_total=("quantity", "sum"),
    )
    out = pd.DataFrame(
        {
            "frequency": per["n"] - 1,
            "recency": per["first"] - per["last"],
            "days_since_last": per["last"],
            "tenure": per["first"],
            "spend_total": per["spend_total"],
            "spend_mean": per["spend_total"] / per["n"],
            "spend_90d": per["spend_90d"],
            "orders_90d": per["orders_90d"],
            "orders_30d": per["orders_30d"],
            "quantity_total": per["quantity_total"],
        }
    )
    return out.astype(float)[list(FEATURES)]


def window_labels(days: pd.DataFrame, start: pd.Timestamp, window_days: int) -> pd.DataFrame:
    """Purchases in ``[start, start + window_days)`` per customer: active, spend, orders."""
    end = start + pd.Timedelta(days=window_days)
    inside = days[(days["timestamp"] >= start) & (days["timestamp"] < end)]
    per = inside.groupby("customer_id").agg(spend=("amount", "sum"), orders=("timestamp", "size"))
    per["active"] = 1.0
    return per.astype(float)


def training_cutoffs(
    first_day: pd.Timestamp, calibration_end: pd.Timestamp, window_days: int, min_history: int
) -> list[pd.Timestamp]:
    """Weekly cutoffs, the latest one's window closing exactly at the calibration end."""
    last = calibration_end - pd.Timedelta(days=window_days)
    earliest = first_day + pd.Timedelta(days=min_history)
    cutoffs = []
    cutoff = last
    while cutoff >= earliest:
        cutoffs.append(cutoff)
        cutoff -= pd.Timedelta(days=7)
    if not cutoffs:
        raise ValueError(
            f"no cutoff between {earliest:%Y-%m-%d} and {last:%Y-%m-%d}: "
            "the calibration period is shorter than the history plus one window"
        )
    return sorted(cutoffs)


def snapshots(days: pd.DataFrame, cutoffs: list[pd.Timestamp], window_days: int) -> pd.DataFrame:
    """Features at each cutoff with the next window's labels, one row per customer and cutoff."""
    parts = []
    for cutoff in cutoffs:
        x = rfm_features(days, cutoff)
        y = window_labels(days, cutoff, window_days).reindex(x.index, fill_value=0.0)
        parts.append(x.join(y).assign(as_of=cutoff).reset_index())
    return pd.concat(parts, ignore_index=True)


def fit_early_stopped(
    table: pd.DataFrame, features: list[str], target: str, objective: str, *, seed: int = 0
) -> tuple[lgb.Booster, int]:
    """A booster refit on every row with the rounds early stopping chose on held-out customers.

    A random fifth of the customers in ``table`` (all their rows) is held out for early
    stopping (patience 50 rounds); the final model is trained on all rows for that many rounds.
    """
    customers = table["customer_id"].unique()
    rng = np.random.default_rng(seed)
    held = rng.choice(customers, size=max(1, len(customers) // 5), replace=False)
    is_held = table["customer_id"].isin(held).to_numpy()
    x = table[features]
    params = {**_PARAMS, "objective": objective, "seed": seed}
    train = lgb.Dataset(x[~is_held], table.loc[~is_held, target])
    valid = lgb.Dataset(x[is_held], table.loc[is_held, target], reference=train)
    probe = lgb.train(
        params,
        train,
        num_boost_round=2000,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    rounds = max(1, probe.best_iteration)
    return lgb.train(params, lgb.Dataset(x, table[target]), num_boost_round=rounds), rounds


@dataclass
class RfmLightGbm:
    """Three LightGBM models (active, spend, orders) on :data:`FEATURES`, one window ahead."""

    window_days: int
    seed: int = 0
    rounds_: dict[str, int] | None = None
    boosters_: dict[str, lgb.Booster] | None = None

    _TARGETS = (("active", "binary"), ("spend", "regression"), ("orders", "poisson"))

    def fit(self, table: pd.DataFrame) -> RfmLightGbm:
        """Choose rounds by early stopping on held-out customers, then refit on all of them."""
        self.rounds_, self.boosters_ = {}, {}
        for target, objective in self._TARGETS:
            booster, rounds = fit_early_stopped(
                table, list(FEATURES), target, objective, seed=self.seed
            )
            self.boosters_[target], self.rounds_[target] = booster, rounds
        return self

    def predict(self, features: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
        """P(active in one window) as the ranking score; spend and orders over ``horizon_days``."""
        if self.boosters_ is None:
            raise RuntimeError("RfmLightGbm is not fitted")
        x = features[list(FEATURES)]
        scale = horizon_days / self.window_days
        predicted = {t: np.asarray(b.predict(x), dtype=float) for t, b in self.boosters_.items()}
        return pd.DataFrame(
            {
                "p_active": predicted["active"],
                "spend": np.clip(predicted["spend"], 0.0, None) * scale,
                "transactions": predicted["orders"] * scale,
            },
            index=features.index,
        )


__all__ = [
    "FEATURES",
    "RfmLightGbm",
    "fit_early_stopped",
    "rfm_features",
    "snapshots",
    "training_cutoffs",
]
