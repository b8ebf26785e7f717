"""Hypothesis strategies: small customer histories in the contract's shape, and a cutoff.

Histories are deliberately awkward: shared order ids (line items), refunds, records exactly at the
cutoff, several records at the same instant, customers known only by signup or only by events.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from hypothesis import strategies as st

START = datetime(2023, 1, 1)
END = datetime(2025, 1, 1)
CUSTOMERS = [f"C{i}" for i in range(6)]
EVENT_TYPES = ["visit", "email_open", "Support Ticket"]


def moments(lo: datetime = START, hi: datetime = END) -> st.SearchStrategy[datetime]:
    """Instants in [lo, hi), mostly at whole seconds, sometimes at midnight."""
    span = int((hi - lo).total_seconds())
    seconds = st.integers(0, span - 1).map(lambda s: lo + timedelta(seconds=s))
    days = st.integers(0, (hi - lo).days - 1).map(lambda d: lo + timedelta(days=d))
    return st.one_of(seconds, days)


@st.composite
def transactions(draw: st.DrawFn, lo: datetime = START, hi: datetime = END) -> pd.DataFrame:
    """Order lines: amounts (some negative: refunds), costs, categories, shared order ids."""
    n = draw(st.integers(1, 25))
    rows = []
    for i in range(n):
        ts = draw(moments(lo, hi))
        amount = draw(st.one_of(st.floats(0, 500).map(lambda x: round(x, 2)),
                                st.floats(-200, -0.01).map(lambda x: round(x, 2))))  # fmt: skip
        customer = draw(st.sampled_from(CUSTOMERS))
        # Some lines share an order (same customer and instant): line-item data.
        order = draw(st.sampled_from([f"O{i}", "O-shared"]))
        rows.append(
            {
                "customer_id": customer,
                "timestamp": ts,
                "amount": amount,
                "cost": round(abs(amount) * draw(st.floats(0.3, 0.9)), 2),
                "order_id": f"{order}-{customer}-{ts:%Y%m%d%H%M%S}",
                "category": draw(st.sampled_from(["a", "b", "c"])),
                "discount": draw(st.sampled_from([0.0, 5.0])),
            }
        )
    # Exact duplicate rows are refused at the boundary (tested there), so histories avoid them.
    return pd.DataFrame(rows).drop_duplicates(ignore_index=True)


@st.composite
def events(draw: st.DrawFn, lo: datetime = START, hi: datetime = END) -> pd.DataFrame:
    """Engagement events, including customers who never order."""
    n = draw(st.integers(0, 30))
    return pd.DataFrame(
        {
            "customer_id": [draw(st.sampled_from([*CUSTOMERS, "visitor"])) for _ in range(n)],
            "timestamp": [draw(moments(lo, hi)) for _ in range(n)],
            "event_type": [draw(st.sampled_from(EVENT_TYPES)) for _ in range(n)],
        },
        columns=["customer_id", "timestamp", "event_type"],
    )


@st.composite
def campaigns(draw: st.DrawFn, lo: datetime = START, hi: datetime = END) -> pd.DataFrame:
    """Offers sent (treated) and withheld (control), with a cost per contact."""
    n = draw(st.integers(0, 8))
    treated = [draw(st.booleans()) for _ in range(n)]
    return pd.DataFrame(
        {
            "customer_id": [draw(st.sampled_from(CUSTOMERS)) for _ in range(n)],
            "timestamp": [draw(moments(lo, hi)) for _ in range(n)],
            "offer": ["discount_10"] * n,
            "treated": treated,
            "cost": [1.5 if t else 0.0 for t in treated],
        },
        columns=["customer_id", "timestamp", "offer", "treated", "cost"],
    )


@st.composite
def customers(draw: st.DrawFn) -> pd.DataFrame:
    """Every customer once, some with a signup date, with two attributes."""
    ids = [*CUSTOMERS, "signup-only"]
    return pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": [draw(st.one_of(st.none(), moments())) for _ in ids],
            "country": [draw(st.sampled_from(["DE", "FR"])) for _ in ids],
            "plan": [draw(st.sampled_from(["free", "basic"])) for _ in ids],
        }
    )


@st.composite
def histories(draw: st.DrawFn) -> tuple[dict[str, pd.DataFrame], datetime]:
    """A full set of tables and a cutoff inside their time range."""
    cutoff = draw(moments(START + timedelta(days=30), END - timedelta(days=30)))
    tables = {
        "transactions": draw(transactions()),
        "events": draw(events()),
        "campaigns": draw(campaigns()),
        "customers": draw(customers()),
    }
    return tables, cutoff


@st.composite
def usage_histories(draw: st.DrawFn) -> tuple[dict[str, pd.DataFrame], datetime]:
    """A cutoff and events packed around the marks the usage families count from.

    Events fall within a day and a half of the cutoff, of the day before it, and of 30 and 365
    days before it (the recent month and the year), several on a day and some at the same
    instant, so days of activity, the recent and earlier rates and the tenure caps are exercised.
    """
    cutoff = draw(moments(START + timedelta(days=400), END - timedelta(days=30)))
    marks = [cutoff - timedelta(days=d) for d in (0, 1, 30, 365)]
    stamps: list[datetime] = []
    for _ in range(draw(st.integers(1, 40))):
        if stamps and draw(st.integers(0, 4)) == 0:
            stamps.append(draw(st.sampled_from(stamps)))  # the same instant as another event
        else:
            offset = timedelta(seconds=draw(st.integers(-36 * 3600, 36 * 3600)))
            stamps.append(draw(st.sampled_from(marks)) + offset)
    events = pd.DataFrame(
        {
            "customer_id": [draw(st.sampled_from(CUSTOMERS[:2])) for _ in stamps],
            "timestamp": stamps,
            "event_type": [draw(st.sampled_from(EVENT_TYPES)) for _ in stamps],
        }
    )
    tables = {
        "transactions": draw(transactions()),
        "events": events.drop_duplicates(ignore_index=True),
        "customers": draw(customers()),
    }
    return tables, cutoff


@st.composite
def future_records(draw: st.DrawFn, cutoff: datetime) -> dict[str, pd.DataFrame]:
    """Records stamped at or after ``cutoff`` (the first exactly at it), for every dated table."""
    hi = END + timedelta(days=400)
    later = st.one_of(st.just(cutoff), moments(cutoff, hi))
    tx = draw(transactions(cutoff, hi))
    tx["timestamp"] = [cutoff, *(draw(later) for _ in range(len(tx) - 1))]
    # Distinct ids per line, so the later timestamps drawn here cannot merge lines into one order.
    tx["order_id"] = [f"F{i}" for i in range(len(tx))]
    return {
        "transactions": tx,
        "events": draw(events(cutoff, hi)),
        "campaigns": draw(campaigns(cutoff, hi)),
    }
