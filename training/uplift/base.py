"""What every uplift learner shares: its input, its LightGBM settings, and the shape of its result.

A learner (one per module: ``r_learner``, ``t_learner``, ``x_learner``) turns a
:class:`LearningSet` of contacts into :class:`Effects`, which estimate each row's reduction in
P(lost) if sent an offer. Every booster of every learner is trained with one :class:`Boosting`,
so the learners differ in what they fit, not in how their trees grow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

from winback.common import WinbackError

Array = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
#: The learners by name (``fit_uplift(learner=...)``, ``[policy] uplift_learner``).
LearnerName = Literal["r", "t", "x"]
#: Boosting rounds of the models fitted without a stopping set (the R-learner's risk and
#: redemption propensity, cross-fitted).
NUISANCE_ROUNDS = 200


class UpliftError(WinbackError, ValueError):
    """An uplift model was asked about an offer it does not know, or for an unknown learner."""


@dataclass(frozen=True)
class Boosting:
    """LightGBM settings shared by every booster of an uplift model."""

    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 100
    lambda_l2: float = 10.0
    n_estimators: int = 1000
    early_stopping_rounds: int = 50
    seed: int = 0
    n_jobs: int = 1

    def params(self, objective: str) -> dict[str, Any]:
        """LightGBM parameters for ``objective``."""
        return {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "lambda_l2": self.lambda_l2,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "seed": self.seed,
            "num_threads": self.n_jobs,
            # Same data, parameters and seed give the same trees, run after run.
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }

    def train(
        self, objective: str, data: tuple[pd.DataFrame, Array], stop: tuple[pd.DataFrame, Array]
    ) -> lgb.Booster:
        """One booster on ``data``, early-stopped on ``stop`` (the latest send days)."""
        params = self.params(objective)
        train = lgb.Dataset(data[0], data[1])
        valid = lgb.Dataset(stop[0], stop[1], reference=train)
        booster = lgb.train(
            params,
            train,
            num_boost_round=self.n_estimators,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        best = booster.best_iteration or booster.current_iteration()
        return lgb.Booster(model_str=booster.model_to_string(num_iteration=best))

    def train_rounds(self, objective: str, data: tuple[pd.DataFrame, Array]) -> lgb.Booster:
        """One booster on ``data`` with ``NUISANCE_ROUNDS`` rounds and no stopping set."""
        dataset = lgb.Dataset(data[0], data[1])
        return lgb.train(self.params(objective), dataset, num_boost_round=NUISANCE_ROUNDS)


@dataclass(frozen=True)
class LearningSet:
    """What a learner learns from: the closed contacts and their encoded features, row for row.

    ``contacts`` holds customer_id, as_of (send day), offer, treated and lost; ``x`` the encoded
    features, with the ``offer`` column unless ``per_offer``; ``offers`` the offers learned,
    sorted; ``redeemed`` per contact, 1.0 if an order with a discount followed (None unless the
    learner reads it and the data has discounts). ``stopping_share`` is the share of the latest
    send days an early-stopped learner watches.
    """

    contacts: pd.DataFrame
    x: pd.DataFrame
    offers: tuple[str, ...]
    boosting: Boosting
    per_offer: bool = False
    stopping_share: float = 0.2
    redeemed: Array | None = None

    def early_stopping_split(self, rows: Mask) -> tuple[Mask, Mask]:
        """``rows`` split into the rows to fit and the latest send days that stop the fitting."""
        days = self.contacts["as_of"]
        latest = latest_days(days, self.stopping_share, days[rows].unique())
        stop = days.isin(latest).to_numpy()
        return rows & ~stop, rows & stop


class Effects(ABC):
    """A fitted learner: the estimated reduction in P(lost) per encoded row for an offer."""

    @abstractmethod
    def effect(self, data: pd.DataFrame, offer: str) -> Array:
        """Estimated reduction in P(lost) for encoded rows ``data`` if sent ``offer``."""

    @property
    def coefficients(self) -> pd.DataFrame | None:
        """Terms with estimate and standard error, for learners whose effect has few terms."""
        return None


class Learner(ABC):
    """One way of learning effects from contacts; the registry in ``fit`` names each."""

    #: Whether the learner reads each contact's redemption (one more query over the orders).
    reads_redemptions: ClassVar[bool] = False

    @abstractmethod
    def fit(self, data: LearningSet, rows: Mask) -> Effects:
        """Learn from the contacts of ``data`` selected by ``rows``."""


def latest_days(days: pd.Series, share: float, among: Sequence[Any]) -> list[Any]:
    """The latest send days of ``among`` holding at least ``share`` of their contacts."""
    counts = days.value_counts()
    ordered = sorted(among, reverse=True)
    total = counts[ordered].sum()
    chosen: list[Any] = []
    for day in ordered:
        if chosen and counts[chosen].sum() >= share * total:
            break
        chosen.append(day)
    return chosen


def no_offer(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its ``offer`` column: for the models a planned offer cannot change."""
    return frame.drop(columns="offer", errors="ignore")


__all__ = [
    "NUISANCE_ROUNDS",
    "Array",
    "Boosting",
    "Effects",
    "Learner",
    "LearnerName",
    "LearningSet",
    "Mask",
    "UpliftError",
    "latest_days",
    "no_offer",
]
