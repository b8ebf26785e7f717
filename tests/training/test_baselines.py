from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from winback.training.baselines import BgNbdBaseline, RfmRuleBaseline, rfm_summary

HAS_PYMC_MARKETING = importlib.util.find_spec("pymc_marketing") is not None
needs_pymc_marketing = pytest.mark.skipif(
    not HAS_PYMC_MARKETING, reason="pymc-marketing is not installed"
)
# Third-party warnings raised while pymc-marketing is imported or fits, none about our usage:
# - ArviZ announces its 1.0 refactor with a FutureWarning when it is imported;
# - PyTensor warns once when it finds no system BLAS to link its C code to (BG/NBD and
#   Gamma-Gamma are elementwise, so BLAS does not matter here).
ignore_arviz_refactor = pytest.mark.filterwarnings(
    r"ignore:\s*ArviZ is undergoing a major refactor:FutureWarning"
)
ignore_pytensor_blas = pytest.mark.filterwarnings(
    "ignore:PyTensor could not link to a BLAS:UserWarning"
)


def _tx(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": pd.to_datetime([r[1] for r in rows], utc=True),
            "amount": [r[2] for r in rows],
        }
    )


TINY = _tx(
    [
        # A: first day 01-01 (two orders that day, one purchase day), repeats on 01-11 and 01-31.
        ("A", "2024-01-01 09:00", 10.0),
        ("A", "2024-01-01 18:00", 5.0),
        ("A", "2024-01-11 12:00", 20.0),
        ("A", "2024-01-31 23:59", 40.0),
        ("A", "2024-02-01 00:00", 99.0),  # exactly at as_of: excluded
        ("A", "2024-01-20 10:00", -20.0),  # refund: not a purchase
        # B: one purchase only.
        ("B", "2024-01-21 08:00", 30.0),
        # C: two orders on one day only: no repeat purchase day.
        ("C", "2024-01-05 08:00", 7.0),
        ("C", "2024-01-05 20:00", 8.0),
        # D: only after as_of.
        ("D", "2024-02-03 08:00", 50.0),
    ]
)


def test_rfm_summary_hand_computed() -> None:
    got = rfm_summary(TINY, "2024-02-01")
    expected = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "frequency": [2.0, 0.0, 0.0],
            "recency": [30.0, 0.0, 0.0],
            "T": [31.0, 11.0, 27.0],
            "monetary_value": [30.0, 0.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_rfm_summary_customer_ids_and_naive_timestamps() -> None:
    naive = TINY.assign(timestamp=TINY["timestamp"].dt.tz_localize(None))
    got = rfm_summary(naive, pd.Timestamp("2024-02-01"), customer_ids=["D", "A", "Z"])
    assert got["customer_id"].tolist() == ["D", "A", "Z"]
    assert got.loc[0, ["frequency", "recency", "T", "monetary_value"]].isna().all()
    assert got.loc[1, "frequency"] == 2 and got.loc[1, "T"] == 31
    assert got.loc[2, "T"] != got.loc[2, "T"]  # NaN: never bought


def test_rfm_summary_failure_paths() -> None:
    with pytest.raises(ValueError, match="amount"):
        rfm_summary(TINY.drop(columns="amount"), "2024-02-01")
    with pytest.raises(ValueError, match="duplicates"):
        rfm_summary(TINY, "2024-02-01", customer_ids=["A", "A"])
    empty = rfm_summary(TINY.iloc[:0], "2024-02-01")
    assert empty.empty and list(empty.columns) == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
    ]


@needs_pymc_marketing
@ignore_arviz_refactor
def test_rfm_summary_matches_the_library() -> None:
    clv = pytest.importorskip("pymc_marketing.clv")

    before = TINY[TINY["timestamp"] < pd.Timestamp("2024-02-01", tz="UTC")]
    before = before[before["amount"] >= 0].assign(
        timestamp=lambda f: f["timestamp"].dt.tz_localize(None)
    )
    theirs = clv.rfm_summary(
        before, "customer_id", "timestamp", "amount", observation_period_end="2024-02-01"
    ).sort_values("customer_id", ignore_index=True)
    ours = rfm_summary(TINY, "2024-02-01")
    pd.testing.assert_frame_equal(ours, theirs[ours.columns], check_dtype=False)


