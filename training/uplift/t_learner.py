"""The T-learner: P(lost) modelled per arm, the effect their difference, μ0(x) − μ1(x).

μ0 is fitted on control contacts, μ1 on treated ones; offers are pooled, with the offer a
feature of μ1 but not of μ0 (a control contact's planned offer changes nothing for them), or one
μ1 per offer with ``per_offer``. Every booster is early-stopped on the latest send days. The
two arm models are also the X-learner's first stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from winback.training.uplift.base import Array, Effects, Learner, LearningSet, Mask, no_offer

#: Booster keys: (role, offer), offer "" when offers are pooled.
Boosters = dict[tuple[str, str], lgb.Booster]


def arm(data: LearningSet, rows: Mask, sent: bool, key: str) -> tuple[pd.DataFrame, Array]:
    """Encoded rows and outcome of the ``rows`` contacts of one arm (and offer ``key``, if set)."""
    contacts = data.contacts
    treated = contacts["treated"].to_numpy(dtype=bool)
    offer = contacts["offer"].to_numpy(dtype=object)
    mine = rows & (treated == sent) & ((offer == key) if key else True)
    return data.x[mine].reset_index(drop=True), contacts["lost"].to_numpy(dtype=np.float64)[mine]


def offer_keys(data: LearningSet) -> list[str]:
    """The offers with models of their own: each offer with ``per_offer``, else "" (pooled)."""
    return list(data.offers) if data.per_offer else [""]


def fit_arms(data: LearningSet, fit: Mask, stop: Mask) -> Boosters:
    """μ0 on the control contacts and μ1 on the treated (per offer key), fitted on ``fit``."""
    boosting = data.boosting
    boosters: Boosters = {}
    (x0, y0), (s0, z0) = arm(data, fit, False, ""), arm(data, stop, False, "")
    boosters["mu0", ""] = boosting.train("binary", (no_offer(x0), y0), (no_offer(s0), z0))
    for key in offer_keys(data):
        boosters["mu1", key] = boosting.train(
            "binary", arm(data, fit, True, key), arm(data, stop, True, key)
        )
    return boosters


def predict(boosters: Boosters, role: str, key: str, rows: pd.DataFrame) -> Array:
    """Booster (``role``, ``key``)'s prediction on encoded ``rows``."""
    return np.asarray(boosters[role, key].predict(rows), dtype=np.float64)


@dataclass(frozen=True)
class TEffects(Effects):
    """A fitted T-learner: μ0, and μ1 by offer key."""

    per_offer: bool
    boosters: Boosters

    def effect(self, data: pd.DataFrame, offer: str) -> Array:
        """Estimated reduction in P(lost) for encoded rows ``data`` (their offer column set)."""
        if data.empty:
            return np.zeros(0)
        key = offer if self.per_offer else ""
        return predict(self.boosters, "mu0", "", no_offer(data)) - predict(
            self.boosters, "mu1", key, data
        )


class TLearner(Learner):
    """μ0(x) − μ1(x), each arm's model early-stopped on the latest send days."""

    def fit(self, data: LearningSet, rows: Mask) -> TEffects:
        """Fit both arms on the ``rows`` contacts."""
        fit, stop = data.early_stopping_split(rows)
        return TEffects(data.per_offer, fit_arms(data, fit, stop))


__all__ = ["TEffects", "TLearner", "arm", "fit_arms", "offer_keys", "predict"]
