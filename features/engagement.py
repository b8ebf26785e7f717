"""Engagement features from the events table: counts, rates, recency and trends per event type.

Event streams are long (tens of millions of rows for a few thousand customers), so events are
aggregated in two steps. First, per customer, cutoff and event type, the *partials* below are
computed in one pass over the raw events. Then every feature is an aggregate over those few rows
per customer (one per event type): a count for one type picks its row, a count over all types
sums the rows. ``event_key`` is the event type as an identifier (NULL for types outside the
chosen list, which still count towards the all-type features).

Engagement usually fades before a customer leaves, so the trend and slope families carry signal
beyond RFM. Usage is also read the way the churn literature builds it: as rates per month of the
time the customer has been known (a customer of 40 days is not compared with one of a year on raw
counts), against the customer's own earlier rate, as shares of the event types, and as days of
activity. ``prev_age_us`` (the age of the customer's previous event of any type, from
:data:`EVENTS_TABLE`) marks the first event of each day, so days of activity add up over types.
"""

from __future__ import annotations

from winback.features.definitions import (
    DAY_US,
    RECENT_DAYS,
    feature,
    in_earlier_year,
    in_previous_window,
    in_window,
    micros_between,
    per_month,
    recent_rate,
    relative_change,
    slope_divisor,
    slope_sum,
    usual_rate,
)

#: The prepared events table the features read (:func:`events_table_sql`).
EVENTS_TABLE = "_winback_events"


def events_table_sql() -> str:
    """The events with ``previous``: the customer's previous event of any type (NULL for none).

    It depends on earlier events only, so it is point-in-time; events at the same instant are
    ordered arbitrarily, but all of them share the day, so whichever comes first, one of them
    starts the day.
    """
    previous = 'lag("timestamp") OVER (PARTITION BY customer_id ORDER BY "timestamp")'
    return f'SELECT customer_id, "timestamp", event_type, {previous} AS previous FROM events'


def aged_event_columns() -> str:
    """Columns of an aged event row beyond the builder's (``t`` the event, ``c`` the cutoff)."""
    return f", {micros_between('t.previous', 'c.as_of')} AS prev_age_us"


def _day_back(age: str) -> str:
    """SQL: the whole day back from as_of a record of ``age`` µs lies in (0: the last 24 hours)."""
    return f"floor(({age} - 1) / {DAY_US})"


#: SQL condition: the event is the customer's first on its day (counted back from as_of).
FIRST_OF_DAY = f"(prev_age_us IS NULL OR {_day_back('prev_age_us')} > {_day_back('age_us')})"


def event_partials(windows: tuple[int, ...], weeks: int) -> dict[str, str]:
    """Per (customer, cutoff, event type): the aggregates over raw events the features need."""
    partials = {
        "first_age_us": "max(age_us)",
        "last_age_us": "min(age_us)",
        # The slope's exact numerator: summed over event types, divided at the end.
        "slope": slope_sum(None, "TRUE", weeks),
    }
    for w in windows:
        partials[f"n_{w}d"] = f"count(*) FILTER (WHERE {in_window(w)})"
        partials[f"p_{w}d"] = f"count(*) FILTER (WHERE {in_previous_window(w)})"
        # Days with an event: only a day's first event (of any type) counts.
        partials[f"a_{w}d"] = f"count(*) FILTER (WHERE {FIRST_OF_DAY} AND {in_window(w)})"
    partials["a_all"] = f"count(*) FILTER (WHERE {FIRST_OF_DAY})"
    partials["n_recent"] = f"count(*) FILTER (WHERE {in_window(RECENT_DAYS)})"
    partials["n_earlier"] = f"count(*) FILTER (WHERE {in_earlier_year()})"
    return partials


def usage_totals(windows: tuple[int, ...]) -> dict[str, str]:
    """Per (customer, cutoff): sums of the partials the derived usage families divide.

    The builder carries them beside the features (0 for a customer without events), as it does
    ``first_seen_us``: a rate needs the customer's tenure, which only the builder knows.
    """
    totals = {f"_active_days_{w}d": f"sum(a_{w}d)" for w in windows}
    totals["_events_recent"] = "sum(n_recent)"
    totals["_events_earlier"] = "sum(n_earlier)"
    return totals


def _of(e: str, partial: str) -> str:
    """The partial of event type ``e`` (its one row), NULL when the customer has none."""
    # CASE rather than FILTER: measured faster for these many small pivots.
    return f"max(CASE WHEN event_key = '{e}' THEN {partial} END)"


@feature("events_{w}d", unit="events", source="events", fill=0, risk="low")
def events_in_window(w: int) -> str:
    """Engagement events of any type in [as_of − {w} days, as_of)."""
    return f"sum(n_{w}d)"


