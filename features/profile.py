"""Customer profile features: how long the customer has been known, and since signup.

``first_seen_us`` (microseconds from the customer's first record of any kind to ``as_of``) and
``signup_age_us`` are provided by the builder, which knows which tables were loaded.
"""

from __future__ import annotations

from winback.features.definitions import DAY_US, feature


@feature("tenure_days", unit="days", source="customers", kind="derived", risk="low")
def tenure_days() -> str:
    """Days since the customer was first seen: signup, first order or first event, whichever came first."""  # noqa: E501
    return f"first_seen_us / {DAY_US}"


@feature("days_since_signup", unit="days", source="customers", kind="derived",
         requires=("customers.signup_date",), risk="low")  # fmt: skip
def days_since_signup() -> str:
    """Days from the customer's signup date to as_of (empty if signup is not before as_of)."""
    return f"signup_age_us / {DAY_US}"


@feature("as_of_month", unit="month", source="customers", kind="derived", risk="never")
def as_of_month() -> str:
    """Calendar month of as_of (1–12): lets a model learn the season the horizon falls in."""
    return "month(as_of)"
