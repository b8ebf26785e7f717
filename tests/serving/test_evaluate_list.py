"""Judging a list after its horizon, on a real randomised campaign of the synthetic world."""

from __future__ import annotations

import pandas as pd
import pytest

from winback.features import LabelSettings, load_dataset
from winback.serving.evaluate import HorizonNotPassedError, evaluate_list

TABLES = ("transactions", "events", "customers", "campaigns")
LABELS = LabelSettings(horizon_days=90)


@pytest.fixture(scope="module")
def dataset(small_world):
    return load_dataset(frames={t: getattr(small_world, t) for t in TABLES})


def campaign_as_list(small_world, day: str) -> pd.DataFrame:
    """A past campaign written as a win-back list: its random control is the list's control."""
    sent = small_world.campaigns[small_world.campaigns["timestamp"].dt.floor("D") == day]
    return pd.DataFrame(
        {
            "rank": range(1, len(sent) + 1),
            "customer_id": sent["customer_id"].to_numpy(),
            "offer": sent["offer"].to_numpy(),
            "offer_cost": sent["cost"].to_numpy(),
            "churn_probability": 0.5,
            "control": ~sent["treated"].to_numpy(),
            "as_of": pd.Timestamp(day).tz_localize(None),
        }
    )


def test_treated_and_control_outcomes_add_up_and_the_lift_has_an_interval(
    dataset, small_world
) -> None:
    frame = campaign_as_list(small_world, "2024-07-30")
    # Customers contacted before their first order have no churn to measure: drop them.
    tx = small_world.transactions
    ordered = set(tx.loc[tx["timestamp"] < pd.Timestamp("2024-07-30", tz="UTC"), "customer_id"])
    frame = frame[frame["customer_id"].isin(ordered)]
    result = evaluate_list(dataset, frame, LABELS)
    f = result.figures
    assert f["treated"] + f["control"] == len(frame) == len(result.outcomes)
    assert f["lift"] == pytest.approx(f["churn_control"] - f["churn_treated"])
    assert f["lift_ci_low"] < f["lift"] < f["lift_ci_high"]
    assert f["offer_cost"] == pytest.approx(frame.loc[~frame["control"], "offer_cost"].sum())
    assert f["net_benefit"] == pytest.approx(f["margin_saved"] - f["offer_cost"])
    # Offers bring redemption orders and postpone drop-outs: treated customers churn less.
    assert f["lift"] > 0
    assert any("95% CI" in line for line in result.lines())


def test_a_list_whose_horizon_has_not_passed_is_refused(dataset, small_world) -> None:
    frame = campaign_as_list(small_world, "2024-10-29")
    with pytest.raises(HorizonNotPassedError, match="evaluate it after that"):
        evaluate_list(dataset, frame, LABELS)
