"""Per-row reasons, global importance and plots from the models' SHAP values."""

# scikit-learn names the feature matrix X.
# ruff: noqa: N803, N806

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from winback.features import (
    FeatureSettings,
    LabelSettings,
    SnapshotSettings,
    build_snapshots,
    describe_features,
    load_dataset,
)
from winback.synthetic import SyntheticWorld
from winback.training.explain import (
    IMPORTANCE_COLUMNS,
    REASON_COLUMNS,
    Direction,
    global_importance,
    importance_plot,
    shap_summary_plot,
    top_contributions,
)
from winback.training.models import ChurnModel

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL: dict[str, Any] = {
    "n_estimators": 40,
    "num_leaves": 7,
    "min_child_samples": 20,
    "early_stopping_rounds": None,
    "n_jobs": 1,
}


def _driven_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """``driver`` above 0.7 means churn (5% of labels flipped); the other columns are noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "driver": rng.uniform(0.0, 1.0, n),
            "noise_a": rng.normal(0.0, 1.0, n),
            "noise_b": rng.normal(0.0, 1.0, n),
            "city": pd.Series(rng.choice(["north", "south", "west"], n), dtype="str"),
        }
    )
    y = (X["driver"].to_numpy() > 0.7).astype(float)
    flip = rng.uniform(size=n) < 0.05
    return X, np.where(flip, 1.0 - y, y)


@pytest.fixture(scope="module")
def driven() -> tuple[ChurnModel, pd.DataFrame]:
    X, y = _driven_frame(2000, seed=3)
    return ChurnModel(**SMALL).fit(X, y), X.head(400)


@pytest.fixture(scope="module")
def single() -> tuple[ChurnModel, pd.DataFrame]:
    """Only ``driver`` varies, so every other contribution is exactly zero."""
    X, y = _driven_frame(1000, seed=4)
    X = X[["driver"]].assign(flat_a=1.0, flat_b=0.0)
    return ChurnModel(**SMALL).fit(X, y), X.head(300)


class _Fixed:
    """A stand-in model whose SHAP values are given: ties and zeros exactly where wanted."""

    def __init__(self, values: pd.DataFrame) -> None:
        self.values = values

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.values.loc[X.index]


def _naive_top(values: pd.DataFrame, k: int, direction: str) -> list[tuple[int, int, str, float]]:
    """The slow oracle: one row at a time, sorted by strength, then name."""
    out = []
    for position, (_, row) in enumerate(values.drop(columns="bias").iterrows()):
        items = [(str(name), float(c)) for name, c in row.items()]
        if direction == "increase":
            kept = sorted(((-c, n, c) for n, c in items if c > 0))
        elif direction == "decrease":
            kept = sorted(((c, n, c) for n, c in items if c < 0))
        else:
            kept = sorted(((-abs(c), n, c) for n, c in items if c != 0))
        out += [(position, rank, n, c) for rank, (_, n, c) in enumerate(kept[:k], start=1)]
    return out


# --- per-row reasons ----------------------------------------------------------------------------


def test_contributions_and_bias_sum_to_the_raw_score(driven) -> None:
    model, X = driven
    contributions = model.contributions(X)
    assert list(contributions.columns) == [*X.columns, "bias"]
    np.testing.assert_allclose(contributions.sum(axis=1), model.raw_score(X), atol=1e-9)


def test_the_driver_is_the_first_reason_for_rows_it_pushes_towards_churn(driven) -> None:
    model, X = driven
    reasons = top_contributions(model, X, k=3)
    assert list(reasons.columns) == list(REASON_COLUMNS)
    first = reasons[reasons["rank"] == 1].set_index("row")
    high = np.flatnonzero(X["driver"].to_numpy() > 0.8)
    assert len(high) > 30
    assert (first.loc[high, "feature"] == "driver").all()
    low = np.flatnonzero(X["driver"].to_numpy() < 0.5)
    lowest = top_contributions(model, X, k=1, direction="decrease").set_index("row")
    assert (lowest.loc[low, "feature"] == "driver").all()


def test_k_and_direction_are_respected_and_values_come_from_x(driven) -> None:
    model, X = driven
    contributions = model.contributions(X)
    signs: tuple[tuple[Direction, int], ...] = (("increase", 1), ("decrease", -1), ("abs", 0))
    for direction, sign in signs:
        for k in (1, 2, 5):
            reasons = top_contributions(model, X, k, direction=direction)
            assert reasons["rank"].between(1, min(k, X.shape[1])).all()
            # Ranks run 1, 2, ... within each row, rows in order.
            expected_rank = reasons.groupby("row").cumcount() + 1
            assert (reasons["rank"] == expected_rank).all()
            assert reasons["row"].is_monotonic_increasing
            c = reasons["contribution"]
            if sign:
                assert (np.sign(c) == sign).all()
            strength = c.abs() if sign == 0 else c * sign
            assert (strength.groupby(reasons["row"]).diff().dropna() <= 0).all()
            for row, feature, value, contribution in reasons[
                ["row", "feature", "value", "contribution"]
            ].itertuples(index=False):
                assert value == X[feature].iloc[row]
                assert contribution == contributions[feature].iloc[row]


def test_reasons_match_the_row_by_row_oracle_with_ties_and_zeros() -> None:
    rng = np.random.default_rng(7)
    # Coarse values so ties and zeros are common; names deliberately out of order.
    values = pd.DataFrame(
        rng.integers(-3, 4, size=(60, 6)).astype(float),
        columns=["zeta", "alpha", "mid", "beta", "omega", "gamma"],
        index=pd.Index(rng.permutation(1000)[:60]),  # any index: rows are positions
    ).assign(bias=-1.0)
    X = pd.DataFrame(0.0, index=values.index, columns=values.columns[:-1])
    directions: tuple[Direction, ...] = ("increase", "decrease", "abs")
    for direction in directions:
        for k in (1, 3, 10):
            fast = top_contributions(_Fixed(values), X, k, direction=direction, chunk_size=7)
            rows = fast[["row", "rank", "feature", "contribution"]].itertuples(index=False)
            assert [tuple(r) for r in rows] == _naive_top(values, k, direction)


def test_equal_contributions_rank_by_feature_name() -> None:
    values = pd.DataFrame({"b": [0.5], "c": [0.5], "a": [0.5], "d": [0.1], "bias": [0.0]})
    X = pd.DataFrame({"b": [1], "c": [2], "a": [3], "d": [4]})
    reasons = top_contributions(_Fixed(values), X, k=3)
    assert reasons["feature"].tolist() == ["a", "b", "c"]
    assert reasons["value"].tolist() == [3, 1, 2]


def test_fewer_than_k_reasons_give_fewer_rows(single) -> None:
    model, X = single
    contributions = model.contributions(X)
    assert (contributions[["flat_a", "flat_b"]] == 0).all().all()
    reasons = top_contributions(model, X, k=3)
    assert set(reasons["feature"]) == {"driver"}
    assert reasons["rank"].eq(1).all()
    pushed = np.flatnonzero(contributions["driver"].to_numpy() > 0)
    assert 0 < len(pushed) < len(X)
    assert reasons["row"].tolist() == pushed.tolist()


def test_reasons_are_deterministic_and_independent_of_chunk_size(driven) -> None:
    model, X = driven
    once = top_contributions(model, X, k=3, direction="abs")
    pd.testing.assert_frame_equal(top_contributions(model, X, k=3, direction="abs"), once)
    pd.testing.assert_frame_equal(
        top_contributions(model, X, k=3, direction="abs", chunk_size=37), once
    )


def test_no_rows_give_no_reasons(driven) -> None:
    model, X = driven
    reasons = top_contributions(model, X.head(0))
    assert list(reasons.columns) == list(REASON_COLUMNS)
    assert len(reasons) == 0
    assert reasons["contribution"].dtype == "float64"


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "3", None])
def test_a_bad_k_is_refused(driven, k: object) -> None:
    model, X = driven
    with pytest.raises(ValueError, match="k must be a positive integer"):
        top_contributions(model, X, k)  # type: ignore[arg-type]


def test_a_bad_direction_or_chunk_size_is_refused(driven) -> None:
    model, X = driven
    with pytest.raises(ValueError, match="direction must be one of"):
        top_contributions(model, X, direction="up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        top_contributions(model, X, chunk_size=0)


def test_contributions_without_bias_are_refused() -> None:
    values = pd.DataFrame({"a": [1.0]})
    with pytest.raises(ValueError, match="no 'bias' column"):
        top_contributions(_Fixed(values), pd.DataFrame({"a": [1.0]}))


def test_reasons_on_real_features_name_dictionary_entries(small_world: SyntheticWorld) -> None:
    tables = ("transactions", "events", "customers", "campaigns")
    with warnings.catch_warnings():
        # Third-party noise, as in test_models: pyarrow reads Series.values on tz-aware columns.
        warnings.filterwarnings(
            "ignore", message="Series.values returning an ndarray that drops timezone"
        )
        dataset = load_dataset(frames={t: getattr(small_world, t) for t in tables})
    snaps = build_snapshots(
        dataset,
        labels=LabelSettings(horizon_days=90),
        snapshots=SnapshotSettings(min_history_days=120),
    )
    frame = snaps.frame[snaps.frame["churned"].notna()].head(3000)
    X = frame[snaps.plan.columns]
    model = ChurnModel(**{**SMALL, "n_estimators": 20}).fit(X, frame["churned"])
    reasons = top_contributions(model, X.head(200), k=3)
    dictionary = describe_features(FeatureSettings(), snaps.plan)
    assert set(reasons["feature"]) <= set(dictionary["name"])
    assert reasons["row"].nunique() > 100


# --- global importance --------------------------------------------------------------------------


def test_global_importance_puts_the_driver_first_and_shares_sum_to_one(driven) -> None:
    model, X = driven
    importance = global_importance(model, X)
    assert list(importance.columns) == list(IMPORTANCE_COLUMNS)
    assert importance["feature"].iloc[0] == "driver"
    assert importance["share"].sum() == pytest.approx(1.0)
    assert importance["mean_abs_contribution"].is_monotonic_decreasing
    direct = model.contributions(X).drop(columns="bias").abs().mean()
    np.testing.assert_allclose(
        importance.set_index("feature")["mean_abs_contribution"], direct[importance["feature"]]
    )
    pd.testing.assert_frame_equal(global_importance(model, X, chunk_size=33), importance)


def test_global_importance_breaks_ties_by_name_and_refuses_no_rows(driven) -> None:
    values = pd.DataFrame({"b": [1.0, -1.0], "a": [-1.0, 1.0], "c": [0.0, 0.0], "bias": 0.0})
    importance = global_importance(_Fixed(values), pd.DataFrame(index=values.index))
    assert importance["feature"].tolist() == ["a", "b", "c"]
    assert importance["share"].tolist() == [0.5, 0.5, 0.0]
    model, X = driven
    with pytest.raises(ValueError, match="X has no rows"):
        global_importance(model, X.head(0))


# --- plots --------------------------------------------------------------------------------------


def test_summary_plot_writes_the_same_png_each_time(driven, tmp_path: Path) -> None:
    model, X = driven
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = shap_summary_plot(model, X, tmp_path / "plots" / "summary.png", max_rows=300)
        second = shap_summary_plot(model, X, tmp_path / "again.png", max_rows=300)
    assert first == tmp_path / "plots" / "summary.png"
    data = first.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000
    assert second.read_bytes() == data


def test_summary_plot_refuses_nothing_to_plot(driven, tmp_path: Path) -> None:
    model, X = driven
    with pytest.raises(ValueError, match="no rows"):
        shap_summary_plot(model, X.head(0), tmp_path / "empty.png")
    with pytest.raises(ValueError, match="max_features must be a positive integer"):
        shap_summary_plot(model, X, tmp_path / "none.png", max_features=0)
    assert not (tmp_path / "empty.png").exists()


def test_importance_plot_writes_a_png(driven, tmp_path: Path) -> None:
    model, X = driven
    importance = global_importance(model, X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = importance_plot(importance, tmp_path / "importance.png", max_features=3)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 5_000
    assert importance_plot(importance, tmp_path / "again.png", max_features=3).read_bytes() == data


def test_importance_plot_refuses_a_frame_that_is_not_importance(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"lacks columns \['mean_abs_contribution', 'share'\]"):
        importance_plot(pd.DataFrame({"feature": ["a"]}), tmp_path / "bad.png")
    empty = pd.DataFrame({c: [] for c in IMPORTANCE_COLUMNS})
    with pytest.raises(ValueError, match="no rows"):
        importance_plot(empty, tmp_path / "bad.png")