def simulate_bgnbd(
    n: int,
    horizon: float,
    seed: int,
    r: float = 0.75,
    alpha: float = 24.0,
    a: float = 0.8,
    b: float = 2.4,
    p: float = 4.0,
    q: float = 4.0,
    v: float = 41.25,
) -> pd.DataFrame:
    """A BG/NBD + Gamma-Gamma population in days, with its purchases over the next horizon."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    dropout = rng.beta(a, b, n)
    end = rng.integers(30, 731, n).astype(float)  # T: days from the first purchase to as_of
    t = np.zeros(n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    future = np.zeros(n)
    active = np.ones(n, dtype=bool)
    first = True
    while active.any():
        idx = np.flatnonzero(active)
        if not first:  # after each repeat purchase the customer drops out with probability p
            dead = rng.random(idx.size) < dropout[idx]
            active[idx[dead]] = False
            idx = idx[~dead]
        first = False
        t[idx] += rng.exponential(1 / lam[idx])
        seen = t[idx] <= end[idx]
        x[idx[seen]] += 1
        t_x[idx[seen]] = t[idx[seen]]
        later = ~seen & (t[idx] <= end[idx] + horizon)
        future[idx[later]] += 1
        active[idx[~(seen | later)]] = False
    nu = rng.gamma(q, 1 / v, n)
    total = np.where(x > 0, rng.gamma(np.maximum(p * x, 1e-9), 1 / nu), 0.0)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "frequency": x,
            "recency": t_x,
            "T": end,
            "monetary_value": np.where(x > 0, total / np.maximum(x, 1), 0.0),
            "true_future": future,
        }
    )


def test_bgnbd_recovers_a_simulated_population() -> None:
    population = simulate_bgnbd(20_000, horizon=90, seed=5)
    model = BgNbdBaseline().fit(population)
    params = model.params_
    assert params["r"] == pytest.approx(0.75, rel=0.2)
    assert params["alpha"] == pytest.approx(24.0, rel=0.2)
    assert params["a"] == pytest.approx(0.8, rel=0.25)
    assert params["b"] == pytest.approx(2.4, rel=0.25)
    assert params["p"] == pytest.approx(4.0, rel=0.2)
    assert params["q"] == pytest.approx(4.0, rel=0.2)
    assert model.population_mean_spend_ == pytest.approx(55.0, rel=0.1)
    assert model.n_customers_ == 20_000

    predicted = model.predict(population, horizon_days=90)
    assert list(predicted.columns) == ["expected_orders", "p_alive", "p_active", "expected_spend"]
    assert predicted.notna().all().all()
    total, truth = predicted["expected_orders"].sum(), population["true_future"].sum()
    assert total == pytest.approx(truth, rel=0.15)
    assert predicted["p_alive"].between(0, 1).all() and predicted["p_active"].between(0, 1).all()
    one_timers = population["frequency"] == 0
    assert (predicted.loc[one_timers, "p_alive"] == 1).all()  # BG/NBD: no repeat, no drop-out
    spend_per_order = predicted["expected_spend"] / predicted["expected_orders"]
    np.testing.assert_allclose(spend_per_order[one_timers], model.population_mean_spend_)

    # Rows without a first purchase predict nothing; the index is kept.
    never = pd.DataFrame(
        {
            "frequency": [np.nan, 1.0],
            "recency": [np.nan, 5.0],
            "T": [np.nan, 40.0],
            "monetary_value": [np.nan, 50.0],
        },
        index=[7, 3],
    )
    out = model.predict(never, horizon_days=30)
    assert out.index.tolist() == [7, 3]
    assert out.loc[7].isna().all() and out.loc[3].notna().all()


def test_bgnbd_failure_paths() -> None:
    with pytest.raises(NotFittedError):
        BgNbdBaseline().predict(simulate_bgnbd(10, 30, 0), horizon_days=30)
    with pytest.raises(ValueError, match="no customer"):
        BgNbdBaseline().fit(rfm_summary(TINY.iloc[:0], "2024-02-01"))
    with pytest.raises(ValueError, match="repeat purchases"):
        BgNbdBaseline().fit(rfm_summary(TINY[TINY["customer_id"] != "A"], "2024-02-01"))
    with pytest.raises(ValueError, match="recency must not exceed T"):
        BgNbdBaseline().fit(
            pd.DataFrame(
                {"frequency": [1.0], "recency": [9.0], "T": [5.0], "monetary_value": [3.0]}
            )
        )
    with pytest.raises(ValueError, match="lacks"):
        BgNbdBaseline().fit(pd.DataFrame({"frequency": [1.0]}))
    with pytest.raises(ValueError, match="method"):
        BgNbdBaseline(method="nuts").fit(simulate_bgnbd(100, 30, 0))  # type: ignore[arg-type]


def _rfm_frame() -> pd.DataFrame:
    # Ten training rows: recency 1..10 days, frequency and monetary rising with recency rank.
    return pd.DataFrame(
        {
            "days_since_last_order": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "orders_365d": [10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
            "spend_365d": [100.0, 90, 80, 70, 60, 50, 40, 30, 20, 10],
            "orders_lifetime": [10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
            "churned": [0.0, 0, 0, 1, 0, 1, 1, 1, 1, 1],
            "orders_next": [4.0, 2, 3, 0, 1, 0, 0, 0, 0, 0],
            "spend_next": [40.0, 20, 30, 0, 10, 0, 0, 0, 0, 0],
        }
    )


def test_rfm_rules_cell_averages() -> None:
    train = _rfm_frame()
    model = RfmRuleBaseline(min_cell_size=2).fit(train)
    # Quintiles of 1..10 split the rows in pairs: (1, 2) score R=5, F=5, M=5; (9, 10) score 1.
    scores = model.score(train)
    assert scores["r"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scores["f"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scores["m"].tolist() == scores["f"].tolist()
    cells = model.cells_.set_index(["r", "f", "m"])
    assert cells.loc[(5, 5, 5), "p_active"] == 1.0
    assert cells.loc[(4, 4, 4), "p_active"] == 0.5
    assert cells.loc[(4, 4, 4), "expected_orders"] == 1.5
    assert cells.loc[(5, 5, 5), "expected_spend"] == 30.0
    assert cells["n_rows"].eq(2).all()

    later = pd.DataFrame(
        {
            "days_since_last_order": [1.5, 9.5, np.nan],
            "orders_365d": [9.5, 1, 0],
            "spend_365d": [95.0, 15, 0],
        },
        index=["x", "y", "z"],
    )
    predicted = model.predict(later)
    assert predicted.index.tolist() == ["x", "y", "z"]
    assert list(predicted.columns) == ["p_active", "expected_orders", "expected_spend"]
    assert predicted.loc["x"].tolist() == [1.0, 3.0, 30.0]  # cell (5, 5, 5)
    assert predicted.loc["y"].tolist() == [0.0, 0.0, 0.0]  # cell (1, 1, 1)
    # z never ordered: R=1, F=1, M=1 as well.
    assert predicted.loc["z"].tolist() == [0.0, 0.0, 0.0]


def test_rfm_rules_fall_back_to_coarser_cells() -> None:
    train = _rfm_frame()
    model = RfmRuleBaseline(min_cell_size=3).fit(train)  # no (r, f, m) cell has 3 rows
    predicted = model.predict(train.iloc[:1])
    overall = 1 - train["churned"].mean()
    assert predicted.loc[0, "p_active"] == pytest.approx(overall)
    assert predicted.loc[0, "expected_orders"] == pytest.approx(train["orders_next"].mean())
    # A mixed cell: R=5 with F=1 has no (r, f) cell either, so the overall average again.
    odd = pd.DataFrame({"days_since_last_order": [1.0], "orders_365d": [0], "spend_365d": [0.0]})
    assert model.predict(odd).loc[0, "p_active"] == pytest.approx(overall)
    # With 2 rows an R cell suffices.
    coarse = RfmRuleBaseline(min_cell_size=2).fit(train)
    assert coarse.predict(odd).loc[0, "p_active"] == 1.0  # R=5 cell: rows 1 and 2


def test_rfm_rules_churn_label_may_be_empty() -> None:
    train = _rfm_frame()
    train.loc[9, "churned"] = np.nan  # a customer who never ordered cannot churn
    model = RfmRuleBaseline(min_cell_size=1).fit(train)
    cells = model.cells_.set_index(["r", "f", "m"])
    assert cells.loc[(1, 1, 1), "p_active"] == 0.0  # row 8 only
    assert cells.loc[(1, 1, 1), "n_rows"] == 1


def test_rfm_rules_failure_paths() -> None:
    with pytest.raises(NotFittedError):
        RfmRuleBaseline().predict(_rfm_frame())
    with pytest.raises(ValueError, match="empty"):
        RfmRuleBaseline().fit(_rfm_frame().iloc[:0])
    with pytest.raises(ValueError, match="churned"):
        RfmRuleBaseline().fit(_rfm_frame().drop(columns="churned"))
    model = RfmRuleBaseline().fit(_rfm_frame())
    with pytest.raises(ValueError, match="spend_365d"):
        model.predict(_rfm_frame().drop(columns="spend_365d"))
    out = model.predict(_rfm_frame().iloc[:0])
    assert out.empty and list(out.columns) == ["p_active", "expected_orders", "expected_spend"]
