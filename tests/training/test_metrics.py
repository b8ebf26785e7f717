"""Evaluation metrics: hand-computed cases, library agreement, limits and invariants."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from winback.training.metrics import (
    DESCRIPTIVE,
    HIGHER_IS_BETTER,
    classification_metrics,
    compare,
    decile_table,
    gains_curve,
    regression_metrics,
    reliability_table,
)

RNG_SEED = 20240611


def _binary(n: int = 2000, seed: int = RNG_SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    y = (rng.random(n) < p).astype(float)
    return y, p


def _spend(n: int = 2000, seed: int = RNG_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Zero-heavy actual spend and a noisy continuous prediction of it."""
    rng = np.random.default_rng(seed)
    actual = rng.gamma(0.5, 80.0, n) * (rng.random(n) < 0.3)
    return actual, actual + rng.normal(0.0, 30.0, n) + 20.0


# --- classification -----------------------------------------------------------------------


def test_classification_hand_computed() -> None:
    y, p = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    m = classification_metrics(y, p, n_bins=2)
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["pr_auc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert m["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    expected_ll = -np.mean(np.log([0.9, 0.6, 0.35, 0.8]))
    assert m["log_loss"] == pytest.approx(expected_ll)
    assert m["base_rate"] == 0.5
    assert m["mean_predicted"] == pytest.approx(0.4125)
    # bins {0.1, 0.35} and {0.4, 0.8}: |0.5 − 0.225| and |0.5 − 0.6|, equal weights
    assert m["ece"] == pytest.approx((0.275 + 0.1) / 2)


def test_classification_agrees_with_sklearn_on_random_data() -> None:
    y, p = _binary()
    m = classification_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert m["log_loss"] == pytest.approx(log_loss(y, p))


def test_lift_and_capture_hand_computed() -> None:
    # 20 customers, 4 positives at score ranks 1, 3, 4 and 10 (base rate 0.2).
    p = np.linspace(1.0, 0.05, 20)
    y = np.zeros(20)
    y[[0, 2, 3, 9]] = 1
    m = classification_metrics(y, p)
    assert (m["capture_at_5"], m["lift_at_5"]) == pytest.approx((0.25, 5.0))  # top 1
    assert (m["capture_at_10"], m["lift_at_10"]) == pytest.approx((0.25, 2.5))  # top 2
    assert (m["capture_at_20"], m["lift_at_20"]) == pytest.approx((0.75, 3.75))  # top 4


def test_lift_counts_a_tie_at_the_cutoff_at_its_expected_value() -> None:
    # Top 10 % of 20 = 2: the 0.9 (a negative) plus one of three tied 0.5s, one of them positive.
    p = np.array([0.9, 0.5, 0.5, 0.5] + [0.1] * 16)
    y = np.zeros(20)
    y[[2, 10]] = 1
    m = classification_metrics(y, p)
    assert m["capture_at_10"] == pytest.approx((1 / 3) / 2)
    assert m["lift_at_10"] == pytest.approx((1 / 6) / 0.1)


def test_ranking_metrics_do_not_depend_on_row_order_among_ties() -> None:
    rng = np.random.default_rng(RNG_SEED)
    p = rng.integers(0, 5, 400) / 4  # heavy ties
    y = (rng.random(400) < p).astype(float)
    perm = rng.permutation(400)
    a, b = classification_metrics(y, p), classification_metrics(y[perm], p[perm])
    assert a == pytest.approx(b)
    ra, rb = regression_metrics(y, p), regression_metrics(y[perm], p[perm])
    assert ra == pytest.approx(rb)


def test_constant_score_has_lift_one_even_on_rows_sorted_by_label() -> None:
    y = np.r_[np.ones(50), np.zeros(450)]  # positives first: a row-order tie-break would flatter
    m = classification_metrics(y, np.full(500, 0.3))
    for q in (5, 10, 20):
        assert m[f"lift_at_{q}"] == pytest.approx(1.0)
        assert m[f"capture_at_{q}"] == pytest.approx(q / 100)


def test_perfect_and_random_predictors() -> None:
    y = np.r_[np.ones(100), np.zeros(900)]
    perfect = classification_metrics(y, np.r_[np.full(100, 0.9), np.full(900, 0.1)])
    assert perfect["roc_auc"] == 1.0
    assert perfect["pr_auc"] == 1.0
    assert perfect["capture_at_10"] == pytest.approx(1.0)
    assert perfect["lift_at_10"] == pytest.approx(10.0)

    rng = np.random.default_rng(RNG_SEED)
    y_r = (rng.random(20000) < 0.2).astype(float)
    random = classification_metrics(y_r, rng.random(20000))
    assert random["roc_auc"] == pytest.approx(0.5, abs=0.02)
    assert random["lift_at_20"] == pytest.approx(1.0, abs=0.1)
    assert random["pr_auc"] == pytest.approx(y_r.mean(), abs=0.02)


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_gives_nan_aucs_without_warnings(label: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = classification_metrics(np.full(30, label), np.linspace(0.05, 0.95, 30))
    assert math.isnan(m["roc_auc"])
    assert math.isnan(m["pr_auc"])
    assert math.isfinite(m["brier"])
    assert math.isfinite(m["log_loss"])
    assert math.isfinite(m["ece"])
    assert math.isnan(m["lift_at_10"]) == (label == 0)  # no positives: no lift to speak of


@pytest.mark.parametrize(
    ("y", "p", "match"),
    [
        ([0, 1], [0.5], "equal length"),
        ([], [], "non-empty"),
        ([0, 2], [0.1, 0.2], "only 0 and 1"),
        ([0, 1], [0.1, 1.2], r"\[0, 1\]"),
        ([0, 1], [0.1, np.nan], "NaN"),
    ],
)
def test_classification_rejects_bad_input(y: list[float], p: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        classification_metrics(y, p)


# --- calibration ---------------------------------------------------------------------------


def test_reliability_table_hand_computed_and_ties_share_a_bin() -> None:
    t = reliability_table([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.8], n_bins=2)
    assert t.columns.tolist() == ["bin", "mean_predicted", "observed_rate", "count"]
    assert t["bin"].tolist() == [1, 2]
    assert t["mean_predicted"].tolist() == pytest.approx([0.2, 0.7])
    assert t["observed_rate"].tolist() == [0.0, 1.0]
    assert t["count"].tolist() == [2, 2]

    tied = reliability_table([0, 1, 0, 1], [0.2, 0.2, 0.2, 0.8], n_bins=2)
    assert tied["count"].tolist() == [3, 1]


@pytest.mark.parametrize("n_bins", [1, 5, 10, 17])
def test_ece_is_the_weighted_gap_of_the_reliability_table(n_bins: int) -> None:
    y, p = _binary(1003)
    t = reliability_table(y, p, n_bins)
    identity = float(((t["observed_rate"] - t["mean_predicted"]).abs() * t["count"]).sum())
    assert classification_metrics(y, p, n_bins)["ece"] == pytest.approx(identity / len(y))
    assert t["count"].sum() == len(y)


def test_ece_matches_a_naive_equal_count_loop() -> None:
    y, p = _binary(1000)
    order = np.argsort(p)
    gaps = [abs(y[c].mean() - p[c].mean()) * len(c) for c in np.array_split(order, 10)]
    assert classification_metrics(y, p)["ece"] == pytest.approx(sum(gaps) / 1000)


def test_ece_is_small_for_calibrated_and_large_for_shifted_predictions() -> None:
    y, p = _binary(20000)
    assert classification_metrics(y, p)["ece"] < 0.02
    assert classification_metrics(y, p * 0.5)["ece"] == pytest.approx(0.25, abs=0.02)


def test_reliability_table_rejects_zero_bins() -> None:
    with pytest.raises(ValueError, match="n_bins"):
        reliability_table([0, 1], [0.1, 0.9], n_bins=0)


# --- regression ----------------------------------------------------------------------------


def test_regression_hand_computed() -> None:
    m = regression_metrics([0, 0, 10, 30], [1, 2, 3, 4])
    assert m["mae"] == pytest.approx(9.0)
    assert m["rmse"] == pytest.approx(math.sqrt(182.5))
    assert m["aggregate_error"] == pytest.approx(-0.75)
    assert m["top_decile_share"] == pytest.approx(0.75)  # ceil(0.4) = 1 customer: the 30
    assert m["normalized_gini"] == pytest.approx(1.0)  # same order, zeros tied at the bottom
    assert (m["total_actual"], m["total_predicted"]) == (40.0, 10.0)
    assert regression_metrics([1, 2, 3, 4], [1, 3, 2, 4])["spearman"] == pytest.approx(0.8)
    assert regression_metrics([1, 2, 3], [3, 2, 1])["normalized_gini"] == pytest.approx(-1.0)


def _kaggle_gini(actual: np.ndarray, pred: np.ndarray) -> float:
    a = actual[np.argsort(-pred)]
    return float((np.cumsum(a).sum() / a.sum() - (len(a) + 1) / 2) / len(a))


def test_regression_agrees_with_libraries_on_random_data() -> None:
    y, p = _spend()
    m = regression_metrics(y, p)
    assert m["spearman"] == pytest.approx(spearmanr(y, p).statistic)
    assert m["mae"] == pytest.approx(np.mean(np.abs(y - p)))
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean((y - p) ** 2)))
    # p is continuous, so the reference's arbitrary tie order does not matter for it.
    assert m["normalized_gini"] == pytest.approx(_kaggle_gini(y, p) / _kaggle_gini(y, y))
    top = np.argsort(-p)[:200]
    assert m["top_decile_share"] == pytest.approx(y[top].sum() / y.sum())


def test_perfect_and_random_rankers_on_spend() -> None:
    y, _ = _spend(20000)
    assert regression_metrics(y, y * 2 + 1)["normalized_gini"] == pytest.approx(1.0)
    rng = np.random.default_rng(RNG_SEED)
    random = regression_metrics(y, rng.random(y.size))
    assert random["normalized_gini"] == pytest.approx(0.0, abs=0.03)
    assert random["top_decile_share"] == pytest.approx(0.1, abs=0.03)
    assert regression_metrics(y, np.full(y.size, 5.0))["normalized_gini"] == pytest.approx(0.0)


def test_zero_actuals_give_nan_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = regression_metrics(np.zeros(20), np.linspace(0, 1, 20))
        table = decile_table(np.zeros(20), np.linspace(0, 1, 20))
        gains = gains_curve(np.zeros(20), np.linspace(0, 1, 20))
    for key in ("spearman", "normalized_gini", "top_decile_share", "aggregate_error"):
        assert math.isnan(m[key]), key
    assert m["mae"] == pytest.approx(0.5)
    assert table["share_of_actual"].isna().all()
    assert gains["share_captured"].isna().all()


# --- decile table and gains ----------------------------------------------------------------


def test_decile_table_hand_computed() -> None:
    values = np.arange(20.0)
    t = decile_table(values, values)
    assert t.columns.tolist() == [
        "decile",
        "customers",
        "mean_predicted",
        "mean_actual",
        "sum_actual",
        "share_of_actual",
    ]
    assert t["decile"].tolist() == list(range(1, 11))
    assert t["customers"].tolist() == [2] * 10
    assert t.loc[0, "sum_actual"] == pytest.approx(19 + 18)
    assert t.loc[9, "mean_predicted"] == pytest.approx(0.5)
    assert t.loc[0, "share_of_actual"] == pytest.approx(37 / 190)
    assert decile_table(np.ones(25), np.arange(25.0))["customers"].tolist() == [3, 2] * 5


def test_decile_table_sums_to_totals_and_matches_top_decile_share() -> None:
    y, p = _spend(1234)
    t = decile_table(y, p)
    assert t["customers"].sum() == 1234
    assert t["sum_actual"].sum() == pytest.approx(y.sum())
    assert t["share_of_actual"].sum() == pytest.approx(1.0)
    assert (t["mean_predicted"] * t["customers"]).sum() == pytest.approx(p.sum())
    assert t["mean_predicted"].is_monotonic_decreasing
    assert t.loc[0, "share_of_actual"] == pytest.approx(
        regression_metrics(y, p)["top_decile_share"]
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=10, max_size=80),
    st.integers(1, 10),
)
def test_decile_table_adds_up_under_heavy_ties(rows: list[tuple[int, int]], n: int) -> None:
    y = np.array([r[0] for r in rows], dtype=float)
    p = np.array([r[1] for r in rows], dtype=float)
    t = decile_table(y, p, n)
    assert t["customers"].sum() == len(rows)
    assert t["sum_actual"].sum() == pytest.approx(y.sum())
    assert (t["mean_predicted"] * t["customers"]).sum() == pytest.approx(p.sum())
    assert (t["sum_actual"] >= -1e-9).all()


