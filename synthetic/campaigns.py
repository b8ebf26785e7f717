"""Retention campaigns of the synthetic world: who was contacted, with what, and what it did.

Campaigns run in date order; each one may move the drop-out of treated customers, so the next
campaign sees the world as the previous one left it. The mechanism is documented in
:mod:`winback.synthetic.world`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from winback.synthetic.population import Population

OFFERS = ("discount_10", "discount_20", "free_shipping")
OFFER_SHARE = (0.40, 0.25, 0.35)
#: Cost per contact of each offer (expected redemption cost), charged to treated rows only.
OFFER_COST = (3.0, 6.0, 2.5)
#: How much of a customer's τ each offer delivers (discount_20 delivers all of it).
OFFER_STRENGTH = (0.7, 1.0, 0.5)
#: Chance that a treated, alive customer places a redemption order within days of the offer.
OFFER_REDEMPTION = (0.15, 0.22, 0.12)
#: Redemption multiplier by response class (none, responder, sleeping dog): responders are the
#: deal-seekers who redeem what they are sent, sleeping dogs ignore it.
REDEMPTION_BY_CLASS = (1.0, 3.0, 0.2)
#: Days of the effect window after an offer, and days between campaigns (never shorter).
EFFECT_DAYS = 90.0
CAMPAIGN_EVERY_DAYS = 91
FIRST_CAMPAIGN_AFTER_DAYS = 120
CONTROL_SHARE = 0.2
#: Customers signed up for fewer days than this are not contacted.
MIN_TENURE_DAYS = 30.0
#: Lapsed customers (dropped out at most this many days ago) are still contacted: the business
#: cannot tell them from quiet ones. The offer cannot bring them back.
LAPSED_DAYS = 120.0

#: Who each campaign contacts: ``"targeted"`` picks mostly by (noisily judged) risk, as a
#: retention programme does; ``"everyone"`` contacts every candidate, as a randomised test of the
#: offers across the whole base does (about five times the contacts; control still random).
Programme = Literal["targeted", "everyone"]
PROGRAMMES: tuple[Programme, ...] = ("targeted", "everyone")


@dataclass(frozen=True)
class CampaignHistory:
    """Contacts (one row each) and the drop-out times they left behind."""

    customer: np.ndarray  # customer index
    time: np.ndarray  # days since start
    offer: np.ndarray  # codes into OFFERS (the planned offer, also for control rows)
    treated: np.ndarray  # bool; False = random control, no offer sent
    cost: np.ndarray  # cost per contact; 0 for control rows
    dropout: np.ndarray  # per customer: final drop-out time, after all offers
    fade_days: np.ndarray  # per customer: fade window, shortened where an offer caused the drop
    redemption_customer: np.ndarray  # redemption orders: customer index
    redemption_time: np.ndarray  # redemption orders: days since start
    redemption_offer: np.ndarray  # redemption orders: offer code


def campaign_days(start: datetime, horizon: float) -> np.ndarray:
    """Send days: a Tuesday 09:00 UTC about 120 days in, then every 91 days before the end."""
    first = start + timedelta(days=FIRST_CAMPAIGN_AFTER_DAYS)
    first = first.replace(hour=9, minute=0, second=0, microsecond=0)
    first += timedelta(days=(1 - first.weekday()) % 7)
    offset = (first - start).total_seconds() / 86400.0
    return np.arange(offset, horizon, float(CAMPAIGN_EVERY_DAYS))


def _select(
    pop: Population,
    dropout: np.ndarray,
    day: float,
    rng: np.random.Generator,
    programme: Programme = "targeted",
) -> np.ndarray:
    """Customers contacted on ``day``: by ``programme``, mostly the riskiest, or every one."""
    eligible = pop.signup <= day - MIN_TENURE_DAYS
    lapsed = (dropout <= day) & (dropout > day - LAPSED_DAYS)
    candidates = np.flatnonzero(eligible & ((dropout > day) | lapsed))
    if candidates.size == 0:
        return candidates
    # A risk model's view: the true hazard seen through noise; lapsed customers look risky.
    score = pop.hazard[candidates] * rng.lognormal(0.0, 0.5, candidates.size)
    score *= np.where(lapsed[candidates], 3.0, 1.0)
    pct = (np.argsort(np.argsort(score)) + 0.5) / candidates.size
    # Drawn in either programme, so the stream, and a seed's targeted world, stays the same.
    chosen = rng.random(candidates.size) < 0.05 + 0.6 * pct**3
    return candidates if programme == "everyone" else candidates[chosen]


def run_campaigns(
    pop: Population,
    start: datetime,
    horizon: float,
    rng: np.random.Generator,
    programme: Programme = "targeted",
) -> CampaignHistory:
    """Contact customers on each campaign day and apply the offers' effects to drop-out."""
    dropout = pop.natural_dropout.copy()
    fade_days = pop.fade_days.copy()
    rows: list[tuple[np.ndarray, ...]] = []
    redemptions: list[tuple[np.ndarray, ...]] = []
    strength, redemption = np.asarray(OFFER_STRENGTH), np.asarray(OFFER_REDEMPTION)
    redeems = np.asarray(REDEMPTION_BY_CLASS)[pop.response]
    for day in campaign_days(start, horizon):
        who = _select(pop, dropout, day, rng, programme)
        m = who.size
        sent = day + rng.uniform(0.0, 3.0, m) / 24.0  # sends spread over three hours
        offer = rng.choice(len(OFFERS), m, p=OFFER_SHARE)
        treated = rng.random(m) >= CONTROL_SHARE
        rows.append((who, sent, offer, treated))

        alive = treated & (dropout[who] > sent)
        tau = strength[offer] * pop.offer_effect[who]
        u = rng.random(m)
        # τ > 0: a drop-out due inside the window is, with probability τ, postponed: a new
        # drop-out is drawn from the customer's own hazard, starting where the window ends.
        save = alive & (tau > 0) & (dropout[who] < sent + EFFECT_DAYS) & (u < tau)
        later = sent + EFFECT_DAYS + rng.exponential(1.0, m) / pop.hazard[who]
        # τ < 0: a customer due to stay through the window drops out inside it with prob. |τ|.
        push = alive & (tau < 0) & (dropout[who] >= sent + EFFECT_DAYS) & (u < -tau)
        sooner = sent + rng.uniform(3.0, EFFECT_DAYS, m)
        new = np.where(save, later, np.where(push, sooner, dropout[who]))
        # An offer-caused drop-out cannot fade before the offer arrived.
        fade_days[who] = np.where(push, np.minimum(fade_days[who], sooner - sent), fade_days[who])
        dropout[who] = new

        redeem = alive & (rng.random(m) < redemption[offer] * redeems[who])
        redeem &= pop.purchase_rate[who] > 0  # never-buyers stay never-buyers
        when = sent + np.minimum(rng.exponential(3.0, m), 21.0)
        redeem &= (when < dropout[who]) & (when < horizon)
        redemptions.append((who[redeem], when[redeem], offer[redeem]))

    def cat(parts: list[tuple[np.ndarray, ...]], i: int, dtype: type) -> np.ndarray:
        return np.concatenate([p[i] for p in parts]).astype(dtype) if parts else np.empty(0, dtype)

    treated = cat(rows, 3, bool)
    offer = cat(rows, 2, np.int64)
    return CampaignHistory(
        customer=cat(rows, 0, np.int64),
        time=cat(rows, 1, np.float64),
        offer=offer,
        treated=treated,
        cost=np.where(treated, np.asarray(OFFER_COST)[offer], 0.0),
        dropout=dropout,
        fade_days=fade_days,
        redemption_customer=cat(redemptions, 0, np.int64),
        redemption_time=cat(redemptions, 1, np.float64),
        redemption_offer=cat(redemptions, 2, np.int64),
    )


def uplift_90d(hazard: np.ndarray, offer_effect: np.ndarray) -> np.ndarray:
    """Absolute cut in P(drop-out within 90 days) by a full-strength offer to an alive customer."""
    q = -np.expm1(-EFFECT_DAYS * hazard)
    return np.where(offer_effect > 0, offer_effect * q, offer_effect * (1.0 - q))


__all__ = [
    "OFFERS",
    "PROGRAMMES",
    "CampaignHistory",
    "Programme",
    "campaign_days",
    "run_campaigns",
    "uplift_90d",
]
