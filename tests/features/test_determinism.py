"""Same input, same output: features, labels and segments are identical to the last bit.

DuckDB aggregates on several threads and adds rows up in whatever order the threads meet them.
Sums of DOUBLEs then differ in their last bits from run to run, and a tree model splits
differently on such ties, so training and scoring would not be reproducible. Money is summed as
an exact decimal, gaps between orders as whole seconds, and counts as integers, so the order of
addition cannot matter. These tests build everything twice, in fresh connections with several
threads, on data whose amounts (0.1, 19.99, ...) have no exact binary form.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from winback.features import (
    EngineSettings,
    FeatureSettings,
    LabelSettings,
    SegmentSettings,
    build_features,
    build_labels,
    build_segments,
    load_dataset,
)

TABLES = ("transactions", "events", "customers", "campaigns")
CUTOFFS = list(pd.date_range("2023-07-01", "2024-10-01", freq="MS"))
OBSERVED_UNTIL = datetime(2025, 1, 1)
#: Amounts with no exact binary form, of very different sizes: the order in which DOUBLEs of
#: these are added changes the last bits of nearly every sum of three or more.
AMOUNTS = np.array([0.1, 0.7, 19.99, 3.33, 1234.56, 99_999.99, 0.03, 12.34])


@pytest.fixture(scope="module")
def tables(small_world) -> dict[str, pd.DataFrame]:
    """The small world with awkward amounts, costs and discounts (refunds stay negative)."""
    rng = np.random.default_rng(5)
    tx = small_world.transactions.copy()
    picked = AMOUNTS[rng.integers(0, len(AMOUNTS), len(tx))]
    tx["amount"] = np.where(tx["amount"] < 0, -picked, picked)
    tx["cost"] = np.round(tx["amount"] * 0.37, 2)
    tx["discount"] = np.where(rng.random(len(tx)) < 0.3, 0.1, 0.0)
    campaigns = small_world.campaigns.copy()
    campaigns["cost"] = np.where(campaigns["treated"], 0.1, 0.0)
    return {
        "transactions": tx,
        "events": small_world.events,
        "customers": small_world.customers,
        "campaigns": campaigns,
    }


def build(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Features, labels and segments over many cutoffs, in a fresh four-thread connection."""
    dataset = load_dataset(frames=tables, engine=EngineSettings(threads=4))
    try:
        features = build_features(dataset, CUTOFFS, FeatureSettings())
        labels = build_labels(
            dataset, features[["customer_id", "as_of"]], LabelSettings(), OBSERVED_UNTIL
        )
        segments = build_segments(dataset, features, SegmentSettings())
    finally:
        dataset.con.close()
    return {"features": features, "labels": labels, "segments": segments}


def test_features_labels_and_segments_are_identical_run_to_run(tables) -> None:
    first = build(tables)
    assert len(first["features"]) > 20_000
    # Thread scheduling differs from run to run; one identical rerun could be luck.
    for _ in range(2):
        again = build(tables)
        for name, frame in first.items():
            assert_frame_equal(again[name], frame, check_exact=True, obj=name)


def test_the_amounts_make_double_sums_depend_on_their_order(tables) -> None:
    """The twin: the data would expose order-dependent sums, so the test above is not vacuous."""
    tx = tables["transactions"]
    per_customer = tx.groupby("customer_id")["amount"].apply(list)
    differ = sum(
        math.fsum(v) != sum(v) or sum(v) != sum(reversed(v)) for v in per_customer if len(v) > 2
    )
    assert differ > 0.2 * len(per_customer)


def test_money_is_held_to_four_decimals_and_summed_exactly() -> None:
    amounts = [0.1, 0.2, 0.3, -0.6, 19.99, 0.00004, 0.00005]
    tx = pd.DataFrame(
        {
            "customer_id": "c",
            "timestamp": pd.date_range("2024-01-01", periods=len(amounts), freq="D"),
            "amount": amounts,
        }
    )
    dataset = load_dataset(frames={"transactions": tx})
    features = build_features(dataset, "2024-02-01", FeatureSettings(windows_days=(30, 365)))
    # Read to 4 places (half away from zero): 0.00004 is 0, 0.00005 is 0.0001. And
    # 0.1 + 0.2 + 0.3 − 0.6 is 1.1e-16 in DOUBLE arithmetic, but 0.
    assert features.loc[0, "spend_lifetime"] == 19.9901
    assert features.loc[0, "refunds_365d"] == 0.6
    assert features.loc[0, "orders_lifetime"] == 6


def test_an_order_whose_lines_overflow_the_money_decimal_is_still_exact() -> None:
    # Each line is within the contract; their order total is beyond DECIMAL(18, 4).
    tx = pd.DataFrame(
        {
            "customer_id": "c",
            "timestamp": datetime(2024, 1, 1),
            "amount": [9_000_000_000_000 + 0.25 * i for i in range(30)],
            "order_id": "o1",
        }
    )
    dataset = load_dataset(frames={"transactions": tx})
    features = build_features(dataset, "2024-02-01", FeatureSettings(windows_days=(30,)))
    assert features.loc[0, "spend_lifetime"] == 270_000_000_000_108.75
    assert features.loc[0, "orders_lifetime"] == 1


def test_gaps_are_whole_seconds_and_the_last_gap_of_simultaneous_orders_is_zero() -> None:
    stamps = ["2024-01-01 10:00:00.9", "2024-01-01 10:00:02.1", "2024-01-03 00:00:00.0"]
    tx = pd.DataFrame(
        {
            "customer_id": "c",
            "timestamp": pd.to_datetime([*stamps, stamps[-1]]),
            "amount": [10.0, 20.0, 30.0, 40.0],
        }
    )
    dataset = load_dataset(frames={"transactions": tx})
    features = build_features(dataset, "2024-02-01", FeatureSettings(windows_days=(30,)))
    row = features.iloc[0]
    # Gaps: 1.2 s rounds down to 1 s; then 136_797.9 s to 136_797 s; then 0 (same instant).
    assert row["gap_max_days"] == 136_797 / 86_400
    assert row["gap_mean_days"] == (1 + 136_797 + 0) / (3 * 86_400)
    assert row["gap_last_days"] == 0.0
