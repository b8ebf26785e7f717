"""Value per period and CLV: learned where the history allows, extrapolated (said so) elsewhere."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from winback.features import LabelSettings, SnapshotSettings, build_snapshots, load_dataset
from winback.synthetic import simulate
from winback.training.bundle import ModelBundle
from winback.training.metrics import regression_metrics
from winback.training.periods import BTYD_DECAY, DIRECT, RETENTION_DECAY, value_columns
from winback.training.pipeline import TrainingSettings, train_models

TABLES = ("transactions", "events", "customers", "campaigns")
FAST = TrainingSettings(n_estimators=300, learning_rate=0.1, n_jobs=1, bgnbd_baseline=False)
SNAPSHOTS = SnapshotSettings(min_history_days=120)
AS_OF = "2024-05-01"


@pytest.fixture(scope="module")
def dataset(small_world):
    return load_dataset(frames={t: getattr(small_world, t) for t in TABLES})


@pytest.fixture(scope="module")
def short_history(dataset):
    """Trained as if today were 2024-05-01: 16 months of data, too short to learn periods 2-3."""
    labels = LabelSettings(horizon_days=90, periods=3)
    snaps = build_snapshots(dataset, labels=labels, snapshots=SNAPSHOTS, as_of=AS_OF)
    return train_models(snaps, dataset, labels, FAST)


@pytest.fixture(scope="module")
def realised(dataset):
    """The same cutoff built from all the data: its later periods are observed by now."""
    labels = LabelSettings(horizon_days=90, periods=3)
    full = build_snapshots(dataset, labels=labels, snapshots=SNAPSHOTS)
    rows = full.frame[pd.to_datetime(full.frame["as_of"]) == pd.Timestamp(AS_OF)]
    return rows.reset_index(drop=True)


def test_short_history_learns_the_first_period_and_extrapolates_the_rest(short_history) -> None:
    periods = short_history.bundle.periods
    assert periods.methods == {1: DIRECT, 2: BTYD_DECAY, 3: BTYD_DECAY}
    assert short_history.choices["period_2.method"] == BTYD_DECAY
    # Only the learned period has held-out figures; the extrapolated ones claim none.
    assert "test.ours.period_1.mae" in short_history.metrics
    assert not any(k.startswith("test.ours.period_2") for k in short_history.metrics)


def test_clv_is_the_discounted_sum_of_the_period_values(short_history, realised) -> None:
    predicted = short_history.bundle.predict(realised)
    values = predicted[value_columns(3)].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    years = np.array([90, 180, 270]) / 365
    expected = values @ (1 + FAST.discount_rate) ** -years
    np.testing.assert_allclose(predicted["clv"], expected, rtol=1e-12)
    # BG/NBD decay never lets a later period outgrow the one before it.
    assert (np.diff(values, axis=1) <= 1e-9).all()


def test_extrapolated_period_tracks_the_margin_realised_later(short_history, realised) -> None:
    """Backtest: period 2 of 2024-05-01 (Jul 30 - Oct 28) was unknown at training time."""
    actual = realised["margin_period_2"]
    assert actual.notna().all()
    predicted = short_history.bundle.predict(realised)["value_period_2"]
    figures = regression_metrics(actual, predicted)
    assert abs(figures["aggregate_error"]) < 0.25
    assert figures["spearman"] > 0.45


def test_without_bgnbd_the_extrapolation_compounds_the_chance_of_staying_active(dataset) -> None:
    labels = LabelSettings(horizon_days=90, periods=2)
    snaps = build_snapshots(dataset, labels=labels, snapshots=SNAPSHOTS, as_of=AS_OF)
    result = train_models(snaps, dataset, labels, FAST.model_copy(update={"btyd_features": False}))
    assert result.bundle.btyd is None
    assert result.bundle.periods.methods == {1: DIRECT, 2: RETENTION_DECAY}
    rows = snaps.frame.tail(200)
    predicted = result.bundle.predict(rows)
    np.testing.assert_allclose(
        predicted["value_period_2"],
        predicted["value_period_1"] * (1 - predicted["churn_probability"]),
    )


def test_a_long_enough_history_learns_every_period_directly(tmp_path) -> None:
    """Monthly horizons over two years leave room to learn three periods, each judged on its own.

    A world of 1,000 customers and no BG/NBD inputs keep this fast; bench/bench_signal.py makes
    the same claims on 3,000 customers with BG/NBD inputs, over several seeds.
    """
    world = simulate(1000, datetime(2023, 1, 1), datetime(2025, 1, 1), seed=11)
    dataset = load_dataset(frames={t: getattr(world, t) for t in TABLES})
    labels = LabelSettings(horizon_days=30, periods=3)
    snaps = build_snapshots(dataset, labels=labels, snapshots=SNAPSHOTS)
    settings = FAST.model_copy(
        update={"n_estimators": 100, "btyd_features": False, "spend_objective": "tweedie"}
    )
    result = train_models(snaps, dataset, labels, settings)
    periods = result.bundle.periods
    assert periods.methods == {1: DIRECT, 2: DIRECT, 3: DIRECT}
    # Each period's test cutoff is the latest whose window is observed, and its train labels
    # close before its validation starts.
    split3 = periods.splits[3]
    assert split3.label_days == 90
    assert split3.train[-1] + pd.Timedelta(days=90) <= split3.validation[0]
    # Measured on seeds 11, 1 and 2: 0.61 to 0.66 for every period.
    for k in (1, 2, 3):
        assert result.metrics[f"test.ours.period_{k}.spearman"] > 0.3
    # The bundle keeps every period model across save and load.
    loaded = ModelBundle.load(result.bundle.save(tmp_path / "bundle"))
    rows = snaps.frame.tail(100)
    pd.testing.assert_frame_equal(loaded.predict(rows), result.bundle.predict(rows))
