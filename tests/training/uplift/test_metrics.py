"""Qini, AUUC and targeting against the truth, on small constructed experiments."""

from __future__ import annotations

import numpy as np
import pytest

from winback.training.uplift.metrics import (
    auuc,
    qini_coefficient,
    qini_curve,
    qini_lower_bound,
    targeting_comparison,
)


def _experiment(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A randomised offer that helps exactly the customers with a high ``effect``."""
    rng = np.random.default_rng(seed)
    effect = rng.uniform(0, 1, n)
    treated = rng.random(n) < 0.5
    stayed = (rng.random(n) < 0.3 + 0.4 * treated * (effect > 0.7)).astype(float)
    return stayed, treated, effect


def test_qini_rewards_the_right_order_and_punishes_the_reverse() -> None:
    stayed, treated, effect = _experiment()
    # Measured: 0.0185 and its negative; a random order scores about 0.
    assert qini_coefficient(stayed, treated, effect) > 0.01
    assert qini_coefficient(stayed, treated, -effect) < -0.01
    curve = qini_curve(stayed, treated, effect)
    assert curve["share"].iloc[[0, -1]].tolist() == [0.0, 1.0]
    assert curve["qini"].iloc[-1] == pytest.approx(curve["random"].iloc[-1])
    model, random = auuc(stayed, treated, effect)
    assert model > random + 0.01


def test_the_qini_lower_bound_clears_zero_for_a_real_effect_only() -> None:
    """The gate's statistic: a real effect clears zero, the same outcomes shuffled do not."""
    stayed, treated, effect = _experiment()
    # Measured: 0.0148 and -0.0085.
    assert qini_lower_bound(1 - stayed, treated, effect) > 0.005
    shuffled = np.random.default_rng(1).permutation(treated)
    assert qini_lower_bound(1 - stayed, shuffled, effect) < 0


def test_a_constant_score_is_exactly_random_whatever_the_row_order() -> None:
    stayed, treated, _ = _experiment()
    order = np.argsort(stayed)  # rows sorted by outcome must not flatter a tie
    flat = np.zeros_like(stayed)
    assert qini_coefficient(stayed[order], treated[order], flat) == pytest.approx(0, abs=1e-12)
    model, random = auuc(stayed[order], treated[order], flat)
    assert model == pytest.approx(random)


def test_targeting_comparison_counts_true_value_of_the_top_customers() -> None:
    true_uplift = np.array([0.5, -0.2, 0.1, 0.0])
    value = np.array([10.0, 100.0, 10.0, 50.0])
    table = targeting_comparison(true_uplift, value, {"risk": np.array([0, 9, 1, 2])}, 2)
    table = table.set_index("rule")
    assert table.loc["oracle", "captured"] == pytest.approx(5 + 1)
    assert table.loc["risk", "captured"] == pytest.approx(-20 + 0)
    assert table.loc["risk", "harmed"] == 1
    assert table.loc["random", "captured"] == pytest.approx((5 - 20 + 1 + 0) / 2)
    assert table.index[0] == "oracle"
    with pytest.raises(ValueError, match="budget_contacts"):
        targeting_comparison(true_uplift, value, {}, 5)
    with pytest.raises(ValueError, match="'risk' has 3 values"):
        targeting_comparison(true_uplift, value, {"risk": np.zeros(3)}, 2)
