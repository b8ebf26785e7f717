"""The time rule: features at T depend only on records strictly before T.

Appending any records at or after T, or deleting them, must leave every feature at T unchanged.
This test is the guard of the whole system; it must never be weakened to let a change pass.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import future_records, histories, usage_histories
from winback.features import (
    DataSettings,
    FeatureSettings,
    build_features,
    build_segments,
    load_dataset,
    plan_features,
)
from winback.features.definitions import FAMILIES

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


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage_histories(), st.data())
def test_usage_features_ignore_events_at_or_after_the_cutoff(history, data) -> None:
    """Days of activity read each event's neighbour: only an earlier one may count."""
    tables, cutoff = history
    past = tables["events"][tables["events"]["timestamp"] < cutoff]
    before = features_at(tables, cutoff)
    later = data.draw(future_records(cutoff))["events"]
    # Events at the cutoff instant and just after it, next to the last day before it.
    at_cutoff = past.assign(timestamp=cutoff).drop_duplicates()
    just_after = past.assign(timestamp=cutoff + pd.Timedelta(microseconds=1)).drop_duplicates()
    grown = {
        **tables,
        "events": pd.concat(
            [tables["events"], later, at_cutoff, just_after], ignore_index=True
        ).drop_duplicates(ignore_index=True),
    }
    assert_same(before, features_at(grown, cutoff))
    trimmed = {**tables, "events": past.reset_index(drop=True)}
    assert_same(before, features_at(trimmed, cutoff))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_the_property_compares_every_feature_family(history) -> None:
    """The histories load every table and optional column, so no family escapes the property."""
    tables, cutoff = history
    plan = plan_features(load_dataset(frames=tables), FEATURES, until=cutoff)
    planned = {f.family for f in plan.features}
    missing = [
        family.key
        for family in FAMILIES
        if family.key not in planned and not (family.per_event_type and not plan.event_types)
    ]
    assert missing == []


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


ZONE = "Europe/Berlin"


def _as_dates(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Timestamps known only to the day, written as text the way a date-only export has them."""
    out = frame.copy()
    for column in columns:
        if column in out:
            out[column] = (
                pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d").where(out[column].notna())
            )
    return out


def local_features_at(tables: dict[str, pd.DataFrame], day: str) -> pd.DataFrame:
    """Features as of ``day`` read as the business's midnight, Berlin time."""
    dataset = load_dataset(DataSettings(timezone=ZONE), frames=tables)
    features = build_features(dataset, day, FEATURES)
    segments = build_segments(dataset, features)
    return features.merge(segments, on=["customer_id", "as_of"], validate="1:1")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.data())
def test_with_dates_only_in_a_non_utc_zone_no_record_from_the_cutoff_day_on_counts(
    history, data
) -> None:
    tables, cutoff = history
    day = f"{cutoff:%Y-%m-%d}"
    dated = {k: _as_dates(v, ("timestamp", "signup_date")) for k, v in tables.items()}
    future = data.draw(future_records(datetime.combine(cutoff.date(), datetime.min.time())))
    before = local_features_at(dated, day)
    grown = {
        k: _concat(v, _as_dates(future[k], ("timestamp",))) if k in future else v
        for k, v in dated.items()
    }
    assert_same(before, local_features_at(grown, day))


def test_a_berlin_order_dated_on_the_cutoff_day_is_not_seen_and_one_the_day_before_is() -> None:
    # Berlin's midnight is 22:00 UTC the day before: a UTC cutoff would count the 1 October order.
    tx = pd.DataFrame(
        {
            "customer_id": ["a"] * 5,
            "timestamp": ["2024-07-01", "2024-08-01", "2024-09-01", "2024-09-30", "2024-10-01"],
            "amount": [10.0, 10.0, 10.0, 10.0, 99.0],
        }
    )
    row = local_features_at({"transactions": tx}, "2024-10-01").iloc[0]
    assert row["orders_lifetime"] == 4
    assert row["spend_7d"] == 10.0
    assert row["as_of"] == pd.Timestamp("2024-09-30 22:00")
