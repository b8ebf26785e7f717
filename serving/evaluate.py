"""Judge a win-back list once its horizon has passed: did the offers work, and did they pay.

The list's random ``control`` customers got no offer, so treated against control within the same
list is a fair experiment: realised churn in each group over ``[as_of, as_of + horizon)``, the
lift (control churn − treated churn) with a 95% confidence interval (normal approximation of a
difference of two proportions), the CRM margin per customer in each group, the margin the offers
saved against what they cost, and how well the churn probabilities used were calibrated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from winback.common import WinbackError
from winback.features import Dataset, LabelSettings, build_labels
from winback.features.snapshots import data_end
from winback.training.metrics import classification_metrics, reliability_table

Z_95 = 1.959963984540054


class HorizonNotPassedError(WinbackError):
    """The list's outcome window has not closed in the data yet."""


@dataclass
class ListEvaluation:
    """Outcomes of a list: the figures and the per-customer table they come from."""

    as_of: datetime
    horizon_days: int
    figures: dict[str, float]
    outcomes: pd.DataFrame
    reliability: pd.DataFrame

    def lines(self) -> list[str]:
        """A short printed summary."""
        f = self.figures
        low, high = f["lift_ci_low"], f["lift_ci_high"]
        return [
            f"list as of {self.as_of:%Y-%m-%d}, outcomes over {self.horizon_days} days: "
            f"{int(f['treated']):,} treated, {int(f['control']):,} control",
            f"churn: treated {f['churn_treated']:.1%}, control {f['churn_control']:.1%}; "
            f"lift {f['lift']:+.1%} (95% CI {low:+.1%} … {high:+.1%})",
            f"margin per customer: treated {f['margin_treated']:,.2f}, control "
            f"{f['margin_control']:,.2f}; margin saved {f['margin_saved']:,.2f} against offer "
            f"cost {f['offer_cost']:,.2f} (net {f['net_benefit']:,.2f})",
            f"scores used: Brier {f['brier']:.3f}, ECE {f['ece']:.3f}, mean predicted "
            f"{f['mean_predicted']:.1%} vs realised {f['base_rate']:.1%}",
        ]


def evaluate_list(dataset: Dataset, frame: pd.DataFrame, labels: LabelSettings) -> ListEvaluation:
    """Outcomes of the list in ``frame`` (the win-back list file, with its ``as_of`` column)."""
    missing = {"customer_id", "control", "churn_probability", "offer_cost", "as_of"} - set(
        frame.columns
    )
    if missing:
        raise WinbackError(f"the list lacks the column(s) {sorted(missing)}: is it a winback list?")
    stamps = pd.to_datetime(frame["as_of"]).dt.tz_localize(None).unique()
    if len(stamps) != 1:
        raise WinbackError(f"the list holds {len(stamps)} as_of dates; evaluate one list at a time")
    as_of = pd.Timestamp(stamps[0]).to_pydatetime()
    end = data_end(dataset)
    closes = as_of + timedelta(days=labels.horizon_days)
    if closes > end:
        raise HorizonNotPassedError(
            f"the list's outcomes run to {closes:%Y-%m-%d} ({labels.horizon_days} days after "
            f"{as_of:%Y-%m-%d}), but the data ends on {end:%Y-%m-%d}: evaluate it after that"
        )
    keys = pd.DataFrame({"customer_id": frame["customer_id"].to_numpy(), "as_of": as_of})
    outcome = build_labels(dataset, keys, labels, end)
    table = frame.merge(
        outcome[["customer_id", "churned", "margin_next"]], on="customer_id", how="left"
    )
    # A listed customer has ordered before as_of, so churned is defined for every one of them.
    unknown = int(table["churned"].isna().sum())
    if unknown:
        raise WinbackError(
            f"{unknown} customers of the list have no order before {as_of:%Y-%m-%d} in this "
            "data: is it the data the list was made from?"
        )
    control = table["control"].astype(bool).to_numpy()
    churned = table["churned"].to_numpy(dtype="float64")
    margin = table["margin_next"].fillna(0).to_numpy(dtype="float64")
    figures = _figures(churned, margin, control, table["offer_cost"].to_numpy(dtype="float64"))
    scored = classification_metrics(churned, table["churn_probability"].to_numpy(float))
    figures |= {k: scored[k] for k in ("brier", "ece", "mean_predicted", "base_rate", "roc_auc")}
    reliability = reliability_table(churned, table["churn_probability"].to_numpy(float))
    return ListEvaluation(as_of, labels.horizon_days, figures, table, reliability)


def _figures(
    churned: np.ndarray, margin: np.ndarray, control: np.ndarray, cost: np.ndarray
) -> dict[str, float]:
    treated = ~control
    n_t, n_c = int(treated.sum()), int(control.sum())
    if n_t == 0 or n_c == 0:
        raise WinbackError(
            f"the list has {n_t} treated and {n_c} control customers: both groups are needed"
        )
    p_t, p_c = churned[treated].mean(), churned[control].mean()
    lift = p_c - p_t
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    m_t, m_c = margin[treated].mean(), margin[control].mean()
    saved = (m_t - m_c) * n_t
    spent = float(cost[treated].sum())
    return {
        "treated": n_t,
        "control": n_c,
        "churn_treated": float(p_t),
        "churn_control": float(p_c),
        "lift": float(lift),
        "lift_ci_low": float(lift - Z_95 * se),
        "lift_ci_high": float(lift + Z_95 * se),
        "margin_treated": float(m_t),
        "margin_control": float(m_c),
        "margin_saved": float(saved),
        "offer_cost": spent,
        "net_benefit": float(saved - spent),
    }


__all__ = ["HorizonNotPassedError", "ListEvaluation", "evaluate_list"]
