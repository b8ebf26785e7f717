"""A deliberately naive reference for every feature: a loop over one customer's records.

It shares nothing with the SQL builder but the definitions in the docstrings, so where the two
agree the builder computes what the dictionary promises. Slow by design; for small worlds only.

Money is held to 4 decimal places (the data contract) and added up exactly, here with Python's
Decimal; gaps between orders are whole seconds, rounded down.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

import numpy as np
import pandas as pd

DAY = timedelta(days=1)
DAY_US = 86_400_000_000
SECOND = timedelta(seconds=1)
MONEY_PLACES = Decimal("0.0001")


def _money(value: object) -> Decimal:
    """A money value as the exact decimal of 4 places it stands for (missing is 0)."""
    if value is None or pd.isna(value):
        return Decimal(0)
    return Decimal(repr(float(value))).quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)


def _records(frame: pd.DataFrame | None) -> dict[str, list[dict]]:
    by_customer: dict[str, list[dict]] = defaultdict(list)
    if frame is None:
        return by_customer
    for row in frame.to_dict("records"):
        by_customer[row["customer_id"]].append(row)
    return by_customer


def _orders(transactions: pd.DataFrame) -> dict[str, list[dict]]:
    """Orders and refunds per customer: lines with the same order id and timestamp are one."""
    out: dict[str, list[dict]] = defaultdict(list)
    has_cost = "cost" in transactions
    if "order_id" in transactions:
        groups: dict[tuple, dict] = {}
        for row in transactions.to_dict("records"):
            key = (row["customer_id"], row["order_id"], row["timestamp"])
            g = groups.setdefault(
                key,
                {"customer_id": row["customer_id"], "timestamp": row["timestamp"],
                 "amount": Decimal(0), "margin": Decimal(0), "categories": [],
                 "discount": Decimal(0)},
            )  # fmt: skip
            g["amount"] += _money(row["amount"])
            cost = _money(row["cost"]) if has_cost else Decimal(0)
            g["margin"] += _money(row["amount"]) - cost
            if "category" in row and row["category"] is not None and not pd.isna(row["category"]):
                g["categories"].append(row["category"])
            if "discount" in row:
                g["discount"] += _money(row["discount"])
        rows = list(groups.values())
        for g in rows:
            g["category"] = min(g["categories"]) if g["categories"] else None
    else:
        rows = []
        for row in transactions.to_dict("records"):
            amount = _money(row["amount"])
            cost = _money(row["cost"]) if has_cost else Decimal(0)
            rows.append({**row, "amount": amount, "margin": amount - cost,
                         "discount": _money(row.get("discount"))})  # fmt: skip
    for r in rows:
        r["is_order"] = r["amount"] >= 0
        out[r["customer_id"]].append(r)
    return out


def _age_days(ts: datetime, as_of: datetime) -> float:
    return (as_of - ts) / DAY


def _in(age: float, w: int) -> bool:
    return age <= w


def _prev(age: float, w: int) -> bool:
    return w < age <= 2 * w


def _change(recent: float, previous: float) -> float | None:
    total = recent + previous
    return None if total == 0 else (recent - previous) / total


def _mean(values: list[Decimal]) -> float | None:
    return float(sum(values) / len(values)) if values else None


def _slope(ages_and_values: list[tuple[float, float | Decimal]], weeks: int) -> float:
    """Fit a line to the explicit weekly series (zeros included), oldest week first."""
    series = np.zeros(weeks)
    for age, value in ages_and_values:
        back = math.floor((age * 86_400_000_000 - 1) / (7 * 86_400_000_000))
        if back < weeks:
            series[weeks - 1 - back] += float(value)
    return float(np.polyfit(np.arange(weeks), series, 1)[0])


def _micros(ts: datetime, as_of: datetime) -> int:
    return (as_of - ts) // timedelta(microseconds=1)


def _rate_change(name: str, ages: list[float], known_days: int) -> dict[str, float | None]:
    """The last 30 days per month against the rest of the last 365 days per month known."""
    recent = sum(1 for a in ages if a <= 30)
    earlier = sum(1 for a in ages if 30 < a <= 365)
    earlier_days = min(365, known_days) - 30
    usual = earlier * 30 / earlier_days if earlier_days > 0 else None
    rate = recent * 30 / min(30, known_days)
    return {
        f"{name}_per_month_ratio": rate / usual if usual else None,
        f"{name}_per_month_change": rate - usual if usual is not None else None,
    }


def _usage(
    events: list[tuple[dict, float]],
    as_of: datetime,
    windows: tuple[int, ...],
    known_days: int,
    event_types: dict[str, str],
    days_since_last: object,
) -> dict[str, float | None]:
    """The usage families: rates per month of the days known, change, shares, days of activity.

    Days are whole days back from as_of: an event ``age`` µs old lies on day (age − 1) // 1 day.
    """
    f: dict[str, float | None] = {}
    day_of = {id(r): (_micros(r["timestamp"], as_of) - 1) // DAY_US for r, _ in events}
    for w in windows:
        count = sum(1 for _, a in events if _in(a, w))
        days = {day_of[id(r)] for r, a in events if _in(a, w)}
        f[f"events_per_month_{w}d"] = count * 30 / min(w, known_days)
        f[f"active_days_per_month_{w}d"] = len(days) * 30 / min(w, known_days)
    f.update(_rate_change("events", [a for _, a in events], known_days))
    year = [r["event_type"] for r, a in events if a <= 365]
    for key, raw in event_types.items():
        f[f"{key}_share_365d"] = year.count(raw) / len(year) if year else None
    active = sorted(set(day_of.values()))
    gap = (active[-1] - active[0]) / (len(active) - 1) if len(active) >= 2 else None
    f["event_gap_mean_days"] = gap
    f["event_overdue_ratio"] = days_since_last / gap if gap else None  # type: ignore[operator]
    return f


def naive_features(
    tables: dict[str, pd.DataFrame],
    as_of: datetime,
    windows: tuple[int, ...],
    weeks: int,
    event_types: dict[str, str],
    attributes: dict[str, str],
) -> pd.DataFrame:
    """Every feature for every customer known before ``as_of``, one customer at a time."""
    tx = tables["transactions"]
    orders = _orders(tx)
    events = _records(tables.get("events"))
    campaigns = _records(tables.get("campaigns"))
    customers = (
        {r["customer_id"]: r for r in tables["customers"].to_dict("records")}
        if "customers" in tables
        else {}
    )
    has_cost = "cost" in tx
    has_signup = "customers" in tables and "signup_date" in tables["customers"]
    has_offer_cost = "campaigns" in tables and "cost" in tables["campaigns"]
    has_treated = "campaigns" in tables and "treated" in tables["campaigns"]
    ids = set(orders) | set(events) | set(customers)
    rows = []
    for cid in sorted(ids):
        o = [(r, _age_days(r["timestamp"], as_of)) for r in orders.get(cid, [])
             if r["timestamp"] < as_of]  # fmt: skip
        e = [(r, _age_days(r["timestamp"], as_of)) for r in events.get(cid, [])
             if r["timestamp"] < as_of]  # fmt: skip
        c = [(r, _age_days(r["timestamp"], as_of)) for r in campaigns.get(cid, [])
             if r["timestamp"] < as_of]  # fmt: skip
        signup = customers.get(cid, {}).get("signup_date") if has_signup else None
        signup_age = (
            _age_days(signup, as_of) if signup is not None and not pd.isna(signup)
            and signup < as_of else None
        )  # fmt: skip
        if not o and not e and signup_age is None:
            continue
        f: dict[str, object] = {"customer_id": cid, "as_of": as_of}
        buys = sorted([(r, a) for r, a in o if r["is_order"]], key=lambda x: -x[1])
        f["days_since_last_order"] = min((a for _, a in buys), default=None)
        f["days_since_first_order"] = max((a for _, a in buys), default=None)
        f["orders_lifetime"] = len(buys)
        f["spend_lifetime"] = sum((r["amount"] for r, _ in o), Decimal(0))
        for w in windows:
            f[f"orders_{w}d"] = sum(1 for _, a in buys if _in(a, w))
        for w in windows:
            f[f"spend_{w}d"] = sum((r["amount"] for r, a in o if _in(a, w)), Decimal(0))
        for w in windows:
            f[f"refunds_{w}d"] = -sum(
                (r["amount"] for r, a in o if not r["is_order"] and _in(a, w)), Decimal(0)
            )
        for w in windows:
            f[f"avg_order_value_{w}d"] = _mean([r["amount"] for r, a in buys if _in(a, w)])
        f["avg_order_value_lifetime"] = _mean([r["amount"] for r, _ in buys])
        for w in windows:
            f[f"orders_trend_{w}d"] = _change(
                sum(1 for _, a in buys if _in(a, w)), sum(1 for _, a in buys if _prev(a, w))
            )
        for w in windows:
            f[f"spend_trend_{w}d"] = _change(
                sum((r["amount"] for r, a in o if _in(a, w)), Decimal(0)),
                sum((r["amount"] for r, a in o if _prev(a, w)), Decimal(0)),
            )
        f[f"orders_weekly_slope_{weeks}w"] = _slope([(a, 1.0) for _, a in buys], weeks)
        f[f"spend_weekly_slope_{weeks}w"] = _slope([(a, r["amount"]) for r, a in o], weeks)
        times = sorted(r["timestamp"] for r, _ in buys)
        seconds = [(b - a) // SECOND for a, b in pairwise(times)]  # whole seconds, rounded down
        day = DAY // SECOND
        f["gap_mean_days"] = statistics.fmean(seconds) / day if seconds else None
        f["gap_std_days"] = statistics.stdev(seconds) / day if len(seconds) >= 2 else None
        f["gap_max_days"] = max(seconds) / day if seconds else None
        f["gap_last_days"] = seconds[-1] / day if seconds else None
        if has_cost:
            f["margin_lifetime"] = sum((r["margin"] for r, _ in o), Decimal(0))
            for w in windows:
                f[f"margin_{w}d"] = sum((r["margin"] for r, a in o if _in(a, w)), Decimal(0))
        if "category" in tx:
            f["categories_lifetime"] = len({r["category"] for r, _ in buys if r["category"]})
        if "discount" in tx:
            disc = sum((r["discount"] for r, a in buys if _in(a, 365)), Decimal(0))
            amt = sum((r["amount"] for r, a in buys if _in(a, 365)), Decimal(0))
            has_any = any(_in(a, 365) for _, a in buys)
            f["discount_share_365d"] = disc / (amt + disc) if has_any and amt + disc else None
        last, mean_gap = f["days_since_last_order"], f["gap_mean_days"]
        f["overdue_ratio"] = last / mean_gap if last is not None and mean_gap else None  # type: ignore[operator]
        if "events" in tables:
            for w in windows:
                f[f"events_{w}d"] = sum(1 for _, a in e if _in(a, w))
            f["days_since_last_event"] = min((a for _, a in e), default=None)
            f["days_since_first_event"] = max((a for _, a in e), default=None)
            f[f"events_weekly_slope_{weeks}w"] = _slope([(a, 1.0) for _, a in e], weeks)
            for key, raw in event_types.items():
                of_type = [a for r, a in e if r["event_type"] == raw]
                for w in windows:
                    f[f"{key}_{w}d"] = sum(1 for a in of_type if _in(a, w))
                for w in windows:
                    f[f"{key}_trend_{w}d"] = _change(
                        sum(1 for a in of_type if _in(a, w)), sum(1 for a in of_type if _prev(a, w))
                    )
                f[f"days_since_{key}"] = min(of_type, default=None)
                f[f"{key}_weekly_slope_{weeks}w"] = _slope([(a, 1.0) for a in of_type], weeks)
        if "campaigns" in tables:
            sent = [(r, a) for r, a in c if (bool(r["treated"]) if has_treated and
                    not pd.isna(r["treated"]) else not has_treated)]  # fmt: skip
            for w in windows:
                f[f"offers_{w}d"] = sum(1 for _, a in sent if _in(a, w))
            f["offers_lifetime"] = len(sent)
            f["days_since_last_offer"] = min((a for _, a in sent), default=None)
            if "discount" in tx:
                # Offers at least 30 days old, and whether an order with a discount (of any
                # age, as long as it fell in the 30 days from the offer) redeemed each one.
                old = [r["timestamp"] for r, a in sent if a >= 30]
                discounted = [r["timestamp"] for r in orders.get(cid, [])
                              if r["is_order"] and r["discount"] > 0]  # fmt: skip
                redeemed = sum(1 for s in old if any(s <= t < s + 30 * DAY for t in discounted))
                f["offers_redeemed_lifetime"] = redeemed
                f["offer_redemption_share"] = redeemed / len(old) if old else None
            if has_offer_cost:
                for w in windows:
                    f[f"offer_cost_{w}d"] = sum(
                        (_money(r["cost"]) for r, a in sent if _in(a, w)), Decimal(0)
                    )
                if has_cost:
                    for w in windows:
                        f[f"crm_margin_{w}d"] = f[f"margin_{w}d"] - f[f"offer_cost_{w}d"]  # type: ignore[operator]
        firsts = [a for a in (f["days_since_first_order"], signup_age) if a is not None]
        firsts += [a for _, a in e] + [a for _, a in o]
        f["tenure_days"] = max(firsts)
        # Whole days back from as_of the customer has been known on (a day's part counts).
        stamps = [r["timestamp"] for r, _ in (*o, *e)]
        stamps += [signup] if signup_age is not None else []
        known_days = max(-(-_micros(ts, as_of) // DAY_US) for ts in stamps)
        for w in windows:
            f[f"orders_per_month_{w}d"] = f[f"orders_{w}d"] * 30 / min(w, known_days)  # type: ignore[operator]
            f[f"spend_per_month_{w}d"] = float(f[f"spend_{w}d"]) * 30 / min(w, known_days)  # type: ignore[arg-type]
        f.update(_rate_change("orders", [a for _, a in buys], known_days))
        if "events" in tables:
            f.update(_usage(e, as_of, windows, known_days, event_types, f["days_since_last_event"]))
        if has_signup:
            f["days_since_signup"] = signup_age
        f["as_of_month"] = as_of.month
        for column, raw in attributes.items():
            f[column] = customers.get(cid, {}).get(raw)
        rows.append({k: float(v) if isinstance(v, Decimal) else v for k, v in f.items()})
    return pd.DataFrame(rows)
