"""Usage rates, their change against the customer's own past, event shares and days of activity.

Small hand-made histories whose expected values are worked out by hand in each test: the rates
divide by the days the customer has been known (capped at the window), the change compares the
last 30 days with the rest of the year, and what cannot be defined is empty, never infinite.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from winback.features import FeatureSettings, build_features, describe_features, load_dataset

AS_OF = datetime(2024, 6, 1)
FEATURES = FeatureSettings(windows_days=(30, 90, 365))
USAGE = (
    "events_per_month_",
    "active_days_per_month_",
    "events_per_month_ratio",
    "events_per_month_change",
    "_share_365d",
    "event_gap_mean_days",
    "event_overdue_ratio",
    "orders_per_month_",
    "spend_per_month_",
)


def is_usage(name: str) -> bool:
    """A column of the usage families (discount_share_365d is a purchase feature)."""
    new = any(name.startswith(u) or name.endswith(u) for u in USAGE)
    return new and name != "discount_share_365d"


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def features(
    events: list[tuple[str, datetime, str]],
    orders: list[tuple[str, datetime, float]] | None = None,
    signups: dict[str, datetime] | None = None,
) -> pd.DataFrame:
    """Features at AS_OF, indexed by customer; a customer with no orders gets one long ago."""
    orders = orders or [("anchor", ago(1000), 1.0)]
    tables = {
        "transactions": pd.DataFrame(orders, columns=["customer_id", "timestamp", "amount"]),
        "events": pd.DataFrame(events, columns=["customer_id", "timestamp", "event_type"]),
    }
    if signups:
        tables["customers"] = pd.DataFrame(
            {"customer_id": list(signups), "signup_date": list(signups.values())}
        )
    return build_features(load_dataset(frames=tables), AS_OF, FEATURES).set_index("customer_id")


def test_six_visits_in_the_first_60_days_and_one_in_the_last_30_is_a_third_of_the_usual_rate():
    first_60 = [("a", ago(90 - 10 * i), "visit") for i in range(6)]  # 90, 80, …, 40 days ago
    row = features([*first_60, ("a", ago(5), "visit")]).loc["a"]
    assert row["tenure_days"] == 90
    # Usual rate: 6 events over the 60 earlier days = 3 a month; recent: 1 in 30 days.
    assert row["events_per_month_ratio"] == pytest.approx(1 / 3)
    assert row["events_per_month_change"] == pytest.approx(1 - 3)
    # Over 90 days (the whole tenure): 7 events = 7/3 a month; over 365 days the same.
    assert row["events_per_month_90d"] == pytest.approx(7 * 30 / 90)
    assert row["events_per_month_365d"] == pytest.approx(7 * 30 / 90)
    assert row["events_per_month_30d"] == 1


def test_a_monthly_payer_who_skips_the_last_month_has_no_orders_against_one_usual():
    # Paid every 30 days from 200 days ago to 35 days ago, nothing since.
    payments = [("a", ago(200 - 30 * i), 10.0) for i in range(6)]  # 200, 170, …, 50 days ago
    row = features([("a", ago(3), "visit")], orders=payments).loc["a"]
    # Known 200 days: 170 of them before the last 30, with 6 payments: 30·6/170 a month.
    usual = 6 * 30 / 170
    assert row["orders_per_month_ratio"] == 0
    assert row["orders_per_month_change"] == pytest.approx(-usual)
    assert row["orders_per_month_365d"] == pytest.approx(6 * 30 / 200)


def test_a_short_tenure_rate_divides_by_the_days_known_and_has_no_change_yet():
    row = features([("new", ago(10), "visit")] + [("new", ago(d), "visit") for d in (8, 6, 4, 2)])
    assert row.loc["new", "events_30d"] == 5
    # Known for 10 days: 5 events in 10 days is 15 a month, whatever the window.
    for w in (30, 90, 365):
        assert row.loc["new", f"events_per_month_{w}d"] == pytest.approx(15)
    # No month before the last one: nothing to compare with.
    assert pd.isna(row.loc["new", "events_per_month_ratio"])
    assert pd.isna(row.loc["new", "events_per_month_change"])


def test_tenure_comes_from_every_table_so_a_quiet_start_lowers_the_usual_rate():
    # Signed up 120 days ago, ordered 100 days ago, used the product only in the last 30 days.
    recent = [("a", ago(d), "visit") for d in (20, 10, 3)]
    row = features(
        recent, orders=[("a", ago(100), 9.0)], signups={"a": ago(120), "anchor": ago(1000)}
    ).loc["a"]
    assert row["events_per_month_90d"] == pytest.approx(3 * 30 / 90)
    assert row["events_per_month_365d"] == pytest.approx(3 * 30 / 120)
    # 0 events in the 90 earlier days: a usual rate of 0, so the ratio is undefined (empty)
    # while the difference is the whole recent rate.
    assert pd.isna(row["events_per_month_ratio"])
    assert row["events_per_month_change"] == pytest.approx(3)
    assert row["orders_per_month_365d"] == pytest.approx(1 * 30 / 120)
    assert row["spend_per_month_365d"] == pytest.approx(9 * 30 / 120)
    assert row["spend_per_month_90d"] == 0


def test_a_customer_without_events_has_zero_rates_and_no_gap_or_share():
    row = features(
        [("other", ago(3), "visit")], orders=[("quiet", ago(200), 10.0), ("quiet", ago(50), 20.0)]
    ).loc["quiet"]
    assert row["events_per_month_365d"] == 0
    assert row["active_days_per_month_30d"] == 0
    assert row["events_per_month_change"] == 0
    for column in ("events_per_month_ratio", "visit_share_365d", "event_gap_mean_days",
                   "event_overdue_ratio"):  # fmt: skip
        assert pd.isna(row[column]), column
    # Orders: 2 in 200 days known (capped at 365) and 1 in the last 90.
    assert row["orders_per_month_365d"] == pytest.approx(2 * 30 / 200)
    assert row["orders_per_month_90d"] == pytest.approx(1 * 30 / 90)
    assert row["spend_per_month_365d"] == pytest.approx(30 * 30 / 200)


def test_days_of_activity_count_a_day_once_whatever_the_event_types():
    day = timedelta(days=1)
    events = [
        # Day 2 back from as_of: three events of two types, two at the same instant.
        ("a", AS_OF - 2 * day + timedelta(hours=3), "visit"),
        ("a", AS_OF - 2 * day + timedelta(hours=3), "email_open"),
        ("a", AS_OF - 2 * day + timedelta(hours=9), "visit"),
        # Either side of the midnight 5 days back: two days.
        ("a", AS_OF - 5 * day - timedelta(minutes=1), "visit"),
        ("a", AS_OF - 5 * day + timedelta(minutes=1), "email_open"),
        # 40 days back: outside the 30-day window.
        ("a", AS_OF - 40 * day + timedelta(hours=1), "visit"),
    ]
    row = features(events).loc["a"]
    # Days back 1, 4, 5 in the last 30 days; 39 as well in 90. Known for 40 days.
    assert row["active_days_per_month_30d"] == pytest.approx(3)
    assert row["active_days_per_month_90d"] == pytest.approx(4 * 30 / 40)
    # Active days back 39, 5, 4, 1: gaps 34, 1, 3, mean 38 / 3.
    assert row["event_gap_mean_days"] == pytest.approx(38 / 3)
    last = (2 * day - timedelta(hours=9)) / day
    assert row["days_since_last_event"] == pytest.approx(last)
    assert row["event_overdue_ratio"] == pytest.approx(last / (38 / 3))


def test_a_customer_known_for_part_of_a_day_is_never_active_more_than_every_day():
    # First seen 36 hours ago, active on both days back (0 and 1): 2 of 2 days.
    row = features([("a", ago(1.5), "visit"), ("a", ago(0.5), "visit")]).loc["a"]
    assert row["active_days_per_month_30d"] == pytest.approx(30)
    assert row["events_per_month_30d"] == pytest.approx(2 * 30 / 2)
    assert row["event_gap_mean_days"] == 1


def test_event_type_shares_cover_the_last_year_only():
    events = [("a", ago(d), "visit") for d in (1, 50, 300)] + [("a", ago(10), "support_ticket")]
    events += [("a", ago(400 + d), "support_ticket") for d in range(5)]  # older than a year
    row = features(events).loc["a"]
    assert row["visit_share_365d"] == pytest.approx(0.75)
    assert row["support_ticket_share_365d"] == pytest.approx(0.25)


def test_events_dated_on_the_cutoff_day_are_not_seen_and_the_day_before_counts_a_day(tmp_path):
    # Known only to the day: visible from the next day on, so a day-old record is 1 day old.
    events = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a"],
            "timestamp": ["2024-05-30", "2024-05-31", "2024-06-01"],
            "event_type": ["visit", "visit", "visit"],
        }
    )
    tx = pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-05-30"], "amount": [5.0]})
    row = build_features(
        load_dataset(frames={"transactions": tx, "events": events}), "2024-06-01", FEATURES
    ).iloc[0]
    assert row["events_30d"] == 2
    # Known for 2 days, active on both: 30 a month; the event of 1 June is not seen.
    assert row["tenure_days"] == 2
    assert row["active_days_per_month_30d"] == pytest.approx(30)
    assert row["events_per_month_30d"] == pytest.approx(30)


def test_on_the_synthetic_world_rates_are_finite_and_days_of_activity_bounded(small_world):
    tables = {t: getattr(small_world, t) for t in ("transactions", "events", "customers")}
    frame = build_features(load_dataset(frames=tables), "2024-07-01", FeatureSettings())
    usage = [c for c in frame.columns if is_usage(c)]
    assert len(usage) >= 18
    values = frame[usage].to_numpy(float)
    assert not np.isinf(values).any()
    # Every customer has a rate (0 without records); counts give no negative one (net spend can).
    rates = [c for c in usage if "per_month" in c and not c.endswith(("ratio", "change"))]
    assert frame[rates].notna().all().all()
    counts = [c for c in rates if not c.startswith("spend")]
    assert (frame[counts] >= 0).all().all()
    active = frame.filter(like="active_days_per_month_")
    assert (active <= 30).all().all()
    # Customers with events in the last year have shares that add up to at most 1 (the types
    # beyond the chosen ones make up the rest).
    shares = frame[[c for c in usage if c.endswith("_share_365d")]]
    shares = shares.sum(axis=1, min_count=1).dropna()
    assert len(shares) and (shares <= 1 + 1e-9).all()


def test_every_usage_feature_has_a_meaning_a_unit_and_a_risk_side():
    dictionary = describe_features(FEATURES).set_index("name")
    new = [n for n in dictionary.index if is_usage(n)]
    assert len(new) >= 9
    for name in new:
        entry = dictionary.loc[name]
        assert entry["meaning"] and entry["unit"], name
        assert entry["risk_when"] in ("high", "low", "never"), name
    assert dictionary.loc["events_per_month_ratio", "risk_when"] == "low"
    assert dictionary.loc["event_overdue_ratio", "risk_when"] == "high"
