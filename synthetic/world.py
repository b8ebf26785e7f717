"""A synthetic customer world: a shop's customers, orders, engagement and retention campaigns.

``simulate(n_customers, start, end, seed)`` returns a :class:`SyntheticWorld` whose tables follow
the data contract (transactions, events, customers, campaigns) plus ``ground_truth``: the hidden
per-customer parameters and true drop-out dates that real data never shows, so models, baselines
and uplift estimates can be checked against the truth. ``write_world`` writes the five tables as
Parquet or CSV. The same seed gives identical frames and identical files.

All times are UTC; the simulator works in days since ``start`` and every timestamp lies in
``[start, end)`` except signups of the legacy base. Each mechanism below names its parameters;
the constants live beside the code that uses them (``synthetic/*.py``).

Customers and cohorts
    25% of customers are a *legacy base* who signed up up to three years before ``start`` and are
    alive at ``start``; the rest sign up during ``[start, end)`` with acquisition growing by
    ``exp(0.5)`` a year and following the web calendar (Black Friday, December, summer dip, week
    and time of day). Customer ids ``C0000000, C0000001, ...`` follow signup order. Attributes:
    ``country`` (US 46%, GB 16%, DE 12%, FR, CA, AU, NL), ``plan`` (free 55%, basic 30%, premium
    15%) and ``acquisition_channel`` (organic, paid_search, social, referral; social grows and
    organic shrinks over the period). Attributes multiply the purchase rate, hazard, spend and
    engagement mildly: premium buys 1.7× as often, spends 1.35× and has 0.55× the hazard; free
    0.75×, 0.85× and 1.3×; social-acquired customers have 1.35× the hazard, referrals 0.75×.

Purchases (Pareto/NBD-style, the continuous-time twin of BG/NBD)
    While alive, a customer orders as a Poisson process with rate ``purchase_rate`` λ per day on an
    average day; λ ~ Gamma(shape 0.75, mean 1/32) × attribute effects (median about 1/75), so most
    customers are sparse and a few are frequent. 16% of free, 8% of basic and 3% of premium
    customers never buy (λ = 0) yet may visit. The rate is modulated by the purchase calendar (Black
    Friday spike, December peak, Q4 build-up, summer dip, January lull; busier weekends and
    evenings). 65% of new buyers place a *welcome order* within about an hour of signing up (not
    counted in λ).

Drop-out
    Each customer drops out silently at a time drawn from a constant hazard ``dropout_hazard`` μ
    per day: μ ~ Gamma(shape 0.9, mean 1/420) × attribute effects, counted from signup (legacy
    customers: from ``start``, with μ drawn from the survivors' distribution Gamma(0.9, rate
    β + effect × age), so the old base is the long-lived part). After drop-out there are no orders
    and only residual engagement. ``dropout_probability_90d`` = 1 − exp(−90 μ).

Spend (Gamma-Gamma)
    ``mean_spend`` m = 4/ν × attribute effects with ν ~ Gamma(4, rate 41.25) (population mean 55);
    each order's gross value ~ Gamma(shape 4, mean m) (at least 2.00). ``amount`` is what the
    customer paid: gross minus ``discount``. 7% of orders (30% in Black Friday week) carry a
    10-25% promotion on average over customers; deal-seekers take more of them (see "Campaigns
    and the true offer effect"). ``category`` is the customer's favourite with probability
    0.55, else drawn from electronics, home, apparel, beauty, grocery; ``cost`` (product cost)
    is gross × the category's cost ratio (0.70, 0.62, 0.55, 0.58, 0.68) × (1 ± a few %), always
    below ``amount``. ``quantity`` = 1 + Poisson(0.3 + gross/80). ``channel``: app (60% for app
    users), web, store.

Refunds
    About 2% of orders (apparel 3.5%, grocery 0.4%) are refunded 2-21 days later (only if before
    ``end``): a row with its own ``order_id``, the same customer, channel and category, and
    negative ``amount``, ``cost`` and ``quantity`` — the full order (70%) or 20-80% of it.

Engagement and its fade
    Events are Poisson processes per customer and type with rates (per average day): ``visit`` 0.035
    g (value: pages viewed), ``session`` 0.022 g (value: minutes), ``app_open`` 0.05 g for app users
    (25%, 40%, 60% by plan), ``email_open`` 0.2 o (0.2 emails a day, o = open share ~ Beta(2, 5), 0
    for the 22% unsubscribed), ``email_click`` 0.2 o c (c ~ Beta(1.5, 10)), ``support_ticket``
    0.0025 s (s ~ Gamma(2, mean 1), 0.3× for never-buyers). The engagement level g ∝ sqrt(λ / mean λ
    + 0.2) × Gamma(3, mean 1) × attribute effects, so engagement follows buying; ``engagement_rate``
    is the sum of the type rates. Web events follow the web calendar, email events the send calendar
    (Tuesday and Thursday mornings). In the ``fade_days`` (uniform 28-56) before drop-out every rate
    ramps linearly from its full value to a floor at drop-out: visits and sessions 0.15, app opens
    0.1, email opens 0.35, clicks 0.15, while support tickets ramp *up* to 2.5×; session minutes and
    pages per visit shrink with it; orders fade to 0.5. After drop-out, 25% of email opens, 3% of
    clicks, 2% of visits and 1% of app opens continue. A drop-out after ``end`` still fades inside
    the data if it is near enough.

Campaigns and the true offer effect
    Retention campaigns are sent on a Tuesday 09:00 UTC about 120 days after ``start``, then every
    91 days (sends spread over three hours). Candidates have been signed up for at least 30 days
    and are alive or lapsed (dropped out at most 120 days before: the business cannot tell them
    apart). In the ``"targeted"`` programme (default) each is contacted with probability 0.05 +
    0.6 × (risk percentile)³, risk being the true hazard × log-normal noise (σ 0.5; lapsed
    customers look 3× riskier); in ``"everyone"`` every candidate is contacted, a randomised test
    of the offers across the base, with about five times the contacts (the population is the
    targeted world's of the same seed). The offer is
    ``discount_10`` (40%), ``discount_20`` (25%) or ``free_shipping`` (35%); a random 20% of the
    contacts are *control* (``treated`` False, nothing sent, ``cost`` 0; ``offer`` still names the
    planned offer). ``cost`` per contact is 3.00, 6.00 and 2.50.

    ``offer_effect`` τ is each customer's response to ``discount_20``; ``discount_10`` delivers
    0.7 τ and ``free_shipping`` 0.5 τ (call that τ'). About 61% of customers have τ ≈ 0 (|τ| ≤
    0.04), 30% are responders with τ = 0.15 + 0.75 Beta(2, 2) (34% on free, 14% on premium, more
    among email readers), and 9% are "sleeping dogs" with τ = −(0.1 + 0.4 Beta(2, 3)) (15% on
    premium).

    The response class is the customer's latent attitude to being marketed to, and it shows in
    behaviour, as it does in real retention data: responders are deal-seekers, who redeem the
    offers they are sent 3× as often as the indifferent and take 2× the organic promotions (14%
    of orders, 60% in Black Friday week); indifferent customers take 0.65× (4.6%); sleeping dogs
    dislike contact: they redeem 0.2× as often, take 0.3× the promotions (2.1%) and open 0.35×
    the emails their open share o would give (o is drawn first; the class depends on it as
    above, then the sleeping dogs' o is scaled down). Weighted by the class shares the promotion
    multipliers average 1. What these give in the data, measured:
    ``docs/2026-12-05-synthetic-world.md``.

    For a treated customer alive at the send time s:

    - τ' > 0: if the drop-out falls in ``[s, s + 90 days)``, then with probability τ' it is
      postponed: a new drop-out is drawn from the customer's hazard, starting at s + 90 days;
    - τ' < 0: if the drop-out falls at or after s + 90 days, then with probability |τ'| the
      customer drops out at a uniform time in ``[s + 3, s + 90)`` days instead;
    - a redemption order follows within days (mean 3, at most 21) with probability 0.15, 0.22
      or 0.12 by offer, × 3 for responders, × 1 for the indifferent and × 0.2 for sleeping
      dogs, carrying the offer's discount (10%, 20% or 4.99 of shipping), for customers who buy
      at all; it does not change drop-out.

    Control and lapsed customers are unaffected. Campaigns are 91 days apart, so a later offer
    never changes an earlier offer's 90-day outcome. Hence for a customer alive at an offer,
    P(drop-out within 90 days) is q = 1 − exp(−90 μ) in control and q (1 − τ') if τ' > 0, or
    q + |τ'| (1 − q) if τ' < 0, when treated. ``offer_uplift_90d`` is that absolute reduction
    for ``discount_20``: τ q if τ > 0, else τ (1 − q).

Ground truth (one row per customer)
    ``customer_id``, ``signup_date``, ``dropout_date`` (the final drop-out after campaign
    effects; NaT if alive at ``end``), ``is_alive_at_end``, ``purchase_rate`` (λ per day),
    ``dropout_hazard`` (μ per day), ``dropout_probability_90d``, ``mean_spend`` (expected gross
    order value), ``engagement_rate`` (events per day while alive and not fading),
    ``offer_effect`` (τ), ``offer_uplift_90d``, ``fade_days`` (the fade window; shortened to the
    time since the offer when an offer caused the drop-out) and ``dropout_changed_by_offer``.
    Since the fade follows the final drop-out, a customer whose drop-out an offer postponed shows
    no decline before that offer.

Tables are sorted by (timestamp, customer_id); ``order_id`` ``O000000000, ...`` follows that
order. Randomness comes from ``numpy.random.Generator(PCG64)`` streams spawned from ``seed``.
Everything is vectorised (time and memory at a million customers: ``bench/bench_simulate.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from winback.common.arrow_tables import frame_to_arrow
from winback.common.errors import SettingsError
from winback.synthetic.campaigns import OFFERS, PROGRAMMES, Programme, run_campaigns, uplift_90d
from winback.synthetic.engagement import EVENT_TYPES, engagement_rate, simulate_events
from winback.synthetic.orders import CATEGORIES, TX_CHANNELS, simulate_orders
from winback.synthetic.population import CHANNELS, COUNTRIES, PLANS, draw_population

TABLES = ("transactions", "events", "customers", "campaigns", "ground_truth")
_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class SyntheticWorld:
    """The five tables of a simulated world (see the module docstring for their meaning)."""

    transactions: pd.DataFrame
    events: pd.DataFrame
    customers: pd.DataFrame
    campaigns: pd.DataFrame
    ground_truth: pd.DataFrame

    def no_order_probability(
        self, customer_ids: pd.Series, cutoff: pd.Timestamp, horizon_days: int
    ) -> np.ndarray:
        """P(no order in the horizon) from each customer's latent state at the cutoff.

        A customer who has dropped out orders no more; one still alive orders at rate λ until
        dropping out at hazard μ, so P(no order in h days) = μ/(λ+μ)·(1 − e^{−(λ+μ)h}) +
        e^{−(λ+μ)h}. Seasonality and offers are ignored: a strong reference for churn models,
        not a hard ceiling.
        """
        truth = customer_ids.to_frame("customer_id").merge(
            self.ground_truth, on="customer_id", how="left"
        )
        dropped = truth["dropout_date"].notna() & (truth["dropout_date"] <= cutoff)
        rate = truth["purchase_rate"].to_numpy() + truth["dropout_hazard"].to_numpy()
        stay = np.exp(-rate * horizon_days)
        alive = truth["dropout_hazard"].to_numpy() / rate * (1 - stay) + stay
        return np.where(dropped, 1.0, alive)


def _utc(value: date | datetime | str, name: str) -> datetime:
    """A date, datetime or ISO string as an aware UTC datetime (naive means UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise SettingsError(f"{name}: expected an ISO date or datetime, got {value!r}") from exc
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=0)


