"""The offer policy: eligibility, economics, budget, contact limits, suppression and control."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from winback.features import load_dataset
from winback.serving.policy import (
    best_offers,
    budget_curve,
    by_return,
    candidate_offers,
    recently_contacted,
    select,
)
from winback.serving.settings import Offer, PolicySettings


def customers(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A scores table and the feature rows it came from, with a spread of risk and value."""
    rng = np.random.default_rng(seed)
    ids = [f"c{i:04d}" for i in range(n)]
    since = rng.uniform(1, 500, n)
    since[:20] = np.nan  # never ordered
    scores = pd.DataFrame(
        {
            "customer_id": ids,
            "churn_probability": rng.uniform(0.02, 0.98, n),
            "clv": rng.gamma(2.0, 80.0, n),
            "lifecycle_stage": rng.choice(["new", "stable", "declining", "churned"], n),
            "value_segment": rng.choice(["strategic", "profit", "potential", "ordinary"], n),
        }
    )
    features = pd.DataFrame(
        {
            "customer_id": ids,
            "days_since_last_order": since,
            "avg_order_value_lifetime": rng.gamma(3.0, 20.0, n),
        }
    )
    return scores, features


SETTINGS = PolicySettings(
    offers=(
        Offer(name="email", cost=0.2, assumed_effect=0.03),
        Offer(name="coupon", cost=2.0, discount=0.1, assumed_effect=0.15),
        Offer(
            name="vip", cost=5.0, discount=0.2, assumed_effect=0.3, value_segments=("strategic",)
        ),
    ),
    recoverable_days=365,
    control_share=0.1,
    seed=7,
)


def test_each_offer_is_priced_by_the_documented_formula() -> None:
    scores, features = customers()
    cands = candidate_offers(scores, features, SETTINGS, lapsed_after_days=180).offers
    row = cands[cands["offer"] == "coupon"].iloc[0]
    source = scores.set_index("customer_id").loc[row["customer_id"]]
    aov = features.set_index("customer_id").loc[row["customer_id"], "avg_order_value_lifetime"]
    p, clv = source["churn_probability"], source["clv"]
    reduction = p * 0.15
    kept = clv / (1 - min(p, 0.9))
    cost = 2.0 + 0.1 * aov * (1 - p + reduction)
    assert row["churn_reduction"] == pytest.approx(reduction)
    assert row["offer_cost"] == pytest.approx(cost)
    assert row["expected_net_benefit"] == pytest.approx(reduction * kept - cost)


def test_eligibility_actions_and_exclusions_add_up() -> None:
    scores, features = customers()
    result = candidate_offers(scores, features, SETTINGS, lapsed_after_days=180)
    cands = result.offers
    since = features.set_index("customer_id")["days_since_last_order"]
    # The premium offer reaches strategic customers only.
    vip = cands[cands["offer"] == "vip"]["customer_id"]
    segment = scores.set_index("customer_id")["value_segment"]
    assert set(segment.loc[vip]) == {"strategic"}
    # Lapsed customers get win_back, the others retain; nobody beyond the recoverable window.
    for action, ids in cands.groupby("action")["customer_id"]:
        days = since.loc[ids.unique()]
        assert (days > 180).all() if action == "win_back" else (days <= 180).all()
    priced = cands["customer_id"].nunique()
    assert priced + sum(result.excluded.values()) == len(scores)
    assert result.excluded["never ordered"] == 20


def test_the_models_populations_choose_the_action_unless_a_threshold_is_set() -> None:
    scores, features = customers()
    rng = np.random.default_rng(3)
    scores["population"] = rng.choice(["retention", "winback"], len(scores))
    cands = candidate_offers(scores, features, SETTINGS, lapsed_after_days=180).offers
    population = scores.set_index("customer_id")["population"]
    for action, ids in cands.groupby("action")["customer_id"]:
        wanted = "winback" if action == "win_back" else "retention"
        assert (population.loc[ids.unique()] == wanted).all()
    # An explicit [policy] lapsed_after_days still decides by days since the last order.
    fixed = SETTINGS.model_copy(update={"lapsed_after_days": 100})
    cands = candidate_offers(scores, features, fixed, lapsed_after_days=180).offers
    since = features.set_index("customer_id")["days_since_last_order"]
    lapsed = cands.loc[cands["action"] == "win_back", "customer_id"].unique()
    assert (since.loc[lapsed] > 100).all()


