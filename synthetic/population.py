"""Customers of the synthetic world: signups, attributes and each customer's hidden traits.

Everything here is drawn once per customer, vectorised; the mechanisms are documented in
:mod:`winback.synthetic.world`. Times are float days since ``start`` (negative: before it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from winback.synthetic.intensity import WEB_PROFILE, Intensity

COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "NL")
COUNTRY_SHARE = (0.46, 0.16, 0.12, 0.09, 0.08, 0.05, 0.04)
PLANS = ("free", "basic", "premium")
PLAN_SHARE = (0.55, 0.30, 0.15)
CHANNELS = ("organic", "paid_search", "social", "referral")

#: Share of customers who signed up before ``start`` (the base the business already has).
LEGACY_SHARE = 0.25
LEGACY_MAX_AGE_DAYS = 3 * 365.0
#: Acquisition grows by exp(0.5) ≈ 1.65 a year, with the web calendar's seasonality.
ACQUISITION_GROWTH_PER_YEAR = 0.5

#: Purchase rate λ ~ Gamma(shape, mean) per day, before attribute multipliers.
PURCHASE_RATE_SHAPE, PURCHASE_RATE_MEAN = 0.75, 1 / 32
#: Drop-out hazard μ ~ Gamma(shape, mean) per day, before attribute multipliers.
HAZARD_SHAPE, HAZARD_MEAN = 0.9, 1 / 420
#: Gamma-Gamma spend: per-order value ~ Gamma(p, rate ν), ν ~ Gamma(q, rate γ); mean p·γ/(q−1).
SPEND_P, SPEND_Q, SPEND_GAMMA = 4.0, 4.0, 41.25
#: Share of signups who never buy, by plan.
NEVER_BUYER = (0.16, 0.08, 0.03)
#: Fade window before drop-out, uniform in days.
FADE_DAYS = (28.0, 56.0)

# Attribute multipliers on (purchase rate, hazard, spend, engagement): mild, real effects.
PLAN_EFFECT = np.array([[0.75, 1.3, 0.85, 0.8], [1.0, 1.0, 1.0, 1.0], [1.7, 0.55, 1.35, 1.3]])
CHANNEL_EFFECT = np.array(
    [[1.0, 1.0, 1.0, 1.0], [0.95, 1.15, 1.0, 0.9], [0.85, 1.35, 0.9, 1.1], [1.1, 0.75, 1.05, 1.1]]
)
COUNTRY_EFFECT = np.array(
    [
        [1.0, 1.0, 1.0, 1.0],
        [1.0, 1.0, 0.95, 1.0],
        [1.05, 0.95, 1.0, 0.95],
        [0.95, 1.0, 0.95, 1.0],
        [1.0, 1.0, 0.9, 1.0],
        [0.9, 1.1, 1.05, 1.0],
        [1.05, 0.95, 1.0, 1.05],
    ]
)

#: Offer response classes by plan: (none, responder, sleeping dog) shares.
RESPONSE_CLASS = np.array([[0.55, 0.37, 0.08], [0.60, 0.32, 0.08], [0.70, 0.15, 0.15]])
#: Codes of the response classes in :attr:`Population.response`.
NO_RESPONSE, RESPONDER, SLEEPING_DOG = 0, 1, 2
#: Sleeping dogs dislike contact: they open this share of the emails others like them would.
SLEEPING_DOG_EMAIL_OPEN = 0.35


@dataclass(frozen=True)
class Population:
    """One entry per customer, in customer-id order (= signup order)."""

    signup: np.ndarray  # days since start; negative for the legacy base
    country: np.ndarray  # codes into COUNTRIES
    plan: np.ndarray  # codes into PLANS
    channel: np.ndarray  # codes into CHANNELS
    purchase_rate: np.ndarray  # λ, orders per day on an average day (0 for never-buyers)
    hazard: np.ndarray  # μ, drop-out hazard per day
    mean_spend: np.ndarray  # expected gross order value
    engagement: np.ndarray  # web engagement level, mean about 1
    email_open: np.ndarray  # share of emails opened (0 when unsubscribed)
    email_click: np.ndarray  # share of opened emails clicked
    has_app: np.ndarray  # bool
    support: np.ndarray  # support-ticket propensity, mean about 1
    session_minutes: np.ndarray  # mean session length
    favourite_category: np.ndarray  # codes into the order categories
    fade_days: np.ndarray  # length of the pre-drop-out fade
    offer_effect: np.ndarray  # τ, see winback.synthetic.world
    response: np.ndarray  # response class: NO_RESPONSE, RESPONDER or SLEEPING_DOG
    natural_dropout: np.ndarray  # days since start, before any campaign effect

    @property
    def n(self) -> int:
        """Number of customers."""
        return int(self.signup.size)

    @property
    def birth(self) -> np.ndarray:
        """Start of observable life: signup, or ``start`` for the legacy base."""
        return np.maximum(self.signup, 0.0)


def _signups(
    n: int, start: datetime, horizon: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Signup times (sorted) and the legacy flag."""
    n_legacy = round(n * LEGACY_SHARE)
    legacy = -rng.uniform(1.0, LEGACY_MAX_AGE_DAYS, n_legacy)
    acquisition = Intensity(WEB_PROFILE, start, horizon, ACQUISITION_GROWTH_PER_YEAR)
    zero, end = np.zeros(1), np.full(1, horizon)
    new = acquisition.place(zero, end, np.array([n - n_legacy]), rng)
    signup = np.sort(np.concatenate([legacy, new]))
    # Whole seconds, so that activity placed after a signup never rounds to before it.
    signup = np.floor(signup * 86400.0) / 86400.0
    return signup, signup < 0


