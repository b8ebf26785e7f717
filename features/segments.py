"""Segments as of a cutoff: lifecycle stage, value × loyalty segment, and RFM scores.

Lifecycle stage (checked in this order; days and ratios come from ``SegmentSettings``):

- ``prospect``: known (signed up or engaged) but no order before ``as_of`` yet.
- ``churned``: no order for ``churned_after_days`` or more.
- ``new``: first order less than ``new_days`` ago.
- ``declining``: spend in the recent window (``stage_window_days``) fell below ``decline_ratio`` ×
  the customer's average for a window of that length over the ``stage_reference_days`` before it,
  or the customer is overdue: days since the last order ≥ ``overdue_ratio`` × their mean gap.
- ``growing``: recent spend above ``growth_ratio`` × that average (or spend returned after a
  reference period without any).
- ``stable``: everyone else.

Value segment: *value* is CRM gross margin over the last 365 days (amount − product cost − offer
cost); the ``high_value_share`` of ordering customers with the most value are high value
(customers tied at the boundary are all left out, so the share is never exceeded).
*Loyal* customers ordered at least ``loyal_min_orders`` times in the last 365 days and have been
known for ``loyal_min_tenure_days``. High value and loyal: ``strategic``; high value only:
``profit``; loyal only: ``potential``; neither: ``ordinary``.

RFM: recency (days since the last order), frequency (orders in 365 days) and monetary value (net
spend in 365 days) are scored 1–5 by quintile among customers with an order before ``as_of``
(5 = most recent, most frequent, highest spend; ties share a score). The named segment comes from
the R and F scores with the customary map (champions, loyal, potential_loyalist, new, promising,
need_attention, about_to_sleep, at_risk, cant_lose, hibernating).
"""

from __future__ import annotations

import pandas as pd

from winback.features.builder import prepare_orders
from winback.features.dataset import Dataset
from winback.features.definitions import DAY_S, DAY_US, money, window_us
from winback.features.settings import SegmentSettings

KEYS_TABLE = "_winback_segment_keys"
SEGMENT_COLUMNS = (
    "lifecycle_stage",
    "value_segment",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "rfm_segment",
)

#: (R scores, F scores) → segment name; the usual RF grid, every cell covered exactly once.
RFM_SEGMENTS: tuple[tuple[str, str, str], ...] = (
    ("12", "12", "hibernating"),
    ("12", "34", "at_risk"),
    ("12", "5", "cant_lose"),
    ("3", "12", "about_to_sleep"),
    ("3", "3", "need_attention"),
    ("34", "45", "loyal"),
    ("4", "1", "promising"),
    ("5", "1", "new"),
    ("45", "23", "potential_loyalist"),
    ("5", "45", "champions"),
)


def _score(column: str, descending: bool = False) -> str:
    order = "DESC" if descending else "ASC"
    return (
        f"CAST(1 + floor(5 * (rank() OVER (PARTITION BY as_of, has_order ORDER BY {column} "
        f"{order}) - 1) / count(*) OVER (PARTITION BY as_of, has_order)) AS INTEGER)"
    )


