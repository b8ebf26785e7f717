"""The R-learner (Robinson's residuals; Nie and Wager, 2021) with an effect of few terms.

Two models are cross-fitted over :data:`FOLDS` folds of customers: the risk m(x) = P(lost)
whatever the arm and, where transactions carry a discount, the redemption propensity s(x) =
P(an order with a discount within ``REDEMPTION_DAYS`` | sent an offer). With z the standardised
s, the change in P(lost) an offer makes is linear in 1, m, z, m·z and one shift per offer; its
coefficients are least squares of lost − m(x) on (treated − e) × those terms, e being each send
day's treated share. Why so few terms: real campaign effects are faint, and who redeems what they
are sent is who an offer can keep, while a customer at no risk cannot be kept. The default.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

from winback.training.uplift.base import Array, Effects, Learner, LearningSet, Mask, no_offer

#: Cross-fitting folds of the risk and redemption models (a customer's contacts kept together).
FOLDS = 5


def _basis(
    risk: Array,
    propensity: Array | None,
    scale: tuple[float, float],
    offer: npt.NDArray[Any],
    offers: Sequence[str],
) -> Array:
    """The terms: 1, m, z, m·z (z the standardised propensity), one shift per offer."""
    ones = np.ones_like(risk)
    terms = [ones, risk]
    if propensity is not None:
        z = (propensity - scale[0]) / scale[1]
        terms += [z, risk * z]
    terms += [(offer == name).astype(np.float64) for name in offers[1:]]
    return np.column_stack(terms)


def _terms(offers: Sequence[str], with_propensity: bool) -> list[str]:
    names = ["intercept", "risk", *(["propensity", "risk × propensity"] if with_propensity else [])]
    return [*names, *(f"offer {name}" for name in offers[1:])]


def _folds(customers: pd.Series) -> npt.NDArray[np.int64]:
    """A stable fold per customer, so one customer's contacts never sit on both sides."""
    hashes = [zlib.crc32(str(c).encode()) for c in customers]
    return np.asarray(hashes, dtype=np.int64) % FOLDS


@dataclass(frozen=True)
class REffects(Effects):
    """A fitted R-learner: the reduction in P(lost) is linear in a few terms of two models.

    ``risk`` is m(x); ``propensity`` s(x), None without discounts in the data; ``scale``
    standardises s. ``terms`` holds each term's estimate and standard error (effects on P(lost),
    so a negative estimate means the offer keeps more customers).
    """

    offers: tuple[str, ...]
    risk: lgb.Booster
    propensity: lgb.Booster | None
    scale: tuple[float, float]
    terms: pd.DataFrame

    @property
    def coefficients(self) -> pd.DataFrame:
        """Each term's estimate and standard error (a copy)."""
        return self.terms.copy()

    def effect(self, data: pd.DataFrame, offer: str) -> Array:
        """Estimated reduction in P(lost) for encoded rows ``data`` if sent ``offer``."""
        if data.empty:
            return np.zeros(0)
        rows = no_offer(data)
        risk = np.asarray(self.risk.predict(rows), dtype=np.float64)
        propensity = (
            None
            if self.propensity is None
            else np.asarray(self.propensity.predict(rows), dtype=np.float64)
        )
        offered = np.full(len(data), offer, dtype=object)
        phi = _basis(risk, propensity, self.scale, offered, self.offers)
        return -(phi @ self.terms["estimate"].to_numpy())


class RLearner(Learner):
    """Few coefficients on cross-fitted risk and redemption propensity: few contacts suffice."""

    reads_redemptions: ClassVar[bool] = True

    def fit(self, data: LearningSet, rows: Mask) -> REffects:
        """Fit on the ``rows`` contacts (all of them: no early stopping, fixed rounds)."""
        boosting, offers = data.boosting, data.offers
        x = no_offer(data.x[rows].reset_index(drop=True))
        mine = data.contacts[rows].reset_index(drop=True)
        lost = mine["lost"].to_numpy(dtype=np.float64)
        sent = mine["treated"].to_numpy(dtype=bool)
        offer = mine["offer"].to_numpy(dtype=object)
        share = mine.groupby("as_of")["treated"].transform("mean").to_numpy(dtype=np.float64)
        redeem = None if data.redeemed is None else data.redeemed[rows]
        fold = _folds(mine["customer_id"])
        risk, propensity = np.zeros(len(mine)), None if redeem is None else np.zeros(len(mine))
        for k in range(FOLDS):
            train, test = fold != k, fold == k
            if not test.any():
                continue
            risk[test] = boosting.train_rounds("binary", (x[train], lost[train])).predict(x[test])
            if propensity is not None and redeem is not None:
                treated = train & sent
                model = boosting.train_rounds("binary", (x[treated], redeem[treated]))
                propensity[test] = model.predict(x[test])
        scale = (0.0, 1.0)
        if propensity is not None:
            scale = (float(propensity.mean()), float(propensity.std()) or 1.0)
        design = (sent - share)[:, None] * _basis(risk, propensity, scale, offer, offers)
        target = lost - risk
        beta, *_ = np.linalg.lstsq(design, target, rcond=None)
        residual = target - design @ beta
        spread = float(residual @ residual) / max(len(target) - design.shape[1], 1)
        errors = np.sqrt(np.clip(np.diag(np.linalg.pinv(design.T @ design)) * spread, 0.0, None))
        terms = pd.DataFrame(
            {"estimate": beta, "std_error": errors},
            index=pd.Index(_terms(offers, propensity is not None), name="term"),
        )
        return REffects(
            offers=offers,
            risk=boosting.train_rounds("binary", (x, lost)),
            propensity=(
                None if redeem is None else boosting.train_rounds("binary", (x[sent], redeem[sent]))
            ),
            scale=scale,
            terms=terms,
        )


__all__ = ["FOLDS", "REffects", "RLearner"]
