"""BG/NBD and Gamma-Gamma in closed form, applied to feature rows: inputs and period decay.

The "buy till you die" models are fitted by :class:`BgNbdBaseline`; this module keeps only their
seven fitted numbers and evaluates the published closed forms of :mod:`training.bgnbd` (P(alive),
the expected purchases in ``(T, T + t]``, the Gamma-Gamma spend per purchase), so a model bundle
stays plain JSON and scores a million rows in milliseconds.

:class:`BtydFeatures` reads a customer's BTYD summary from the RFM feature columns every plan has
(``orders_lifetime``, ``days_since_first_order``, ``days_since_last_order``,
``avg_order_value_lifetime``), so the numbers are as point-in-time as the features themselves. Two
approximations, the same when fitting and applying: purchases are counted as orders (two orders on
one day count twice; the library counts purchase days) and the spend per purchase is the average
of all orders, the first one included.

Its outputs serve twice: as three model inputs (``btyd_p_alive``, ``btyd_expected_orders``,
``btyd_expected_spend``) that give the trees a smooth, well-founded summary of recency and
frequency, and as the per-customer *decay* that extrapolates value to periods the history is too
short to learn directly (see :mod:`training.periods`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from winback.training.baselines import SUMMARY_COLUMNS, BgNbdBaseline
from winback.training.bgnbd import expected_purchases, p_alive, spend_per_purchase

#: Feature columns a BTYD summary is read from.
BTYD_INPUTS = (
    "orders_lifetime",
    "days_since_first_order",
    "days_since_last_order",
    "avg_order_value_lifetime",
)
#: Model inputs added by :meth:`BtydFeatures.transform`.
BTYD_COLUMNS = ("btyd_p_alive", "btyd_expected_orders", "btyd_expected_spend")
#: Plain-language meaning of each added input, for the feature dictionary and reason codes.
BTYD_DESCRIPTIONS = {
    "btyd_p_alive": "Probability the customer is still active, from the BG/NBD model",
    "btyd_expected_orders": "Orders expected in the horizon by the BG/NBD model",
    "btyd_expected_spend": "Spend expected in the horizon by BG/NBD with Gamma-Gamma",
}


def summary_from_features(frame: pd.DataFrame) -> pd.DataFrame:
    """BTYD summary (frequency, recency, T, monetary_value; days) of each feature row.

    Rows without an order before their cutoff get an empty ``T`` (the models cannot describe a
    customer before a first purchase).
    """
    orders = frame["orders_lifetime"].astype(float).fillna(0.0).to_numpy()
    first = frame["days_since_first_order"].astype(float).to_numpy()
    last = frame["days_since_last_order"].astype(float).to_numpy()
    known = (orders >= 1) & np.isfinite(first) & np.isfinite(last)
    frequency = np.where(known, np.maximum(orders - 1.0, 0.0), np.nan)
    recency = np.where(known & (frequency > 0), np.clip(first - last, 0.0, None), 0.0)
    value = frame["avg_order_value_lifetime"].astype(float).fillna(0.0).to_numpy()
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy()
            if "customer_id" in frame
            else np.arange(len(frame)),
            "frequency": frequency,
            "recency": np.where(known, recency, np.nan),
            "T": np.where(known, np.maximum(first, 0.0), np.nan),
            "monetary_value": np.where(
                known, np.where(frequency > 0, np.clip(value, 0.0, None), 0.0), np.nan
            ),
        },
        index=frame.index,
    )[SUMMARY_COLUMNS]


@dataclass
class BtydFeatures:
    """Fitted BG/NBD + Gamma-Gamma numbers, applied to feature rows."""

    params: dict[str, float]
    horizon_days: int

    @classmethod
    def fit(cls, frame: pd.DataFrame, horizon_days: int) -> BtydFeatures:
        """Fit on the feature rows of one cutoff (each customer once)."""
        summary = summary_from_features(frame)
        model = BgNbdBaseline().fit(summary[summary["T"].notna()])
        return cls(params=dict(model.params_), horizon_days=horizon_days)

    @staticmethod
    def available(columns: list[str]) -> bool:
        """Whether a plan's columns carry the inputs this needs."""
        return set(BTYD_INPUTS) <= set(columns)

    def _summary(self, frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
        s = summary_from_features(frame)
        known = s["T"].notna().to_numpy()
        values = s[["frequency", "recency", "T", "monetary_value"]].to_numpy(float, copy=True)
        # New customers (no order yet) are read as a first purchase today: the population's prior.
        values[~known] = 0.0
        return (*values.T, known)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The :data:`BTYD_COLUMNS` for each row (empty for rows without an order)."""
        x, t_x, T, m, known = self._summary(frame)  # noqa: N806
        orders = expected_purchases(self.params, x, t_x, T, self.horizon_days)
        spend = orders * spend_per_purchase(self.params, x, m)
        out = pd.DataFrame(
            {
                "btyd_p_alive": p_alive(self.params, x, t_x, T),
                "btyd_expected_orders": orders,
                "btyd_expected_spend": spend,
            },
            index=frame.index,
        )
        out[~known] = np.nan
        return out

    def period_decay(self, frame: pd.DataFrame, periods: int) -> np.ndarray:
        """Expected purchases in each period relative to the first, shape (rows, periods).

        Column k (from 0) is E[purchases in (T + k·h, T + (k+1)·h]] / E[purchases in (T, T + h]].
        It falls with k as the chance that the customer has dropped out grows; rows without an
        order are read as a customer whose first purchase is today.
        """
        x, t_x, T, _, _ = self._summary(frame)  # noqa: N806
        h = float(self.horizon_days)
        cumulative = np.column_stack(
            [np.zeros(len(x))]
            + [expected_purchases(self.params, x, t_x, T, k * h) for k in range(1, periods + 1)]
        )
        per_period = np.diff(cumulative, axis=1)
        first = per_period[:, :1]
        return np.divide(per_period, first, out=np.ones_like(per_period), where=first > 0)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"params": self.params, "horizon_days": self.horizon_days}

    @classmethod
    def from_dict(cls, document: dict[str, object]) -> BtydFeatures:
        """Inverse of :meth:`to_dict`."""
        params = document["params"]
        assert isinstance(params, dict)
        return cls(
            params={str(k): float(v) for k, v in params.items()},
            horizon_days=int(str(document["horizon_days"])),
        )


__all__ = [
    "BTYD_COLUMNS",
    "BTYD_DESCRIPTIONS",
    "BTYD_INPUTS",
    "BtydFeatures",
    "expected_purchases",
    "p_alive",
    "spend_per_purchase",
    "summary_from_features",
]
