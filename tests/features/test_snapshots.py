"""Snapshots: a calendar of cutoffs whose label windows close before the end of the data."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from winback.features import (
    FeatureSettings,
    LabelSettings,
    SnapshotSettings,
    build_snapshots,
    load_dataset,
    snapshot_calendar,
)
from winback.features.snapshots import NotEnoughHistoryError

LABELS = LabelSettings(horizon_days=60, periods=3)
AUTO = SnapshotSettings()


@pytest.fixture(scope="module")
def dataset(small_world):
    return load_dataset(
        frames={"transactions": small_world.transactions, "events": small_world.events}
    )


def test_calendar_starts_after_history_and_ends_one_horizon_before_the_end() -> None:
    cutoffs = snapshot_calendar(
        datetime(2023, 1, 10), datetime(2024, 1, 1), LABELS, SnapshotSettings(min_history_days=90)
    )
    assert cutoffs[0] == datetime(2023, 5, 1)  # first month start after 2023-04-10
    assert cutoffs[-1] == datetime(2023, 11, 1)  # 2023-11-01 + 60 days <= 2024-01-01
    assert all(c.day == 1 for c in cutoffs)


def test_auto_min_history_shortens_to_leave_two_horizons_on_a_short_history() -> None:
    quarter = LabelSettings(horizon_days=91, periods=3)
    # One cohort's 39 weeks (CDNOW's calibration): cutoffs from 13 weeks in, not a refusal.
    cutoffs = snapshot_calendar(datetime(1997, 1, 1), datetime(1997, 10, 1), quarter, AUTO)
    assert cutoffs == [datetime(1997, 5, 1), datetime(1997, 6, 1), datetime(1997, 7, 1)]
    # Two years keep the full 180 days; a number is taken as given.
    two_years = snapshot_calendar(datetime(2023, 1, 1), datetime(2025, 1, 1), quarter, AUTO)
    assert two_years[0] == datetime(2023, 7, 1)
    fixed = SnapshotSettings(min_history_days=180)
    one = snapshot_calendar(datetime(1997, 1, 1), datetime(1997, 10, 1), quarter, fixed)
    assert one == [datetime(1997, 7, 1)]


def test_calendar_refuses_data_too_short_for_one_snapshot() -> None:
    with pytest.raises(NotEnoughHistoryError, match="too short"):
        snapshot_calendar(datetime(2024, 1, 1), datetime(2024, 3, 1), LABELS, SnapshotSettings())


def test_backtest_as_of_keeps_only_label_windows_closed_before_it(dataset) -> None:
    as_of = datetime(2024, 6, 1)
    snaps = build_snapshots(
        dataset,
        features=FeatureSettings(windows_days=(30, 90)),
        labels=LABELS,
        snapshots=SnapshotSettings(min_history_days=120),
        as_of=as_of,
    )
    assert snaps.observed_until == as_of
    assert max(snaps.cutoffs) + timedelta(days=LABELS.horizon_days) <= as_of
    frame = snaps.frame
    assert not frame.duplicated(["customer_id", "as_of"]).any()
    # The first period is always observed; periods that end after as_of are empty, never 0.
    assert frame["spend_period_1"].notna().all()
    last = frame[frame["as_of"] == max(snaps.cutoffs)]
    assert last["spend_period_2"].isna().all()
    early = frame[frame["as_of"] == min(snaps.cutoffs)]
    assert early["spend_period_3"].notna().all()
    assert {"churned", "declined", "orders_next"} <= set(snaps.label_columns)


def test_backtest_ignores_everything_at_or_after_as_of(dataset, small_world) -> None:
    as_of = datetime(2024, 6, 1)
    settings = {
        "features": FeatureSettings(windows_days=(30, 90)),
        "labels": LABELS,
        "snapshots": SnapshotSettings(min_history_days=120),
        "as_of": as_of,
    }
    full = build_snapshots(dataset, **settings).frame
    tx, ev = small_world.transactions, small_world.events
    cut = pd.Timestamp(as_of, tz="UTC")
    trimmed = load_dataset(
        frames={"transactions": tx[tx["timestamp"] < cut], "events": ev[ev["timestamp"] < cut]}
    )
    pd.testing.assert_frame_equal(build_snapshots(trimmed, **settings).frame, full)
