"""Refit levels: each level's predicted total equals its actual, shrunk only where rows are few."""

from __future__ import annotations

import numpy as np
import pytest

from winback.training.levels import fit_offsets


@pytest.fixture(scope="module")
def rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores off by a level per group: group 0 by +0.3, group 1 by −0.5, group 2 not at all."""
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 3, 6000)
    truth = rng.normal(0.0, 0.7, codes.size)
    raw = truth - np.array([0.3, -0.5, 0.0])[codes]
    return raw, truth, codes


def test_log_link_levels_balance_each_groups_total(rows) -> None:
    raw, truth, codes = rows
    y = np.random.default_rng(1).poisson(np.exp(truth)).astype(float)
    offsets = fit_offsets(False, raw, y, codes, 4)
    mean = np.exp(raw + offsets[codes])
    for level in range(3):
        group = codes == level
        # The L2 penalty of 1 is negligible against ~2,000 rows a group.
        assert mean[group].sum() == pytest.approx(y[group].sum(), rel=1e-3)
    assert offsets[:3] == pytest.approx([0.3, -0.5, 0.0], abs=0.06)
    assert offsets[3] == 0.0  # no rows: the booster's own view


def test_logit_levels_balance_each_groups_count(rows) -> None:
    raw, truth, codes = rows
    y = (np.random.default_rng(2).random(codes.size) < 1 / (1 + np.exp(-truth))).astype(float)
    offsets = fit_offsets(True, raw, y, codes, 3)
    p = 1 / (1 + np.exp(-(raw + offsets[codes])))
    for level in range(3):
        group = codes == level
        assert p[group].sum() == pytest.approx(y[group].sum(), rel=1e-3)
    assert offsets == pytest.approx([0.3, -0.5, 0.0], abs=0.15)


def test_weights_count_rows_and_missing_levels_are_left_out() -> None:
    raw = np.zeros(4)
    y = np.array([1.0, 3.0, 100.0, 5.0])
    codes = np.array([0, 0, -1, 1])
    weight = np.array([3.0, 1.0, 1.0, 1.0])
    offsets = fit_offsets(False, raw, y, codes, 2, weight=weight, l2=0.0)
    # Level 0: 4 · e^c = 3·1 + 1·3 → e^c = 1.5; the row without a level changes nothing.
    assert np.exp(offsets) == pytest.approx([1.5, 5.0], rel=1e-9)


def test_a_level_with_fewer_rows_than_a_leaf_keeps_the_boosters_view() -> None:
    raw = np.zeros(2010)
    y = np.r_[np.full(2000, 2.0), np.full(10, 20.0)]
    codes = np.r_[np.zeros(2000, dtype=np.int64), np.ones(10, dtype=np.int64)]
    offsets = fit_offsets(False, raw, y, codes, 2, min_rows=50)
    assert offsets[0] == pytest.approx(np.log(2.0), abs=1e-3)
    assert offsets[1] == 0.0
    assert fit_offsets(False, raw, y, codes, 2, min_rows=10)[1] == pytest.approx(
        np.log(20.0), abs=0.03
    )
