"""Labels over ``[T, T + horizon)`` and the periods after it: what the models learn to predict.

For each customer and cutoff ``T`` (h = horizon, k = 1..periods):

- ``orders_next``, ``spend_next``: orders and net spend (orders minus refunds) in ``[T, T + h)``.
- ``margin_next``: CRM gross margin in ``[T, T + h)``: amount − product cost − cost of the offers
  sent to the customer (product cost is 0 where the data has no cost column).
- ``churned``: 1 when the customer placed no order in ``[T, T + h)``, else 0; empty for customers
  with no order before ``T`` (who cannot churn).
- ``declined``: 1 when spend in ``[T, T + h)`` fell to at most (1 − decline_threshold) × the spend
  in ``[T − h, T)``, else 0; empty when there was no spend in ``[T − h, T)``.
- ``spend_period_k``, ``margin_period_k``: net spend and CRM gross margin in
  ``[T + (k − 1)·h, T + k·h)``.

A label whose window ends after ``observed_until`` (the end of the data) is empty, never 0: an
unobserved future is not a customer who bought nothing.

Money is summed as an exact decimal (see ``builder.prepare_orders``), so the same data gives the
same labels to the last bit, however the engine's threads add the rows up.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from winback.features.builder import CUTOFFS_TABLE, prepare_orders
from winback.features.dataset import Dataset
from winback.features.definitions import MONEY_TYPE, money, window_us
from winback.features.settings import LabelSettings

KEYS_TABLE = "_winback_label_keys"


def label_columns(settings: LabelSettings) -> list[str]:
    """Label column names, in output order."""
    periods = [
        f"{m}_period_{k}" for k in range(1, settings.periods + 1) for m in ("spend", "margin")
    ]
    return ["churned", "declined", "orders_next", "spend_next", "margin_next", *periods]


def label_sql(dataset: Dataset, settings: LabelSettings, observed_until: datetime) -> str:
    """Labels for every (customer_id, as_of) row of the keys table, from records around ``as_of``.

    Reads ``_winback_label_keys`` (customer_id, as_of); see :func:`build_labels`.
    """
    orders = prepare_orders(dataset)
    h = window_us(settings.horizon_days)
    span = settings.periods * h
    near = (
        '{t}."timestamp" >= k.as_of - INTERVAL {d} DAY '
        'AND epoch_us({t}."timestamp") - epoch_us(k.as_of) < {span}'
    )
    offers = ""
    if dataset.has("campaigns", "cost"):
        # Offer costs are relationship-marketing cost: they lower CRM margin in their window.
        treated = "coalesce(c.treated, FALSE)" if dataset.has("campaigns", "treated") else "TRUE"
        offers = f"""UNION ALL
            SELECT k.customer_id, k.as_of, epoch_us(c."timestamp") - epoch_us(k.as_of),
                   CAST(0 AS {MONEY_TYPE}), -{money("coalesce(c.cost, 0)")}, FALSE
            FROM {KEYS_TABLE} k JOIN campaigns c USING (customer_id)
            WHERE {treated} AND {near.format(t="c", d=settings.horizon_days, span=span)}"""

    def between(lo: int, hi: int) -> str:
        return f"lead_us >= {lo} AND lead_us < {hi}"

    sums = {
        "orders_next": f"count(*) FILTER (WHERE is_order AND {between(0, h)})",
        "spend_next": f"sum(amount) FILTER (WHERE {between(0, h)})",
        "margin_next": f"sum(margin) FILTER (WHERE {between(0, h)})",
        "_spend_prev": f"sum(amount) FILTER (WHERE {between(-h, 0)})",
    }
    ends = {"orders_next": h, "spend_next": h, "margin_next": h}
    for k in range(1, settings.periods + 1):
        for metric, column in (("spend", "amount"), ("margin", "margin")):
            sums[f"{metric}_period_{k}"] = (
                f"sum({column}) FILTER (WHERE {between((k - 1) * h, k * h)})"
            )
            ends[f"{metric}_period_{k}"] = k * h
    end_us = f"epoch_us(TIMESTAMP '{observed_until.isoformat(sep=' ')}')"

    def observed(window_end_us: int) -> str:
        return f"epoch_us(k.as_of) + {window_end_us} <= {end_us}"

    value = "coalesce(a.{c}, 0)"
    outputs = [
        f"CASE WHEN had_order AND {observed(h)} "
        "THEN CAST(coalesce(a.orders_next, 0) = 0 AS DOUBLE) END AS churned",
        f"CASE WHEN coalesce(a._spend_prev, 0) > 0 AND {observed(h)} "
        # 1 − threshold is a DECIMAL literal of up to 17 places (1 − 0.7 is 0.30000000000000004):
        # times a decimal sum it could pass 38 digits, so it multiplies the sum as DOUBLE.
        f"THEN CAST(coalesce(a.spend_next, 0) <= {1 - settings.decline_threshold} "
        "* CAST(a._spend_prev AS DOUBLE) AS DOUBLE) END AS declined",
        *(
            f"CASE WHEN {observed(end)} THEN CAST({value.format(c=c)} AS DOUBLE) END AS {c}"
            for c, end in ends.items()
        ),
    ]
    return f"""
        WITH rows AS (
            SELECT k.customer_id, k.as_of,
                   epoch_us(o."timestamp") - epoch_us(k.as_of) AS lead_us,
                   o.amount, o.margin, o.is_order
            FROM {KEYS_TABLE} k JOIN {orders} o USING (customer_id)
            WHERE {near.format(t="o", d=settings.horizon_days, span=span)}
            {offers}
        ), agg AS (
            SELECT customer_id, as_of,
                   {", ".join(f"{expr} AS {name}" for name, expr in sums.items())}
            FROM rows GROUP BY customer_id, as_of
        ), had AS (
            SELECT k.customer_id, k.as_of, bool_or(o.is_order) AS had_order
            FROM {KEYS_TABLE} k JOIN {orders} o USING (customer_id)
            WHERE o."timestamp" < k.as_of
            GROUP BY k.customer_id, k.as_of
        )
        SELECT k.customer_id, k.as_of, {", ".join(outputs)}
        FROM {KEYS_TABLE} k LEFT JOIN agg a USING (customer_id, as_of)
        LEFT JOIN had USING (customer_id, as_of)
        ORDER BY k.as_of, k.customer_id
    """


def build_labels(
    dataset: Dataset,
    keys: pd.DataFrame,
    settings: LabelSettings,
    observed_until: datetime,
) -> pd.DataFrame:
    """Labels for the (customer_id, as_of) pairs in ``keys``, sorted by as_of then customer_id.

    ``observed_until`` is the exclusive end of the data: windows ending after it stay empty.
    """
    con = dataset.con
    con.register("_winback_keys_df", keys[["customer_id", "as_of"]])
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {KEYS_TABLE} AS "
            "SELECT customer_id, CAST(as_of AS TIMESTAMP) AS as_of FROM _winback_keys_df"
        )
    finally:
        con.unregister("_winback_keys_df")
    return con.sql(label_sql(dataset, settings, observed_until)).df()


__all__ = ["CUTOFFS_TABLE", "build_labels", "label_columns", "label_sql"]
