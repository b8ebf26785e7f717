"""Evaluation metrics every training run reports: pure functions of arrays, no I/O, no plots.

Ranking metrics (lift, capture, top-decile share, Gini, gains, decile table) order customers by
score, highest first. Customers with tied scores are handled by their *expected* value over all
orders of the tie: a tied group straddling a cut-off contributes its mean per customer taken.
This is deterministic and independent of row order, so a constant score gets lift 1 and Gini 0
whatever order the rows came in (a row-order tie-break would let a file sorted by label make a
constant score look perfect). Metrics that are undefined on the input (an AUC with one class, a
share of a zero total) are NaN, without warnings.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

TOP_PERCENTS: tuple[int, ...] = (5, 10, 20)
"""Top shares (per cent of customers) at which lift and capture are reported."""

HIGHER_IS_BETTER: dict[str, bool] = {
    "roc_auc": True,
    "pr_auc": True,
    "brier": False,
    "ece": False,
    "log_loss": False,
    **{f"lift_at_{p}": True for p in TOP_PERCENTS},
    **{f"capture_at_{p}": True for p in TOP_PERCENTS},
    "mae": False,
    "rmse": False,
    "spearman": True,
    "normalized_gini": True,
    "top_decile_share": True,
    "aggregate_error": False,  # compared by absolute value: closer to 0 is better
}
"""Direction of every quality metric: True when higher is better."""

DESCRIPTIVE: frozenset[str] = frozenset(
    {"base_rate", "mean_predicted", "total_actual", "total_predicted"}
)
"""Reported figures that describe the data, not the model; they have no better direction."""

_Array = npt.NDArray[np.float64]


def _as_pair(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[_Array, _Array]:
    """Two finite, non-empty 1-D float arrays of equal length, or a ValueError saying why not."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if y.ndim != 1 or p.ndim != 1 or y.shape != p.shape or y.size == 0:
        raise ValueError(
            f"expected two non-empty 1-D arrays of equal length, got shapes {y.shape} and {p.shape}"
        )
    if not (np.isfinite(y).all() and np.isfinite(p).all()):
        raise ValueError("inputs contain NaN or infinite values; drop or impute them first")
    return y, p


def _as_binary(y_true: npt.ArrayLike, p_pred: npt.ArrayLike) -> tuple[_Array, _Array]:
    """Labels in {0, 1} and probabilities in [0, 1], or a ValueError saying which is not."""
    y, p = _as_pair(y_true, p_pred)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"y_true must hold only 0 and 1, got values {np.unique(y)[:5]}")
    if p.min() < 0.0 or p.max() > 1.0:
        raise ValueError(f"p_pred must lie in [0, 1], got range [{p.min()}, {p.max()}]")
    return y, p


def _ratio(num: float, den: float) -> float:
    """The ratio num / den, NaN when den is 0."""
    return num / den if den != 0 else math.nan


def top_count(n: int, percent: int) -> int:
    """Customers in the top ``percent`` % of ``n``: ceil(n × percent / 100), exact in integers."""
    return -(-n * percent // 100)


def expected_top_sums(values: _Array, score: _Array, k: npt.ArrayLike) -> _Array:
    """Expected sum of ``values`` over the ``k`` highest scores, ties in random order.

    ``k`` may be fractional (linear between whole counts), which the gains curve uses.
    """
    order = np.argsort(-score, kind="stable")
    s, v = score[order], values[order]
    cum = np.concatenate(([0.0], np.cumsum(v)))
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], s.size]
    kk = np.asarray(k, dtype=np.float64)
    g = np.clip(np.searchsorted(starts, kk, side="right") - 1, 0, starts.size - 1)
    start, end = starts[g], ends[g]
    return cum[start] + (kk - start) / (end - start) * (cum[end] - cum[start])


def _bin_index(p: _Array, n_bins: int) -> npt.NDArray[np.int64]:
    """Equal-count bin of each prediction, ties kept in one bin: ⌊n_bins × #{p' < p} / n⌋."""
    below = np.searchsorted(np.sort(p), p, side="left")
    return (below * n_bins) // p.size


