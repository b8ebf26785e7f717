"""Offer redemptions against a tiny history worked out by hand."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from winback.features import FeatureSettings, build_features, load_dataset

T = datetime(2024, 6, 1)
REDEMPTION = ["offers_redeemed_lifetime", "offer_redemption_share"]


def _tables() -> dict[str, pd.DataFrame]:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            "timestamp": pd.to_datetime(
                ["2024-01-01", "2024-02-10", "2024-03-20", "2024-05-25", "2024-01-01"]
            ),
            "amount": [50.0, 40.0, 30.0, 20.0, 10.0],
            "discount": [0.0, 5.0, 0.0, 5.0, 0.0],
        }
    )
    campaigns = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            "timestamp": pd.to_datetime(
                ["2024-02-01", "2024-03-15", "2024-04-01", "2024-05-20", "2024-02-01"]
            ),
            "offer": ["d10"] * 5,
            "treated": [True, True, False, True, True],
        }
    )
    return {"transactions": orders, "campaigns": campaigns}


def _row(tables: dict[str, pd.DataFrame], customer: str) -> pd.Series:
    features = build_features(load_dataset(frames=tables), T, FeatureSettings())
    return features.set_index("customer_id").loc[customer]


def test_an_offer_counts_as_redeemed_once_its_window_has_closed() -> None:
    a = _row(_tables(), "a")
    # Offers to a: 02-01 (redeemed by the discounted order of 02-10), 03-15 (the order of 03-20
    # has no discount), 04-01 (control: not an offer), 05-20 (redeemed on 05-25, but its 30 days
    # run past T, so it is not judged yet).
    assert a["offers_redeemed_lifetime"] == 1
    assert a["offer_redemption_share"] == 0.5
    b = _row(_tables(), "b")
    assert b["offers_redeemed_lifetime"] == 0
    assert b["offer_redemption_share"] == 0.0


def test_an_offer_too_recent_to_judge_leaves_the_share_empty() -> None:
    tables = _tables()
    tables["campaigns"] = tables["campaigns"].iloc[[3]]
    a = _row(tables, "a")
    assert a["offers_redeemed_lifetime"] == 0
    assert np.isnan(a["offer_redemption_share"])


def test_without_discounts_or_campaigns_there_are_no_redemption_features() -> None:
    tables = _tables()
    no_discount = {**tables, "transactions": tables["transactions"].drop(columns="discount")}
    columns = build_features(load_dataset(frames=no_discount), T).columns
    assert "offers_lifetime" in columns
    assert not set(REDEMPTION) & set(columns)
    columns = build_features(load_dataset(frames={"transactions": tables["transactions"]}), T)
    assert "discount_share_365d" in columns
    assert not set(REDEMPTION) & set(columns)
