"""Levels of a feature learned as a level only, refit on the training rows after boosting.

A feature the models learn as a level only (the cutoff's calendar month, see ``additive_features``
in :mod:`training.models`) gets its level from boosting only as fast as its trees win the split
search, and early stopping counts the rounds on validation cutoffs that hold other months. So the
level of a month stays part-learned, and a month's total comes out wrong even on the rows the
models trained on (measured: ``docs/2026-12-05-training-measurements.md``).

:func:`fit_offsets` refits one offset per level on the link scale so that each level's predicted
total on the training rows equals its actual total: Newton steps on the log loss (logit link) or
the Poisson deviance (log link, whatever the booster's own loss: a gamma or Tweedie fit lacks
this balance), with LightGBM's L2 penalty (``lambda_l2``) on each offset as on a leaf value.
With thousands of rows per month the penalty is negligible; a level with fewer rows than a leaf
may hold, or none, gets 0 (the booster's own view).
"""

from __future__ import annotations

import numpy as np

#: Newton steps are capped at this size (link scale), the rest is left to the next step.
_MAX_STEP = 1.0
_TOLERANCE = 1e-10
_MAX_ITERATIONS = 100


def _derivatives(logistic: bool, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of the log loss (logit link) or Poisson deviance (log link) at ``z``."""
    if logistic:
        p = 1.0 / (1.0 + np.exp(-z))
        return p - y, p * (1.0 - p)
    mu = np.exp(z)
    return mu - y, mu


def fit_offsets(
    logistic: bool,
    raw: np.ndarray,
    label: np.ndarray,
    codes: np.ndarray,
    n_levels: int,
    *,
    weight: np.ndarray | None = None,
    l2: float = 1.0,
    min_rows: int = 1,
) -> np.ndarray:
    """One offset per level (``n_levels`` long) for link-scale scores ``raw``.

    ``codes`` gives each row's level (0 … n_levels − 1; −1 for a missing level, which gets no
    offset). Solves, for each level, Σ w·(mean(raw + c) − label) + l2·c = 0 by Newton steps: the
    predicted total of each level's rows equals the actual (the penalty aside), with the
    sigmoid as the mean for a logit link (``logistic``) and exp for a log link. A level with
    fewer than ``min_rows`` rows keeps offset 0, as a leaf needs ``min_data_in_leaf``.
    """
    counts = np.bincount(codes[codes >= 0], minlength=n_levels)
    known = (codes >= 0) & (counts[np.maximum(codes, 0)] >= min_rows)
    raw, label, codes = raw[known], label[known], codes[known]
    w = np.ones(len(raw)) if weight is None else weight[known]
    offsets = np.zeros(n_levels)
    if not len(raw):
        return offsets
    for _ in range(_MAX_ITERATIONS):
        g, h = _derivatives(logistic, raw + offsets[codes], label)
        grad = np.bincount(codes, weights=w * g, minlength=n_levels) + l2 * offsets
        hess = np.bincount(codes, weights=w * h, minlength=n_levels) + l2
        step = np.clip(-grad / np.maximum(hess, 1e-12), -_MAX_STEP, _MAX_STEP)
        offsets += step
        if np.max(np.abs(step)) < _TOLERANCE:
            break
    return offsets


__all__ = ["fit_offsets"]
