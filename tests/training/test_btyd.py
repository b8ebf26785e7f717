from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.training.test_baselines import simulate_bgnbd
from winback.training.baselines import BgNbdBaseline
from winback.training.btyd import BTYD_COLUMNS, BtydFeatures, summary_from_features


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, BgNbdBaseline]:
    population = simulate_bgnbd(4000, horizon=90, seed=3)
    return population, BgNbdBaseline().fit(population)


def as_features(summary: pd.DataFrame, cutoff_days: float = 0.0) -> pd.DataFrame:
    """Feature columns that encode a BTYD summary (frequency, recency, T in days)."""
    x = summary["frequency"].to_numpy()
    return pd.DataFrame(
        {
            "customer_id": summary["customer_id"],
            "orders_lifetime": x + 1,
            "days_since_first_order": summary["T"] + cutoff_days,
            "days_since_last_order": summary["T"] - summary["recency"] + cutoff_days,
            "avg_order_value_lifetime": summary["monetary_value"],
        }
    )


def test_feature_rows_get_the_baselines_predictions(
    fitted: tuple[pd.DataFrame, BgNbdBaseline],
) -> None:
    """Read from feature columns, the seven fitted numbers give the baseline's predictions."""
    population, model = fitted
    expected = model.predict(population, horizon_days=90)
    ours = BtydFeatures(dict(model.params_), 90).transform(as_features(population))
    np.testing.assert_allclose(ours["btyd_p_alive"], expected["p_alive"], rtol=1e-6)
    np.testing.assert_allclose(ours["btyd_expected_orders"], expected["expected_orders"], rtol=1e-6)
    np.testing.assert_allclose(ours["btyd_expected_spend"], expected["expected_spend"], rtol=1e-6)


def test_period_decay_is_the_share_of_each_period_in_the_cumulative_forecast(
    fitted: tuple[pd.DataFrame, BgNbdBaseline],
) -> None:
    population, model = fitted
    btyd = BtydFeatures(dict(model.params_), 90)
    rows = as_features(population)
    decay = btyd.period_decay(rows, periods=3)
    assert decay.shape == (len(rows), 3)
    np.testing.assert_allclose(decay[:, 0], 1.0)
    # Summed over periods, the decay times the first period gives the 270-day forecast.
    three = model.predict(population, horizon_days=270)["expected_orders"].to_numpy()
    first = model.predict(population, horizon_days=90)["expected_orders"].to_numpy()
    np.testing.assert_allclose(decay.sum(axis=1) * first, three, rtol=1e-6)
    # A customer who may have dropped out decays; nobody's later periods grow.
    assert (np.diff(decay, axis=1) <= 1e-12).all()
    assert (decay[:, 2] < 0.999).mean() > 0.5


def test_summary_from_features_reads_customers_without_orders_as_unknown() -> None:
    rows = pd.DataFrame(
        {
            "customer_id": ["new", "once", "twice"],
            "orders_lifetime": [0, 1, 3],
            "days_since_first_order": [np.nan, 40.0, 100.0],
            "days_since_last_order": [np.nan, 40.0, 10.0],
            "avg_order_value_lifetime": [np.nan, 30.0, 20.0],
        }
    )
    summary = summary_from_features(rows).set_index("customer_id")
    assert summary.loc["new"].isna().all()
    assert summary.loc["once"].tolist() == [0.0, 0.0, 40.0, 0.0]
    assert summary.loc["twice"].tolist() == [2.0, 90.0, 100.0, 20.0]
    btyd = BtydFeatures({"r": 0.7, "alpha": 20, "a": 0.8, "b": 2.5, "p": 4, "q": 4, "v": 40}, 90)
    out = btyd.transform(rows)
    assert list(out.columns) == list(BTYD_COLUMNS)
    assert out.iloc[0].isna().all() and out.iloc[1:].notna().all().all()
    decay = btyd.period_decay(rows, periods=2)
    assert np.isfinite(decay).all()
    assert BtydFeatures.from_dict(btyd.to_dict()) == btyd
