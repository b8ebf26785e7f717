"""The benchmark's figures, from winback's own metric functions (``training.metrics``).

Purchase benchmarks (CDNOW), per model, on the same customers:

- ``roc_auc``, ``pr_auc`` (average precision): who buys at least once in the holdout, ranked by
  the model's P(active) or its nearest analogue;
- ``spend_rmse``, ``spend_mae``, ``spend_spearman``: holdout spend per customer;
- ``top_decile_share``: share of all holdout revenue that came from the 10% of customers with the
  highest predicted spend (tied predictions count at their expected value);
- ``aggregate_error``: (Σ predicted − Σ actual) / Σ actual;
- ``transactions_mae``: purchase days in the holdout.

Subscription benchmarks: ``roc_auc``, ``pr_auc`` and ``top_decile_lift`` of the cancellation risk
among the accounts active at the cutoff, and the cancellation ``base_rate``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from winback.training.metrics import classification_metrics, regression_metrics

PURCHASE_METRICS = (
    "roc_auc",
    "pr_auc",
    "spend_rmse",
    "spend_mae",
    "spend_spearman",
    "top_decile_share",
    "aggregate_error",
    "transactions_mae",
)
CANCELLATION_METRICS = ("roc_auc", "pr_auc", "top_decile_lift", "base_rate")
#: Direction per figure: True when higher is better; aggregate error is judged by its size.
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "pr_auc": True,
    "spend_rmse": False,
    "spend_mae": False,
    "spend_spearman": True,
    "top_decile_share": True,
    "aggregate_error": False,
    "transactions_mae": False,
    "top_decile_lift": True,
}


def purchase_metrics(predicted: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """The purchase figures of one model; both frames indexed by customer, same customers.

    ``predicted``: p_active, spend, transactions; ``truth``: active (0/1), spend, transactions.
    """
    if not predicted.index.sort_values().equals(truth.index.sort_values()):
        raise ValueError("predictions and truth cover different customers")
    p = predicted.reindex(truth.index)
    if p[["p_active", "spend", "transactions"]].isna().any().any():
        raise ValueError("predictions have empty values")
    active = classification_metrics(truth["active"], np.clip(p["p_active"], 0.0, 1.0))
    spend = regression_metrics(truth["spend"], p["spend"])
    orders = regression_metrics(truth["transactions"], p["transactions"])
    return {
        "roc_auc": active["roc_auc"],
        "pr_auc": active["pr_auc"],
        "spend_rmse": spend["rmse"],
        "spend_mae": spend["mae"],
        "spend_spearman": spend["spearman"],
        "top_decile_share": spend["top_decile_share"],
        "aggregate_error": spend["aggregate_error"],
        "transactions_mae": orders["mae"],
    }


def cancellation_metrics(risk: pd.Series, cancelled: pd.Series) -> dict[str, float]:
    """ROC AUC, PR AUC, top-decile lift and base rate of a cancellation risk; same accounts."""
    r = risk.reindex(cancelled.index)
    if r.isna().any():
        raise ValueError(f"{int(r.isna().sum())} accounts active at the cutoff have no score")
    found = classification_metrics(cancelled, np.clip(r, 0.0, 1.0))
    return {
        "roc_auc": found["roc_auc"],
        "pr_auc": found["pr_auc"],
        "top_decile_lift": found["lift_at_10"],
        "base_rate": found["base_rate"],
    }


def _cell(value: float | str, metric: str) -> str:
    if isinstance(value, str):
        return value
    if math.isnan(value):
        return "nan"
    if metric == "aggregate_error":
        return f"{value:+.1%}"
    return f"{value:.3f}"


def side_by_side(results: dict[str, dict[str, float]], metrics: tuple[str, ...]) -> str:
    """One table: a row per figure, a column per model, the best of each row marked with *."""
    names = list(results)
    rows = []
    for metric in metrics:
        values = [results[n].get(metric, math.nan) for n in names]
        best = _best(values, metric)
        cells = [_cell(v, metric) + ("*" if i == best else " ") for i, v in enumerate(values)]
        rows.append([metric, *cells])
    table = [["", *(f"{n} " for n in names)], *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(names) + 1)]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in table
    ]
    return "\n".join(lines)


def _best(values: list[float], metric: str) -> int | None:
    if metric not in HIGHER_IS_BETTER:
        return None
    finite = [(i, v) for i, v in enumerate(values) if not math.isnan(v)]
    if len(finite) < 2:
        return None
    if metric == "aggregate_error":
        return min(finite, key=lambda iv: abs(iv[1]))[0]
    pick = max if HIGHER_IS_BETTER[metric] else min
    return pick(finite, key=lambda iv: iv[1])[0]


__all__ = [
    "CANCELLATION_METRICS",
    "HIGHER_IS_BETTER",
    "PURCHASE_METRICS",
    "cancellation_metrics",
    "purchase_metrics",
    "side_by_side",
]