def simulate(
    n_customers: int,
    start: date | datetime | str,
    end: date | datetime | str,
    seed: int = 0,
    campaign_programme: Programme = "targeted",
) -> SyntheticWorld:
    """Simulate ``n_customers`` customers over ``[start, end)``; same seed, same world.

    ``campaign_programme`` says whom each campaign contacts: ``"targeted"`` (mostly the riskiest)
    or ``"everyone"`` (every candidate; see "Campaigns and the true offer effect").
    """
    t0, t1 = _utc(start, "start"), _utc(end, "end")
    if t1 <= t0:
        raise SettingsError(f"end ({t1.isoformat()}) must be after start ({t0.isoformat()})")
    if n_customers < 1:
        raise SettingsError(f"n_customers must be at least 1, got {n_customers}")
    if campaign_programme not in PROGRAMMES:
        raise SettingsError(
            f"campaign_programme must be one of {list(PROGRAMMES)}, got {campaign_programme!r}"
        )
    horizon = (t1 - t0).total_seconds() / 86400.0
    rngs = [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(4)]

    pop = draw_population(n_customers, t0, horizon, rngs[0])
    history = run_campaigns(pop, t0, horizon, rngs[1], campaign_programme)
    orders = simulate_orders(pop, history, t0, horizon, rngs[2])
    events = simulate_events(pop, history, t0, horizon, rngs[3])

    origin = int(np.datetime64(t0.replace(tzinfo=None), "us").astype(np.int64))
    ids = _id_table("C", n_customers)
    seconds = _seconds(orders.time, horizon)
    order = _time_order(seconds, orders.customer, n_customers)
    transactions = pd.DataFrame(
        {
            "order_id": _strings(_numbered("O", order.size, 9)),
            "customer_id": _strings(ids[orders.customer[order]]),
            "timestamp": _timestamps(origin, seconds[order]),
            "amount": orders.amount[order],
            "cost": orders.cost[order],
            "quantity": orders.quantity[order].astype(np.int64),
            "channel": _labels(TX_CHANNELS, orders.channel[order]),
            "category": _labels(CATEGORIES, orders.category[order]),
            "discount": orders.discount[order],
        }
    )
    del orders, order, seconds

    seconds = _seconds(events.time, horizon)
    order = _time_order(seconds, events.customer, n_customers)
    events_frame = pd.DataFrame(
        {
            "customer_id": _strings(ids[events.customer[order]]),
            "timestamp": _timestamps(origin, seconds[order]),
            "event_type": _labels(EVENT_TYPES, events.kind[order]),
            "value": events.value[order],
        }
    )
    del events, order, seconds

    signup = _timestamps(origin, _seconds(pop.signup, horizon))
    customers = pd.DataFrame(
        {
            "customer_id": _strings(ids),
            "signup_date": signup,
            "country": _labels(COUNTRIES, pop.country),
            "plan": _labels(PLANS, pop.plan),
            "acquisition_channel": _labels(CHANNELS, pop.channel),
        }
    )

    seconds = _seconds(history.time, horizon)
    order = _time_order(seconds, history.customer, n_customers)
    campaigns = pd.DataFrame(
        {
            "customer_id": _strings(ids[history.customer[order]]),
            "timestamp": _timestamps(origin, seconds[order]),
            "offer": _labels(OFFERS, history.offer[order]),
            "treated": history.treated[order],
            "cost": history.cost[order],
        }
    )

    dropped = history.dropout < horizon
    dropout = _timestamps(origin, _seconds(np.where(dropped, history.dropout, 0.0), horizon))
    ground_truth = pd.DataFrame(
        {
            "customer_id": _strings(ids),
            "signup_date": signup,
            "dropout_date": dropout.where(dropped),
            "is_alive_at_end": ~dropped,
            "purchase_rate": pop.purchase_rate,
            "dropout_hazard": pop.hazard,
            "dropout_probability_90d": -np.expm1(-90.0 * pop.hazard),
            "mean_spend": pop.mean_spend,
            "engagement_rate": engagement_rate(pop),
            "offer_effect": pop.offer_effect,
            "offer_uplift_90d": uplift_90d(pop.hazard, pop.offer_effect),
            "fade_days": history.fade_days,
            "dropout_changed_by_offer": history.dropout != pop.natural_dropout,
        }
    )
    return SyntheticWorld(transactions, events_frame, customers, campaigns, ground_truth)