def test_decile_table_rejects_more_bins_than_customers() -> None:
    with pytest.raises(ValueError, match="n <= number of customers"):
        decile_table(np.ones(5), np.arange(5.0))


def test_gains_curve_shape_and_perfect_ranker() -> None:
    y = np.r_[np.ones(100), np.zeros(900)]
    g = gains_curve(y, np.r_[np.full(100, 0.9), np.linspace(0, 0.5, 900)])
    assert g.columns.tolist() == ["share_targeted", "share_captured"]
    assert len(g) == 101
    assert g["share_captured"].iloc[[0, -1]].tolist() == pytest.approx([0.0, 1.0])
    assert g["share_captured"].is_monotonic_increasing
    assert g.loc[10, "share_captured"] == pytest.approx(1.0)  # all positives in the top 10 %
    assert g.loc[5, "share_captured"] == pytest.approx(0.5)


def test_gains_curve_matches_capture_and_is_diagonal_for_a_constant_score() -> None:
    y, p = _binary(1000)
    g = gains_curve(y, p, points=11)
    assert g.loc[1, "share_captured"] == pytest.approx(
        classification_metrics(y, p)["capture_at_10"]
    )
    flat = gains_curve(y, np.zeros(1000), points=11)
    assert flat["share_captured"].tolist() == pytest.approx(flat["share_targeted"].tolist())


