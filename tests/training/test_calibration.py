"""Calibrators map raw probabilities to calibrated ones, judged on a later period."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from winback.training.calibration import (
    Calibrator,
    _ece,
    choose_calibration,
    compare_calibrators,
)

METHODS = ["isotonic", "platt"]


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes drawn with probability p, reported as p**3: a model far too unsure of churn."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, n)
    return p**3, (rng.uniform(0, 1, n) < p).astype(float)


@pytest.mark.parametrize("method", METHODS)
def test_calibration_reduces_ece_on_a_later_sample(method: str) -> None:
    p_fit, y_fit = _miscalibrated(4000, seed=1)
    p_later, y_later = _miscalibrated(4000, seed=2)
    calibrator = Calibrator(method=method)
    assert calibrator.fit(p_fit, y_fit) is calibrator
    before = _ece(p_later, y_later)
    after = _ece(calibrator.predict(p_later), y_later)
    assert before > 0.15
    assert after < before / 3


@pytest.mark.parametrize("method", METHODS)
def test_outputs_are_probabilities_monotone_in_the_input(method: str) -> None:
    p_fit, y_fit = _miscalibrated(2000, seed=3)
    calibrator = Calibrator(method=method).fit(np.clip(p_fit, 0.05, 0.9), y_fit)
    # Beyond the fitted range and even outside [0, 1]: still probabilities, still ordered.
    grid = np.array([-0.5, 0.0, 0.01, 0.2, 0.5, 0.8, 0.99, 1.0, 1.5])
    calibrated = calibrator.predict(grid)
    assert ((calibrated >= 0) & (calibrated <= 1)).all()
    assert (np.diff(calibrated) >= 0).all()


@pytest.mark.parametrize("method", METHODS)
def test_bad_inputs_are_refused(method: str) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        Calibrator(method=method).predict([0.5])
    with pytest.raises(ValueError, match="single class"):
        Calibrator(method=method).fit([0.2, 0.4], [1, 1])
    with pytest.raises(ValueError, match="NaN"):
        Calibrator(method=method).fit([0.2, np.nan], [0, 1])
    with pytest.raises(ValueError, match="only 0 and 1"):
        Calibrator(method=method).fit([0.2, 0.4], [0, 2])
    with pytest.raises(ValueError, match="2 values for 3"):
        Calibrator(method=method).fit([0.2, 0.4, 0.6], [0, 1])


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="'isotonic' or 'platt'"):
        Calibrator(method="beta").fit([0.2, 0.4], [0, 1])  # type: ignore[arg-type]


def test_calibrator_keeps_the_scikit_learn_contract() -> None:
    calibrator = Calibrator(method="platt")
    assert clone(calibrator).get_params() == {"method": "platt"}
    assert calibrator.set_params(method="isotonic").method == "isotonic"


def test_compare_calibrators_scores_all_three_on_the_later_period() -> None:
    p_fit, y_fit = _miscalibrated(3000, seed=4)
    p_later, y_later = _miscalibrated(3000, seed=5)
    scores = compare_calibrators(p_fit, y_fit, p_later, y_later)
    assert set(scores) == {"none", "isotonic", "platt"}
    assert all(set(s) == {"brier", "ece"} for s in scores.values())
    assert scores["none"]["ece"] == pytest.approx(_ece(p_later, y_later))
    assert scores["isotonic"]["brier"] < scores["none"]["brier"]
    assert choose_calibration(scores) in {"isotonic", "platt"}


def test_choose_calibration_prefers_the_simpler_on_ties() -> None:
    tie = {"isotonic": {"brier": 0.1, "ece": 0.0}, "none": {"brier": 0.1, "ece": 0.05}}
    assert choose_calibration(tie) == "none"
    assert choose_calibration({**tie, "platt": {"brier": 0.09, "ece": 0.1}}) == "platt"
    with pytest.raises(ValueError, match="no calibration scores"):
        choose_calibration({})


def test_ece_uses_equal_count_bins() -> None:
    p = np.array([0.1] * 50 + [0.9] * 50)
    # Each bin of ten holds one positive at p = 0.1 and nine at p = 0.9: calibrated.
    y = np.concatenate([np.tile([1.0] + [0.0] * 9, 5), np.tile([1.0] * 9 + [0.0], 5)])
    assert _ece(p, y) == pytest.approx(0)
    assert _ece(np.full(10, 0.9), np.zeros(10)) == pytest.approx(0.9)
