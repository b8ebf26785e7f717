"""Calibration of predicted probabilities on held-out time.

Offers are priced with P(churn), so a probability must mean what it says. The caller fits a
:class:`Calibrator` on predictions for a period the model did not train on, and
:func:`compare_calibrators` scores isotonic, Platt and no calibration on a still later period so
the choice (:func:`choose_calibration`) is not judged on the data it was fitted on.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

Method = Literal["isotonic", "platt"]
#: Keeps logits finite for probabilities of exactly 0 or 1.
_EPS = 1e-6
_ECE_BINS = 10


def _probabilities(p: Any, what: str) -> np.ndarray:
    values = np.asarray(p, dtype="float64")
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"{what} must be a non-empty 1-D array, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"{what} has {int((~np.isfinite(values)).sum())} NaN or infinite values")
    return values


def _outcomes(y: Any, n: int, what: str) -> np.ndarray:
    values = _probabilities(y, what)
    if len(values) != n:
        raise ValueError(f"{what} has {len(values)} values for {n} probabilities")
    if not np.isin(values, (0.0, 1.0)).all():
        raise ValueError(f"{what} must hold only 0 and 1")
    return values


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, _EPS, 1 - _EPS)
    return np.log(clipped / (1 - clipped)).reshape(-1, 1)


class Calibrator(BaseEstimator):
    """Maps raw model probabilities to calibrated ones.

    ``method="isotonic"``: a monotone step function, clipped to [0, 1]; inputs beyond the range
    seen in ``fit`` take the value at the nearest end. ``method="platt"``: a logistic regression
    on the logit of the raw probability (two parameters; steadier on small periods).
    """

    def __init__(self, *, method: Method = "isotonic") -> None:
        self.method = method

    def fit(self, p_raw: Any, y: Any) -> Self:
        """Learn the mapping from raw probabilities ``p_raw`` to observed 0/1 outcomes ``y``."""
        p = _probabilities(p_raw, "p_raw")
        outcomes = _outcomes(y, len(p), "y")
        if len(np.unique(outcomes)) < 2:
            raise ValueError("y holds a single class; calibration needs both 0 and 1 outcomes")
        if self.method == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
            self.mapping_: IsotonicRegression | LogisticRegression = iso.fit(p, outcomes)
        elif self.method == "platt":
            # A large C: Platt scaling is an unpenalised two-parameter fit.
            self.mapping_ = LogisticRegression(C=1e6).fit(_logit(p), outcomes.astype(int))
        else:
            raise ValueError(f"method must be 'isotonic' or 'platt', got {self.method!r}")
        return self

    def predict(self, p_raw: Any) -> np.ndarray:
        """Calibrated probabilities in [0, 1], non-decreasing in ``p_raw``."""
        if not hasattr(self, "mapping_"):
            raise NotFittedError("this Calibrator is not fitted yet: call fit(p_raw, y) first")
        p = _probabilities(p_raw, "p_raw")
        if isinstance(self.mapping_, IsotonicRegression):
            calibrated = self.mapping_.predict(p)
        else:
            calibrated = self.mapping_.predict_proba(_logit(p))[:, 1]
        return np.clip(np.asarray(calibrated, dtype="float64"), 0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """The fitted mapping as plain numbers (for JSON), read back by :meth:`from_dict`."""
        if not hasattr(self, "mapping_"):
            raise NotFittedError("this Calibrator is not fitted yet: nothing to save")
        if isinstance(self.mapping_, IsotonicRegression):
            return {
                "method": "isotonic",
                "x": self.mapping_.X_thresholds_.tolist(),
                "y": self.mapping_.y_thresholds_.tolist(),
            }
        return {
            "method": "platt",
            "coef": float(self.mapping_.coef_[0, 0]),
            "intercept": float(self.mapping_.intercept_[0]),
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Calibrator:
        """A fitted calibrator from :meth:`to_dict`; it predicts exactly as the original."""
        calibrator = cls(method=document["method"])
        if document["method"] == "isotonic":
            x, y = np.asarray(document["x"], float), np.asarray(document["y"], float)
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
            # Refit on the thresholds themselves: the step function through them is the same.
            calibrator.mapping_ = iso.fit(x, y)
        else:
            logistic = LogisticRegression(C=1e6)
            logistic.coef_ = np.array([[document["coef"]]])
            logistic.intercept_ = np.array([document["intercept"]])
            logistic.classes_ = np.array([0, 1])
            calibrator.mapping_ = logistic
        return calibrator


def _brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def _ece(p: np.ndarray, y: np.ndarray, bins: int = _ECE_BINS) -> float:
    """Expected calibration error over equal-count bins of ``p``: Σ share × |mean y − mean p|."""
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, min(bins, len(p)))
    return float(sum(len(g) / len(p) * abs(y[g].mean() - p[g].mean()) for g in groups))


def compare_calibrators(
    p_fit: Any, y_fit: Any, p_eval: Any, y_eval: Any
) -> dict[str, dict[str, float]]:
    """Brier score and ECE on the later period for no, isotonic and Platt calibration.

    Each calibrator is fitted on (``p_fit``, ``y_fit``), one held-out period, and scored on
    (``p_eval``, ``y_eval``), a later one. Keys: ``"none"``, ``"isotonic"``, ``"platt"``.
    """
    p_later = _probabilities(p_eval, "p_eval")
    y_later = _outcomes(y_eval, len(p_later), "y_eval")
    candidates = {"none": p_later}
    for method in ("isotonic", "platt"):
        calibrator = Calibrator(method=method).fit(p_fit, y_fit)
        candidates[method] = calibrator.predict(p_later)
    return {
        name: {"brier": _brier(p, y_later), "ece": _ece(p, y_later)}
        for name, p in candidates.items()
    }


def choose_calibration(scores: dict[str, dict[str, float]]) -> str:
    """The method with the lowest Brier score; ties go to the simpler ("none", then "platt")."""
    if not scores:
        raise ValueError("no calibration scores to choose from")
    simplicity = {"none": 0, "platt": 1, "isotonic": 2}
    return min(scores, key=lambda name: (scores[name]["brier"], simplicity.get(name, 3)))


__all__ = ["Calibrator", "Method", "choose_calibration", "compare_calibrators"]
