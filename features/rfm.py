"""Purchase features: recency, frequency, monetary value, gaps, trends and margin.

Rows are orders and refunds before ``as_of`` (see ``builder``): lines sharing an order id and a
timestamp form one order; a row or order with a negative amount is a refund, which lowers net
spend and margin in the window it is stamped in and is never counted as an order. Spend is net of
refunds. Columns offered to the expressions: ``amount``, ``is_order``, ``margin`` (amount − cost),
``gap_seconds`` (whole seconds since the customer's previous order, on orders after the first),
``category``, ``discount``, plus ``age_us`` and ``week_back``.

Money is an exact decimal and gaps are integers (see ``builder.prepare_orders``): sums, means and
the gaps' standard deviation come from exact sums, so they do not depend on the order in which
the engine adds rows up.
"""

from __future__ import annotations

from winback.features.definitions import (
    DAY_S,
    DAY_US,
    RECENT_DAYS,
    feature,
    in_earlier_year,
    in_previous_window,
    in_window,
    per_month,
    recent_rate,
    relative_change,
    usual_rate,
    weekly_slope,
)


def order_totals() -> dict[str, str]:
    """Per (customer, cutoff): the order counts the derived rate-change families divide.

    The builder carries them beside the features (0 for a customer without orders), as it does
    ``first_seen_us``: a rate needs the customer's tenure, which only the builder knows.
    """
    return {
        "_orders_recent": f"count(*) FILTER (WHERE is_order AND {in_window(RECENT_DAYS)})",
        "_orders_earlier": f"count(*) FILTER (WHERE is_order AND {in_earlier_year()})",
    }


@feature("days_since_last_order", unit="days", source="transactions", risk="high")
def days_since_last_order() -> str:
    """Days from the customer's most recent order to as_of (recency)."""
    return f"min(age_us) FILTER (WHERE is_order) / {DAY_US}"


@feature("days_since_first_order", unit="days", source="transactions", risk="low")
def days_since_first_order() -> str:
    """Days from the customer's first order to as_of."""
    return f"max(age_us) FILTER (WHERE is_order) / {DAY_US}"


@feature("orders_lifetime", unit="orders", source="transactions", fill=0, risk="low")
def orders_lifetime() -> str:
    """Orders placed before as_of."""
    return "count(*) FILTER (WHERE is_order)"


@feature("spend_lifetime", unit="currency", source="transactions", fill=0, risk="low")
def spend_lifetime() -> str:
    """Net spend (orders minus refunds) before as_of."""
    return "coalesce(sum(amount), 0)"


@feature("orders_{w}d", unit="orders", source="transactions", fill=0, risk="low")
def orders_in_window(w: int) -> str:
    """Orders placed in [as_of − {w} days, as_of)."""
    return f"count(*) FILTER (WHERE is_order AND {in_window(w)})"


@feature("spend_{w}d", unit="currency", source="transactions", fill=0, risk="low")
def spend_in_window(w: int) -> str:
    """Net spend (orders minus refunds) in [as_of − {w} days, as_of)."""
    return f"coalesce(sum(amount) FILTER (WHERE {in_window(w)}), 0)"


@feature("refunds_{w}d", unit="currency", source="transactions", fill=0, risk="high")
def refunds_in_window(w: int) -> str:
    """Amount refunded in [as_of − {w} days, as_of), as a positive number."""
    return f"coalesce(-sum(amount) FILTER (WHERE NOT is_order AND {in_window(w)}), 0)"


@feature("orders_per_month_{w}d", unit="orders/month", source="transactions", kind="derived",
         risk="low")  # fmt: skip
def orders_per_month(w: int) -> str:
    """Orders per month (30 days) in [as_of − {w} days, as_of), over the days of the window since the customer was first seen."""  # noqa: E501
    return per_month(f"orders_{w}d", w)


@feature("spend_per_month_{w}d", unit="currency/month", source="transactions", kind="derived",
         risk="low")  # fmt: skip
def spend_per_month(w: int) -> str:
    """Net spend (orders minus refunds) per month (30 days) in [as_of − {w} days, as_of), over the days of the window since the customer was first seen."""  # noqa: E501
    return per_month(f"spend_{w}d", w)


@feature("orders_per_month_ratio", unit="ratio", source="transactions", kind="derived",
         risk="low")  # fmt: skip
def orders_per_month_ratio() -> str:
    """Orders in the last 30 days divided by the customer's usual monthly number in the 335 days before; below 1 means fewer than usual (usual: per 30 days of those the customer was known in; empty without an order in them)."""  # noqa: E501
    usual = usual_rate("_orders_earlier")
    return f"{recent_rate('_orders_recent')} / nullif({usual}, 0)"


@feature("orders_per_month_change", unit="orders/month", source="transactions",
         kind="derived", risk="low")  # fmt: skip
def orders_per_month_change() -> str:
    """Change in orders per month: the last 30 days minus the customer's usual monthly number in the 335 days before (per 30 days of those the customer was known in; empty for a customer known for 30 days or less)."""  # noqa: E501
    return f"{recent_rate('_orders_recent')} - {usual_rate('_orders_earlier')}"


@feature("avg_order_value_{w}d", unit="currency", source="transactions", risk="never")
def avg_order_value_in_window(w: int) -> str:
    """Average order amount in [as_of − {w} days, as_of); empty without orders."""
    return f"avg(amount) FILTER (WHERE is_order AND {in_window(w)})"