@feature("days_since_last_event", unit="days", source="events", risk="high")
def days_since_last_event() -> str:
    """Days from the customer's most recent engagement event to as_of."""
    return f"min(last_age_us) / {DAY_US}"


@feature("days_since_first_event", unit="days", source="events", risk="low")
def days_since_first_event() -> str:
    """Days from the customer's first engagement event to as_of."""
    return f"max(first_age_us) / {DAY_US}"


@feature("events_weekly_slope_{n}w", unit="events/week²", source="events", fill=0, risk="low")
def events_weekly_slope(n: int) -> str:
    """Least-squares slope of weekly engagement events over the last {n} weeks before as_of."""
    # The partial is built for the configured number of weeks, which is n.
    return f"sum(slope) / {slope_divisor(n)}"


@feature("{e}_{w}d", unit="events", source="events", fill=0, risk="low")
def event_type_in_window(e: str, w: int) -> str:
    """'{e}' events in [as_of − {w} days, as_of)."""
    return f"coalesce({_of(e, f'n_{w}d')}, 0)"


@feature("{e}_trend_{w}d", unit="ratio", source="events", risk="low")
def event_type_trend(e: str, w: int) -> str:
    """Change in '{e}' events from the {w} days before the last {w} days to the last {w} days, from −1 (stopped) to +1 (new)."""  # noqa: E501
    return relative_change(_of(e, f"n_{w}d"), _of(e, f"p_{w}d"))


@feature("days_since_{e}", unit="days", source="events", risk="high")
def days_since_event_type(e: str) -> str:
    """Days from the customer's most recent '{e}' event to as_of."""
    return f"{_of(e, 'last_age_us')} / {DAY_US}"


@feature("{e}_weekly_slope_{n}w", unit="events/week²", source="events", fill=0, risk="low")
def event_type_weekly_slope(e: str, n: int) -> str:
    """Least-squares slope of weekly '{e}' events over the last {n} weeks before as_of."""
    return f"coalesce({_of(e, 'slope')}, 0) / {slope_divisor(n)}"


@feature("events_per_month_{w}d", unit="events/month", source="events", kind="derived",
         risk="low")  # fmt: skip
def events_per_month(w: int) -> str:
    """Engagement events per month (30 days) in [as_of − {w} days, as_of), over the days of the window since the customer was first seen."""  # noqa: E501
    return per_month(f"events_{w}d", w)


@feature("active_days_per_month_{w}d", unit="days/month", source="events", kind="derived",
         risk="low")  # fmt: skip
def active_days_per_month(w: int) -> str:
    """Days with an engagement event per month (30 days) in [as_of − {w} days, as_of), over the days of the window since the customer was first seen; days are counted back from as_of."""  # noqa: E501
    return per_month(f"_active_days_{w}d", w)


@feature("events_per_month_ratio", unit="ratio", source="events", kind="derived", risk="low")
def events_per_month_ratio() -> str:
    """Engagement events in the last 30 days divided by the customer's usual monthly number in the 335 days before; below 1 means less use than usual (usual: per 30 days of those the customer was known in; empty without an event in them)."""  # noqa: E501
    usual = usual_rate("_events_earlier")
    return f"{recent_rate('_events_recent')} / nullif({usual}, 0)"


@feature("events_per_month_change", unit="events/month", source="events", kind="derived",
         risk="low")  # fmt: skip
def events_per_month_change() -> str:
    """Change in engagement events per month: the last 30 days minus the customer's usual monthly number in the 335 days before (per 30 days of those the customer was known in; empty for a customer known for 30 days or less)."""  # noqa: E501
    return f"{recent_rate('_events_recent')} - {usual_rate('_events_earlier')}"


@feature("{e}_share_365d", unit="share", source="events", risk="never")
def event_type_share(e: str) -> str:
    """'{e}' events as a share of all engagement events in [as_of − 365 days, as_of)."""
    of_type = f"coalesce({_of(e, 'n_recent + n_earlier')}, 0)"
    return f"{of_type} / nullif(sum(n_recent + n_earlier), 0)"


@feature("event_gap_mean_days", unit="days", source="events", risk="high")
def event_gap_mean_days() -> str:
    """Mean days between consecutive days with engagement events before as_of (needs two such days); days are counted back from as_of."""  # noqa: E501
    first, last = _day_back("max(first_age_us)"), _day_back("min(last_age_us)")
    return f"({first} - {last}) / nullif(sum(a_all) - 1, 0)"


@feature("event_overdue_ratio", unit="ratio", source="events", kind="derived", risk="high")
def event_overdue_ratio() -> str:
    """Days since the last engagement event divided by the customer's mean gap between days with engagement events; above 1 means quieter than usual."""  # noqa: E501
    return "days_since_last_event / nullif(event_gap_mean_days, 0)"