def segment_sql(dataset: Dataset, settings: SegmentSettings) -> str:
    """Segments for every (customer_id, as_of, tenure_days) row of the keys table."""
    orders = prepare_orders(dataset)
    recent = window_us(settings.stage_window_days)
    reference = window_us(settings.stage_reference_days)
    year = window_us(365)
    offer_cost = "0"
    offers = ""
    if dataset.has("campaigns", "cost"):
        treated = "coalesce(c.treated, FALSE)" if dataset.has("campaigns", "treated") else "TRUE"
        offers = f"""LEFT JOIN (
            SELECT k.customer_id, k.as_of, sum({money("c.cost")}) AS offer_cost
            FROM {KEYS_TABLE} k JOIN campaigns c USING (customer_id)
            WHERE {treated} AND c."timestamp" < k.as_of
              AND epoch_us(k.as_of) - epoch_us(c."timestamp") <= {year}
            GROUP BY k.customer_id, k.as_of
        ) USING (customer_id, as_of)"""
        offer_cost = "coalesce(offer_cost, 0)"
    rfm_case = " ".join(
        f"WHEN r_score IN ({', '.join(r)}) AND f_score IN ({', '.join(f)}) THEN '{name}'"
        for r, f, name in RFM_SEGMENTS
    )
    ratio = settings.stage_window_days / settings.stage_reference_days
    return f"""
        WITH rows AS (
            SELECT k.customer_id, k.as_of, epoch_us(k.as_of) - epoch_us(o."timestamp") AS a,
                   o.amount, o.margin, o.is_order, o.gap_seconds
            FROM {KEYS_TABLE} k JOIN {orders} o USING (customer_id)
            WHERE o."timestamp" < k.as_of
        ), agg AS (
            SELECT customer_id, as_of,
                min(a) FILTER (WHERE is_order) / {DAY_US} AS recency,
                max(a) FILTER (WHERE is_order) / {DAY_US} AS first_order_age,
                count(*) FILTER (WHERE is_order AND a <= {year}) AS frequency,
                coalesce(sum(amount) FILTER (WHERE a <= {year}), 0) AS monetary,
                coalesce(sum(margin) FILTER (WHERE a <= {year}), 0) AS margin_365d,
                coalesce(sum(amount) FILTER (WHERE a <= {recent}), 0) AS recent_spend,
                -- DOUBLE before the ratio: a long DECIMAL literal would widen the decimal.
                CAST(coalesce(sum(amount) FILTER (WHERE a > {recent}
                    AND a <= {recent + reference}), 0) AS DOUBLE) * {ratio} AS reference_spend,
                sum(gap_seconds) / (count(gap_seconds) * {DAY_S}) AS gap_mean
            FROM rows GROUP BY customer_id, as_of
        ), base AS (
            SELECT k.customer_id, k.as_of, k.tenure_days, a.*
                   EXCLUDE (customer_id, as_of),
                   coalesce(a.margin_365d, 0) - {offer_cost} AS value,
                   a.recency IS NOT NULL AS has_order
            FROM {KEYS_TABLE} k LEFT JOIN agg a USING (customer_id, as_of) {offers}
        ), ranked AS (
            SELECT *,
                {_score("recency", descending=True)} AS r_score,
                {_score("frequency")} AS f_score,
                {_score("monetary")} AS m_score,
                cume_dist() OVER (PARTITION BY as_of, has_order ORDER BY value DESC)
                    AS value_rank
            FROM base
        )
        SELECT customer_id, as_of,
            CASE
                WHEN NOT has_order THEN 'prospect'
                WHEN recency >= {settings.churned_after_days} THEN 'churned'
                WHEN first_order_age < {settings.new_days} THEN 'new'
                WHEN (reference_spend > 0 AND recent_spend < {settings.decline_ratio}
                      * reference_spend)
                  OR recency >= {settings.overdue_ratio} * gap_mean THEN 'declining'
                WHEN recent_spend > {settings.growth_ratio} * reference_spend THEN 'growing'
                ELSE 'stable'
            END AS lifecycle_stage,
            CASE
                WHEN NOT has_order THEN 'ordinary'
                WHEN value_rank <= {settings.high_value_share} AND value > 0 THEN
                    CASE WHEN {_loyal(settings)} THEN 'strategic' ELSE 'profit' END
                WHEN {_loyal(settings)} THEN 'potential'
                ELSE 'ordinary'
            END AS value_segment,
            CASE WHEN has_order THEN r_score END AS r_score,
            CASE WHEN has_order THEN f_score END AS f_score,
            CASE WHEN has_order THEN m_score END AS m_score,
            CASE WHEN has_order THEN r_score * 100 + f_score * 10 + m_score END AS rfm_score,
            CASE WHEN has_order THEN CASE {rfm_case} END END AS rfm_segment
        FROM ranked
        ORDER BY as_of, customer_id
    """


def _loyal(settings: SegmentSettings) -> str:
    return (
        f"frequency >= {settings.loyal_min_orders} "
        f"AND tenure_days >= {settings.loyal_min_tenure_days}"
    )


def build_segments(
    dataset: Dataset, features: pd.DataFrame, settings: SegmentSettings | None = None
) -> pd.DataFrame:
    """Segments for the customers and cutoffs of a feature table (needs ``tenure_days``)."""
    settings = settings or SegmentSettings()
    con = dataset.con
    con.register("_winback_segment_df", features[["customer_id", "as_of", "tenure_days"]])
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {KEYS_TABLE} AS SELECT customer_id, "
            "CAST(as_of AS TIMESTAMP) AS as_of, tenure_days FROM _winback_segment_df"
        )
    finally:
        con.unregister("_winback_segment_df")
    return con.sql(segment_sql(dataset, settings)).df()


__all__ = ["RFM_SEGMENTS", "SEGMENT_COLUMNS", "build_segments", "segment_sql"]
