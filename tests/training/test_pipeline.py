"""The training pipeline on the small synthetic world: honest splits, real models, baselines."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FAST, LABELS, SNAPSHOTS, TABLES, Trained
from winback.features import Dataset, Snapshots, build_snapshots, load_dataset
from winback.training.bundle import ModelBundle
from winback.training.pipeline import (
    CALENDAR_INPUTS,
    HEADLINE,
    SPEND_OBJECTIVES,
    TrainingSettings,
    TrainResult,
    _params,
    train_models,
)


@pytest.fixture(scope="module")
def world(small_trained: Trained) -> tuple[Dataset, Snapshots]:
    return small_trained.dataset, small_trained.snapshots


@pytest.fixture(scope="module")
def result(small_trained: Trained) -> TrainResult:
    return small_trained.result


def test_splits_keep_label_windows_apart(result) -> None:
    span = timedelta(days=LABELS.horizon_days)
    assert max(result.split.train) + span <= min(result.split.validation)
    assert max(result.split.validation) + span <= min(result.split.test)
    assert set(result.test_predictions["as_of"]) == set(pd.to_datetime(result.split.test))


def test_models_beat_the_rfm_rules_on_the_same_test_rows(result) -> None:
    m = result.metrics
    assert m["test.ours.active.roc_auc"] > 0.8
    assert m["vs_rfm.active.roc_auc"] > 0.01
    assert m["vs_rfm.spend.mae"] > 0
    assert m["test.rows_compared"] <= m["test.rows"]


def test_every_headline_gain_has_an_interval_from_the_same_test_rows(result) -> None:
    m = result.metrics
    for target, name in HEADLINE:
        gain = m[f"vs_rfm.{target}.{name}"]
        low, high = m[f"vs_rfm.{target}.{name}.ci_low"], m[f"vs_rfm.{target}.{name}.ci_high"]
        assert low <= high
        assert low <= gain <= high
    assert m["vs_rfm.active.roc_auc.ci_low"] > 0  # the churn model wins beyond noise here


def test_the_spend_objective_is_the_best_of_all_three_on_validation(result) -> None:
    choices = result.choices
    deviance = {name: choices[f"valid.spend.{name}.tweedie_deviance"] for name in SPEND_OBJECTIVES}
    assert choices["spend_objective"] == min(deviance, key=deviance.__getitem__)
    assert result.bundle.spend.objective == choices["spend_objective"]
    for name in SPEND_OBJECTIVES:
        assert np.isfinite(choices[f"valid.spend.{name}.mae"])
        assert abs(choices[f"valid.spend.{name}.aggregate_error"]) < 0.5


def test_every_model_learns_the_calendar_month_as_a_level_only(result) -> None:
    bundle = result.bundle
    models = [bundle.churn, bundle.orders, bundle.spend, *bundle.periods.models.values()]
    if bundle.decline is not None:
        models.append(bundle.decline)
    for model in models:
        assert model.additive_features == CALENDAR_INPUTS
        assert model.level_features == CALENDAR_INPUTS


def test_each_training_months_total_is_right_and_the_run_says_which_months(result, world) -> None:
    """The month's level is refit on the training rows: each month's orders total balances."""
    _, snaps = world
    frame = snaps.frame
    train = frame[frame["as_of"].isin(pd.to_datetime(result.split.train))]
    train = train[train["orders_next"].notna()]
    predicted = result.bundle.predict(train)["expected_orders"].to_numpy()
    months = train["as_of_month"]
    ratio = (
        pd.Series(predicted, index=train.index).groupby(months).sum()
        / train.groupby(months)["orders_next"].sum()
    )
    np.testing.assert_allclose(ratio, 1.0, atol=0.01)
    seen = sorted({int(m) for m in months})
    text = result.choices["month_levels"]
    assert text.startswith("refit on the training rows for months " + ", ".join(map(str, seen)))
    unseen = [m for m in range(1, 13) if m not in seen]
    assert (", ".join(map(str, unseen)) in text) == bool(unseen)


def test_month_levels_can_be_left_to_the_trees() -> None:
    columns = ["orders_lifetime", *CALENDAR_INPUTS]
    params = _params(TrainingSettings(month_levels=False), columns)
    assert params["additive_features"] == CALENDAR_INPUTS
    assert params["level_features"] == ()
    assert _params(TrainingSettings(), columns)["level_features"] == CALENDAR_INPUTS


def test_calibration_is_chosen_on_validation_and_probabilities_are_usable(result) -> None:
    assert result.calibration_method in ("isotonic", "platt", "none")
    assert result.metrics["test.ours.churn.ece"] < 0.1
    p = result.test_predictions["churn_probability"]
    assert p.between(0, 1).all()


def test_bundle_round_trip_predicts_identically(result, world, tmp_path: Path) -> None:
    _, snaps = world
    rows = snaps.frame.head(200)
    before = result.bundle.predict(rows)
    loaded = ModelBundle.load(result.bundle.save(tmp_path / "bundle"))
    pd.testing.assert_frame_equal(loaded.predict(rows), before)
    assert loaded.feature_columns == snaps.plan.columns
    example = loaded.input_example()
    assert list(example.columns) == loaded.feature_columns
    assert np.isfinite(loaded.predict(example)["expected_spend"]).all()


def test_training_is_deterministic_for_a_seed(world, result) -> None:
    dataset, snaps = world
    again = train_models(snaps, dataset, LABELS, FAST)
    pd.testing.assert_frame_equal(again.test_predictions, result.test_predictions)


def test_a_signal_planted_after_the_training_as_of_cannot_be_used(small_world) -> None:
    """Customers who will churn get a loud event only after as_of: the model must not see it."""
    as_of = pd.Timestamp("2024-07-01", tz="UTC")
    truth = small_world.ground_truth
    leavers = truth.loc[truth["dropout_date"] >= as_of, "customer_id"]
    planted = pd.DataFrame(
        {
            "customer_id": leavers,
            "timestamp": as_of + pd.Timedelta(days=1),
            "event_type": "planted_future_signal",
        }
    )
    frames = {t: getattr(small_world, t) for t in TABLES}
    clean = build_snapshots(
        load_dataset(frames=frames), labels=LABELS,
        snapshots=SNAPSHOTS, as_of=as_of,
    )  # fmt: skip
    frames["events"] = pd.concat([frames["events"], planted], ignore_index=True)
    dataset = load_dataset(frames=frames)
    snaps = build_snapshots(dataset, labels=LABELS, snapshots=SNAPSHOTS, as_of=as_of)
    assert not any("planted" in c for c in snaps.plan.columns)
    assert snaps.frame["as_of"].max() + timedelta(days=LABELS.horizon_days) <= as_of.tz_localize(
        None
    )
    # Training data (features and labels) is exactly what it was without the planted events.
    pd.testing.assert_frame_equal(snaps.frame, clean.frame)
    result = train_models(snaps, dataset, LABELS, FAST)
    assert result.split.test[-1] < as_of.tz_localize(None)


def test_each_population_has_its_own_model_figures_and_baselines(result, world) -> None:
    m, bundle = result.metrics, result.bundle
    assert bundle.winback_churn is not None and bundle.populations is not None
    test = result.test_predictions
    counts = test["population"].value_counts()
    for population in ("retention", "winback"):
        assert m[f"{population}.test.rows"] == counts[population]
        # Ours and the RFM rules on the same rows of that population.
        assert 0.5 < m[f"{population}.test.ours.active.roc_auc"] <= 1
        assert np.isfinite(m[f"{population}.test.rfm.active.roc_auc"])
        assert f"{population}.vs_rfm.active.roc_auc.ci_low" in m
    # Lapsed customers mostly stay away, active ones mostly order again: two different questions.
    churn = test.groupby("population")["churned"].mean()
    assert churn["winback"] > 0.6 > churn["retention"]
    # Every row is scored by its population's model: one column ranks everyone.
    _, snaps = world
    rows = snaps.frame.sample(n=500, random_state=1)
    x = bundle.model_inputs(rows)
    lapsed = bundle.population(rows) == "winback"
    p = bundle.predict(rows)["churn_probability"].to_numpy()
    expected = bundle.winback_churn.predict_proba(x[lapsed])
    if bundle.winback_calibrator is not None:
        expected = bundle.winback_calibrator.predict(expected)
    np.testing.assert_allclose(p[lapsed], expected)
    assert not np.allclose(p[lapsed], bundle.churn.predict_proba(x[lapsed]))
    contributions = bundle.churn_by_population.contributions(x)
    np.testing.assert_allclose(
        contributions[lapsed].sum(axis=1), bundle.winback_churn.raw_score(x[lapsed])
    )
