"""Paired bootstrap intervals of a gain over a baseline, and how the verdict reads them."""

from __future__ import annotations

import numpy as np
import pytest

from winback.training.intervals import METRICS, gain_intervals
from winback.training.metrics import classification_metrics, regression_metrics
from winback.training.pipeline import verdict

AMOUNTS = ("mae", "spearman", "top_decile_share", "aggregate_error")
PROBABILITIES = ("roc_auc", "pr_auc", "brier")


def _spend(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Zero-heavy spend and an informative forecast of it, rounded so that ties occur."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.5, 2.0, n)
    actual = np.round(rng.poisson(rate) * rng.gamma(4.0, 12.0, n), 0)
    return actual, np.round(rate * 48.0, 0)


def _churn(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2.0, 3.0, n)
    return (rng.random(n) < p).astype(float), np.round(p, 2)


def test_each_resampled_figure_is_the_reported_figure() -> None:
    """The lean functions compute what training.metrics reports, ties included."""
    actual, predicted = _spend()
    reported = regression_metrics(actual, predicted)
    for name in AMOUNTS:
        assert METRICS[name](actual, predicted) == pytest.approx(reported[name], rel=1e-12)
    y, p = _churn()
    reported = classification_metrics(y, p)
    for name in PROBABILITIES:
        assert METRICS[name](y, p) == pytest.approx(reported[name], rel=1e-12)


def test_a_clearly_better_model_wins_beyond_noise_and_a_twin_ties() -> None:
    actual, good = _spend()
    rng = np.random.default_rng(1)
    worse = good * rng.lognormal(0.0, 1.0, good.size)  # the same forecast, blurred
    clear = gain_intervals(actual, good, worse, AMOUNTS[:3])
    for name, (low, high) in clear.items():
        assert 0 < low <= high, name
    reversed_ = gain_intervals(actual, worse, good, ("spearman",))
    assert reversed_["spearman"][1] < 0
    # Two forecasts equally good, each with its own noise: a tie, whichever "wins" the sample.
    twin = good * rng.lognormal(0.0, 0.2, good.size)
    other = good * rng.lognormal(0.0, 0.2, good.size)
    low, high = gain_intervals(actual, twin, other, ("top_decile_share",))["top_decile_share"]
    assert low < 0 < high
    assert gain_intervals(actual, good, good, AMOUNTS) == dict.fromkeys(AMOUNTS, (0.0, 0.0))


def test_the_aggregate_error_gain_compares_distances_from_zero() -> None:
    actual, predicted = _spend()
    over, under = predicted * 1.05, predicted * 0.8  # 5% too high against 20% too low
    low, _ = gain_intervals(actual, over, under, ("aggregate_error",))["aggregate_error"]
    assert low > 0


def test_intervals_are_seeded_and_refuse_what_they_cannot_do() -> None:
    y, p = _churn()
    q = np.clip(p + np.random.default_rng(2).normal(0, 0.1, p.size), 0, 1)
    once = gain_intervals(y, p, q, PROBABILITIES, seed=3)
    assert gain_intervals(y, p, q, PROBABILITIES, seed=3) == once
    assert gain_intervals(y, p, q, PROBABILITIES, seed=4) != once
    small = gain_intervals(y, p, q, ("roc_auc",), max_rows=500)  # subsampled: a wider interval
    assert np.ptp(small["roc_auc"]) > np.ptp(once["roc_auc"])
    with pytest.raises(ValueError, match=r"no resampling for metrics \['lift_at_5'\]"):
        gain_intervals(y, p, q, ("lift_at_5",))
    with pytest.raises(ValueError, match="one length"):
        gain_intervals(y, p, q[:-1], ("brier",))
    with pytest.raises(ValueError, match="resamples >= 2"):
        gain_intervals(y, p, q, ("brier",), resamples=1)
    # One class only: the AUC is undefined in every resample, and the interval says so.
    assert all(np.isnan(gain_intervals(np.zeros(50), p[:50], q[:50], ("roc_auc",))["roc_auc"]))


def test_the_verdict_tells_a_tie_within_noise_from_a_clear_loss() -> None:
    metrics = {
        "vs_bgnbd.active.roc_auc": 0.02,
        "vs_bgnbd.active.roc_auc.ci_low": 0.01,
        "vs_bgnbd.active.roc_auc.ci_high": 0.03,
        "vs_bgnbd.spend.mae": 3.0,
        "vs_bgnbd.spend.mae.ci_low": -1.0,
        "vs_bgnbd.spend.mae.ci_high": 6.0,
        "vs_bgnbd.spend.top_decile_share": -0.004,
        "vs_bgnbd.spend.top_decile_share.ci_low": -0.02,
        "vs_bgnbd.spend.top_decile_share.ci_high": 0.015,
        "vs_bgnbd.spend.spearman": -0.05,
        "vs_bgnbd.spend.spearman.ci_low": -0.08,
        "vs_bgnbd.spend.spearman.ci_high": -0.02,
    }
    (line,) = verdict(metrics)
    assert line.startswith("vs bgnbd: better on 2 of 4 headline figures (1 beyond the test")
    assert (
        "spend top_decile_share by 0.004 (95% interval of the gain -0.02 to +0.015: a tie" in line
    )
    assert "spend spearman by 0.05 (95% interval of the gain -0.08 to -0.02: a clear loss)" in line
    # Without intervals (an older run's metrics) the verdict reads as before.
    plain = {k: v for k, v in metrics.items() if not k.endswith(("ci_low", "ci_high"))}
    assert verdict(plain) == [
        "vs bgnbd: better on 2 of 4 headline figures; worse on spend spearman by 0.05, "
        "spend top_decile_share by 0.004"
    ]
