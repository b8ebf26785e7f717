"""Settings of the serving stage: scoring, the offer catalog and policy, drift, the HTTP API.

``winback`` composes them into ``winback.toml`` as ``[scoring]``, ``[policy]`` (with
``[[policy.offers]]``), ``[drift]`` and ``[api]``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The model scoring uses unless told otherwise: the registry's champion.
DEFAULT_MODEL_URI = "models:/winback@champion"

Action = Literal["retain", "win_back"]
Stage = Literal["prospect", "new", "growing", "stable", "declining", "churned"]
ValueSegment = Literal["strategic", "profit", "potential", "ordinary"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoringSettings(_Frozen):
    """How ``winback score`` runs."""

    model_uri: str = DEFAULT_MODEL_URI
    #: Customers whose features are built, predicted and explained at a time: bounds the memory
    #: `score` needs on a large base.
    chunk_rows: int = Field(default=50_000, ge=1)
    #: Reason codes per customer (top contributions toward churn risk).
    reasons: int = Field(default=3, ge=0, le=10)


class Offer(_Frozen):
    """One offer of the catalog and who may receive it."""

    name: str = Field(min_length=1)
    #: Cost of one contact (printing, sending, handling), in the data's currency.
    cost: float = Field(ge=0)
    #: Discount as a share of the order it applies to (0.2 = 20% off).
    discount: float = Field(default=0.0, ge=0, lt=1)
    #: The share of at-risk customers the offer keeps (or wins back) when no campaign history
    #: lets winback estimate it per customer.
    assumed_effect: float = Field(default=0.1, ge=0, le=1)
    actions: tuple[Action, ...] = ("retain", "win_back")
    #: Eligibility: empty = every stage / segment.
    stages: tuple[Stage, ...] = ()
    value_segments: tuple[ValueSegment, ...] = ()
    min_clv: float = 0.0


class PolicySettings(_Frozen):
    """Who merits an offer: the catalog, the budget and the contact rules."""

    #: The catalog ``winback.toml`` ships (and the simulated world's campaigns use): a default
    #: named like nothing in a user's data would teach the policy nothing.
    offers: tuple[Offer, ...] = (
        Offer(name="discount_10", cost=0.5, discount=0.10, assumed_effect=0.10),
        Offer(
            name="discount_20",
            cost=0.5,
            discount=0.20,
            assumed_effect=0.18,
            value_segments=("strategic", "profit", "potential"),
        ),
        Offer(name="free_shipping", cost=2.5, discount=0.0, assumed_effect=0.06),
    )
    #: Customers with no order for longer than this are not worth a win-back offer.
    recoverable_days: int = Field(default=365, ge=1)
    #: A customer counts as lapsed (``win_back``) after this many days without an order;
    #: default: the model's population (its activity rule, ``[labels] active_*``), and for
    #: scores without one the churned stage's threshold from ``[segments]``.
    lapsed_after_days: int | None = Field(default=None, ge=1)
    #: Customers contacted by any offer this recently are left out.
    suppression_days: int = Field(default=30, ge=0)
    max_contacts: int | None = Field(default=None, ge=1)
    #: Share of the selected customers held out as a random control group (no offer).
    control_share: float = Field(default=0.1, ge=0, lt=1)
    seed: int = 0
    #: How offer effects are learned from campaign history (training/uplift/): ``r`` (an
    #: R-learner, linear in risk and redemption propensity: few parameters, for the faint
    #: effects of real campaigns), ``x`` or ``t`` (LightGBM per arm: for strong effects that
    #: attributes carry, on many contacts).
    uplift_learner: Literal["r", "t", "x"] = "r"
    #: Event types that show a customer is still there (visits, sessions, app opens), counted
    #: with orders in the uplift outcome: a sparse buyer still visiting is not lost.
    #: Types absent from the data are ignored.
    uplift_activity_events: tuple[str, ...] = ("visit", "session", "app_open")

    @model_validator(mode="after")
    def _unique_offer_names(self) -> PolicySettings:
        names = [o.name for o in self.offers]
        if len(set(names)) != len(names):
            raise ValueError(f"offer names must be unique, got {names}")
        return self


class DriftSettings(_Frozen):
    """Population stability thresholds (PSI) for ``winback drift`` and ``winback score``."""

    warn_psi: float = Field(default=0.1, gt=0)
    alert_psi: float = Field(default=0.25, gt=0)
    bins: int = Field(default=10, ge=2, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> DriftSettings:
        if self.warn_psi > self.alert_psi:
            raise ValueError(f"warn_psi {self.warn_psi} must not exceed alert_psi {self.alert_psi}")
        return self


class ApiSettings(_Frozen):
    """The HTTP API (``winback serve``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    #: Most customer ids or feature rows per request.
    max_rows: int = Field(default=1_000, ge=1)
    #: Scoring jobs (scores, feature rows, lists) worked on at once, off the event loop.
    max_concurrent: int = Field(default=2, ge=1)
    #: How long a request may wait for a free worker before it is answered 503 with
    #: Retry-After; health and model facts never wait.
    queue_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    #: Folder where the page records the lists a marketer marks as sent (relative to
    #: winback.toml, beside mlruns/); empty: marking lists as sent is off.
    sent_lists_dir: str = "sent-lists"


__all__ = [
    "DEFAULT_MODEL_URI",
    "Action",
    "ApiSettings",
    "DriftSettings",
    "Offer",
    "PolicySettings",
    "ScoringSettings",
]
