"""How sure a head-to-head is: paired bootstrap intervals of our gain over a baseline.

A test period is one sample of customers. A difference of 0.003 in top-decile share on a few
thousand customers can be two customers' spend, so every gain the run reports over a baseline
comes with a 95% interval: the customers of the test rows are resampled with replacement, both
models are scored on the same resample (paired, so what the two share cancels), and the
2.5th and 97.5th percentiles of the gain are kept. A gain whose interval lies above zero is a
win that another sample of customers would very likely repeat; one whose interval straddles
zero is a tie within noise.

Only the headline figures are resampled, each by a lean NumPy function of the same definition
as :mod:`training.metrics` (ties in a ranking at their expected value), so resampling costs
little next to training (measured: ``docs/2026-12-05-training-measurements.md``); larger test
sets are subsampled to ``max_rows`` customers first.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from winback.training.metrics import HIGHER_IS_BETTER, expected_top_sums, top_count

_Array = npt.NDArray[np.float64]
_Metric = Callable[[_Array, _Array], float]


def _top_decile_share(y: _Array, p: _Array) -> float:
    total = float(y.sum())
    top = float(expected_top_sums(y, p, [top_count(y.size, 10)])[0])
    return top / total if total else np.nan


def _spearman(y: _Array, p: _Array) -> float:
    ry, rp = _ranks(y), _ranks(p)
    sy, sp = ry.std(), rp.std()
    return float(np.mean((ry - ry.mean()) * (rp - rp.mean())) / (sy * sp)) if sy and sp else np.nan


def _ranks(x: _Array) -> _Array:
    """Average ranks (ties share their mean rank), as Spearman's correlation uses them."""
    order = np.argsort(x, kind="stable")
    s = x[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], s.size]
    ranks = np.empty(x.size)
    ranks[order] = np.repeat((starts + ends - 1) / 2.0, ends - starts)
    return ranks


def _roc_auc(y: _Array, p: _Array) -> float:
    """Mann-Whitney form of the ROC AUC; tied scores count one half, as scikit-learn's."""
    positives = float(y.sum())
    negatives = y.size - positives
    if not positives or not negatives:
        return np.nan
    rank_sum = float(_ranks(p)[y == 1].sum()) + positives  # ranks from 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _pr_auc(y: _Array, p: _Array) -> float:
    """Average precision over distinct thresholds, as scikit-learn's average_precision_score."""
    positives = float(y.sum())
    if not 0 < positives < y.size:
        return np.nan
    order = np.argsort(-p, kind="stable")
    s, hits = p[order], y[order]
    last = np.r_[s[1:] != s[:-1], True]  # the last row of each group of tied scores
    tp = np.cumsum(hits)[last]
    seen = np.flatnonzero(last) + 1.0
    recall_step = np.diff(np.r_[0.0, tp]) / positives
    return float(np.sum(recall_step * tp / seen))


#: The figures this module can resample, by metric name.
METRICS: dict[str, _Metric] = {
    "roc_auc": _roc_auc,
    "pr_auc": _pr_auc,
    "brier": lambda y, p: float(np.mean((p - y) ** 2)),
    "mae": lambda y, p: float(np.mean(np.abs(p - y))),
    "spearman": _spearman,
    "top_decile_share": _top_decile_share,
    "aggregate_error": lambda y, p: float(p.sum() / y.sum() - 1) if y.sum() else np.nan,
}


def _gain(name: str, ours: float, baseline: float) -> float:
    """Our improvement on one figure, signed as :func:`training.metrics.compare` signs it."""
    if name == "aggregate_error":
        return abs(baseline) - abs(ours)
    return ours - baseline if HIGHER_IS_BETTER[name] else baseline - ours


def gain_intervals(
    y_true: npt.ArrayLike,
    ours: npt.ArrayLike,
    baseline: npt.ArrayLike,
    names: tuple[str, ...],
    *,
    resamples: int = 200,
    level: float = 0.95,
    seed: int = 0,
    max_rows: int = 50_000,
) -> dict[str, tuple[float, float]]:
    """Interval of our gain over ``baseline`` for each metric in ``names``, resampling rows.

    ``y_true``, ``ours`` and ``baseline`` are aligned per row (one customer at one cutoff).
    The gain is positive when ours is better (for aggregate error: closer to zero). Resamples
    where a figure is undefined (one class only) are left out of that figure's interval.
    """
    unknown = sorted(set(names) - set(METRICS))
    if unknown:
        raise ValueError(f"no resampling for metrics {unknown}; known: {sorted(METRICS)}")
    if resamples < 2 or not 0 < level < 1:
        raise ValueError(f"need resamples >= 2 and 0 < level < 1, got {resamples} and {level}")
    y, a, b = (np.asarray(v, dtype=np.float64) for v in (y_true, ours, baseline))
    if not y.shape == a.shape == b.shape or y.ndim != 1 or y.size == 0:
        raise ValueError(
            f"expected three 1-D arrays of one length, got {y.shape, a.shape, b.shape}"
        )
    rng = np.random.default_rng(seed)
    if y.size > max_rows:
        keep = rng.choice(y.size, max_rows, replace=False)
        y, a, b = y[keep], a[keep], b[keep]
    gains = np.full((resamples, len(names)), np.nan)
    for r in range(resamples):
        rows = rng.integers(0, y.size, y.size)
        yr, ar, br = y[rows], a[rows], b[rows]
        for j, name in enumerate(names):
            metric = METRICS[name]
            gains[r, j] = _gain(name, metric(yr, ar), metric(yr, br))
    tail = (1 - level) / 2 * 100
    out = {}
    for j, name in enumerate(names):
        column = gains[:, j][np.isfinite(gains[:, j])]
        low, high = np.percentile(column, [tail, 100 - tail]) if column.size else (np.nan, np.nan)
        out[name] = (float(low), float(high))
    return out


__all__ = ["METRICS", "gain_intervals"]