def _attributes(
    signup: np.ndarray, horizon: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = signup.size
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARE)
    plan = rng.choice(len(PLANS), n, p=PLAN_SHARE)
    # The channel mix drifts: social grows and organic shrinks over the period.
    drift = np.clip(signup / horizon, 0.0, 1.0)
    weights = np.stack(
        [0.47 - 0.12 * drift, 0.28 + 0.02 * drift, 0.12 + 0.1 * drift, np.full(n, 0.13)]
    )
    u = rng.random(n)
    channel = (u[None, :] > np.cumsum(weights, axis=0)).sum(axis=0).clip(0, len(CHANNELS) - 1)
    return country, plan, channel


def _gamma(rng: np.random.Generator, shape: float, mean: float, n: int) -> np.ndarray:
    return rng.gamma(shape, mean / shape, n)


def draw_population(
    n: int, start: datetime, horizon: float, rng: np.random.Generator
) -> Population:
    """Draw ``n`` customers with signups, attributes, hidden traits and natural drop-out."""
    signup, is_legacy = _signups(n, start, horizon, rng)
    country, plan, channel = _attributes(signup, horizon, rng)
    effect = PLAN_EFFECT[plan] * CHANNEL_EFFECT[channel] * COUNTRY_EFFECT[country]

    buyer = rng.random(n) >= np.asarray(NEVER_BUYER)[plan]
    purchase_rate = _gamma(rng, PURCHASE_RATE_SHAPE, PURCHASE_RATE_MEAN, n) * effect[:, 0] * buyer

    # μ = m·G with G ~ Gamma(k, rate β). A legacy customer of age A is a survivor, and survivors'
    # G is Gamma(k, rate β + m·A): the base the business has at start is the long-lived part.
    beta = HAZARD_SHAPE / HAZARD_MEAN
    age = np.where(is_legacy, -signup, 0.0)
    hazard = effect[:, 1] * rng.gamma(HAZARD_SHAPE, 1.0 / (beta + effect[:, 1] * age))
    birth = np.maximum(signup, 0.0)
    natural_dropout = birth + rng.exponential(1.0, n) / hazard

    nu = rng.gamma(SPEND_Q, 1.0 / SPEND_GAMMA, n)
    mean_spend = SPEND_P / nu * effect[:, 2]

    # Engagement follows buying (√ of relative purchase rate), with its own spread.
    rel_rate = purchase_rate / PURCHASE_RATE_MEAN
    engagement = np.sqrt(rel_rate + 0.2) * rng.gamma(3.0, 1 / 3.0, n) * effect[:, 3] / 1.05
    subscribed = rng.random(n) < 0.78
    email_open = np.clip(rng.beta(2.0, 5.0, n) * (0.7 + 0.3 * engagement), 0.0, 0.95) * subscribed
    email_click = rng.beta(1.5, 10.0, n)
    has_app = rng.random(n) < np.array([0.25, 0.4, 0.6])[plan]
    support = rng.gamma(2.0, 0.5, n) * np.where(buyer, 1.0, 0.3)
    session_minutes = rng.lognormal(np.log(7.0), 0.5, n)
    favourite_category = rng.choice(5, n, p=(0.15, 0.25, 0.3, 0.15, 0.15))
    fade_days = rng.uniform(*FADE_DAYS, n)
    offer_effect, response = _offer_effect(plan, email_open, rng)
    # The class is an attitude to being contacted, and it shows: sleeping dogs rarely read us.
    email_open = email_open * np.where(response == SLEEPING_DOG, SLEEPING_DOG_EMAIL_OPEN, 1.0)

    return Population(
        signup=signup,
        country=country,
        plan=plan,
        channel=channel,
        purchase_rate=purchase_rate,
        hazard=hazard,
        mean_spend=mean_spend,
        engagement=engagement,
        email_open=email_open,
        email_click=email_click,
        has_app=has_app,
        support=support,
        session_minutes=session_minutes,
        favourite_category=favourite_category,
        fade_days=fade_days,
        offer_effect=offer_effect,
        response=response,
        natural_dropout=natural_dropout,
    )


def _offer_effect(
    plan: np.ndarray, email_open: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """τ and the response class per customer.

    τ is mostly ≈0, responders have τ in [0.15, 0.9], sleeping dogs in [−0.5, −0.1].
    """
    n = plan.size
    shares = RESPONSE_CLASS[plan].copy()
    # People who read our emails respond more: scale the responder share by their open rate.
    shares[:, 1] *= np.clip(0.6 + email_open / 0.7, 0.6, 1.6)
    shares /= shares.sum(axis=1, keepdims=True)
    cls = (rng.random(n)[:, None] > np.cumsum(shares, axis=1)).sum(axis=1)
    none = np.clip(rng.normal(0.0, 0.015, n), -0.04, 0.04)
    responder = 0.15 + 0.75 * rng.beta(2.0, 2.0, n)
    sleeping_dog = -(0.1 + 0.4 * rng.beta(2.0, 3.0, n))
    cls = np.minimum(cls, SLEEPING_DOG)
    return np.choose(cls, [none, responder, sleeping_dog]), cls


__all__ = [
    "CHANNELS",
    "COUNTRIES",
    "PLANS",
    "Population",
    "draw_population",
]
