"""The R-learner finds whom an offer helps from few terms, and leaves out what the data lacks."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from tests.training.uplift.conftest import END, HORIZON, TABLES
from tests.training.uplift.generated import campaign, everyone
from winback.features import load_dataset
from winback.training.uplift import fit_uplift
from winback.training.uplift.r_learner import RLearner


def test_the_r_learner_recovers_the_effect_and_reads_it_as_redemption() -> None:
    data, truth = campaign()
    fitted = RLearner().fit(data, everyone(data))
    estimate = fitted.effect(data.x, "discount")
    # Measured: Spearman 0.97, mean 0.21 against a true mean of 0.20.
    assert spearmanr(estimate, truth).statistic > 0.8
    assert abs(estimate.mean() - truth.mean()) < 0.05
    terms = fitted.coefficients
    assert list(terms.index) == ["intercept", "risk", "propensity", "risk × propensity"]
    # A negative change in P(lost): the offer keeps more of those who redeem what they are sent.
    # Measured: -0.103 ± 0.040.
    assert terms.loc["propensity", "estimate"] < -2 * terms.loc["propensity", "std_error"]


def test_with_the_treatment_shuffled_the_r_learner_finds_no_effect() -> None:
    data, truth = campaign(shuffled=True)
    fitted = RLearner().fit(data, everyone(data))
    estimate = fitted.effect(data.x, "discount")
    # Measured: Spearman -0.21, mean -0.014; the propensity term -0.060 ± 0.038.
    assert spearmanr(estimate, truth).statistic < 0.3
    assert abs(estimate.mean()) < 0.05
    terms = fitted.coefficients
    assert terms.loc["propensity", "estimate"] >= -2 * terms.loc["propensity", "std_error"]


def test_without_discounts_the_r_learner_leaves_out_the_propensity(small_world) -> None:
    """No discount column: nothing tells a redemption from any order, so the effect is in risk."""
    frames = {t: getattr(small_world, t) for t in TABLES}
    frames["transactions"] = small_world.transactions.drop(columns="discount")
    model = fit_uplift(
        load_dataset(frames=frames), END, HORIZON, min_control=20, require_evidence=False
    )
    assert model is not None and model.coefficients is not None
    assert "propensity" not in model.coefficients.index
    assert {"intercept", "risk"} <= set(model.coefficients.index)
    x_model = fit_uplift(
        load_dataset(frames={t: getattr(small_world, t) for t in TABLES}),
        END, HORIZON, learner="x", min_control=20, require_evidence=False,
    )  # fmt: skip
    assert x_model is not None and x_model.coefficients is None
    assert np.isfinite(model.coefficients["std_error"]).all()
