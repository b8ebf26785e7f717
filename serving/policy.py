"""The offer policy: who merits which offer, under a budget and contact rules.

For each customer and each offer they are eligible for::

    expected_net_benefit = churn reduction × margin kept − contact cost − expected discount

- *churn reduction*: the offer's effect on this customer's probability of churning over the
  horizon. With an uplift model learned from campaign history (:mod:`training.uplift`) it is the
  customer's estimated reduction; otherwise ``P(churn) × assumed_effect`` from the catalog, the
  share of at-risk customers the offer keeps (docs/design.md, "Deciding who merits an offer").
- *margin kept*: what the customer brings if they stay, from the value forecast. CLV is an
  expectation that already counts the chance of churning, ``CLV ≈ (1 − P(churn)) × margin if
  retained``, so margin kept is ``CLV / (1 − P(churn))`` with P(churn) capped at 0.9 so a
  near-certain churner's small CLV is not blown up tenfold by noise.
- *expected discount*: a discount is paid on the orders the customer places anyway as well as on
  the saved ones: ``discount × average order value × P(ordering after the offer)``.

Actions: ``retain`` for active customers; ``win_back`` for lapsed ones (the scores' population
``winback``, the model's activity rule; or, where ``lapsed_after_days`` is set or the scores have
no population, no order for that many days) still within ``recoverable_days``; customers who never
ordered or lapsed longer ago get nothing. Customers sent an offer within ``suppression_days`` are
left out. Each customer gets their best offer, and never one at a benefit of zero or less. Under a
budget (contact cost plus expected discount) customers are taken by *return*, expected net benefit
per unit of cost, highest first, while the money lasts: the greedy answer to a knapsack, which buys
more benefit with the same money than taking the biggest benefits first (a 20-euro offer worth 30
loses to four 5-euro offers worth 10 each). Without a budget only the number of contacts is scarce,
and customers are taken by expected net benefit. ``max_contacts`` caps either. Then a random
``control_share`` of the selected (seeded) is marked ``control``: they get no offer, so ``winback
evaluate`` can measure what the offers did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import pandas as pd

from winback.common import SettingsError
from winback.features import Dataset
from winback.serving.settings import Offer, PolicySettings

#: Columns of the win-back list, in order (docs/design.md, "Outputs"), then the reasons as plain
#: text and the list's cutoff (which ``winback evaluate`` reads).
LIST_COLUMNS = (
    "rank",
    "customer_id",
    "action",
    "offer",
    "offer_cost",
    "expected_net_benefit",
    "churn_probability",
    "clv",
    "reasons",
    "control",
    "reason_text",
    "as_of",
)
MAX_CHURN_FOR_VALUE = 0.9


class EffectModel(Protocol):
    """Estimated per-customer reduction in P(churn) for an offer (see :mod:`training.uplift`)."""

    offers: tuple[str, ...]

    def effect(self, features: pd.DataFrame, offer: str) -> np.ndarray:
        """Absolute reduction in the probability of churning, per row of ``features``."""
        ...

    def describe(self) -> str:
        """One line on how the effects were learned, for the list's summary."""
        ...


@dataclass
class Candidates:
    """Every (customer, eligible offer) with its economics, and who was left out and why."""

    #: One row per customer and eligible offer: customer_id, action, offer, churn_reduction,
    #: margin_kept, offer_cost, expected_net_benefit, effect_source.
    offers: pd.DataFrame
    #: Customers with no candidate, by reason ("never ordered", "suppressed", ...).
    excluded: dict[str, int]


def recently_contacted(dataset: Dataset, as_of: datetime, days: int) -> set[object]:
    """Customers sent an offer (treated) in the ``days`` before ``as_of``."""
    if days <= 0 or not dataset.has("campaigns"):
        return set()
    treated = "coalesce(treated, TRUE)" if dataset.has("campaigns", "treated") else "TRUE"
    rows = dataset.con.execute(
        f'SELECT DISTINCT customer_id FROM campaigns WHERE {treated} AND "timestamp" < ? '
        'AND "timestamp" >= ?',
        [as_of, as_of - timedelta(days=days)],
    ).fetchall()
    return {r[0] for r in rows}


