"""Short histories train with the defaults: held-out customers where time cannot hold the splits."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from tests.conftest import FAST, TABLES
from winback.features import LabelSettings, SnapshotSettings, build_snapshots, load_dataset
from winback.training.pipeline import train_models
from winback.training.splits import split_frame

#: One year of the small world (it starts 2023-01-01): the defaults' calendar and horizon.
AS_OF = pd.Timestamp("2024-01-01")
LABELS = LabelSettings()


def _one_year(small_world, *, with_later_records: bool) -> tuple:
    frames = {t: getattr(small_world, t) for t in TABLES}
    if not with_later_records:
        frames = {t: _before(f, AS_OF) for t, f in frames.items()}
    dataset = load_dataset(frames=frames)
    snaps = build_snapshots(dataset, labels=LABELS, snapshots=SnapshotSettings(), as_of=AS_OF)
    return dataset, snaps


def _before(frame: pd.DataFrame, moment: pd.Timestamp) -> pd.DataFrame:
    for column in ("timestamp", "signup_date"):
        if column in frame:
            stamps = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
            return frame[stamps < moment].reset_index(drop=True)
    return frame


@pytest.fixture(scope="module")
def trained(small_world) -> tuple:
    dataset, snaps = _one_year(small_world, with_later_records=True)
    return snaps, train_models(snaps, dataset, LABELS, FAST)


def test_one_year_trains_with_the_defaults_on_held_out_customers(trained) -> None:
    snaps, result = trained
    split = result.split
    assert split.by == "customers"
    assert result.choices["split"] == split.method()
    assert result.metrics["test.ours.active.roc_auc"] > 0.7
    train, valid, test = split_frame(snaps.frame, split)
    ids = [set(part["customer_id"]) for part in (train, valid, test)]
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]
    assert set(result.test_predictions["customer_id"]) == ids[2]
    assert set(result.test_predictions["as_of"]) == {pd.Timestamp(split.test[-1])}
    # Every label window read in training closed before as_of.
    assert max(split.train) + timedelta(days=LABELS.horizon_days) <= AS_OF


def test_records_after_as_of_change_nothing_in_a_customer_split_training(
    small_world, trained
) -> None:
    snaps, result = trained
    dataset, cut = _one_year(small_world, with_later_records=False)
    pd.testing.assert_frame_equal(cut.frame, snaps.frame)
    again = train_models(cut, dataset, LABELS, FAST)
    pd.testing.assert_frame_equal(again.test_predictions, result.test_predictions)
