"""Engagement events of the synthetic world: visits, sessions, app opens, emails, support.

Each event type is a seasonal Poisson process per customer, faded (thinned) in the weeks before
the customer's drop-out and continued at a residual rate after it. Returns plain columns;
:mod:`winback.synthetic.world` builds the events table and documents the mechanisms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from winback.synthetic.campaigns import CampaignHistory
from winback.synthetic.intensity import EMAIL_PROFILE, WEB_PROFILE, Intensity, fade
from winback.synthetic.population import Population

#: Emails the business sends per customer per day (1.4 a week).
EMAILS_PER_DAY = 0.2


@dataclass(frozen=True)
class EventKind:
    """One event type: its calendar, base rate, fade and what continues after drop-out."""

    name: str
    email: bool  # follows the email send calendar rather than the web one
    rate: Callable[[Population], np.ndarray]  # events per day on an average day, before fade
    fade_floor: float  # rate multiplier reached at drop-out (above 1: a ramp up)
    after_dropout: float  # share of the rate that continues after drop-out


EVENT_KINDS = (
    EventKind("visit", False, lambda p: 0.035 * p.engagement, 0.15, 0.02),
    EventKind("session", False, lambda p: 0.022 * p.engagement, 0.15, 0.0),
    EventKind("app_open", False, lambda p: 0.05 * p.engagement * p.has_app, 0.1, 0.01),
    EventKind("email_open", True, lambda p: EMAILS_PER_DAY * p.email_open, 0.35, 0.25),
    EventKind(
        "email_click", True, lambda p: EMAILS_PER_DAY * p.email_open * p.email_click, 0.15, 0.03
    ),
    # Support tickets pile up before people leave: the "fade" is a ramp up to 2.5×.
    EventKind("support_ticket", False, lambda p: 0.0025 * p.support, 2.5, 0.0),
)
EVENT_TYPES = tuple(k.name for k in EVENT_KINDS)


def engagement_rate(pop: Population) -> np.ndarray:
    """Events of all types per day on an average day while alive and not fading."""
    return np.sum([k.rate(pop) for k in EVENT_KINDS], axis=0)


@dataclass(frozen=True)
class Events:
    """Event rows in no particular order."""

    customer: np.ndarray  # int32 customer index
    time: np.ndarray  # days since start
    kind: np.ndarray  # int8 codes into EVENT_TYPES
    value: np.ndarray  # float; NaN where not meaningful


def _value(
    kind: EventKind, pop: Population, who: np.ndarray, level: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Pages per visit and minutes per session, both shrinking as engagement fades."""
    if kind.name == "visit":
        return (1 + rng.poisson(2.5 * (0.4 + 0.6 * level))).astype(np.float64)
    if kind.name == "session":
        minutes = rng.gamma(2.0, pop.session_minutes[who] / 2.0) * (0.4 + 0.6 * level)
        return np.round(np.maximum(minutes, 0.1), 2)
    return np.full(who.size, np.nan)


def _one_kind(
    kind: EventKind,
    pop: Population,
    history: CampaignHistory,
    grid: Intensity,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer, time and value of every event of one kind."""
    horizon, dropout = grid.horizon_days, history.dropout
    rate = kind.rate(pop)
    # Alive: draw from the envelope (the largest multiplier) and keep with multiplier/envelope.
    envelope = max(1.0, kind.fade_floor)
    lo, hi = pop.birth, np.minimum(dropout, horizon)
    counts = rng.poisson(rate * envelope * grid.expected(lo, hi))
    t = grid.place(lo, hi, counts, rng)
    who = np.repeat(np.arange(pop.n, dtype=np.int32), counts)
    level = fade(t, dropout[who], history.fade_days[who], kind.fade_floor)
    keep = rng.random(t.size) * envelope < level
    who, t, level = who[keep], t[keep], level[keep]
    if kind.after_dropout > 0:
        # After drop-out: a residual trickle (mostly emails still opened), no fade.
        end = np.full(pop.n, horizon)
        d_counts = rng.poisson(rate * kind.after_dropout * grid.expected(hi, end))
        d_t = grid.place(hi, end, d_counts, rng)
        who = np.concatenate([who, np.repeat(np.arange(pop.n, dtype=np.int32), d_counts)])
        t = np.concatenate([t, d_t])
        level = np.concatenate([level, np.full(d_t.size, kind.fade_floor)])
    return who, t, _value(kind, pop, who, np.minimum(level, 1.0), rng)


def simulate_events(
    pop: Population,
    history: CampaignHistory,
    start: datetime,
    horizon: float,
    rng: np.random.Generator,
) -> Events:
    """All engagement events of every customer, type by type."""
    web = Intensity(WEB_PROFILE, start, horizon)
    email = Intensity(EMAIL_PROFILE, start, horizon)
    parts = [
        _one_kind(kind, pop, history, email if kind.email else web, rng) for kind in EVENT_KINDS
    ]
    kinds = [np.full(p[0].size, code, dtype=np.int8) for code, p in enumerate(parts)]
    return Events(
        customer=np.concatenate([p[0] for p in parts]),
        time=np.concatenate([p[1] for p in parts]),
        kind=np.concatenate(kinds),
        value=np.concatenate([p[2] for p in parts]),
    )


__all__ = [
    "EVENT_KINDS",
    "EVENT_TYPES",
    "EventKind",
    "Events",
    "engagement_rate",
    "simulate_events",
]