def _eligible(offer: Offer, frame: pd.DataFrame) -> np.ndarray:
    ok = frame["action"].isin(offer.actions).to_numpy(copy=True)
    if offer.stages:
        ok &= frame["lifecycle_stage"].isin(offer.stages).to_numpy()
    if offer.value_segments:
        ok &= frame["value_segment"].isin(offer.value_segments).to_numpy()
    return ok & (frame["clv"].fillna(0).to_numpy() >= offer.min_clv)


def candidate_offers(
    scores: pd.DataFrame,
    features: pd.DataFrame,
    settings: PolicySettings,
    *,
    lapsed_after_days: int,
    suppressed: set[object] = frozenset(),  # type: ignore[assignment]
    uplift: EffectModel | None = None,
) -> Candidates:
    """Every eligible (customer, offer) pair with its expected net benefit.

    ``scores`` is the scores table (:func:`serving.scoring.score`), ``features`` the feature rows
    it came from, in the same order.
    """
    frame = scores[["customer_id", "churn_probability", "clv", "lifecycle_stage",
                    "value_segment"]].reset_index(drop=True)  # fmt: skip
    feats = features.reset_index(drop=True)
    since = feats["days_since_last_order"].to_numpy(dtype="float64")
    if settings.lapsed_after_days is None and "population" in scores:
        # The model's own populations: the win-back model scored the lapsed customers.
        lapsed = scores["population"].eq("winback").to_numpy()
    else:
        lapsed = since > (settings.lapsed_after_days or lapsed_after_days)
    action = np.where(lapsed, "win_back", "retain")
    frame["action"] = action
    never = np.isnan(since)
    too_late = since > settings.recoverable_days
    held = frame["customer_id"].isin(suppressed).to_numpy()
    keep = ~never & ~too_late & ~held
    excluded = {
        "never ordered": int(never.sum()),
        f"no order for over {settings.recoverable_days} days": int((~never & too_late).sum()),
        f"sent an offer in the last {settings.suppression_days} days": int(
            (~never & ~too_late & held).sum()
        ),
    }
    p = frame["churn_probability"].to_numpy(dtype="float64")
    clv = np.clip(frame["clv"].fillna(0).to_numpy(dtype="float64"), 0, None)
    margin_kept = clv / (1 - np.minimum(p, MAX_CHURN_FOR_VALUE))
    aov = np.nan_to_num(feats["avg_order_value_lifetime"].to_numpy(dtype="float64"), nan=0.0)
    parts = []
    for offer in settings.offers:
        rows = keep & _eligible(offer, frame)
        if not rows.any():
            continue
        if uplift is not None and offer.name in uplift.offers:
            reduction = uplift.effect(feats.loc[rows], offer.name)
            source = "uplift"
        else:
            reduction = p[rows] * offer.assumed_effect
            source = "assumed"
        ordering_after = np.clip(1 - p[rows] + reduction, 0, 1)
        cost = offer.cost + offer.discount * aov[rows] * ordering_after
        benefit = reduction * margin_kept[rows] - cost
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": frame.loc[rows, "customer_id"].to_numpy(),
                    "action": action[rows],
                    "offer": offer.name,
                    "churn_reduction": reduction,
                    "margin_kept": margin_kept[rows],
                    "offer_cost": cost,
                    "expected_net_benefit": benefit,
                    "effect_source": source,
                    "churn_probability": p[rows],
                    "clv": clv[rows],
                }
            )
        )
    columns = ["customer_id", "action", "offer", "churn_reduction", "margin_kept", "offer_cost",
               "expected_net_benefit", "effect_source", "churn_probability", "clv"]  # fmt: skip
    offers = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return Candidates(offers, excluded)


def best_offers(candidates: pd.DataFrame) -> pd.DataFrame:
    """Each customer's offer with the highest expected net benefit, ranked best first.

    Ties break by offer cost (cheaper first), then customer id, so the ranking is deterministic.
    """
    ordered = candidates.sort_values(
        ["expected_net_benefit", "offer_cost", "customer_id", "offer"],
        ascending=[False, True, True, True],
        kind="stable",
    )
    return ordered.drop_duplicates("customer_id", keep="first").reset_index(drop=True)


