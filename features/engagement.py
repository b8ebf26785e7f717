"""Engagement features from the events table: counts, recency and trends per event type.

Rows are events before ``as_of``; ``event_key`` is the event type as an identifier (NULL for
types outside the chosen list), offered with ``age_us`` and ``week_back``. Engagement usually
fades before a customer leaves, so the trend and slope families carry signal beyond RFM.
"""

from __future__ import annotations

from features.definitions import (
    DAY_US,
    feature,
    in_previous_window,
    in_window,
    relative_change,
    weekly_slope,
)


def _is(e: str) -> str:
    return f"event_key = '{e}'"


@feature("events_{w}d", unit="events", source="events", fill=0)
def events_in_window(w: int) -> str:
    """Engagement events of any type in [as_of − {w} days, as_of)."""
    return f"count(*) FILTER (WHERE {in_window(w)})"


@feature("days_since_last_event", unit="days", source="events")
def days_since_last_event() -> str:
    """Days from the customer's most recent engagement event to as_of."""
    return f"min(age_us) / {DAY_US}"


@feature("days_since_first_event", unit="days", source="events")
def days_since_first_event() -> str:
    """Days from the customer's first engagement event to as_of."""
    return f"max(age_us) / {DAY_US}"


@feature("events_weekly_slope_{n}w", unit="events/week²", source="events", fill=0)
def events_weekly_slope(n: int) -> str:
    """Least-squares slope of weekly engagement events over the last {n} weeks before as_of."""
    return weekly_slope("1", "TRUE", n)


@feature("{e}_{w}d", unit="events", source="events", fill=0)
def event_type_in_window(e: str, w: int) -> str:
    """'{e}' events in [as_of − {w} days, as_of)."""
    return f"count(*) FILTER (WHERE {_is(e)} AND {in_window(w)})"


@feature("{e}_trend_{w}d", unit="ratio", source="events")
def event_type_trend(e: str, w: int) -> str:
    """Change in '{e}' events from the {w} days before the last {w} days to the last {w} days, from −1 (stopped) to +1 (new)."""  # noqa: E501
    recent = f"count(*) FILTER (WHERE {_is(e)} AND {in_window(w)})"
    previous = f"count(*) FILTER (WHERE {_is(e)} AND {in_previous_window(w)})"
    return relative_change(recent, previous)


@feature("days_since_{e}", unit="days", source="events")
def days_since_event_type(e: str) -> str:
    """Days from the customer's most recent '{e}' event to as_of."""
    return f"min(age_us) FILTER (WHERE {_is(e)}) / {DAY_US}"


@feature("{e}_weekly_slope_{n}w", unit="events/week²", source="events", fill=0)
def event_type_weekly_slope(e: str, n: int) -> str:
    """Least-squares slope of weekly '{e}' events over the last {n} weeks before as_of."""
    return weekly_slope("1", _is(e), n)
