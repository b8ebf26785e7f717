"""Contacts from campaign history: who was sent an offer or held out, and whether they were lost.

A contact is a customer's campaign rows of one send day whose ``treated`` is known. Send days
are days in the business's time zone (``[data] timezone``), as cutoffs are: the contact's cutoff
``T`` is the midnight that starts its send day there, so its features read only records before
that day, and a record known only to the day (stamped at its midnight) is on that day. Only
customers with an order before ``T`` count (others cannot churn, as in the churn label). The
outcome ``lost`` is no order (nor event of a type in ``activity_events``) in ``[T + h, T + 2h)``:
the customer was gone by the end of the horizon the offer acts on. Not the churn label (no order
in ``[T, T + h)``): orders that redeem an offer follow it whether or not it changes who stays, so
that label credits every offer with an effect it does not have
(docs/2026-12-05-uplift-learners.md has the measurements). A redemption counts from the send
itself (``sent_at``), never an order earlier on the send day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from winback.features import Dataset
from winback.features.builder import prepare_orders
from winback.features.campaign_exposure import REDEMPTION_DAYS, redeemed_within
from winback.features.definitions import local_day_start
from winback.training.uplift.base import Array

CONTACT_COLUMNS = ["customer_id", "as_of", "sent_at", "offer", "treated", "lost"]


def uplift_contacts(
    dataset: Dataset,
    as_of: date | datetime | str,
    horizon_days: int,
    activity_events: Sequence[str] = (),
) -> pd.DataFrame:
    """Contacts whose outcome is known by ``as_of``, with that outcome; sorted by time.

    One row per customer and send day: customer_id, as_of (the midnight starting the send day in
    the business's zone, naive UTC), sent_at (the day's first offer to the customer, else its
    first record), offer, treated, lost (1.0 = no order, nor event of a type in
    ``activity_events``, in [as_of + horizon, as_of + 2·horizon)). Only customers with an order
    before the send day, and campaign rows whose ``treated`` is known; empty without a campaigns
    table or ``treated``.
    """
    if not dataset.has("campaigns", "treated"):
        return pd.DataFrame(columns=CONTACT_COLUMNS)
    cutoff = dataset.cutoff(as_of)
    orders = prepare_orders(dataset)
    lo, hi = f"INTERVAL {horizon_days} DAY", f"INTERVAL {2 * horizon_days} DAY"
    seen = f'SELECT customer_id, "timestamp" FROM {orders} WHERE is_order'
    params: list[Any] = [cutoff]
    if activity_events and dataset.has("events"):
        seen += ' UNION ALL SELECT customer_id, "timestamp" FROM events WHERE event_type IN ?'
        params.append(list(activity_events))
    day = local_day_start('"timestamp"', dataset.timezone)
    return dataset.con.execute(
        f"""WITH stamped AS (
            SELECT customer_id, "timestamp", offer, treated, {day} AS as_of
            FROM campaigns WHERE treated IS NOT NULL
        ), sent AS (
            SELECT customer_id, as_of,
                   coalesce(min("timestamp") FILTER (WHERE treated), min("timestamp")) AS sent_at,
                   min(offer) AS offer, bool_or(treated) AS treated
            FROM stamped
            WHERE as_of + {hi} <= ?
            GROUP BY customer_id, as_of
        ), seen AS ({seen})
        SELECT k.customer_id, k.as_of, k.sent_at, k.offer, k.treated,
               CAST(NOT EXISTS (SELECT 1 FROM seen a WHERE a.customer_id = k.customer_id
                   AND a."timestamp" >= k.as_of + {lo} AND a."timestamp" < k.as_of + {hi})
                   AS DOUBLE) AS lost
        FROM sent k
        WHERE EXISTS (SELECT 1 FROM {orders} o WHERE o.customer_id = k.customer_id
                      AND o.is_order AND o."timestamp" < k.as_of)
        ORDER BY k.as_of, k.customer_id""",
        params,
    ).df()[CONTACT_COLUMNS]


def contact_redemptions(
    dataset: Dataset, contacts: pd.DataFrame, horizon_days: int
) -> Array | None:
    """Per contact, 1.0 if an order with a discount followed the send within ``REDEMPTION_DAYS``.

    The window starts at ``sent_at`` (an earlier order that day redeems nothing) and ends with
    the contact's outcome window at the latest, so a closed contact never reads past ``as_of``.
    None without a ``discount`` column: then nothing tells redemptions from other orders.
    """
    if not dataset.has("transactions", "discount") or contacts.empty:
        return None
    orders = prepare_orders(dataset)
    closes = f"k.as_of + INTERVAL {2 * horizon_days} DAY"
    redeemed = redeemed_within(orders, "k.customer_id", "k.sent_at", REDEMPTION_DAYS, closes)
    sent = contacts[["customer_id", "as_of", "sent_at"]].assign(row=np.arange(len(contacts)))
    dataset.con.register("_winback_sent_df", sent)
    try:
        flags = dataset.con.execute(
            f"""SELECT CAST({redeemed} AS DOUBLE) AS redeemed
                FROM _winback_sent_df k ORDER BY k.row"""
        ).df()
    finally:
        dataset.con.unregister("_winback_sent_df")
    return flags["redeemed"].to_numpy(dtype=np.float64)


def contacts_problem(dataset: Dataset, contacts: pd.DataFrame, cutoff: datetime) -> str | None:
    """Why the campaign history cannot show an offer's effect, or None."""
    if not dataset.has("campaigns"):
        return "no campaigns table"
    if not dataset.has("campaigns", "treated"):
        return "the campaigns table has no 'treated' column, so no control group"
    if contacts.empty:
        return f"no contact has an outcome known by {cutoff:%Y-%m-%d}"
    if contacts["treated"].all():
        return f"no control contacts (treated = false) with an outcome known by {cutoff:%Y-%m-%d}"
    return None


__all__ = ["contact_redemptions", "contacts_problem", "uplift_contacts"]
