"""The activity rule that splits customers into the retention and win-back populations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from winback.features import LabelSettings
from winback.features.populations import NO_ORDERS, RETENTION, WINBACK, PopulationRule


def test_allowance_is_a_multiple_of_the_own_gap_within_the_bounds() -> None:
    rule = PopulationRule.from_labels(LabelSettings(horizon_days=90))
    assert (rule.gap_multiple, rule.min_days, rule.max_days) == (3.0, 90.0, 365.0)
    gaps = np.array([10.0, 40.0, 200.0, np.nan])
    # 3 × 10 is below one horizon; 3 × 40 = 120; 3 × 200 is capped; one order: one horizon.
    np.testing.assert_array_equal(rule.allowance_days(gaps), [90.0, 120.0, 365.0, 90.0])


def test_each_customer_lands_in_one_population() -> None:
    rule = PopulationRule(gap_multiple=2.0, min_days=30.0, max_days=100.0)
    features = pd.DataFrame(
        {
            "days_since_last_order": [10.0, 50.0, 50.0, 31.0, 150.0, np.nan],
            "gap_mean_days": [5.0, 30.0, 20.0, np.nan, 90.0, np.nan],
        }
    )
    assert rule.assign(features).tolist() == [
        RETENTION,  # within the 30-day floor
        RETENTION,  # 50 <= 2 × 30
        WINBACK,  # 50 > 2 × 20 = 40
        WINBACK,  # one order, 31 days ago: past the floor
        WINBACK,  # past the 100-day cap although 2 × 90 = 180
        NO_ORDERS,
    ]
    assert "2× the customer's own mean gap" in rule.describe()
    assert PopulationRule.from_dict(rule.to_dict()) == rule


def test_explicit_bounds_are_taken_and_the_rule_needs_its_features() -> None:
    labels = LabelSettings(horizon_days=30, active_min_days=45, active_max_days=40)
    rule = PopulationRule.from_labels(labels)
    assert (rule.min_days, rule.max_days) == (45.0, 45.0)  # the cap never undercuts the floor
    with pytest.raises(ValueError, match="gap_mean_days"):
        rule.assign(pd.DataFrame({"days_since_last_order": [1.0]}))