def reliability_table(
    y_true: npt.ArrayLike, p_pred: npt.ArrayLike, n_bins: int = 10
) -> pd.DataFrame:
    """Observed rate against mean prediction per equal-count bin of the predictions.

    Bins hold about ``n / n_bins`` customers each; equal predictions share a bin, so bins may be
    uneven or fewer than ``n_bins``. Columns: bin (1 = lowest predictions), mean_predicted,
    observed_rate, count. This is the data behind a reliability diagram and behind ``ece``.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    y, p = _as_binary(y_true, p_pred)
    frame = pd.DataFrame({"b": _bin_index(p, n_bins), "p": p, "y": y})
    table = frame.groupby("b", sort=True).agg(
        mean_predicted=("p", "mean"), observed_rate=("y", "mean"), count=("y", "size")
    )
    table.insert(0, "bin", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def _ece(table: pd.DataFrame) -> float:
    """Count-weighted mean of |observed_rate − mean_predicted| over a reliability table."""
    gap = (table["observed_rate"] - table["mean_predicted"]).abs()
    return float((gap * table["count"]).sum() / table["count"].sum())


def classification_metrics(
    y_true: npt.ArrayLike, p_pred: npt.ArrayLike, n_bins: int = 10
) -> dict[str, float]:
    """Discrimination, calibration and targeting metrics of predicted probabilities.

    roc_auc; pr_auc (average precision); brier (mean squared error of p); ece (expected
    calibration error: count-weighted mean |observed − predicted| over ``n_bins`` equal-count
    bins, see :func:`reliability_table`); log_loss (p clipped to machine epsilon); base_rate;
    mean_predicted; for each top share q in 5/10/20 %, over the ceil(q × n) highest p:
    ``lift_at_q`` = positive rate there / base rate and ``capture_at_q`` = share of all positives
    found there. With one class only, the AUCs are NaN; with no positives, lift and capture too.
    """
    y, p = _as_binary(y_true, p_pred)
    n, positives = y.size, float(y.sum())
    two_classes = 0 < positives < n
    out: dict[str, float] = {
        "roc_auc": float(roc_auc_score(y, p)) if two_classes else math.nan,
        "pr_auc": float(average_precision_score(y, p)) if two_classes else math.nan,
        "brier": float(np.mean((p - y) ** 2)),
        "ece": _ece(reliability_table(y, p, n_bins)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "base_rate": positives / n,
        "mean_predicted": float(p.mean()),
    }
    counts = [top_count(n, q) for q in TOP_PERCENTS]
    found = expected_top_sums(y, p, counts)
    for q, k, hits in zip(TOP_PERCENTS, counts, found, strict=True):
        capture = _ratio(float(hits), positives)
        out[f"lift_at_{q}"] = capture / (k / n)
        out[f"capture_at_{q}"] = capture
    return out


def _gini(values: _Array, score: _Array) -> float:
    """Gini of ``values`` ordered by ``score``: mean over k of (top-k share − k / n)."""
    n = values.size
    shares = expected_top_sums(values, score, np.arange(1, n + 1)) / values.sum()
    return float(np.mean(shares - np.arange(1, n + 1) / n))


def regression_metrics(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> dict[str, float]:
    """Error, ranking and total metrics of predicted amounts (orders, spend), zeros welcome.

    mae; rmse; spearman (rank correlation, NaN if either side is constant); normalized_gini
    (Gini of y_true ordered by y_pred / Gini of y_true ordered by itself: 1 = perfect ranking,
    about 0 = random, NaN if y_true sums to 0 or is constant); top_decile_share (share of total
    actual in the ceil(n / 10) customers with the highest prediction); aggregate_error
    ((Σ pred − Σ actual) / Σ actual, NaN if Σ actual = 0); total_actual; total_predicted.
    """
    y, p = _as_pair(y_true, y_pred)
    total, total_pred = float(y.sum()), float(p.sum())
    constant = np.ptp(y) == 0 or np.ptp(p) == 0
    perfect = _gini(y, y) if total != 0 and np.ptp(y) > 0 else 0.0
    return {
        "mae": float(np.mean(np.abs(p - y))),
        "rmse": float(np.sqrt(np.mean((p - y) ** 2))),
        "spearman": math.nan if constant else float(spearmanr(y, p).statistic),
        "normalized_gini": _ratio(_gini(y, p), perfect) if perfect else math.nan,
        "top_decile_share": _ratio(
            float(expected_top_sums(y, p, [top_count(y.size, 10)])[0]), total
        ),
        "aggregate_error": _ratio(total_pred - total, total),
        "total_actual": total,
        "total_predicted": total_pred,
    }


def decile_table(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, n: int = 10) -> pd.DataFrame:
    """Predicted against actual per n-tile of the prediction (decile 1 = highest predicted).

    The top d n-tiles hold the ceil(d × N / n) highest predictions. Columns: decile, customers,
    mean_predicted, mean_actual, sum_actual, share_of_actual (of the total actual; sums to 1,
    NaN when the total is 0). Ties across a boundary count at their expected value.
    """
    y, p = _as_pair(y_true, y_pred)
    size = y.size
    if not 1 <= n <= size:
        raise ValueError(f"need 1 <= n <= number of customers ({size}), got n={n}")
    bounds = np.array([-(-size * d // n) for d in range(n + 1)])
    cum_actual = expected_top_sums(y, p, bounds)
    cum_pred = expected_top_sums(p, p, bounds)
    customers = np.diff(bounds)
    sum_actual = np.diff(cum_actual)
    total = float(y.sum())
    return pd.DataFrame(
        {
            "decile": np.arange(1, n + 1),
            "customers": customers,
            "mean_predicted": np.diff(cum_pred) / customers,
            "mean_actual": sum_actual / customers,
            "sum_actual": sum_actual,
            "share_of_actual": sum_actual / total if total != 0 else np.full(n, math.nan),
        }
    )


def gains_curve(y_true: npt.ArrayLike, score: npt.ArrayLike, points: int = 101) -> pd.DataFrame:
    """Cumulative gains: share of total y_true captured by the top share of customers by score.

    ``points`` evenly spaced shares from 0 to 1 (fractional customers interpolate linearly).
    Columns: share_targeted, share_captured (NaN when y_true sums to 0). Lift = captured /
    targeted.
    """
    if points < 2:
        raise ValueError(f"points must be at least 2, got {points}")
    y, s = _as_pair(y_true, score)
    targeted = np.linspace(0.0, 1.0, points)
    total = float(y.sum())
    captured = expected_top_sums(y, s, targeted * y.size)
    return pd.DataFrame(
        {
            "share_targeted": targeted,
            "share_captured": captured / total if total != 0 else np.full(points, math.nan),
        }
    )


def compare(ours: dict[str, float], baseline: dict[str, float]) -> dict[str, float]:
    """Improvement of ours over baseline per shared quality metric; positive = ours is better.

    ours − baseline where higher is better, baseline − ours where lower is better, and
    |baseline| − |ours| for aggregate_error. Descriptive figures (:data:`DESCRIPTIVE`) are
    skipped; a shared metric of unknown direction is a ValueError.
    """
    shared = [k for k in ours if k in baseline and k not in DESCRIPTIVE]
    unknown = [k for k in shared if k not in HIGHER_IS_BETTER]
    if unknown:
        raise ValueError(f"no known direction for metrics {unknown}; add them to HIGHER_IS_BETTER")
    out: dict[str, float] = {}
    for k in shared:
        a, b = float(ours[k]), float(baseline[k])
        if k == "aggregate_error":
            a, b = abs(a), abs(b)
        out[k] = a - b if HIGHER_IS_BETTER[k] else b - a
    return out


__all__ = [
    "DESCRIPTIVE",
    "HIGHER_IS_BETTER",
    "TOP_PERCENTS",
    "classification_metrics",
    "compare",
    "decile_table",
    "expected_top_sums",
    "gains_curve",
    "regression_metrics",
    "reliability_table",
    "top_count",
]
