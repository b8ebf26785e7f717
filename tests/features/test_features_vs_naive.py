"""Every feature of the SQL builder against the naive per-customer loop in ``naive.py``."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from tests.features.naive import naive_features
from tests.strategies import histories
from winback.common.timestamps import to_utc_naive
from winback.features import FeatureSettings, build_features, load_dataset, plan_features

FEATURES = FeatureSettings(windows_days=(7, 30, 90), trend_weeks=4)


def compare(tables: dict[str, pd.DataFrame], cutoff: datetime, feats: FeatureSettings) -> None:
    dataset = load_dataset(frames=tables)
    fast = build_features(dataset, cutoff, feats)
    plan = plan_features(dataset, feats, until=cutoff)
    slow = naive_features(
        {k: dataset.con.table(k).df() for k in dataset.columns},
        cutoff,
        feats.windows_days,
        feats.trend_weeks,
        plan.event_types,
        plan.attributes,
    )
    if slow.empty:
        # Nobody known before the cutoff: the oracle has no rows to take its columns from.
        assert fast.empty, fast["customer_id"].tolist()
        return
    assert sorted(slow.columns) == sorted(fast.columns), "the oracle must cover every feature"
    assert fast["customer_id"].tolist() == slow["customer_id"].tolist()
    for column in fast.columns.drop(["customer_id", "as_of"]):
        got, want = fast[column], slow[column]
        if got.dtype == object or pd.api.types.is_string_dtype(got):
            assert got.fillna("<na>").tolist() == want.fillna("<na>").tolist(), column
            continue
        want = pd.to_numeric(want, errors="raise").astype(float)
        np.testing.assert_allclose(
            got.to_numpy(float), want.to_numpy(float), rtol=1e-9, atol=1e-9, err_msg=column
        )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_builder_matches_naive_reference_on_generated_histories(history) -> None:
    tables, cutoff = history
    compare(tables, cutoff, FEATURES)


def test_builder_matches_naive_reference_on_the_synthetic_world(small_world) -> None:
    tables = {
        name: getattr(small_world, name)
        for name in ("transactions", "events", "customers", "campaigns")
    }
    # A few hundred customers keep the loop quick; every table and optional column is present.
    keep = set(small_world.customers["customer_id"].iloc[:300])
    tables = {k: v[v["customer_id"].isin(keep)].reset_index(drop=True) for k, v in tables.items()}
    compare(tables, to_utc_naive("2024-07-01"), FeatureSettings())


def test_naive_reference_is_not_vacuous() -> None:
    """A deliberately wrong builder output must fail the comparison."""
    tables = {
        "transactions": pd.DataFrame(
            {
                "customer_id": ["a", "a"],
                "timestamp": [datetime(2024, 1, 1), datetime(2024, 1, 20)],
                "amount": [10.0, 30.0],
            }
        )
    }
    dataset = load_dataset(frames=tables)
    fast = build_features(dataset, datetime(2024, 2, 1), FEATURES)
    slow = naive_features(tables, datetime(2024, 2, 1), (7, 30, 90), 4, {}, {})
    assert fast.loc[0, "spend_30d"] == slow.loc[0, "spend_30d"] == 30.0
    assert fast.loc[0, "gap_mean_days"] == pytest.approx(19.0)
    fast.loc[0, "spend_30d"] = 40.0
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(fast["spend_30d"], slow["spend_30d"])
