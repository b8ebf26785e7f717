"""How a feature is declared: a named function whose docstring is its business definition.

A family is one function decorated with :func:`feature`; its name template (``orders_{w}d``) and
its docstring (``Orders placed in [as_of − {w} days, as_of).``) are expanded for each window in
``FeatureSettings.windows_days`` and each event type, so a family is defined once and the feature
dictionary is generated from the code. The function returns a SQL expression:

- ``kind="aggregate"``: an aggregate over one source's rows before ``as_of``. The rows offer
  ``age_us`` (microseconds between the record and ``as_of``, always > 0), ``week_back``
  (0 for the most recent 7 days), and the source's own columns (see ``builder``).
- ``kind="derived"``: a scalar over other features of the same customer and cutoff, and over
  what the builder carries beside them: ``first_seen_us`` (the tenure, see ``profile``) and the
  internal totals of ``rfm.order_totals`` and ``engagement.usage_totals``.

Expressions are written in DuckDB SQL and kept to constructs that sqlglot transpiles to Spark SQL.

Every aggregate is exact, so a feature cannot depend on the order in which a parallel engine
adds rows up: money is summed as :data:`MONEY_TYPE` (a fixed-point decimal, see :func:`money`),
durations and counts as whole numbers, and a value is divided or made DOUBLE only once its sums
are complete. A sum of fractional DOUBLEs rounds differently with every thread schedule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Source = Literal["transactions", "events", "campaigns", "customers"]
Kind = Literal["aggregate", "derived"]
#: Which values of a feature signal churn risk by its definition: ``high`` (days since the last
#: order: the more, the riskier), ``low`` (orders in the last 90 days: the fewer, the riskier), or
#: ``never`` where neither side reads plainly as risk (average order value: big and small spenders
#: both leave; offers received: they go to the risky). Reason codes give a ``never`` feature as
#: no customer's reason. Every family declares one; one that does not counts as ``never``.
Risk = Literal["high", "low", "never"]
#: An event type whose name says friction rather than engagement (support tickets, complaints,
#: unsubscribes): more of it is riskier, so the per-event-type families take the opposite side.
FRICTION_EVENTS = re.compile(
    r"(?:^|_)(?:support|tickets?|complain\w*|complaints?|unsubscri\w*|opt_?out\w*|cancel\w*|"
    r"downgrad\w*|uninstall\w*|bounce[ds]?|disputes?|chargebacks?|refunds?)(?:_|$)"
)

DAY_US = 86_400_000_000
DAY_S = 86_400
WEEK_US = 7 * DAY_US

#: Decimal places money (amounts, costs, discounts) is held to: every currency's minor unit.
MONEY_DECIMALS = 4
#: The exact type money is summed in. 18 digits keep the arithmetic in 64-bit integers (fast);
#: the data contract bounds every money value (``features.contract.MONEY_LIMIT``) so it fits.
MONEY_TYPE = f"DECIMAL(18, {MONEY_DECIMALS})"
#: Money in 38 digits: sums of money values, and orders whose lines add up beyond MONEY_TYPE.
WIDE_MONEY_TYPE = f"DECIMAL(38, {MONEY_DECIMALS})"


@dataclass(frozen=True)
class Feature:
    """One feature column: its SQL, its meaning, and where it comes from."""

    name: str
    expression: str
    meaning: str
    unit: str
    family: str
    source: Source
    kind: Kind
    window_days: int | None = None
    #: Value for customers with no rows in the source (counts are 0; "days since" stays NULL).
    fill: float | None = None
    #: The side of its values that signals churn risk, where the definition says so.
    risk: Risk | None = None


@dataclass(frozen=True)
class Family:
    """A parametrised definition; ``expand`` yields its features for given windows and types."""

    template: str
    build: Callable[..., str]
    doc: str
    unit: str
    source: Source
    kind: Kind
    fill: float | None
    windowed: bool
    per_event_type: bool
    #: ``table`` or ``table.column`` the family needs; without them it is left out.
    requires: tuple[str, ...]
    risk: Risk | None = None

    @property
    def key(self) -> str:
        """The family's name in :attr:`Feature.family`: the template, placeholders spelled out."""
        return self.template.replace("{w}", "N").replace("{e}", "EVENT").replace("{n}", "N")

    def expand(
        self, windows: tuple[int, ...], event_types: tuple[str, ...], weeks: int
    ) -> list[Feature]:
        """The concrete features of this family."""
        ws: tuple[int | None, ...] = windows if self.windowed else (None,)
        es: tuple[str | None, ...] = event_types if self.per_event_type else (None,)
        n = weeks if "{n}" in self.template else None
        out = []
        for e in es:
            for w in ws:
                args = {k: v for k, v in (("e", e), ("w", w), ("n", n)) if v is not None}
                out.append(
                    Feature(
                        name=self.template.format(**args),
                        expression=self.build(**args),
                        meaning=self.doc.format(**args),
                        unit=self.unit,
                        family=self.key,
                        source=self.source,
                        kind=self.kind,
                        window_days=w,
                        fill=self.fill,
                        risk=event_risk(self.risk, e) if e is not None else self.risk,
                    )
                )
        return out


