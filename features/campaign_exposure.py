"""Campaign exposure: offers a customer received before ``as_of``, their cost, and redemptions.

Rows are campaign records before ``as_of`` with ``treated`` (TRUE when the table has no such
column: every record is then an offer sent), ``cost`` and, where the transactions carry a
``discount``, ``redeemed``: the customer placed an order with a discount in the
:data:`REDEMPTION_DAYS` days from the record on. Control-group records are not offers.

``redeemed`` looks at orders after the record, so an expression may read it only for records at
least :data:`REDEMPTION_DAYS` old (:func:`redemption_closed`): their window, and every order it
can see, then lies before ``as_of``.
"""

from __future__ import annotations

from winback.features.definitions import DAY_US, feature, in_window, micros_between, window_us

#: Days after an offer in which an order with a discount counts as redeeming it. Offers are
#: redeemed within days in practice; a month is the window a marketer would report on.
REDEMPTION_DAYS = 30


def redeemed_within(
    orders: str, customer: str, start: str, days: int = REDEMPTION_DAYS, until: str | None = None
) -> str:
    """SQL condition: ``customer`` placed an order with a discount in [``start``, ``start`` + days).

    ``orders`` is the prepared orders table (``features.builder.prepare_orders``); ``customer``
    and ``start`` are SQL expressions of the outer query (the offer's customer and send time),
    ``until`` an optional earlier end of the window (exclusive). Offer features and the uplift
    learners' redemption propensity share this one definition.
    """
    after = micros_between(start, 'o."timestamp"')
    end = f' AND o."timestamp" < {until}' if until is not None else ""
    return f"""EXISTS (
        SELECT 1 FROM {orders} o
        WHERE o.customer_id = {customer} AND o.is_order AND o.discount > 0
          AND o."timestamp" >= {start} AND {after} < {window_us(days)}{end})"""


def redemption_closed() -> str:
    """SQL condition: the record is an offer whose redemption window ended by as_of."""
    return f"treated AND age_us >= {window_us(REDEMPTION_DAYS)}"


@feature("offers_{w}d", unit="offers", source="campaigns", fill=0, risk="never")
def offers_in_window(w: int) -> str:
    """Retention offers received in [as_of − {w} days, as_of)."""
    return f"count(*) FILTER (WHERE treated AND {in_window(w)})"


@feature("offers_lifetime", unit="offers", source="campaigns", fill=0, risk="never")
def offers_lifetime() -> str:
    """Retention offers received before as_of."""
    return "count(*) FILTER (WHERE treated)"


@feature("days_since_last_offer", unit="days", source="campaigns", risk="never")
def days_since_last_offer() -> str:
    """Days from the most recent retention offer the customer received to as_of."""
    return f"min(age_us) FILTER (WHERE treated) / {DAY_US}"


@feature("offer_cost_{w}d", unit="currency", source="campaigns", fill=0,
         requires=("campaigns.cost",), risk="never")  # fmt: skip
def offer_cost_in_window(w: int) -> str:
    """Cost of the retention offers sent to the customer in [as_of − {w} days, as_of)."""
    return f"coalesce(sum(cost) FILTER (WHERE treated AND {in_window(w)}), 0)"


@feature("crm_margin_{w}d", unit="currency", source="campaigns", kind="derived",
         requires=("transactions.cost", "campaigns.cost"), risk="low")  # fmt: skip
def crm_margin_in_window(w: int) -> str:
    """CRM gross margin in [as_of − {w} days, as_of): amount − product cost − cost of offers sent."""  # noqa: E501
    return f"margin_{w}d - offer_cost_{w}d"


@feature("offers_redeemed_lifetime", unit="offers", source="campaigns", fill=0,
         requires=("transactions.discount",), risk="low")  # fmt: skip
def offers_redeemed_lifetime() -> str:
    """Retention offers redeemed before as_of (an order with a discount within 30 days of the offer), among offers at least 30 days old."""  # noqa: E501
    return f"count(*) FILTER (WHERE redeemed AND {redemption_closed()})"


@feature("offer_redemption_share", unit="share", source="campaigns",
         requires=("transactions.discount",), risk="low")  # fmt: skip
def offer_redemption_share() -> str:
    """Retention offers redeemed as a share of those received before as_of, among offers at least 30 days old; redeemed: an order with a discount within 30 days of the offer."""  # noqa: E501
    closed = f"count(*) FILTER (WHERE {redemption_closed()})"
    redeemed = f"count(*) FILTER (WHERE redeemed AND {redemption_closed()})"
    return f"{redeemed} / nullif({closed}, 0)"
