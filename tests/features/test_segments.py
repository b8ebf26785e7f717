"""Lifecycle stages, value segments and RFM scores on customers built to be one of each."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from winback.features import SegmentSettings, build_features, build_segments, load_dataset
from winback.features.segments import RFM_SEGMENTS

T = datetime(2024, 7, 1)


def _orders(customer: str, days_ago: list[int], amount: float = 100.0) -> list[dict]:
    return [
        {"customer_id": customer, "timestamp": T - timedelta(days=d), "amount": amount,
         "cost": amount * 0.6}
        for d in days_ago
    ]  # fmt: skip


@pytest.fixture(scope="module")
def segments() -> pd.DataFrame:
    rows = (
        _orders("stable", list(range(10, 360, 30)))  # every 30 days for a year
        + _orders("declining", list(range(100, 320, 30)))  # regular, then nothing for 100 days
        + _orders("growing", [300, 60, 30, 10])
        + _orders("new", [30])
        + _orders("churned", [400, 200])
    )
    customers = pd.DataFrame({"customer_id": ["prospect"], "signup_date": [T - timedelta(days=20)]})
    dataset = load_dataset(frames={"transactions": pd.DataFrame(rows), "customers": customers})
    features = build_features(dataset, T)
    return build_segments(dataset, features, SegmentSettings()).set_index("customer_id")


@pytest.mark.parametrize(
    ("customer", "stage"),
    [
        ("stable", "stable"),
        ("declining", "declining"),
        ("growing", "growing"),
        ("new", "new"),
        ("churned", "churned"),
        ("prospect", "prospect"),
    ],
)
def test_lifecycle_stage_follows_the_documented_rules(segments, customer, stage) -> None:
    assert segments.loc[customer, "lifecycle_stage"] == stage


def test_value_segment_crosses_value_with_loyalty(segments) -> None:
    # stable has the most margin and 12 orders in a year: high value and loyal.
    assert segments.loc["stable", "value_segment"] == "strategic"
    # declining and growing ordered 4+ times over 180+ days but are not the top 20% by value.
    assert segments.loc["declining", "value_segment"] == "potential"
    assert segments.loc["growing", "value_segment"] == "potential"
    assert segments.loc["new", "value_segment"] == "ordinary"
    assert segments.loc["prospect", "value_segment"] == "ordinary"


def test_a_high_value_customer_who_is_not_loyal_is_profit() -> None:
    rows = _orders("big", [20], amount=5000.0) + [
        r for i in range(6) for r in _orders(f"small{i}", [15, 45, 75, 105, 135, 200])
    ]
    dataset = load_dataset(frames={"transactions": pd.DataFrame(rows)})
    seg = build_segments(dataset, build_features(dataset, T)).set_index("customer_id")
    assert seg.loc["big", "value_segment"] == "profit"
    assert set(seg.drop(index="big")["value_segment"]) == {"potential"}


def test_rfm_scores_rank_recency_frequency_and_spend(segments) -> None:
    ordering = segments.drop(index="prospect")
    assert ordering[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    # Most recent orders (10 days ago) score highest on recency; the churned customer lowest.
    assert ordering["r_score"].idxmin() == "churned"
    assert ordering.loc["stable", "f_score"] == ordering["f_score"].max()
    assert ordering.loc["stable", "rfm_score"] == (
        100 * ordering.loc["stable", "r_score"] + 10 * ordering.loc["stable", "f_score"]
        + ordering.loc["stable", "m_score"]
    )  # fmt: skip
    # stable and growing both ordered 10 days ago: a tie shares the score.
    assert ordering.loc["stable", "r_score"] == ordering.loc["growing", "r_score"]
    assert pd.isna(segments.loc["prospect", "r_score"])
    assert pd.isna(segments.loc["prospect", "rfm_segment"])


def test_rfm_segment_map_covers_every_score_pair_exactly_once() -> None:
    cells = [(r, f) for r in "12345" for f in "12345"]
    for r, f in cells:
        names = [name for rs, fs, name in RFM_SEGMENTS if r in rs and f in fs]
        assert len(names) == 1, (r, f, names)


def test_stage_rules_move_with_their_settings(segments) -> None:
    rows = _orders("declining", list(range(100, 320, 30)))
    dataset = load_dataset(frames={"transactions": pd.DataFrame(rows)})
    features = build_features(dataset, T)
    lenient = SegmentSettings(churned_after_days=90)
    assert build_segments(dataset, features, lenient)["lifecycle_stage"].item() == "churned"
