from __future__ import annotations

import numpy as np
import pytest

from tests.training.test_baselines import (
    ignore_arviz_refactor,
    ignore_pytensor_blas,
    needs_pymc_marketing,
    simulate_bgnbd,
)
from winback.common import WinbackError
from winback.training.baselines import BgNbdBaseline
from winback.training.bgnbd import (
    BtydFitError,
    fit_bgnbd,
    fit_gamma_gamma,
)


@needs_pymc_marketing
@pytest.mark.slow  # pymc-marketing compiles PyTensor code for each fit: about 20 s
@ignore_arviz_refactor
@ignore_pytensor_blas
def test_the_fit_is_pymc_marketings_map_fit() -> None:
    """The same seven numbers and predictions as the library's own MAP fit on the same summary."""
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel  # noqa: PLC0415

    summary = simulate_bgnbd(5_000, horizon=90, seed=8).drop(columns="true_future")
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    bgnbd = BetaGeoModel()
    bgnbd.fit(
        summary[["customer_id", "frequency", "recency", "T"]], method="map", progressbar=False
    )
    gamma_gamma = GammaGammaModel()
    gamma_gamma.fit(
        repeat[["customer_id", "frequency", "monetary_value"]], method="map", progressbar=False
    )
    theirs = {k: float(bgnbd.fit_result[k].mean()) for k in ("r", "alpha", "a", "b")} | {
        k: float(gamma_gamma.fit_result[k].mean()) for k in ("p", "q", "v")
    }

    ours = BgNbdBaseline().fit(summary)
    for name, value in theirs.items():
        assert ours.params_[name] == pytest.approx(value, rel=1e-3), name

    predicted = ours.predict(summary, horizon_days=90)
    dims = ("chain", "draw")
    data = summary.assign(
        monetary_value=summary["monetary_value"].where(summary["frequency"] > 0, 0)
    )
    orders = bgnbd.expected_purchases(data, future_t=90).mean(dims).to_numpy()
    alive = bgnbd.expected_probability_alive(data).mean(dims).to_numpy()
    none = bgnbd.expected_probability_no_purchase(90, data).mean(dims).to_numpy()
    spend = orders * gamma_gamma.expected_customer_spend(data).mean(dims).to_numpy()
    np.testing.assert_allclose(predicted["expected_orders"], orders, rtol=1e-3)
    np.testing.assert_allclose(predicted["p_alive"], alive, rtol=1e-3)
    np.testing.assert_allclose(predicted["expected_spend"], spend, rtol=1e-3)
    # P(no purchase) too, one-time buyers included (see probability_no_purchase).
    np.testing.assert_allclose(predicted["p_active"], 1 - none, rtol=1e-3, atol=1e-9)


def test_fits_refuse_a_summary_without_a_finite_optimum() -> None:
    with pytest.raises(BtydFitError, match="BG/NBD"):
        fit_bgnbd(np.array([1.0, np.nan]), np.array([2.0, 1.0]), np.array([3.0, 4.0]))
    with pytest.raises(BtydFitError, match="Gamma-Gamma"):
        fit_gamma_gamma(np.array([1.0, 2.0]), np.array([-5.0, 3.0]))
    # One line in the CLI (a WinbackError); a ValueError, which training skips a baseline on.
    assert issubclass(BtydFitError, WinbackError) and issubclass(BtydFitError, ValueError)