def _seconds(t: np.ndarray, horizon: float) -> np.ndarray:
    """Whole seconds since start, floored, and kept before ``horizon`` against round-off."""
    return np.floor(np.minimum(t * 86400.0, horizon * 86400.0 - 1.0)).astype(np.int64)


def _time_order(seconds: np.ndarray, customer: np.ndarray, n_customers: int) -> np.ndarray:
    """Permutation sorting rows by (timestamp, customer); stable, so ties keep generation order."""
    return np.argsort(seconds * n_customers + customer, kind="stable")


def _timestamps(origin_us: int, seconds: np.ndarray) -> pd.Series:
    us = (origin_us + seconds * 1_000_000).view("datetime64[us]")
    return pd.Series(us, dtype="datetime64[us, UTC]")


def _id_table(prefix: str, n: int) -> np.ndarray:
    """Zero-padded ids (at least 7 digits, so string order is number order) as fixed bytes."""
    return _numbered(prefix, n, 7)


def _numbered(prefix: str, n: int, min_digits: int) -> np.ndarray:
    """``prefix`` + zero-padded 0..n-1 as a fixed-width bytes array, built digit by digit."""
    digits = max(min_digits, len(str(max(n - 1, 0))))
    out = np.empty((n, len(prefix) + digits), dtype=np.uint8)
    out[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    number = np.arange(n, dtype=np.int64)
    for position in range(len(prefix) + digits - 1, len(prefix) - 1, -1):
        number, digit = np.divmod(number, 10)
        out[:, position] = digit + ord("0")
    return out.view(f"S{out.shape[1]}").ravel()


def _strings(fixed: np.ndarray) -> pd.Series:
    """A fixed-width bytes array as a pandas string column, without per-row Python objects."""
    width = fixed.dtype.itemsize
    offsets = np.arange(0, (fixed.size + 1) * width, width, dtype=np.int64)
    data = np.ascontiguousarray(fixed).view(np.uint8)
    array = pa.Array.from_buffers(
        pa.large_string(), fixed.size, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    return pd.Series(array, dtype="str")


def _labels(names: tuple[str, ...], codes: np.ndarray) -> pd.Series:
    """Codes into ``names`` as a pandas string column."""
    array = pc.take(pa.array(names, type=pa.large_string()), pa.array(codes.astype(np.int32)))
    return pd.Series(array, dtype="str")


def write_world(
    world: SyntheticWorld, out_dir: Path, fmt: Literal["parquet", "csv"] = "parquet"
) -> dict[str, Path]:
    """Write the five tables as ``<name>.parquet`` or ``<name>.csv``; each file atomically."""
    if fmt not in ("parquet", "csv"):
        raise SettingsError(f"fmt must be 'parquet' or 'csv', got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in TABLES:
        table = frame_to_arrow(getattr(world, name))
        path = out_dir / f"{name}.{fmt}"
        tmp = out_dir / f".{name}.{fmt}.{os.getpid()}.tmp"
        try:
            if fmt == "parquet":
                pq.write_table(table, tmp)
            else:
                # Generated strings hold no commas or quotes, so plain unquoted CSV is safe.
                options = pa_csv.WriteOptions(quoting_style="none")
                pa_csv.write_csv(_csv_ready(table), tmp, write_options=options)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        paths[name] = path
    return paths


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 with a trailing Z (e.g. 2024-03-01T13:22:10Z); nulls stay empty."""
    columns = [
        pc.strftime(pc.cast(column, pa.timestamp("s", tz="UTC")), format="%Y-%m-%dT%H:%M:%SZ")
        if pa.types.is_timestamp(column.type)
        else column
        for column in table.columns
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


__all__ = ["SyntheticWorld", "simulate", "write_world"]
