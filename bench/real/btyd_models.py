"""The classical customer-base models, fitted on the calibration period only.

- BG/NBD + Gamma-Gamma: winback's own baseline class (``training.baselines.BgNbdBaseline``:
  pymc-marketing's model and default priors, the MAP estimate computed with SciPy, time in days),
  the model every winback run is compared with.
- Pareto/NBD + the same Gamma-Gamma: pymc-marketing's ``ParetoNBDModel`` by MAP. Its default
  priors on the rate parameters (Weibull(2, 10)) suit time in *weeks*, the unit of the published
  CDNOW fits (r ≈ 0.55, α ≈ 10.6, s ≈ 0.61, β ≈ 11.7), so it is fitted in weeks; in days its
  rates (≈ 7× larger) would sit far in the priors' tails and MAP would be pulled off.

Each gives, per customer, the score P(at least one purchase in the holdout) = 1 − P(no purchase
in the holdout | history) (which already accounts for the customer having dropped out), the
expected purchase days in the holdout, and spend = expected purchases × Gamma-Gamma spend per
purchase day.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from winback.training.baselines import BgNbdBaseline, rfm_summary
from winback.training.btyd import spend_per_purchase


def summary(days: pd.DataFrame, as_of: pd.Timestamp, customers: pd.Index) -> pd.DataFrame:
    """The BTYD summary (days) of each customer from the purchase days before ``as_of``."""
    return rfm_summary(days, as_of, customer_ids=customers).set_index("customer_id")


def bgnbd(summary_days: pd.DataFrame, horizon_days: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """BG/NBD + Gamma-Gamma predictions over ``horizon_days`` and the fitted parameters."""
    model = BgNbdBaseline().fit(summary_days.reset_index())
    predicted = model.predict(summary_days.reset_index(), horizon_days)
    predicted.index = summary_days.index
    out = pd.DataFrame(
        {
            "p_active": predicted["p_active"],
            "spend": predicted["expected_spend"],
            "transactions": predicted["expected_orders"],
        }
    )
    return out, {"unit": "day", **model.params_}


def pareto_nbd(
    summary_days: pd.DataFrame, horizon_days: int, gamma_gamma: dict[str, float]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Pareto/NBD (in weeks) with Gamma-Gamma spend (``gamma_gamma``: p, q, v) over the horizon."""
    from pymc_marketing.clv import ParetoNBDModel  # noqa: PLC0415 (slow import)

    weeks = pd.DataFrame(
        {
            "customer_id": np.arange(len(summary_days)),
            "frequency": summary_days["frequency"].to_numpy(),
            "recency": summary_days["recency"].to_numpy() / 7.0,
            "T": summary_days["T"].to_numpy() / 7.0,
        }
    )
    model = ParetoNBDModel(data=weeks)
    model.fit(method="map", progressbar=False)
    dims = ("chain", "draw")
    future = horizon_days / 7.0
    orders = model.expected_purchases(weeks, future_t=future).mean(dims).to_numpy()
    none = model.expected_purchase_probability(weeks, n_purchases=0, future_t=future)
    per_purchase = spend_per_purchase(
        gamma_gamma,
        summary_days["frequency"].to_numpy(),
        np.where(summary_days["frequency"] > 0, summary_days["monetary_value"], 0.0),
    )
    out = pd.DataFrame(
        {
            "p_active": 1.0 - none.mean(dims).to_numpy(),
            "spend": orders * per_purchase,
            "transactions": orders,
        },
        index=summary_days.index,
    )
    params = {k: float(model.fit_result[k].mean()) for k in ("r", "alpha", "s", "beta")}
    return out, {"unit": "week", **params}


__all__ = ["bgnbd", "pareto_nbd", "summary"]
