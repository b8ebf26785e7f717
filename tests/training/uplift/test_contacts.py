"""Contacts and their outcome: only closed windows count, on the business's days."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from tests.training.uplift.conftest import HORIZON
from winback.common.timestamps import to_utc_naive
from winback.features import Dataset, DataSettings, load_dataset
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
    """Against a plain pandas reading of the transactions: [send, send + 30 days)."""
    contacts = uplift_contacts(small_dataset, "2025-01-01", HORIZON)
    flags = contact_redemptions(small_dataset, contacts, HORIZON)
    assert flags is not None and len(flags) == len(contacts)
    orders = small_dataset.con.table("transactions").df()
    orders = orders[(orders["discount"] > 0) & (orders["amount"] >= 0)]
    orders = orders.assign(timestamp=orders["timestamp"].dt.tz_localize(None))
    pairs = contacts.merge(orders, on="customer_id")
    after = pairs["timestamp"] - pairs["sent_at"]
    hit = pairs[(after >= pd.Timedelta(0)) & (after < pd.Timedelta(days=30))]
    expected = contacts.set_index(["customer_id", "as_of"]).index.isin(
        hit.set_index(["customer_id", "as_of"]).index
    )
    assert 0 < flags.sum() < len(flags)
    assert (flags == expected).all()


ZONE = "Europe/Berlin"


def test_send_days_are_the_business_s_days_and_nothing_before_the_send_is_an_outcome() -> None:
    """Local wall times in Europe/Berlin (UTC+1 in winter), horizon 30 days.

    a: treated at 23:30 on Jan 10; a discounted order at 20:00 that day precedes the offer.
    b: held out at 00:30 on Jan 11 (23:30 UTC on Jan 10); orders again at 23:30 on Mar 10, the
       last hour of its outcome window [Feb 10, Mar 11) local.
    c: a record known only to the day, Jan 12; its one earlier order is from the day before.
    """
    transactions = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c"],
            "timestamp": [
                "2024-01-02 12:00", "2024-01-10 20:00", "2024-01-02 12:00",
                "2024-03-10 23:30", "2024-01-11 15:00",
            ],
            "amount": [50.0, 40.0, 50.0, 50.0, 30.0],
            "discount": [0.0, 10.0, 0.0, 0.0, 0.0],
        }
    )  # fmt: skip
    campaigns = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "timestamp": ["2024-01-10 23:30", "2024-01-11 00:30", "2024-01-12"],
            "offer": ["discount_10"] * 3,
            "treated": [True, False, True],
        }
    )
    dataset = load_dataset(
        DataSettings(timezone=ZONE), frames={"transactions": transactions, "campaigns": campaigns}
    )
    contacts = uplift_contacts(dataset, "2024-03-12", 30).set_index("customer_id")

    def local(moment: str) -> datetime:
        return to_utc_naive(moment, ZONE)

    assert contacts["as_of"].to_dict() == {
        "a": local("2024-01-10"),
        "b": local("2024-01-11"),
        "c": local("2024-01-12"),
    }
    assert contacts.loc["a", "sent_at"] == local("2024-01-10 23:30")
    assert contacts["lost"].to_dict() == {"a": 1.0, "b": 0.0, "c": 1.0}
    redeemed = contact_redemptions(dataset, contacts.reset_index(), 30)
    assert redeemed is not None and redeemed.tolist() == [0.0, 0.0, 0.0]
    # b's outcome window closes at the local midnight starting Mar 11, not before.
    closes = local("2024-03-11")
    early = uplift_contacts(dataset, closes - timedelta(seconds=1), 30)
    assert "b" not in set(early["customer_id"])
    assert "b" in set(uplift_contacts(dataset, closes, 30)["customer_id"])