def select(
    best: pd.DataFrame,
    *,
    budget: float | None,
    max_contacts: int | None,
    control_share: float,
    seed: int,
) -> pd.DataFrame:
    """Take customers by return (with a budget) or benefit while limits allow; mark the control.

    Only positive expected net benefit is ever taken. Control customers count against the
    budget and the contact limit as if treated: the group is a random slice of the list, so the
    list's size does not depend on the draw.
    """
    positive = best[best["expected_net_benefit"] > 0]
    if budget is not None:
        positive = by_return(positive)
    cost = positive["offer_cost"].to_numpy(dtype="float64")
    within = np.ones(len(positive), dtype=bool)
    if budget is not None:
        # An offer that no longer fits is skipped and cheaper ones further down may still be
        # taken, so the budget is used as fully as the ranking allows.
        spent = 0.0
        for i, c in enumerate(cost):
            if spent + c <= budget + 1e-9:
                spent += c
            else:
                within[i] = False
    if max_contacts is not None:
        within &= np.cumsum(within) <= max_contacts
    chosen = positive[within].reset_index(drop=True)
    chosen.insert(0, "rank", np.arange(1, len(chosen) + 1))
    n_control = round(control_share * len(chosen))
    control = np.zeros(len(chosen), dtype=bool)
    if n_control:
        control[np.random.default_rng(seed).choice(len(chosen), n_control, replace=False)] = True
    chosen["control"] = control
    return chosen


def by_return(best: pd.DataFrame) -> pd.DataFrame:
    """Offers ordered by expected net benefit per unit of cost, highest first (free ones first).

    Ties break by benefit (larger first), then customer id, so the order is deterministic.
    """
    cost = best["offer_cost"].to_numpy(dtype="float64")
    benefit = best["expected_net_benefit"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cost > 0, benefit / np.where(cost > 0, cost, 1.0), np.inf * benefit)
    ordered = best.assign(_return=ratio).sort_values(
        ["_return", "expected_net_benefit", "customer_id"],
        ascending=[False, False, True],
        kind="stable",
    )
    return ordered.drop(columns="_return").reset_index(drop=True)


def budget_curve(best: pd.DataFrame) -> pd.DataFrame:
    """Cumulative cost and expected net benefit in the order a budget takes customers.

    Ordered by return, each step adds less benefit per unit of money than the one before: the
    curve flattens where more budget stops paying.
    """
    positive = by_return(best[best["expected_net_benefit"] > 0])
    return pd.DataFrame(
        {
            "contacts": np.arange(1, len(positive) + 1),
            "cost": positive["offer_cost"].cumsum().to_numpy(),
            "expected_net_benefit": positive["expected_net_benefit"].cumsum().to_numpy(),
        }
    )


def chosen_policy(
    settings: PolicySettings,
    *,
    offers: Sequence[str] | None = None,
    control_share: float | None = None,
) -> PolicySettings:
    """``settings`` with only the ``offers`` named (from its catalog) and another control share.

    What a marketer may choose for one list (the page, ``POST /list``, ``winback list --offer``)
    without touching the catalog: None keeps the setting as configured. The seed stays, so the
    same choices give the same list everywhere.
    """
    update: dict[str, object] = {}
    if offers is not None:
        catalog = [o.name for o in settings.offers]
        unknown = sorted(set(offers) - set(catalog))
        if unknown:
            raise SettingsError(
                f"unknown offer {', '.join(map(repr, unknown))}: the catalog ([policy] offers) "
                f"has {', '.join(catalog)}"
            )
        if not offers:
            raise SettingsError(f"choose at least one offer of the catalog: {', '.join(catalog)}")
        update["offers"] = tuple(o for o in settings.offers if o.name in set(offers))
    if control_share is not None:
        if not 0 <= control_share < 1:
            raise SettingsError(
                f"control share must be at least 0 and below 1, got {control_share:g}"
            )
        update["control_share"] = control_share
    return settings.model_copy(update=update) if update else settings


__all__ = [
    "LIST_COLUMNS",
    "Candidates",
    "EffectModel",
    "best_offers",
    "budget_curve",
    "by_return",
    "candidate_offers",
    "chosen_policy",
    "recently_contacted",
    "select",
]