def test_selection_respects_budget_contacts_and_never_takes_a_loss() -> None:
    scores, features = customers()
    cands = candidate_offers(scores, features, SETTINGS, lapsed_after_days=180).offers
    best = best_offers(cands)
    assert best["customer_id"].is_unique
    # Each customer's kept offer is their best one.
    top = cands.groupby("customer_id")["expected_net_benefit"].max()
    assert np.allclose(
        best.set_index("customer_id")["expected_net_benefit"], top.loc[best["customer_id"]]
    )
    chosen = select(best, budget=100.0, max_contacts=None, control_share=0.1, seed=1)
    assert chosen["offer_cost"].sum() <= 100.0 + 1e-9
    assert (chosen["expected_net_benefit"] > 0).all()
    assert chosen["rank"].tolist() == list(range(1, len(chosen) + 1))
    capped = select(best, budget=None, max_contacts=25, control_share=0.0, seed=1)
    assert len(capped) == 25 and not capped["control"].any()
    unlimited = select(best, budget=None, max_contacts=None, control_share=0.0, seed=1)
    assert len(unlimited) == int((best["expected_net_benefit"] > 0).sum())
    # A negative benefit is never taken, even with money left.
    assert (best["expected_net_benefit"] <= 0).any()


def test_control_group_is_a_seeded_random_share() -> None:
    scores, features = customers(2000)
    best = best_offers(candidate_offers(scores, features, SETTINGS, lapsed_after_days=180).offers)
    a = select(best, budget=None, max_contacts=None, control_share=0.1, seed=3)
    b = select(best, budget=None, max_contacts=None, control_share=0.1, seed=3)
    c = select(best, budget=None, max_contacts=None, control_share=0.1, seed=4)
    assert a["control"].sum() == round(0.1 * len(a))
    assert a["control"].tolist() == b["control"].tolist()
    assert a["control"].tolist() != c["control"].tolist()
    # Spread over the ranking, not the top or the bottom.
    ranks = a.loc[a["control"], "rank"]
    assert ranks.min() < len(a) * 0.2 and ranks.max() > len(a) * 0.8


def test_a_budget_is_spent_by_return_and_buys_more_than_by_benefit() -> None:
    scores, features = customers(2000)
    best = best_offers(candidate_offers(scores, features, SETTINGS, lapsed_after_days=180).offers)
    chosen = select(best, budget=150.0, max_contacts=None, control_share=0.0, seed=1)
    ratio = chosen["expected_net_benefit"] / chosen["offer_cost"]
    # Taken by return, except offers skipped because they no longer fit the money left.
    assert ratio.iloc[0] == pytest.approx(ratio.max())
    positive = best[best["expected_net_benefit"] > 0].reset_index(drop=True)
    by_benefit, spent = 0.0, 0.0
    for benefit, cost in zip(positive["expected_net_benefit"], positive["offer_cost"], strict=True):
        if spent + cost <= 150.0:
            by_benefit, spent = by_benefit + benefit, spent + cost
    assert chosen["expected_net_benefit"].sum() > 1.05 * by_benefit


def test_budget_curve_flattens_and_ends_at_the_total() -> None:
    scores, features = customers()
    best = best_offers(candidate_offers(scores, features, SETTINGS, lapsed_after_days=180).offers)
    curve = budget_curve(best)
    benefit, cost = curve["expected_net_benefit"].to_numpy(), curve["cost"].to_numpy()
    assert (np.diff(benefit) > 0).all()
    # Concave: each unit of money buys no more than the unit before it.
    slopes = np.diff(np.concatenate([[0.0], benefit])) / np.diff(np.concatenate([[0.0], cost]))
    assert (np.diff(slopes) <= 1e-12).all()
    positive = best[best["expected_net_benefit"] > 0]
    assert curve["cost"].iloc[-1] == pytest.approx(positive["offer_cost"].sum())
    assert by_return(positive)["customer_id"].tolist() == curve_order(best)


def curve_order(best: pd.DataFrame) -> list[str]:
    positive = best[best["expected_net_benefit"] > 0]
    ratio = positive["expected_net_benefit"] / positive["offer_cost"]
    return (
        positive.assign(r=ratio)
        .sort_values(["r", "expected_net_benefit", "customer_id"], ascending=[False, False, True])[
            "customer_id"
        ]
        .tolist()
    )


def test_recently_contacted_customers_are_suppressed() -> None:
    campaigns = pd.DataFrame(
        {
            "customer_id": ["c0001", "c0002", "c0003", "c0004"],
            "timestamp": pd.to_datetime(
                ["2024-05-20", "2024-05-25", "2024-03-01", "2024-05-28"], utc=True
            ),
            "offer": "coupon",
            "treated": [True, True, True, False],
            "cost": 1.0,
        }
    )
    transactions = pd.DataFrame(
        {"customer_id": ["c0001"], "timestamp": pd.to_datetime(["2024-01-01"], utc=True),
         "amount": [10.0]}
    )  # fmt: skip
    dataset = load_dataset(frames={"transactions": transactions, "campaigns": campaigns})
    held = recently_contacted(dataset, datetime(2024, 6, 1), 30)
    # Treated in the last 30 days only; a control row was never contacted.
    assert held == {"c0001", "c0002"}
    scores, features = customers()
    result = candidate_offers(scores, features, SETTINGS, lapsed_after_days=180, suppressed=held)
    assert not result.offers["customer_id"].isin(held).any()
