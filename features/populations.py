"""Two questions, two populations: who among the active will lapse, who among the lapsed returns.

A customer is *active* at a cutoff when their last order falls within an allowance of their own:
``active_gap_multiple`` × their mean gap between orders, kept between ``active_min_days`` (one
horizon by default, and the allowance of a one-order customer, who has no gap yet) and
``active_max_days``. Active customers are the *retention* population (will they lapse within the
horizon?); the rest who ordered before are the *win-back* population (will they come back?);
customers with no order yet are neither. The rule reads two point-in-time features
(``days_since_last_order``, ``gap_mean_days``), so it holds whatever the models hold in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from winback.features.settings import LabelSettings

RETENTION, WINBACK, NO_ORDERS = "retention", "winback", "no_orders"
#: The populations a model is trained for, in the order reports show them.
POPULATIONS = (RETENTION, WINBACK)
#: The features the rule reads.
RULE_INPUTS = ("days_since_last_order", "gap_mean_days")


@dataclass(frozen=True)
class PopulationRule:
    """The activity rule with its allowance in days resolved (what a trained model keeps)."""

    gap_multiple: float
    min_days: float
    max_days: float

    @classmethod
    def from_labels(cls, labels: LabelSettings) -> PopulationRule:
        """The rule of ``[labels]``; ``active_min_days = "auto"`` is one horizon."""
        low = labels.horizon_days if labels.active_min_days == "auto" else labels.active_min_days
        return cls(labels.active_gap_multiple, float(low), float(max(low, labels.active_max_days)))

    def allowance_days(self, gap_mean_days: np.ndarray) -> np.ndarray:
        """Days since the last order up to which a customer still counts as active."""
        allowed = self.gap_multiple * np.asarray(gap_mean_days, dtype="float64")
        return np.clip(np.nan_to_num(allowed, nan=self.min_days), self.min_days, self.max_days)

    def assign(self, features: pd.DataFrame) -> np.ndarray:
        """``retention``, ``winback`` or ``no_orders`` per row of feature rows."""
        missing = [c for c in RULE_INPUTS if c not in features]
        if missing:
            raise ValueError(f"the population rule needs the features {missing}")
        since = features["days_since_last_order"].to_numpy(dtype="float64", na_value=np.nan)
        gap = features["gap_mean_days"].to_numpy(dtype="float64", na_value=np.nan)
        active = since <= self.allowance_days(gap)
        return np.where(np.isnan(since), NO_ORDERS, np.where(active, RETENTION, WINBACK))

    def describe(self) -> str:
        """The rule in a sentence, for the run and the report."""
        return (
            f"active: last order within {self.gap_multiple:g}× the customer's own mean gap "
            f"between orders, at least {self.min_days:g} and at most {self.max_days:g} days "
            f"(one order: {self.min_days:g} days); otherwise lapsed"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"gap_multiple": self.gap_multiple, "min_days": self.min_days,
                "max_days": self.max_days}  # fmt: skip

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> PopulationRule:
        """Read :meth:`to_dict`."""
        return cls(float(document["gap_multiple"]), float(document["min_days"]),
                   float(document["max_days"]))  # fmt: skip


__all__ = ["NO_ORDERS", "POPULATIONS", "RETENTION", "RULE_INPUTS", "WINBACK", "PopulationRule"]
