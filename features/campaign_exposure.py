"""Campaign exposure: offers a customer received before ``as_of``, and their cost.

Rows are campaign records before ``as_of`` with ``treated`` (TRUE when the table has no such
column: every record is then an offer sent) and ``cost``. Control-group records are not offers.
"""

from __future__ import annotations

from features.definitions import DAY_US, feature, in_window


@feature("offers_{w}d", unit="offers", source="campaigns", fill=0)
def offers_in_window(w: int) -> str:
    """Retention offers received in [as_of − {w} days, as_of)."""
    return f"count(*) FILTER (WHERE treated AND {in_window(w)})"


@feature("offers_lifetime", unit="offers", source="campaigns", fill=0)
def offers_lifetime() -> str:
    """Retention offers received before as_of."""
    return "count(*) FILTER (WHERE treated)"


@feature("days_since_last_offer", unit="days", source="campaigns")
def days_since_last_offer() -> str:
    """Days from the most recent retention offer the customer received to as_of."""
    return f"min(age_us) FILTER (WHERE treated) / {DAY_US}"


@feature("offer_cost_{w}d", unit="currency", source="campaigns", fill=0,
         requires=("campaigns.cost",))  # fmt: skip
def offer_cost_in_window(w: int) -> str:
    """Cost of the retention offers sent to the customer in [as_of − {w} days, as_of)."""
    return f"coalesce(sum(cost) FILTER (WHERE treated AND {in_window(w)}), 0)"


@feature("crm_margin_{w}d", unit="currency", source="campaigns", kind="derived",
         requires=("transactions.cost", "campaigns.cost"))  # fmt: skip
def crm_margin_in_window(w: int) -> str:
    """CRM gross margin in [as_of − {w} days, as_of): amount − product cost − cost of offers sent."""  # noqa: E501
    return f"margin_{w}d - offer_cost_{w}d"