FAMILIES: list[Family] = []


def family_of(feature: Feature | str) -> Family | None:
    """The registered family of a feature (or of a :attr:`Feature.family` key), if any."""
    key = feature if isinstance(feature, str) else feature.family
    return next((f for f in FAMILIES if f.key == key), None)


def feature(
    template: str,
    *,
    unit: str,
    source: Source,
    kind: Kind = "aggregate",
    fill: float | None = None,
    requires: tuple[str, ...] = (),
    risk: Risk | None = None,
) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register a feature family.

    In the template, ``{w}`` is a window in days, ``{e}`` an event type and ``{n}`` the number of
    weeks of a trend slope; the docstring uses the same fields. ``risk`` declares which values
    signal churn risk (see :data:`Risk`); reason codes use it to leave out a contribution that
    would read backwards. A per-event-type family declares the side for engagement events;
    friction events (:data:`FRICTION_EVENTS`) take the other (:func:`event_risk`).
    """

    def register(build: Callable[..., str]) -> Callable[..., str]:
        doc = " ".join((build.__doc__ or "").split())
        if not doc:
            raise TypeError(f"feature family {template!r} needs a docstring (its definition)")
        FAMILIES.append(
            Family(
                template=template,
                build=build,
                doc=doc,
                unit=unit,
                source=source,
                kind=kind,
                fill=fill,
                windowed="{w}" in template,
                per_event_type="{e}" in template,
                requires=requires,
                risk=risk,
            )
        )
        return build

    return register


def event_risk(risk: Risk | None, event_type: str) -> Risk | None:
    """The side of a per-event-type feature: as declared for engagement, flipped for friction."""
    if risk in ("high", "low") and FRICTION_EVENTS.search(sql_identifier(event_type)):
        return "low" if risk == "high" else "high"
    return risk


def window_us(days: int) -> int:
    """A window of ``days`` in microseconds, the unit of ``age_us``."""
    return days * DAY_US


def in_window(days: int) -> str:
    """SQL condition: the record lies in ``[as_of − days, as_of)``."""
    return f"age_us <= {window_us(days)}"


def in_previous_window(days: int) -> str:
    """SQL condition: the record lies in ``[as_of − 2·days, as_of − days)``."""
    return f"age_us > {window_us(days)} AND age_us <= {window_us(2 * days)}"


#: A month in the usage rates, in days: "events per month" are events per 30 days.
MONTH_DAYS = 30


def observed_days(days: int) -> str:
    """SQL: days of ``[as_of − days, as_of)`` the customer has been known in, at least 1.

    Days are counted back from as_of in whole days, as a record's day is (``ceil`` of the
    tenure: a customer first seen 1.5 days ago has been seen on 2 of those days), so a rate over
    them never exceeds one per day of activity. A derived expression (``first_seen_us`` comes
    from the builder, see ``features.profile``); tenure is always above 0, as records are.
    """
    return f"least({days}, ceil(first_seen_us / {DAY_US}))"


def per_month(count: str, days: int) -> str:
    """SQL: ``count`` over the last ``days`` days as a rate per month of the time observed."""
    return f"{count} * {MONTH_DAYS} / {observed_days(days)}"


#: A rate's recent month and the year it is compared with: the change families set the last 30
#: days against the customer's own rate over the rest of the last 365 days.
RECENT_DAYS = MONTH_DAYS
BASELINE_DAYS = 365


def in_earlier_year() -> str:
    """SQL condition: the record lies in ``[as_of − 365 days, as_of − 30 days)``."""
    return f"age_us > {window_us(RECENT_DAYS)} AND {in_window(BASELINE_DAYS)}"


def recent_rate(recent: str) -> str:
    """SQL: the count ``recent`` of the last 30 days per month of them the customer was known."""
    return per_month(recent, RECENT_DAYS)


def usual_rate(earlier: str) -> str:
    """SQL: the count ``earlier`` of :func:`in_earlier_year` per month of it the customer was known.

    NULL for a customer known for 30 days or less: there is no earlier rate to compare with.
    """
    earlier_days = f"greatest({observed_days(BASELINE_DAYS)} - {RECENT_DAYS}, 0)"
    return f"{earlier} * {MONTH_DAYS} / nullif({earlier_days}, 0)"


def relative_change(recent: str, previous: str) -> str:
    """(recent − previous) / (recent + previous): −1 gone, 0 flat, +1 new; NULL when both are 0."""
    return f"({recent} - {previous}) / nullif({recent} + {previous}, 0)"


def weekly_slope(value: str | None, condition: str, weeks: int) -> str:
    """Least-squares slope of a weekly series over the last ``weeks`` weeks, per week.

    The series runs oldest to newest with zeros for empty weeks; see :func:`slope_sum`.
    """
    return f"{slope_sum(value, condition, weeks)} / {slope_divisor(weeks)}"


def slope_sum(value: str | None, condition: str, weeks: int) -> str:
    """The exact numerator of :func:`weekly_slope`: Σ (2k − (weeks − 1))·y over the records.

    Week k runs 0 (oldest) to weeks − 1 (newest). Because the centred week index k − k̄ sums to
    zero over the series, the slope is Σ (k − k̄)·y / Σ (k − k̄)², and every record adds its own
    term: one pass, no calendar of empty weeks. Doubling k − k̄ makes the weight an integer, so
    the sum is exact, whatever the order of addition: ``value`` is a money column (a decimal),
    or None to count records (y = 1 each).
    """
    # k = weeks − 1 − week_back, so 2k − (weeks − 1) = weeks − 1 − 2·week_back.
    weight = f"{weeks - 1} - 2 * week_back"
    # A count adds small whole numbers, which DOUBLE holds exactly up to 2^53 (the fastest
    # exact sum); BIGINT × money is a decimal product that cannot overflow (an INTEGER weight
    # would keep the 18 digits of money and could).
    term = f"CAST({weight} AS DOUBLE)" if value is None else f"CAST({weight} AS BIGINT) * {value}"
    return f"coalesce(sum({term}) FILTER (WHERE week_back < {weeks} AND {condition}), 0)"


def slope_divisor(weeks: int) -> int:
    """2·Σ (k − k̄)² over ``weeks`` weeks, the divisor turning :func:`slope_sum` into a slope."""
    # weeks·(weeks² − 1)/6 is an integer: (weeks − 1)·weeks·(weeks + 1) has a factor 2 and 3.
    return weeks * (weeks * weeks - 1) // 6


def money(column: str) -> str:
    """SQL: a money column as :data:`MONEY_TYPE`, whose sums are exact in any order."""
    return f"CAST({column} AS {MONEY_TYPE})"


def micros_between(start: str, end: str) -> str:
    """SQL: microseconds from ``start`` to ``end`` (both timestamps), in a form Spark SQL shares."""
    return f"date_diff('microsecond', {start}, {end})"


def local_day_start(instant: str, zone: str) -> str:
    """SQL: the midnight in ``zone`` that starts the local day of ``instant``, both naive UTC.

    The day a moment falls on in the business's zone, as cutoffs read days
    (:func:`winback.common.timestamps.to_utc_naive`; a midnight the clocks skip moves forward).
    """
    if zone in ("UTC", "Etc/UTC"):
        return f"date_trunc('day', {instant})"
    z = "'" + zone.replace("'", "''") + "'"
    local = f"timezone({z}, timezone('UTC', {instant}))"
    return f"make_timestamp(epoch_us(timezone({z}, date_trunc('day', {local}))))"


def sql_identifier(text: str) -> str:
    """A lower-case SQL identifier made from arbitrary text (event types, attribute names)."""
    ident = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")
    if not ident or ident[0].isdigit():
        ident = f"x_{ident}"
    return ident


__all__ = [
    "BASELINE_DAYS",
    "DAY_S",
    "DAY_US",
    "FAMILIES",
    "FRICTION_EVENTS",
    "MONEY_DECIMALS",
    "MONEY_TYPE",
    "MONTH_DAYS",
    "RECENT_DAYS",
    "WEEK_US",
    "WIDE_MONEY_TYPE",
    "Family",
    "Feature",
    "Risk",
    "event_risk",
    "family_of",
    "feature",
    "in_earlier_year",
    "in_previous_window",
    "in_window",
    "local_day_start",
    "micros_between",
    "money",
    "observed_days",
    "per_month",
    "recent_rate",
    "relative_change",
    "slope_divisor",
    "slope_sum",
    "sql_identifier",
    "usual_rate",
    "weekly_slope",
    "window_us",
]