@feature("avg_order_value_lifetime", unit="currency", source="transactions", risk="never")
def avg_order_value_lifetime() -> str:
    """Average order amount over all orders before as_of."""
    return "avg(amount) FILTER (WHERE is_order)"


@feature("orders_trend_{w}d", unit="ratio", source="transactions", risk="low")
def orders_trend(w: int) -> str:
    """Change in orders from [as_of − {w}·2 days, as_of − {w} days) to the last {w} days, from −1 (stopped) to +1 (new)."""  # noqa: E501
    recent = f"count(*) FILTER (WHERE is_order AND {in_window(w)})"
    previous = f"count(*) FILTER (WHERE is_order AND {in_previous_window(w)})"
    return relative_change(recent, previous)


@feature("spend_trend_{w}d", unit="ratio", source="transactions", risk="low")
def spend_trend(w: int) -> str:
    """Change in net spend from the {w} days before the last {w} days to the last {w} days, from −1 (stopped) to +1 (new)."""  # noqa: E501
    recent = f"coalesce(sum(amount) FILTER (WHERE {in_window(w)}), 0)"
    previous = f"coalesce(sum(amount) FILTER (WHERE {in_previous_window(w)}), 0)"
    return relative_change(recent, previous)


@feature("orders_weekly_slope_{n}w", unit="orders/week²", source="transactions", fill=0, risk="low")
def orders_weekly_slope(n: int) -> str:
    """Least-squares slope of weekly orders over the last {n} weeks before as_of."""
    return weekly_slope(None, "is_order", n)


@feature(
    "spend_weekly_slope_{n}w", unit="currency/week²", source="transactions", fill=0, risk="low"
)
def spend_weekly_slope(n: int) -> str:
    """Least-squares slope of weekly net spend over the last {n} weeks before as_of."""
    return weekly_slope("amount", "TRUE", n)


@feature("gap_mean_days", unit="days", source="transactions", risk="high")
def gap_mean_days() -> str:
    """Mean days between consecutive orders before as_of (needs two orders)."""
    return f"sum(gap_seconds) / (count(gap_seconds) * {DAY_S})"


@feature("gap_std_days", unit="days", source="transactions", risk="never")
def gap_std_days() -> str:
    """Standard deviation of the days between consecutive orders (needs three orders)."""
    # From exact integer sums: n·Σg² − (Σg)² is n(n − 1) times the sample variance. Σg² needs
    # 128 bits (a gap of 300 years is ~1e10 s); DECIMAL(38, 0) is that in DuckDB and Spark.
    n, g = "count(gap_seconds)", "gap_seconds"
    spread = f"{n} * sum(CAST({g} AS DECIMAL(38, 0)) * {g}) - sum({g}) * sum({g})"
    return f"sqrt(CAST({spread} AS DOUBLE) / nullif({n} * ({n} - 1), 0)) / {DAY_S}"


@feature("gap_max_days", unit="days", source="transactions", risk="high")
def gap_max_days() -> str:
    """Longest gap in days between consecutive orders before as_of."""
    return f"max(gap_seconds) / {DAY_S}"


@feature("gap_last_days", unit="days", source="transactions", risk="high")
def gap_last_days() -> str:
    """Days between the customer's last two orders before as_of."""
    # Orders at the same instant share an age: one of them carries the gap to the orders before
    # and the others 0, the gap between them, so the last gap is 0. Ranking a 0 first within an
    # age makes it so whichever row the engine meets first (a struct key would do the same at
    # several times the cost).
    key = "2 * age_us + CAST(gap_seconds > 0 AS BIGINT)"
    return f"arg_min(gap_seconds, {key}) FILTER (WHERE gap_seconds IS NOT NULL) / {DAY_S}"


@feature("overdue_ratio", unit="ratio", source="transactions", kind="derived", risk="high")
def overdue_ratio() -> str:
    """Days since the last order divided by the customer's mean gap between orders; above 1 means later than usual."""  # noqa: E501
    return "days_since_last_order / nullif(gap_mean_days, 0)"


@feature("margin_lifetime", unit="currency", source="transactions", fill=0,
         requires=("transactions.cost",), risk="low")  # fmt: skip
def margin_lifetime() -> str:
    """Gross margin (amount − product cost, net of refunds) before as_of."""
    return "coalesce(sum(margin), 0)"


@feature("margin_{w}d", unit="currency", source="transactions", fill=0,
         requires=("transactions.cost",), risk="low")  # fmt: skip
def margin_in_window(w: int) -> str:
    """Gross margin (amount − product cost, net of refunds) in [as_of − {w} days, as_of)."""
    return f"coalesce(sum(margin) FILTER (WHERE {in_window(w)}), 0)"


@feature("categories_lifetime", unit="categories", source="transactions", fill=0,
         requires=("transactions.category",), risk="low")  # fmt: skip
def categories_lifetime() -> str:
    """Distinct product categories ordered before as_of."""
    return "count(DISTINCT category) FILTER (WHERE is_order)"


@feature("discount_share_365d", unit="share", source="transactions",
         requires=("transactions.discount",), risk="never")  # fmt: skip
def discount_share_365d() -> str:
    """Discounts as a share of the list price of orders in [as_of − 365 days, as_of)."""
    discount = f"sum(discount) FILTER (WHERE is_order AND {in_window(365)})"
    amount = f"sum(amount) FILTER (WHERE is_order AND {in_window(365)})"
    return f"{discount} / nullif({amount} + {discount}, 0)"
