"""Contacts and their outcome: only closed windows count, and why there may be none."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from tests.training.uplift.conftest import HORIZON
from winback.features import Dataset
from winback.training.uplift.contacts import contact_redemptions, uplift_contacts


def test_a_contact_counts_only_once_its_outcome_window_has_closed(small_dataset: Dataset) -> None:
    day = pd.Timestamp("2024-01-30")  # a campaign's send day
    window = timedelta(days=2 * HORIZON)
    open_ = uplift_contacts(small_dataset, day + window - timedelta(seconds=1), HORIZON)
    closed = uplift_contacts(small_dataset, day + window, HORIZON)
    assert day not in set(open_["as_of"])
    assert day in set(closed["as_of"])
    assert len(closed[closed["as_of"] == day]) > 50


def test_a_redemption_is_a_discounted_order_within_the_window(small_dataset: Dataset) -> None:
    """Against a plain pandas reading of the transactions: [send day, send day + 30 days)."""
    contacts = uplift_contacts(small_dataset, "2025-01-01", HORIZON)
    flags = contact_redemptions(small_dataset, contacts, HORIZON)
    assert flags is not None and len(flags) == len(contacts)
    orders = small_dataset.con.table("transactions").df()
    orders = orders[(orders["discount"] > 0) & (orders["amount"] >= 0)]
    orders = orders.assign(timestamp=orders["timestamp"].dt.tz_localize(None))
    pairs = contacts.merge(orders, on="customer_id")
    after = pairs["timestamp"] - pairs["as_of"]
    hit = pairs[(after >= pd.Timedelta(0)) & (after < pd.Timedelta(days=30))]
    expected = contacts.set_index(["customer_id", "as_of"]).index.isin(
        hit.set_index(["customer_id", "as_of"]).index
    )
    assert 0 < flags.sum() < len(flags)
    assert (flags == expected).all()
