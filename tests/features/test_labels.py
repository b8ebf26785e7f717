"""Labels against tiny histories computed by hand."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from winback.features import LabelSettings, build_labels, load_dataset

T = datetime(2024, 4, 1)
H30 = LabelSettings(horizon_days=30, periods=2, decline_threshold=0.5)


def _labels(tx: pd.DataFrame, keys: list[str], until: datetime, settings=H30, **tables):
    dataset = load_dataset(frames={"transactions": tx, **tables})
    frame = pd.DataFrame({"customer_id": keys, "as_of": [T] * len(keys)})
    return build_labels(dataset, frame, settings, until).set_index("customer_id")


def tx(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": pd.to_datetime([r[1] for r in rows]),
            "amount": [r[2] for r in rows],
            "cost": [r[2] * 0.5 for r in rows],  # a refund returns the goods: negative cost
        }
    )


def test_horizon_is_half_open_and_refunds_lower_spend_but_are_not_orders() -> None:
    data = tx(
        ("a", "2024-03-10", 100.0),  # before T: only the decline reference
        ("a", "2024-04-01", 20.0),  # exactly at T: inside [T, T+30)
        ("a", "2024-04-20", -5.0),  # refund inside the horizon
        ("a", "2024-05-01", 70.0),  # exactly at T+30: the second period, not the first
    )
    row = _labels(data, ["a"], datetime(2024, 6, 1)).loc["a"]
    assert row["orders_next"] == 1
    assert row["spend_next"] == 15.0
    assert row["margin_next"] == 20.0 - 10.0 - 5.0 + 2.5
    assert row["churned"] == 0.0
    # 15 <= 0.5 × 100: declined.
    assert row["declined"] == 1.0
    assert row["spend_period_1"] == 15.0
    assert row["spend_period_2"] == 70.0
    assert row["margin_period_2"] == 35.0


def test_churned_and_declined_need_history_and_unobserved_windows_stay_empty() -> None:
    data = tx(("a", "2024-01-05", 50.0), ("b", "2024-04-02", 10.0), ("c", "2024-03-20", 10.0))
    labels = _labels(data, ["a", "b", "c"], datetime(2024, 5, 15))
    # a ordered before T but not in the horizon: churned; no spend in [T-30, T): no decline label.
    assert labels.loc["a", "churned"] == 1.0
    assert np.isnan(labels.loc["a", "declined"])
    # b had no order before T: cannot churn, though it orders in the horizon.
    assert np.isnan(labels.loc["b", "churned"])
    assert labels.loc["b", "orders_next"] == 1
    # c spent 10 in [T-30, T) and nothing after: churned and declined.
    assert labels.loc["c", "churned"] == 1.0
    assert labels.loc["c", "declined"] == 1.0
    # Period 2 ends 2024-05-31, after the data ends: empty, never 0.
    assert labels["spend_period_2"].isna().all()
    assert labels["spend_period_1"].notna().all()


def test_decline_threshold_is_a_share_of_previous_spend() -> None:
    data = tx(("a", "2024-03-15", 100.0), ("a", "2024-04-10", 60.0))
    strict = _labels(data, ["a"], datetime(2024, 6, 1)).loc["a"]
    assert strict["declined"] == 0.0  # 60 > 50
    loose = _labels(data, ["a"], datetime(2024, 6, 1), LabelSettings(
        horizon_days=30, periods=1, decline_threshold=0.3)).loc["a"]  # fmt: skip
    assert loose["declined"] == 1.0  # 60 <= 70


def test_offer_costs_lower_crm_margin_in_their_window() -> None:
    data = tx(("a", "2024-03-01", 10.0), ("a", "2024-04-05", 40.0))
    campaigns = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a"],
            "timestamp": pd.to_datetime(["2024-04-02", "2024-04-03", "2024-03-01"]),
            "offer": ["d10", "d10", "d10"],
            "treated": [True, False, True],
            "cost": [3.0, 3.0, 3.0],
        }
    )
    row = _labels(data, ["a"], datetime(2024, 6, 1), campaigns=campaigns).loc["a"]
    # Only the treated offer inside the horizon counts; not the control record, not the early one.
    assert row["margin_next"] == pytest.approx(20.0 - 3.0)
    assert row["spend_next"] == 40.0


def test_customers_without_any_transactions_get_zero_labels_not_missing_rows() -> None:
    data = tx(("a", "2024-03-01", 10.0))
    labels = _labels(data, ["a", "ghost"], datetime(2024, 6, 1))
    assert list(labels.index) == ["a", "ghost"]
    assert labels.loc["ghost", "spend_next"] == 0.0
    assert np.isnan(labels.loc["ghost", "churned"])
