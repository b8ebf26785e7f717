"""The time rule: features at T depend only on records strictly before T.

Appending any records at or after T, or deleting them, must leave every feature at T unchanged.
This test is the guard of the whole system; it must never be weakened to let a change pass.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import future_records, histories
from winback.features import FeatureSettings, build_features, build_segments, load_dataset

FEATURES = FeatureSettings(windows_days=(7, 30, 90), trend_weeks=4)


def features_at(tables: dict[str, pd.DataFrame], cutoff: datetime) -> pd.DataFrame:
    """Features and segments at the cutoff, side by side: both are "as of" it."""
    dataset = load_dataset(frames=tables)
    features = build_features(dataset, cutoff, FEATURES)
    segments = build_segments(dataset, features)
    return features.merge(segments, on=["customer_id", "as_of"], validate="1:1")


def _concat(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([a, b], ignore_index=True) if len(b) else a


def assert_same(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    assert list(actual.columns) == list(expected.columns)
    assert actual["customer_id"].tolist() == expected["customer_id"].tolist()
    # Same records, so same values; only the order of floating-point summation may differ.
    pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.data())
def test_appending_records_at_or_after_cutoff_changes_no_feature(history, data) -> None:
    tables, cutoff = history
    future = data.draw(future_records(cutoff))
    before = features_at(tables, cutoff)
    grown = {k: _concat(v, future[k]) if k in future else v for k, v in tables.items()}
    # A future refund filed under an old order id must not reach back either.
    old = tables["transactions"]
    grown["transactions"] = _concat(
        grown["transactions"],
        old.assign(timestamp=cutoff, amount=-old["amount"].abs() - 1, cost=0.0),
    )
    assert_same(before, features_at(grown, cutoff))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_deleting_records_at_or_after_cutoff_changes_no_feature(history) -> None:
    tables, cutoff = history
    before = features_at(tables, cutoff)
    trimmed = {
        k: v[v["timestamp"] < cutoff] if "timestamp" in v and k != "customers" else v
        for k, v in tables.items()
    }
    if trimmed["transactions"].empty:
        return  # a table with no rows at all is refused at the boundary, by design
    assert_same(before, features_at(trimmed, cutoff))


def test_a_record_one_microsecond_before_the_cutoff_counts_and_one_at_it_does_not() -> None:
    cutoff = datetime(2024, 6, 1)
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            "timestamp": [cutoff - pd.Timedelta(microseconds=1), cutoff],
            "amount": [10.0, 99.0],
        }
    )
    row = features_at({"transactions": tx}, cutoff).iloc[0]
    assert row["orders_lifetime"] == 1
    assert row["spend_7d"] == 10.0
    assert row["days_since_last_order"] < 1e-9
