"""Judging a list after its horizon, on a real randomised campaign of the synthetic world."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats

from winback.features import LabelSettings, load_dataset
from winback.serving.evaluate import HorizonNotPassedError, ListNotSentError, evaluate_list

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


def _sent_campaign(small_world, day: str) -> pd.DataFrame:
    """The campaign of ``day`` as a list, its customers with an order before it."""
    frame = campaign_as_list(small_world, day)
    # Customers contacted before their first order have no churn to measure: drop them.
    tx = small_world.transactions
    ordered = set(tx.loc[tx["timestamp"] < pd.Timestamp(day, tz="UTC"), "customer_id"])
    return frame[frame["customer_id"].isin(ordered)]


def test_treated_and_control_outcomes_add_up_and_the_lift_has_an_interval(
    dataset, small_world
) -> None:
    frame = _sent_campaign(small_world, "2024-07-30")
    result = evaluate_list(dataset, frame, LABELS)
    f = result.figures
    assert f["treated"] + f["control"] == len(frame) == len(result.outcomes)
    assert f["lift"] == pytest.approx(f["churn_control"] - f["churn_treated"])
    assert f["lift_ci_low"] < f["lift"] < f["lift_ci_high"]
    assert f["offer_cost"] == pytest.approx(frame.loc[~frame["control"], "offer_cost"].sum())
    # Offers bring redemption orders and postpone drop-outs: treated customers churn less.
    assert f["lift"] > 0
    assert any("95% CI" in line for line in result.lines())


def test_the_margin_saved_has_a_welch_interval_and_is_not_charged_twice(
    dataset, small_world
) -> None:
    frame = _sent_campaign(small_world, "2024-07-30")
    result = evaluate_list(dataset, frame, LABELS)
    f = result.figures
    margin = result.outcomes["margin_next"].fillna(0)
    control = result.outcomes["control"].astype(bool)
    treated_margin, control_margin = margin[~control], margin[control]
    # Welch's t from scipy is difference / standard error: an independent route to the same SE.
    welch = stats.ttest_ind(treated_margin, control_margin, equal_var=False)
    difference = treated_margin.mean() - control_margin.mean()
    half = 1.959963984540054 * difference / welch.statistic
    assert f["margin_difference"] == pytest.approx(difference)
    assert f["margin_difference_ci_high"] - f["margin_difference"] == pytest.approx(abs(half))
    assert f["margin_saved"] == pytest.approx(difference * f["treated"])
    assert f["margin_saved_ci_low"] < f["margin_saved"] < f["margin_saved_ci_high"]
    assert f["margin_saved_ci_high"] - f["margin_saved"] == pytest.approx(abs(half) * f["treated"])
    # CRM margin already pays the recorded offer costs; the list's own estimate is not subtracted.
    assert "net_benefit" not in f
    campaigns = small_world.campaigns
    window = campaigns["timestamp"].between(
        pd.Timestamp("2024-07-30", tz="UTC"), pd.Timestamp("2024-10-28", tz="UTC"), "left"
    )
    sent = campaigns[window & campaigns["treated"]]
    listed = frame.loc[~frame["control"], "customer_id"]
    assert f["sent"] == listed.isin(sent["customer_id"]).sum() == len(listed)
    assert (
        f["control_sent"]
        == frame.loc[frame["control"], "customer_id"].isin(sent["customer_id"]).sum()
    )
    recorded = sent.loc[sent["customer_id"].isin(listed), "cost"].sum()
    assert f["offer_cost_recorded"] == pytest.approx(recorded)
    (line,) = [line for line in result.lines() if line.startswith("margin saved")]
    assert "95% CI" in line and f"{f['margin_saved']:,.2f}" in line
    assert f"net of the {recorded:,.2f} of offer costs" in line


def test_a_list_that_was_never_sent_says_so_instead_of_a_margin(small_world) -> None:
    """Its "treated" got nothing: the groups differ by chance, and no margin was saved."""
    frame = _sent_campaign(small_world, "2024-07-30")
    day = small_world.campaigns["timestamp"].dt.floor("D") == "2024-07-30"
    unsent = {t: getattr(small_world, t) for t in TABLES} | {
        "campaigns": small_world.campaigns[~day]
    }
    with pytest.raises(ListNotSentError, match="none of the list's offers sent to its"):
        evaluate_list(load_dataset(frames=unsent), frame, LABELS)
    # Its customers got other offers meanwhile (the campaign's): the list still was not sent.
    renamed = frame.assign(offer="coupon_10")
    with pytest.raises(ListNotSentError, match=r"\(\d+ of them got other offers\)"):
        evaluate_list(load_dataset(frames={t: getattr(small_world, t) for t in TABLES}), renamed,
                      LABELS)  # fmt: skip
    no_campaigns = {t: getattr(small_world, t) for t in TABLES if t != "campaigns"}
    with pytest.raises(ListNotSentError, match="load its contacts into the campaigns table"):
        evaluate_list(load_dataset(frames=no_campaigns), frame, LABELS)


def test_offers_that_reached_the_control_as_often_mean_not_sent(dataset, small_world) -> None:
    """Offers of its names reached both groups alike (someone else's campaign), not this list."""
    frame = _sent_campaign(small_world, "2024-07-30")
    contacted = frame[~frame["control"]].reset_index(drop=True)
    mixed = contacted.assign(control=contacted.index % 4 == 0)
    with pytest.raises(
        ListNotSentError, match=r"not clearly more often than\s+to its control customers"
    ):
        evaluate_list(dataset, mixed, LABELS)
    # One stray offer among twenty treated customers is chance, not a send.
    untouched = frame[frame["control"]]
    assert len(untouched) >= 24
    stray = pd.concat(
        [contacted.head(1), untouched.head(19).assign(control=False), untouched.iloc[19:24]]
    )
    with pytest.raises(ListNotSentError, match=r"1 of its 20 treated customers \(5%\)"):
        evaluate_list(dataset, stray, LABELS)
    # The campaign as it was run (its control not contacted) is evaluated.
    assert evaluate_list(dataset, frame, LABELS).figures["sent"] > 0


def test_a_list_whose_horizon_has_not_passed_is_refused(dataset, small_world) -> None:
    frame = campaign_as_list(small_world, "2024-10-29")
    with pytest.raises(HorizonNotPassedError, match="evaluate it after that"):
        evaluate_list(dataset, frame, LABELS)
