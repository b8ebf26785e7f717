"""Baselines every training run is compared with on the same holdout.

Two baselines, both fitted only on data before the training cutoff:

- :class:`BgNbdBaseline`: the classical "buy till you die" model, BG/NBD for purchases (Fader,
  Hardie & Lee 2005) with Gamma-Gamma for spend per order (Fader & Hardie 2013), fitted with SciPy
  to the same posterior mode ``pymc-marketing``'s MAP fit finds (:mod:`training.bgnbd`). Its
  inputs are the per-customer summaries made by :func:`rfm_summary`.
- :class:`RfmRuleBaseline`: the marketer's RFM rules. Customers are scored 1-5 on recency,
  frequency and monetary quintiles; each (R, F, M) cell predicts the historical average outcome of
  its customers in the training snapshots.

``pymc_marketing`` is imported only for ``method="mcmc"`` (it takes several seconds to import and
compiles PyTensor code on every fit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from winback.training.bgnbd import (
    BGNBD_PARAMS,
    GAMMA_GAMMA_PARAMS,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
    probability_no_purchase,
    spend_per_purchase,
)

SUMMARY_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]
RFM_LABELS = ("churned", "orders_next", "spend_next")


def _utc_naive(moment: date | datetime | str | pd.Timestamp) -> pd.Timestamp:
    """A moment as a naive UTC timestamp; a date (or date string) means its UTC midnight."""
    ts = pd.Timestamp(moment)
    if ts is pd.NaT:
        raise ValueError(f"cannot read {moment!r} as a date or datetime")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def rfm_summary(
    transactions: pd.DataFrame,
    as_of: date | datetime | str | pd.Timestamp,
    *,
    customer_ids: Iterable[Any] | None = None,
) -> pd.DataFrame:
    """Per-customer BTYD inputs from the orders placed strictly before ``as_of``, in days.

    ``transactions`` follows the data contract (``customer_id``, ``timestamp``, ``amount``; a naive
    timestamp means UTC). Rows with a negative ``amount`` are refunds, not purchases, and are
    ignored, as are rows at or after ``as_of``. Time is counted on the UTC calendar: all orders of
    one customer on one day form one *purchase day* whose value is the sum of their amounts. These
    are the definitions ``pymc_marketing.clv.rfm_summary`` (the ``lifetimes`` convention) uses with
    ``time_unit="D"`` and the model classes expect:

    - ``frequency``: repeat purchase days, i.e. distinct purchase days minus one (the first
      purchase starts the customer's clock and is not counted);
    - ``recency``: days from the first to the last purchase day (0 when ``frequency`` is 0);
    - ``T``: days from the first purchase day to the day of ``as_of`` (``as_of`` floored to its
      UTC midnight), so ``T >= recency``;
    - ``monetary_value``: mean value of the repeat purchase days (the first purchase day excluded),
      0 when ``frequency`` is 0.

    For a midnight ``as_of`` this equals the library's ``rfm_summary`` applied to the rows before
    ``as_of`` with ``observation_period_end=as_of``. Returns one row per customer with an order
    before ``as_of`` (columns ``customer_id, frequency, recency, T, monetary_value`` as floats,
    sorted by ``customer_id``); with ``customer_ids``, exactly those customers in that order, and
    all four numbers empty (NaN) for those without an order before ``as_of`` (BTYD models cannot
    describe a customer before a first purchase).
    """
    missing = {"customer_id", "timestamp", "amount"} - set(transactions.columns)
    if missing:
        raise ValueError(f"transactions lack the column(s) {sorted(missing)}")
    cutoff = _utc_naive(as_of)
    timestamps = pd.to_datetime(transactions["timestamp"])
    if timestamps.dt.tz is not None:
        timestamps = timestamps.dt.tz_convert("UTC").dt.tz_localize(None)
    keep = (timestamps < cutoff) & (transactions["amount"] >= 0)
    orders = pd.DataFrame(
        {
            "customer_id": transactions["customer_id"][keep].to_numpy(),
            "day": timestamps[keep].dt.floor("D").to_numpy(),
            "amount": transactions["amount"][keep].to_numpy(dtype=float),
        }
    )
    days = (
        orders.groupby(["customer_id", "day"], sort=True, observed=True)["amount"]
        .sum()
        .reset_index()
    )
    per_customer = days.groupby("customer_id", sort=True, observed=True)
    first_day = per_customer["day"].min()
    summary = pd.DataFrame(
        {
            "frequency": per_customer.size() - 1,
            "recency": (per_customer["day"].max() - first_day) / pd.Timedelta(days=1),
            "T": (cutoff.floor("D") - first_day) / pd.Timedelta(days=1),
            "_repeat_value": per_customer["amount"].sum() - per_customer["amount"].first(),
        }
    ).astype(float)
    summary["monetary_value"] = np.where(
        summary["frequency"] > 0,
        summary["_repeat_value"] / summary["frequency"].clip(lower=1),
        0.0,
    )
    summary = summary.drop(columns="_repeat_value")
    summary.index.name = "customer_id"
    if customer_ids is not None:
        wanted = pd.Index(list(customer_ids), name="customer_id")
        if wanted.has_duplicates:
            raise ValueError("customer_ids has duplicates")
        summary = summary.reindex(wanted)
    return summary.reset_index()[SUMMARY_COLUMNS]


def _check_summary(summary: pd.DataFrame, what: str) -> pd.DataFrame:
    """The summary's rows that have a first purchase, checked against the model's assumptions."""
    missing = set(SUMMARY_COLUMNS[1:]) - set(summary.columns)
    if missing:
        raise ValueError(f"{what}: the summary lacks the column(s) {sorted(missing)}")
    values = summary[SUMMARY_COLUMNS[1:]].astype(float)
    known = values["T"].notna()
    values = values[known]
    if values.isna().any().any():
        raise ValueError(f"{what}: frequency, recency and monetary_value must be set wherever T is")
    if ((values["frequency"] < 0) | (values["recency"] < 0)).any():
        raise ValueError(f"{what}: frequency and recency must be non-negative")
    if (values["recency"] > values["T"]).any():
        raise ValueError(f"{what}: recency must not exceed T (the model assumes T >= recency)")
    if ((values["frequency"] == 0) & (values["recency"] != 0)).any():
        raise ValueError(f"{what}: recency must be 0 for customers without repeat purchases")
    return values


class BgNbdBaseline:
    """BG/NBD purchases with Gamma-Gamma spend, fitted on an RFM summary.

    Settings (keyword-only):

    method:
        ``"map"`` (default): point estimates, the posterior mode under ``pymc-marketing``'s
        default priors (:func:`training.bgnbd.fit_bgnbd`; the same numbers that library's MAP fit
        finds, and with this much data those of the maximum-likelihood fit of ``lifetimes``),
        fitted with SciPy. ``"mcmc"``: NUTS posterior sampling with ``pymc-marketing``;
        predictions are then posterior means, computed in chunks of customers to bound memory.
        Slow: for small studies only.
    draws, tune, chains:
        NUTS settings, used only with ``method="mcmc"``.
    random_seed:
        Seed for the sampler (``"mcmc"`` only; MAP is deterministic).

    Time is in days throughout, as :func:`rfm_summary` counts it.

    Learned by ``fit``:

    params_: dict of the point estimates (posterior means with MCMC) of BG/NBD ``r, alpha, a, b``
        and Gamma-Gamma ``p, q, v``.
    population_mean_spend_: the Gamma-Gamma mean spend per purchase day of a customer with no
        repeat purchase, ``p v / (q − 1)``.
    n_customers_, n_repeat_customers_: customers the two models were fitted on.
    bgnbd_model_, gamma_gamma_model_: the fitted ``pymc_marketing`` models (``"mcmc"`` only).
    """

    _PREDICT_CHUNK: ClassVar[int] = 20_000

    def __init__(
        self,
        *,
        method: Literal["map", "mcmc"] = "map",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        random_seed: int = 0,
    ) -> None:
        self.method = method
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.random_seed = random_seed

    def fit(self, summary: pd.DataFrame) -> BgNbdBaseline:
        """Fit BG/NBD on every customer with a first purchase and Gamma-Gamma on repeat buyers.

        ``summary`` is :func:`rfm_summary`'s output (rows with an empty ``T`` are skipped).
        Gamma-Gamma is fitted on the customers with ``frequency > 0`` and a positive
        ``monetary_value``.
        """
        if self.method not in ("map", "mcmc"):
            raise ValueError(f"method must be 'map' or 'mcmc', got {self.method!r}")
        values = _check_summary(summary, "BgNbdBaseline.fit")
        if values.empty:
            raise ValueError("BgNbdBaseline.fit: no customer with a purchase to fit on")
        repeat = values[(values["frequency"] > 0) & (values["monetary_value"] > 0)]
        if len(repeat) < 2:
            raise ValueError(
                "BgNbdBaseline.fit: Gamma-Gamma needs customers with repeat purchases of positive "
                f"value; found {len(repeat)}"
            )
        if self.method == "mcmc":
            self._fit_mcmc(values)
        else:
            x, t_x, T = (values[c].to_numpy(float) for c in ("frequency", "recency", "T"))  # noqa: N806
            self.params_ = {
                **fit_bgnbd(x, t_x, T),
                **fit_gamma_gamma(
                    repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
                ),
            }
        p, q, v = (self.params_[k] for k in GAMMA_GAMMA_PARAMS)
        self.population_mean_spend_ = p * v / (q - 1.0)
        self.n_customers_ = len(values)
        self.n_repeat_customers_ = len(repeat)
        return self

    def _fit_mcmc(self, values: pd.DataFrame) -> None:
        from pymc_marketing.clv import BetaGeoModel, GammaGammaModel  # noqa: PLC0415

        kwargs: dict[str, Any] = {
            "method": "mcmc",
            "draws": self.draws,
            "tune": self.tune,
            "chains": self.chains,
            "random_seed": self.random_seed,
            "progressbar": False,
        }
        data = values.reset_index(drop=True)
        data.insert(0, "customer_id", np.arange(len(data)))
        repeat_data = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
        bgnbd = BetaGeoModel()
        bgnbd.fit(data[["customer_id", "frequency", "recency", "T"]], **kwargs)
        gamma_gamma = GammaGammaModel()
        gamma_gamma.fit(repeat_data[["customer_id", "frequency", "monetary_value"]], **kwargs)
        self.bgnbd_model_ = bgnbd
        self.gamma_gamma_model_ = gamma_gamma
        self.params_ = {
            **{k: float(bgnbd.fit_result[k].mean()) for k in BGNBD_PARAMS},
            **{k: float(gamma_gamma.fit_result[k].mean()) for k in GAMMA_GAMMA_PARAMS},
        }

    def predict(self, summary: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
        """Expected orders, P(alive) and expected spend in the ``horizon_days`` after ``as_of``.

        Returns a frame on ``summary``'s index with:

        - ``expected_orders``: expected purchase days in ``(T, T + horizon_days]``;
        - ``p_alive``: probability the customer has not dropped out by ``as_of``;
        - ``p_active``: probability of at least one purchase in the horizon (1 − P(no purchase)),
          the BG/NBD counterpart of ``1 − churned``;
        - ``expected_spend``: ``expected_orders`` × the Gamma-Gamma expected spend per purchase
          day, which for a customer without repeat purchases is the population mean
          ``population_mean_spend_`` (the library's ``expected_customer_spend`` at frequency 0).

        Rows without a first purchase (empty ``T``) get empty predictions.
        """
        if not hasattr(self, "params_"):
            raise NotFittedError("BgNbdBaseline is not fitted yet: call fit(summary) first")
        if not horizon_days > 0:
            raise ValueError(f"horizon_days must be positive, got {horizon_days!r}")
        values = _check_summary(summary, "BgNbdBaseline.predict")
        out = pd.DataFrame(
            np.nan,
            index=summary.index,
            columns=["expected_orders", "p_alive", "p_active", "expected_spend"],
        )
        if values.empty:
            return out
        data = values.reset_index(drop=True)
        data.insert(0, "customer_id", np.arange(len(data)))
        # The Gamma-Gamma weight is 0 at frequency 0, whatever monetary_value says.
        data["monetary_value"] = data["monetary_value"].where(data["frequency"] > 0, 0.0)
        if self.method == "mcmc":
            parts = [
                self._predict_mcmc(chunk, horizon_days)
                for chunk in _chunks(data, self._PREDICT_CHUNK)
            ]
            predicted = np.concatenate(parts, axis=0)
        else:
            predicted = self._predict_map(data, horizon_days)
        known = summary["T"].notna().to_numpy()
        out.iloc[known, :] = predicted
        return out

    def _predict_map(self, data: pd.DataFrame, horizon_days: int) -> np.ndarray:
        x, t_x, T, m = (  # noqa: N806
            data[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value")
        )
        orders = expected_purchases(self.params_, x, t_x, T, horizon_days)
        none = probability_no_purchase(self.params_, x, t_x, T, horizon_days)
        return np.column_stack(
            [
                orders,
                p_alive(self.params_, x, t_x, T),
                1.0 - none,
                orders * spend_per_purchase(self.params_, x, m),
            ]
        )

    def _predict_mcmc(self, data: pd.DataFrame, horizon_days: int) -> np.ndarray:
        bgnbd, gamma_gamma = self.bgnbd_model_, self.gamma_gamma_model_
        dims = ("chain", "draw")
        orders = bgnbd.expected_purchases(data, future_t=horizon_days).mean(dims).to_numpy()
        alive = bgnbd.expected_probability_alive(data).mean(dims).to_numpy()
        no_purchase = bgnbd.expected_probability_no_purchase(horizon_days, data).mean(dims)
        spend_per_order = gamma_gamma.expected_customer_spend(data).mean(dims).to_numpy()
        return np.column_stack(
            [orders, alive, 1.0 - no_purchase.to_numpy(), orders * spend_per_order]
        )


def _chunks(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[i : i + size] for i in range(0, len(frame), size)]


class RfmRuleBaseline:
    """RFM rules: quintile scores and the average outcome of each (R, F, M) cell.

    ``fit`` learns the quintile edges of recency, frequency and monetary value on the training
    snapshots and the mean of each label per cell; ``predict`` scores later rows with the same
    edges and returns their cell's averages. A cell with fewer than ``min_cell_size`` labelled
    training rows falls back to its (R, F) cell, then its R cell, then the overall average.

    Scores run from 1 to ``n_bins`` (5 = best): for frequency and monetary value a row scores 1 plus
    the number of training quantile edges its value exceeds; for recency (days since the last
    order; lower is better) 1 plus the number of edges above its value. Ties, such as the many
    customers with no order in the last 365 days, therefore share the lowest score they reach, and
    rows without any order (empty recency) score 1 on recency.

    Settings (keyword-only):

    recency_col, frequency_col, monetary_col:
        Feature columns for R, F and M (defaults: ``days_since_last_order``, ``orders_365d``,
        ``spend_365d`` from ``features.build_snapshots``).
    n_bins:
        Number of quantile bins per score (5: quintiles).
    min_cell_size:
        Labelled training rows a cell needs to give its own average.

    Learned by ``fit``:

    edges_: dict of the inner quantile edges per score (``n_bins − 1`` each).
    cells_: one row per (r, f, m) cell seen in training: counts and the averages of
        ``p_active`` (1 − ``churned``), ``expected_orders`` (``orders_next``) and
        ``expected_spend`` (``spend_next``).
    overall_: the averages over all labelled training rows.
    level_tables_: per level ((r, f, m), (r, f), (r,)) the mean and count of each target.
    """

    _TARGETS: ClassVar[dict[str, str]] = {
        "p_active": "churned",
        "expected_orders": "orders_next",
        "expected_spend": "spend_next",
    }
    _LEVELS: ClassVar[tuple[tuple[str, ...], ...]] = (("r", "f", "m"), ("r", "f"), ("r",))

    def __init__(
        self,
        *,
        recency_col: str = "days_since_last_order",
        frequency_col: str = "orders_365d",
        monetary_col: str = "spend_365d",
        n_bins: int = 5,
        min_cell_size: int = 30,
    ) -> None:
        self.recency_col = recency_col
        self.frequency_col = frequency_col
        self.monetary_col = monetary_col
        self.n_bins = n_bins
        self.min_cell_size = min_cell_size

    def _columns(self) -> dict[str, str]:
        return {"r": self.recency_col, "f": self.frequency_col, "m": self.monetary_col}

    def _check(self, frame: pd.DataFrame, needed: Sequence[str], what: str) -> None:
        missing = set(needed) - set(frame.columns)
        if missing:
            raise ValueError(
                f"RfmRuleBaseline.{what}: the frame lacks the column(s) {sorted(missing)}"
            )

    def fit(self, frame: pd.DataFrame) -> RfmRuleBaseline:
        """Learn quintile edges and per-cell label averages from labelled training rows.

        ``frame`` holds the three feature columns and the labels ``churned`` (1 = no order in the
        horizon; empty for customers who never ordered, who are then left out of ``p_active``),
        ``orders_next`` and ``spend_next``.
        """
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be at least 2, got {self.n_bins}")
        if self.min_cell_size < 1:
            raise ValueError(f"min_cell_size must be at least 1, got {self.min_cell_size}")
        self._check(frame, [*self._columns().values(), *RFM_LABELS], "fit")
        if frame.empty:
            raise ValueError("RfmRuleBaseline.fit: the training frame is empty")
        quantiles = np.arange(1, self.n_bins) / self.n_bins
        edges = {}
        for score, column in self._columns().items():
            values = frame[column].astype(float).dropna().to_numpy()
            if values.size == 0:
                raise ValueError(f"RfmRuleBaseline.fit: {column} is empty in every row")
            edges[score] = np.quantile(values, quantiles)
        self.edges_ = edges

        table = self._scores(frame)
        table["p_active"] = 1.0 - frame["churned"].astype(float).to_numpy()
        table["expected_orders"] = frame["orders_next"].astype(float).to_numpy()
        table["expected_spend"] = frame["spend_next"].astype(float).to_numpy()
        targets = list(self._TARGETS)
        if table[targets].isna().all().any():
            raise ValueError("RfmRuleBaseline.fit: a label is empty in every row")
        self.overall_ = table[targets].mean()
        self.level_tables_ = {
            level: table.groupby(list(level))[targets].agg(["mean", "count"])
            for level in self._LEVELS
        }
        cells = self.level_tables_[("r", "f", "m")]
        self.cells_ = pd.concat(
            {
                "n_rows": cells[("p_active", "count")],
                **{t: cells[(t, "mean")] for t in targets},
            },
            axis=1,
        ).reset_index()
        return self

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """R, F and M scores (1 to ``n_bins``) for each row, on ``frame``'s index."""
        if not hasattr(self, "edges_"):
            raise NotFittedError("RfmRuleBaseline is not fitted yet: call fit(frame) first")
        self._check(frame, list(self._columns().values()), "score")
        return self._scores(frame)

    def _scores(self, frame: pd.DataFrame) -> pd.DataFrame:
        cols = self._columns()
        recency = frame[cols["r"]].astype(float).to_numpy()
        r_edges = self.edges_["r"]
        r = 1 + (r_edges[None, :] > recency[:, None]).sum(axis=1)
        r[np.isnan(recency)] = 1
        out = {"r": r}
        for score in ("f", "m"):
            values = np.nan_to_num(frame[cols[score]].astype(float).to_numpy(), nan=0.0)
            out[score] = 1 + (self.edges_[score][None, :] < values[:, None]).sum(axis=1)
        return pd.DataFrame(out, index=frame.index).astype("int64")

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``p_active``, ``expected_orders`` and ``expected_spend`` per row: its cell's averages.

        The horizon is the one the training labels were built with.
        """
        scores = self.score(frame)
        result = pd.DataFrame(
            {t: np.full(len(frame), self.overall_[t]) for t in self._TARGETS}, index=frame.index
        )
        decided = {t: np.zeros(len(frame), dtype=bool) for t in self._TARGETS}
        for level in self._LEVELS:
            table = self.level_tables_[level]
            keys = (
                pd.MultiIndex.from_frame(scores[list(level)])
                if len(level) > 1
                else pd.Index(scores[level[0]])
            )
            for target in self._TARGETS:
                stats = table[target].reindex(keys)
                enough = (stats["count"].fillna(0) >= self.min_cell_size).to_numpy()
                take = enough & ~decided[target]
                result.loc[take, target] = stats["mean"].to_numpy()[take]
                decided[target] |= take
        return result
