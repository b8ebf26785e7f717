"""Churn models per population: retention (active customers) and win-back (lapsed customers).

:class:`~winback.features.populations.PopulationRule` says which population a row is in; each has
its own churn model and calibrator, trained and judged on its own rows. :class:`RoutedChurn`
puts them back together, so every row still gets P(churn) and SHAP values from the model of its
population: one column ranks everyone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from winback.features.populations import WINBACK, PopulationRule
from winback.training.calibration import Calibrator
from winback.training.models import ChurnModel


def calibrated(model: ChurnModel, calibrator: Calibrator | None, x: pd.DataFrame) -> np.ndarray:
    """P(churn) of ``model`` on ``x``, through ``calibrator`` when there is one."""
    p = model.predict_proba(x)
    return calibrator.predict(p) if calibrator is not None else p


@dataclass
class RoutedChurn:
    """The retention model for active rows (and rows with no order), the win-back one for lapsed.

    Without a win-back model (``winback is None``) the retention model takes every row.
    """

    retention: ChurnModel
    winback: ChurnModel | None = None
    rule: PopulationRule | None = None
    retention_calibrator: Calibrator | None = None
    winback_calibrator: Calibrator | None = None

    def lapsed(self, x: pd.DataFrame) -> np.ndarray:
        """True for the rows the win-back model takes."""
        if self.winback is None or self.rule is None:
            return np.zeros(len(x), dtype=bool)
        return self.rule.assign(x) == WINBACK

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        """Calibrated P(churn) per row, each from its population's model."""
        lapsed = self.lapsed(x)
        out = np.empty(len(x), dtype="float64")
        if (~lapsed).any():
            out[~lapsed] = calibrated(self.retention, self.retention_calibrator, x[~lapsed])
        if lapsed.any():
            assert self.winback is not None  # lapsed rows exist only with a win-back model
            out[lapsed] = calibrated(self.winback, self.winback_calibrator, x[lapsed])
        return out

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        """SHAP values (log-odds of churn) per row, each from its population's model."""
        lapsed = self.lapsed(x)
        if not lapsed.any():
            return self.retention.contributions(x)
        assert self.winback is not None
        lapsed_part = self.winback.contributions(x[lapsed])
        values = np.empty((len(x), lapsed_part.shape[1]), dtype="float64")
        values[lapsed] = lapsed_part.to_numpy()
        if (~lapsed).any():
            values[~lapsed] = self.retention.contributions(x[~lapsed]).to_numpy()
        return pd.DataFrame(values, columns=lapsed_part.columns, index=x.index)


__all__ = ["RoutedChurn", "calibrated"]
