"""The X-learner (Künzel et al., 2019): the T-learner's arms, then models of imputed effects.

From μ0 and μ1 (:mod:`t_learner`), each treated contact's imputed effect is μ0(x) − y and each
control contact's y − μ1(x); τ1 and τ0 regress them, and the estimate blends them by the
treated share e: e·τ0 + (1 − e)·τ1. With a 20% control, μ0 rests on few contacts; the blend
leans on τ0, whose imputation uses μ1, fitted on the many. For strong effects that attributes
carry, on many contacts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from winback.training.uplift.base import Array, Effects, Learner, LearningSet, Mask, no_offer
from winback.training.uplift.t_learner import Boosters, arm, fit_arms, offer_keys, predict


@dataclass(frozen=True)
class XEffects(Effects):
    """A fitted X-learner: μ0, and μ1, τ0, τ1 by offer key, and the treated share it blends by."""

    per_offer: bool
    treated_share: float
    boosters: Boosters

    def effect(self, data: pd.DataFrame, offer: str) -> Array:
        """Estimated reduction in P(lost) for encoded rows ``data`` (their offer column set)."""
        if data.empty:
            return np.zeros(0)
        key = offer if self.per_offer else ""
        e = self.treated_share
        return e * predict(self.boosters, "tau0", key, data) + (1 - e) * predict(
            self.boosters, "tau1", key, data
        )


class XLearner(Learner):
    """e·τ0 + (1 − e)·τ1 on effects imputed with the other arm's model."""

    def fit(self, data: LearningSet, rows: Mask) -> XEffects:
        """Fit the arms, then the effect models, on the ``rows`` contacts."""
        fit, stop = data.early_stopping_split(rows)
        boosters = fit_arms(data, fit, stop)
        treated_share = float(data.contacts["treated"].to_numpy(dtype=bool)[fit].mean())

        def imputed(rows: Mask, sent: bool, key: str) -> tuple[pd.DataFrame, Array]:
            # The reduction in P(lost) each contact shows against the other arm's model.
            x, y = arm(data, rows, sent, key)
            if sent:
                return x, predict(boosters, "mu0", "", no_offer(x)) - y
            return x, y - predict(boosters, "mu1", key, x)

        for key in offer_keys(data):
            for role, sent in (("tau1", True), ("tau0", False)):
                boosters[role, key] = data.boosting.train(
                    "regression", imputed(fit, sent, key), imputed(stop, sent, key)
                )
        return XEffects(data.per_offer, treated_share, boosters)


__all__ = ["XEffects", "XLearner"]
