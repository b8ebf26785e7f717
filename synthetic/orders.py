"""Orders of the synthetic world: purchases, welcome and redemption orders, and refunds.

Returns plain columns (customer index, float days since start, ...); :mod:`winback.synthetic.world`
turns them into the transactions table and documents the mechanisms.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

import numpy as np

from winback.synthetic.campaigns import CampaignHistory
from winback.synthetic.intensity import PURCHASE_PROFILE, Intensity, fade
from winback.synthetic.population import Population

CATEGORIES = ("electronics", "home", "apparel", "beauty", "grocery")
CATEGORY_SHARE = (0.15, 0.25, 0.3, 0.15, 0.15)
#: Product cost as a share of the gross (undiscounted) order value.
COST_RATIO = (0.70, 0.62, 0.55, 0.58, 0.68)
#: Chance that an order is refunded, by category (overall about 2%).
REFUND_RATE = (0.025, 0.015, 0.035, 0.012, 0.004)
TX_CHANNELS = ("web", "app", "store")
#: Orders keep this share of their rate at drop-out (they decline, less than engagement).
PURCHASE_FADE_FLOOR = 0.5
#: New customers place a welcome order within the hour of signing up with this chance.
WELCOME_ORDER = 0.65
#: Off-campaign promotions: share of orders with a discount of 10-25% (Black Friday: more).
PROMO_SHARE, PROMO_SHARE_BLACK_FRIDAY = 0.07, 0.3
#: Promotion multiplier by response class (none, responder, sleeping dog): responders are
#: deal-seekers and time their orders to promotions. Weighted by the class shares it averages 1.
PROMO_BY_CLASS = (0.65, 2.0, 0.3)
FREE_SHIPPING_VALUE = 4.99
#: Offer code -> discount rate of its redemption order (free shipping: fixed value instead).
REDEMPTION_RATE = (0.10, 0.20, 0.0)
#: Offer codes whose redemption is free shipping (discount_10, discount_20, free_shipping).
OFFERS_FREE_SHIPPING = (False, False, True)


@dataclass(frozen=True)
class Orders:
    """Order rows in no particular order; amounts net of discount, refunds negative."""

    customer: np.ndarray
    time: np.ndarray
    amount: np.ndarray
    cost: np.ndarray
    quantity: np.ndarray
    channel: np.ndarray  # codes into TX_CHANNELS
    category: np.ndarray  # codes into CATEGORIES
    discount: np.ndarray


def _purchase_times(
    pop: Population,
    history: CampaignHistory,
    grid: Intensity,
    horizon: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Seasonal Poisson orders over each customer's life, thinned by the pre-drop-out fade."""
    lo = pop.birth
    hi = np.minimum(history.dropout, horizon)
    counts = rng.poisson(pop.purchase_rate * grid.expected(lo, hi))
    t = grid.place(lo, hi, counts, rng)
    who = np.repeat(np.arange(pop.n), counts)
    keep = rng.random(t.size) < fade(
        t, history.dropout[who], history.fade_days[who], PURCHASE_FADE_FLOOR
    )
    # Welcome orders: most new buyers order right after signing up.
    new_buyer = (pop.signup >= 0) & (pop.purchase_rate > 0) & (rng.random(pop.n) < WELCOME_ORDER)
    welcome_t = pop.signup + rng.exponential(0.5, pop.n) / 24.0
    new_buyer &= (welcome_t < history.dropout) & (welcome_t < horizon)
    return (
        np.concatenate([who[keep], np.flatnonzero(new_buyer)]),
        np.concatenate([t[keep], welcome_t[new_buyer]]),
    )


def _day_of_year(start: datetime, t: np.ndarray) -> np.ndarray:
    origin = np.datetime64(start.replace(tzinfo=None), "s")
    moment = origin + (t * 86400.0).astype("timedelta64[s]")
    return (moment.astype("datetime64[D]") - moment.astype("datetime64[Y]")).astype(np.int64)


def simulate_orders(
    pop: Population,
    history: CampaignHistory,
    start: datetime,
    horizon: float,
    rng: np.random.Generator,
) -> Orders:
    """All transactions: regular and welcome orders, redemption orders, then refunds."""
    grid = Intensity(PURCHASE_PROFILE, start, horizon)
    who, t = _purchase_times(pop, history, grid, horizon, rng)
    n_regular = who.size
    who = np.concatenate([who, history.redemption_customer])
    t = np.concatenate([t, history.redemption_time])
    n = who.size

    # Gamma-Gamma: order value ~ Gamma(p, mean = the customer's mean spend).
    gross = np.maximum(rng.gamma(4.0, pop.mean_spend[who] / 4.0), 2.0)
    favourite = rng.random(n) < 0.55
    category = np.where(favourite, pop.favourite_category[who], rng.choice(5, n, p=CATEGORY_SHARE))
    ratio = np.asarray(COST_RATIO)[category] * (1.0 + np.clip(rng.normal(0, 0.04, n), -0.1, 0.05))
    cost = np.round(gross * ratio, 2)

    doy = _day_of_year(start, t)
    black_friday = (doy >= 326) & (doy <= 334)
    share = np.where(black_friday, PROMO_SHARE_BLACK_FRIDAY, PROMO_SHARE)
    promo = rng.random(n) < share * np.asarray(PROMO_BY_CLASS)[pop.response[who]]
    rate = np.where(promo, rng.choice([0.10, 0.15, 0.20, 0.25], n), 0.0)
    rate[n_regular:] = np.asarray(REDEMPTION_RATE)[history.redemption_offer]
    gross = np.round(gross, 2)
    discount = np.round(gross * rate, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    amount = np.round(gross - discount, 2)
    shipping = np.zeros(n, dtype=bool)
    shipping[n_regular:] = np.asarray(OFFERS_FREE_SHIPPING)[history.redemption_offer]
    discount = np.where(shipping, FREE_SHIPPING_VALUE, discount)
    cost = np.minimum(cost, amount - 0.01)  # guard against cent rounding on tiny orders

    quantity = 1 + rng.poisson(0.3 + gross / 80.0)
    p_app = np.where(pop.has_app[who], 0.6, 0.0)
    u = rng.random(n)
    channel = np.where(u < p_app, 1, np.where(u < p_app + (1 - p_app) * 0.85, 0, 2))
    orders = Orders(who, t, amount, cost, quantity, channel, category, discount)
    return _with_refunds(orders, horizon, rng)


def _with_refunds(orders: Orders, horizon: float, rng: np.random.Generator) -> Orders:
    """Append refunds: a few days after some orders, full or partial, as negative rows."""
    n = orders.customer.size
    when = orders.time + rng.uniform(2.0, 21.0, n)
    pick = (rng.random(n) < np.asarray(REFUND_RATE)[orders.category]) & (when < horizon)
    full = rng.random(n) < 0.7
    share = np.where(full, 1.0, rng.uniform(0.2, 0.8, n))[pick]
    qty = orders.quantity[pick]
    refund = Orders(
        customer=orders.customer[pick],
        time=when[pick],
        amount=-np.round(orders.amount[pick] * share, 2),
        cost=-np.round(orders.cost[pick] * share, 2),
        quantity=-np.maximum(1, np.round(qty * share)).astype(np.int64),
        channel=orders.channel[pick],
        category=orders.category[pick],
        discount=np.zeros(pick.sum()),
    )
    return Orders(
        *(
            np.concatenate([getattr(orders, f), getattr(refund, f)])
            for f in (field.name for field in fields(Orders))
        )
    )


__all__ = ["CATEGORIES", "TX_CHANNELS", "Orders", "simulate_orders"]