def test_gains_curve_rejects_too_few_points() -> None:
    with pytest.raises(ValueError, match="points"):
        gains_curve([1, 0], [0.5, 0.2], points=1)


# --- directions and comparison -------------------------------------------------------------


def test_every_reported_metric_has_a_direction_or_is_descriptive() -> None:
    y, p = _binary(200)
    keys = set(classification_metrics(y, p)) | set(regression_metrics(y, p))
    assert keys == set(HIGHER_IS_BETTER) | DESCRIPTIVE
    assert not set(HIGHER_IS_BETTER) & DESCRIPTIVE


def test_compare_signs_follow_each_metric_direction() -> None:
    ours = {"roc_auc": 0.8, "brier": 0.10, "aggregate_error": -0.05, "mae": 12.0, "base_rate": 0.2}
    base = {"roc_auc": 0.7, "brier": 0.15, "aggregate_error": 0.10, "mae": 10.0, "base_rate": 0.3}
    diff = compare(ours, base)
    assert diff == pytest.approx(
        {"roc_auc": 0.1, "brier": 0.05, "aggregate_error": 0.05, "mae": -2.0}
    )
    worse = compare(base, ours)
    assert worse == pytest.approx({k: -v for k, v in diff.items()})


def test_compare_keeps_only_shared_metrics_and_refuses_unknown_ones() -> None:
    assert compare({"roc_auc": 0.8, "ece": 0.1}, {"roc_auc": 0.6}) == pytest.approx(
        {"roc_auc": 0.2}
    )
    with pytest.raises(ValueError, match="f1"):
        compare({"f1": 0.5}, {"f1": 0.4})
