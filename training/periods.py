"""Value per future period and CLV: learned where the history allows, extrapolated where not.

Value is CRM gross margin (``margin_period_k`` in :mod:`features.labels`): period k is
``[T + (k − 1)·h, T + k·h)`` for horizon h. Period k can be learned directly only from cutoffs
whose k-th period is already observed, split in time with label windows k·h long
(:func:`training.splits.split_cutoffs`). A young business or a single cohort often has too few: a
two-year history cannot train, validate and test a model of the third 90-day period. Those periods
are still forecast, by one of two documented methods, and :attr:`PeriodModels.methods` records
which produced each period:

- ``direct``: a zero-heavy LightGBM model (:class:`~training.models.SpendModel`) of the period's
  margin, early-stopped on that period's own validation cutoffs. Negative margins (refunds, offer
  costs) are learned as 0, and still count in the evaluation's actuals.
- ``btyd_decay``: the last directly learned period's value times the BG/NBD decay of purchases
  from that period to period k for this customer (:meth:`BtydFeatures.period_decay`): a customer
  who is probably still alive keeps most of their value, one who has likely dropped out little.
- ``retention_decay`` (when no BG/NBD fit is available): the last learned value times
  ``(1 − P(churn))`` per period, the chance of staying active compounding.

CLV is the sum of the period values discounted at an annual rate to each period's end:
``CLV = Σ_k value_period_k / (1 + rate)^(k·h / 365)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from winback.training.btyd import BtydFeatures
from winback.training.models import SpendModel
from winback.training.splits import (
    NotEnoughCutoffsError,
    TimeSplit,
    split_customers,
    split_cutoffs,
    split_frame,
)

DIRECT, BTYD_DECAY, RETENTION_DECAY = "direct", "btyd_decay", "retention_decay"


def value_columns(periods: int) -> list[str]:
    """``value_period_1`` … ``value_period_<periods>``."""
    return [f"value_period_{k}" for k in range(1, periods + 1)]


@dataclass
class PeriodModels:
    """Per-period margin models and how each period is produced."""

    horizon_days: int
    discount_rate: float
    #: Period number (from 1) → its directly learned model.
    models: dict[int, SpendModel]
    #: Period number → ``direct``, ``btyd_decay`` or ``retention_decay``.
    methods: dict[int, str]
    #: Period number → the time split its direct model was learned and tested on.
    splits: dict[int, TimeSplit] = field(default_factory=dict, repr=False)

    @property
    def periods(self) -> int:
        """How many periods are forecast."""
        return len(self.methods)

    def predict(
        self,
        inputs: pd.DataFrame,
        churn_probability: np.ndarray,
        btyd: BtydFeatures | None,
    ) -> pd.DataFrame:
        """``value_period_1..P`` and ``clv`` for each row of model inputs."""
        values = np.empty((len(inputs), self.periods))
        decay = (
            btyd.period_decay(inputs, self.periods)
            if btyd is not None and BTYD_DECAY in self.methods.values()
            else None
        )
        last = 0
        for k in range(1, self.periods + 1):
            method = self.methods[k]
            if method == DIRECT:
                values[:, k - 1] = self.models[k].predict(inputs)
                last = k
            elif method == BTYD_DECAY and decay is not None:
                ratio = decay[:, k - 1] / np.where(decay[:, last - 1] > 0, decay[:, last - 1], 1)
                values[:, k - 1] = values[:, last - 1] * ratio
            else:
                values[:, k - 1] = values[:, last - 1] * (1 - churn_probability) ** (k - last)
        out = pd.DataFrame(values, columns=value_columns(self.periods), index=inputs.index)
        years = np.arange(1, self.periods + 1) * self.horizon_days / 365.0
        out["clv"] = values @ (1.0 + self.discount_rate) ** -years
        return out

    def save(self, directory: Path) -> dict[str, Any]:
        """Write the direct models beside a bundle; return the JSON-ready description."""
        for k, model in self.models.items():
            model.save(directory / f"value_period_{k}.json")
        return {
            "horizon_days": self.horizon_days,
            "discount_rate": self.discount_rate,
            "methods": {str(k): m for k, m in self.methods.items()},
        }

    @classmethod
    def load(cls, directory: Path, document: dict[str, Any]) -> PeriodModels:
        """Inverse of :meth:`save`."""
        methods = {int(k): str(m) for k, m in document["methods"].items()}
        return cls(
            horizon_days=int(document["horizon_days"]),
            discount_rate=float(document["discount_rate"]),
            models={
                k: SpendModel.load(directory / f"value_period_{k}.json")
                for k, m in methods.items()
                if m == DIRECT
            },
            methods=methods,
        )


def fit_period_models(
    frame: pd.DataFrame,
    columns: list[str],
    *,
    horizon_days: int,
    periods: int,
    main_split: TimeSplit,
    validation: int,
    test: int,
    min_train_cutoffs: int,
    discount_rate: float,
    params: dict[str, Any],
    btyd: BtydFeatures | None,
) -> PeriodModels:
    """Learn each period directly where its own time split exists, else record an extrapolation.

    Period 1 uses the main split (its window is the horizon). Period k > 1 needs
    ``min_train_cutoffs`` training cutoffs plus the validation and test cutoffs, all with the
    k-th period observed and kept k·h days apart; when the main split holds out customers, one
    cutoff with the k-th period observed is enough (the same customers held out). Once a period
    cannot be learned, no later one can either (it needs an even longer observed future), so
    the rest are extrapolated.
    """
    models: dict[int, SpendModel] = {}
    methods: dict[int, str] = {}
    splits: dict[int, TimeSplit] = {}
    extrapolate = BTYD_DECAY if btyd is not None else RETENTION_DECAY
    for k in range(1, periods + 1):
        label = f"margin_period_{k}"
        if k == 1:
            split = main_split
        else:
            observed = pd.to_datetime(frame.loc[frame[label].notna(), "as_of"].unique())
            try:
                if main_split.by == "customers":
                    split = split_customers(observed.to_pydatetime(), k * horizon_days)
                else:
                    split = split_cutoffs(
                        observed.to_pydatetime(),
                        k * horizon_days,
                        validation=validation,
                        test=test,
                        min_train=min_train_cutoffs,
                    )
            except NotEnoughCutoffsError:
                methods |= dict.fromkeys(range(k, periods + 1), extrapolate)
                break
        train, valid, _ = split_frame(frame, split)
        train, valid = train[train[label].notna()], valid[valid[label].notna()]
        if train.empty or valid.empty:  # a tiny base: no held-out customer saw the period
            methods |= dict.fromkeys(range(k, periods + 1), extrapolate)
            break
        models[k] = SpendModel(objective="tweedie", **params).fit(
            train[columns],
            train[label].clip(lower=0),
            eval_set=(valid[columns], valid[label].clip(lower=0)),
        )
        methods[k] = DIRECT
        splits[k] = split
    return PeriodModels(horizon_days, discount_rate, models, methods, splits)


__all__ = [
    "BTYD_DECAY",
    "DIRECT",
    "RETENTION_DECAY",
    "PeriodModels",
    "fit_period_models",
    "value_columns",
]
