"""The fitted uplift model: each customer's estimated reduction in P(lost) if sent an offer.

It reads the rows scoring builds (``plan``), encodes them as the contacts were encoded
(:mod:`training.encoding`), and asks the fitted learner. It also carries what the policy and
the list report about it: how it was learned, and how well it held out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from winback.features import FeaturePlan
from winback.training.encoding import encode, learn_levels
from winback.training.models import ColumnMismatchError
from winback.training.uplift.base import Array, Effects, LearnerName, UpliftError


@dataclass(frozen=True)
class ContactEncoding:
    """Training columns and the fixed levels of the text columns among them."""

    names: tuple[str, ...]
    levels: dict[str, list[str]]

    @classmethod
    def learn(cls, frame: pd.DataFrame) -> ContactEncoding:
        """The columns of ``frame`` and the levels of its text columns."""
        names = tuple(str(c) for c in frame.columns)
        return cls(names, learn_levels(frame, names))

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The training columns in training order; other columns of ``frame`` are ignored."""
        missing = [c for c in self.names if c not in frame.columns]
        if missing:
            raise ColumnMismatchError(
                f"the uplift model needs {len(self.names)} feature columns; the frame lacks "
                f"{missing}. Build the features with the plan the model was fitted with."
            )
        return encode(frame, self.names, self.levels)


# Not frozen: the policy's EffectModel protocol declares ``offers`` as a plain attribute.
@dataclass
class UpliftModel:
    """Each customer's estimated reduction in P(lost over the horizon) if sent an offer.

    ``evaluation`` holds the held-out figures (:func:`evaluate_uplift`) of the same learner
    fitted before the held-out send days, and ``qini_lower`` the 95% lower bound of its pooled
    Qini coefficient; ``contacts`` counts the closed contacts by split and ``last_send_day`` is
    the latest send day the model learned from.
    """

    offers: tuple[str, ...]
    learner: LearnerName
    per_offer: bool
    as_of: datetime
    horizon_days: int
    activity_events: tuple[str, ...]
    evaluation: pd.DataFrame
    qini_lower: float
    contacts: dict[str, int]
    last_send_day: datetime
    plan: FeaturePlan
    _encoding: ContactEncoding = field(repr=False)
    _learned: Effects = field(repr=False)

    @property
    def coefficients(self) -> pd.DataFrame | None:
        """The R-learner's terms with estimate and standard error; None for ``t`` and ``x``."""
        return self._learned.coefficients

    def describe(self) -> str:
        """One line on how the effects were learned and how well they held out."""
        held = self.evaluation.loc["all"]
        line = (
            f"{self.learner.upper()}-learner on {self.contacts['closed']:,} contacts sent up to "
            f"{self.last_send_day:%Y-%m-%d}; held-out Qini {held['qini']:.4f} (95% lower bound "
            f"{self.qini_lower:.4f})"
        )
        terms = self.coefficients
        if terms is not None and "propensity" in terms.index:
            # A negative change in P(lost) is customers kept: say it the way round users read.
            kept, error = -terms.loc["propensity", "estimate"], terms.loc["propensity", "std_error"]
            line += (
                f"; an offer keeps {100 * kept:+.2f} ± {100 * error:.2f} "
                "percentage points more of the customers per standard deviation of their "
                "redemption propensity"
            )
        return line

    @property
    def feature_names(self) -> list[str]:
        """The feature columns ``effect`` reads (plus the offer, which it sets itself)."""
        return [c for c in self._encoding.names if c != "offer"]

    def effect(self, features: pd.DataFrame, offer: str) -> Array:
        """Absolute reduction in P(lost over the horizon) per row of ``features`` if sent ``offer``.

        Negative where the offer is estimated to push the customer away. ``features`` are rows
        of :func:`features.build_features` built with ``plan``; other columns are ignored.
        """
        if offer not in self.offers:
            raise UpliftError(
                f"no estimate for offer {offer!r}; the model knows {list(self.offers)}"
            )
        frame = features.assign(offer=offer) if "offer" in self._encoding.names else features
        return self._learned.effect(self._encoding.apply(frame), offer)


__all__ = ["ContactEncoding", "UpliftModel"]
