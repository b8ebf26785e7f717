"""Per-customer offer effect (uplift), learned from campaign history with a random control group.

Where the ``campaigns`` table records who was sent an offer (``treated``) and a random control
who was not, the policy prices each customer's offer with an estimated effect instead of an
assumed one (DESIGN.md, "Deciding who merits an offer").

Contacts and their outcome
    A contact is a campaign row whose ``treated`` is known; its cutoff ``T`` is the send day's UTC
    midnight and its features are the point-in-time features as of ``T``. Only customers with an
    order before ``T`` count (others cannot churn, as in the churn label). The outcome is
    ``lost``: no order (nor event of a type in ``activity_events``) in ``[T + h, T + 2h)``, i.e.
    the customer was gone by the end of the horizon the offer acts on. The effect is the
    reduction in P(lost): P(lost | control) − P(lost | offer).

    Why not the churn label (no order in ``[T, T + h)``): an offer is followed by orders that
    redeem it, whether or not it changes who stays, so the label credits every offer with an
    effect on churn it does not have. Measured on the synthetic world (150,000 customers, 70,000
    contacts, where the true effects are known): the label shows a mean effect of +0.037 where
    the truth is +0.003; no order in ``[T + h, T + 2h)`` shows +0.002 and follows the true
    per-customer effect with slope 0.6–0.7; counting web visits, sessions and app opens as
    ``activity_events`` raises the slope to 0.86–0.91 and the signal-to-noise ratio 1.8–2.1-fold
    (a sparse buyer who is still there is seen visiting).

The time rule
    The model used at ``as_of`` learns only from contacts whose outcome window closed by
    ``as_of`` (``T + 2h ≤ as_of``). Closed contacts are split by time, whole send days together:
    the latest ``holdout_share`` is held out and only reported on; the model evaluated there
    learned from the days whose windows closed by the first held-out day, early-stopped on the
    latest of them. The model returned is then refitted the same way on every closed contact.

Learners (LightGBM, ``num_threads=n_jobs``)
    ``"r"`` (default), an R-learner (Robinson's residuals; Nie and Wager, 2021) with an effect of
    few terms. Two models are cross-fitted over five folds of customers (fixed 200 rounds each):
    the risk m(x) = P(lost) whatever the arm, and, where transactions carry a discount, the
    redemption propensity s(x) = P(an order with a discount within 30 days | sent an offer).
    With z the standardised s, the change in P(lost) an offer makes is linear in 1, m, z, m·z
    and one shift per offer, its coefficients found by least squares of lost − m(x) on
    (treated − e) × those terms, e being each send day's treated share. It cannot find effects
    the two models do not carry, but it needs few contacts for what it can: who redeems what
    they are sent is who an offer can keep (deal-seekers), and a customer at no risk cannot be
    kept. ``coefficients`` reports each term with its standard error.

    Measured on the plain world with the ``"everyone"`` campaign programme (every candidate
    contacted each quarter, 145,000 closed contacts of 60,000 customers over three years), as
    margin captured by the top 5% of customers by estimate × value against ranking by the true
    drop-out risk: seeds 1–3 0.91×, 1.54×, 2.66× (Spearman with the true effect 0.37, 0.30,
    0.35; the gate refused seed 1 and passed 2 and 3); dev seeds 4–6 2.84×, 2.89×, 2.28× (the
    gate refused seed 4). Without the offer shifts, seeds 1–3 gave 1.65×, 2.46×, 2.69×, but then
    every offer has the same effect and the policy could only choose the cheapest. The X-learner
    on the same worlds: dev seeds 4–6 1.17×, 2.81×, 1.72×; seeds 1–3 0.40×, 0.16×, 1.00×. On
    the targeted programme (below) the R-learner reached 0.08× and 0.00× (dev seeds 4, 5) where
    X lost 2.01× and 1.60× risk's margin; the gate refused both learners there.

    ``"x"``, the X-learner (Künzel et al., 2019): churn models on control (μ0) and on
    treated contacts (μ1), then regressions of the imputed effects μ0(x) − y of treated and
    y − μ1(x) of control contacts (τ1, τ0), blended by the treated share e: e·τ0 + (1 − e)·τ1.
    With a 20% control, μ0 rests on few contacts; the blend leans on τ0, whose imputation uses
    μ1, fitted on the many. ``"t"``: μ0(x) − μ1(x). Offers are pooled, with the offer as a
    feature of every model but μ0 (a control contact's planned offer changes nothing for them).

    Measured on the synthetic world given the hidden response τ as a customer attribute (60,000
    customers over three years, 28,000 closed contacts; seeds 1–3), as margin captured by the
    top 5% of customers against ranking by the true drop-out risk: X pooled 3.47×, 1.56×, 3.08×
    (Spearman with the true effect 0.38, 0.26, 0.39; held-out Qini −0.0012, 0.0043, 0.0046).
    In an earlier version of that world T pooled reached 1.69×, 2.05×, 1.33× and X per offer
    2.13×, 3.32×, 1.78×, worse on held-out Qini with twice the boosters, so offers are pooled.

    Without the attribute (the plain world, targeted programme), the response class shows in
    behaviour — responders redeem offers and take promotions, sleeping dogs rarely open email
    (synthetic/world.py) — and the features carry it: on the contacts, the redemption share,
    discount share and email opens have Spearman 0.06 (most contacts have no earlier offer to
    judge), 0.28 and 0.16 with τ; a classifier trained on the truth recovers the class from the
    features well enough that its posterior × the true risk × value would capture 5.2× risk's margin
    (seed 2). Yet no learner tried learns it from the outcomes of 28,000 contacts, 5,600 of them
    control; the effect it must find is small (0.0035 on average, about 0.03 between the groups the
    features tell apart) against a loss rate of 0.42. Measured, captured margin as a multiple of
    risk's (Spearman with the true effect): X default, seeds 1–3: −4.08× (0.08), −0.72× (0.02),
    −1.21× (0.06). Seed 2, effect models regularised (leaves / min_data_in_leaf / learning rate /
    λ2): 4/500/0.02/50 0.12× (0.06), 7/300/0.02/20 −0.17× (0.05), 3/1000/0.03/100 −0.79× (0.05),
    4/2000/0.01/100 −7.26× (0.09); T-learner 4/1000/0.02/100, seeds 1–3: −2.17×, −1.93×, −2.89×
    (0.08–0.09); effect models restricted to the offer, discount and email features (seed 2) −0.41×
    (regularised) and −0.47× (default); the contacts' P(lost) as a feature of the effect models (a
    prognostic score) −1.49×, −0.14×, −1.01×; even the truth-trained class posterior handed over as
    an attribute −1.31×, −3.11×, −0.37× (Spearman 0.02–0.08); outside this module, a logistic model
    of P(lost) with the treatment interacting with the offer, discount and email features over a
    LightGBM risk offset (Lo's "true lift" form, L2 penalty 100) 1.32×, 0.88×, −0.07× (0.12, 0.03,
    0.07); an R-learner (Robinson's residuals on 5-fold cross-fitted P(lost), the effect linear in
    that risk and in a redemption propensity learned from the treated contacts' discounted orders
    within 30 days, four coefficients by least squares) −0.11×, 3.22×, 0.46× (0.26, 0.16, 0.20): the
    best ranking and the least stable, each coefficient within 1.5 standard errors of zero. Ranked
    by estimate × value, a list reaches for the valuable customers, and sleeping dogs (premium, low
    risk) are among them: the positive Spearman does not survive the weighting (even the true risk ×
    value captures less than the true risk alone: 970, −5,590, −3,820 against 7,810, 8,000, 8,650).
    These were measured while X was the default; the R-learner became it once the randomised
    programme showed that five times the contacts let it learn.

The evidence gate
    Noise sold as effects is worse than an assumed effect: ranked by a noisy estimate times
    margin, a list favours the most valuable customers at random, and sleeping dogs sit among
    them (measured on the plain world, 60,000 customers, seeds 1–3: the top 5% by estimate lose
    31,800, 5,800 and 10,500 of margin; the top 5% by risk gain 7,800 to 8,600). So with
    ``require_evidence`` (default) :func:`fit_uplift` returns None unless the pooled held-out
    Qini coefficient is above zero at 95% confidence (bootstrap over the held-out contacts). The
    price: at 28,000 contacts the gate also refuses all three useful informed models above
    (lower bounds −0.0065, −0.0009, −0.0003). And it is no guarantee: the Qini judges the
    ranking of the contacts, not of the whole base weighted by value, and it passed models
    that lose margin there (the T-learner on seed 2, bound 0.0008; the handed-over posterior on
    all three seeds, bounds 0.0030–0.0061). On the randomised programme it passed the R-learner
    on four of six worlds (bounds 0.0011–0.0026) and refused seeds 1 and 4 (−0.0016, −0.0010),
    where it captured 0.91× and 2.84× risk's margin. Tried instead and not adopted: the slope of
    the best linear predictor of the effect on the held-out days (Chernozhukov et al., 2018),
    which weighs the estimates' size and removes the risk's part of the outcome; it passed and
    refused the same worlds.

Evaluation (no fitting, no tuning on held-out contacts)
    Lives in :mod:`serving.uplift_metrics` (Qini, AUUC, and targeting against known true effects)
    and is re-exported here, beside the model it judges.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

from winback.common import WinbackError
from winback.common.timestamps import to_utc_naive
from winback.features import Dataset, FeaturePlan, FeatureSettings, build_features, plan_features
from winback.features.builder import prepare_orders
from winback.serving.uplift_metrics import (
    auuc,
    evaluate_uplift,
    qini_coefficient,
    qini_curve,
    qini_lower_bound,
    targeting_comparison,
)
from winback.training.models import ColumnMismatchError

Learner = Literal["r", "t", "x"]
LEARNERS: tuple[Learner, ...] = ("r", "t", "x")
KEYS = ("customer_id", "as_of")
#: An order with a discount within this many days of a send counts as redeeming the offer.
REDEMPTION_DAYS = 30
#: Cross-fitting folds of the R-learner's risk and redemption models (customers kept together).
FOLDS = 5
#: Boosting rounds of each of those models: they are fitted without a stopping set.
NUISANCE_ROUNDS = 200
#: Features the effect is never learned from: campaigns come a few times a year, so a calendar
#: month tells campaigns apart (and fits each one's noise), not customers.
EXCLUDED_FEATURES = frozenset({"as_of_month"})
_Array = npt.NDArray[np.float64]
_Mask = npt.NDArray[np.bool_]


class UpliftError(WinbackError, ValueError):
    """An uplift model was asked about an offer it does not know."""


# --- contacts -------------------------------------------------------------------------------------


def uplift_contacts(
    dataset: Dataset,
    as_of: date | datetime | str,
    horizon_days: int,
    activity_events: Sequence[str] = (),
) -> pd.DataFrame:
    """Contacts whose outcome is known by ``as_of``, with that outcome; sorted by time.

    One row per customer and send day: customer_id, as_of (the send day's UTC midnight), offer,
    treated, lost (1.0 = no order, nor event of a type in ``activity_events``, in
    [as_of + horizon, as_of + 2·horizon)). Only customers with an order before the send day, and
    campaign rows whose ``treated`` is known; empty without a campaigns table or ``treated``.
    """
    columns = ["customer_id", "as_of", "offer", "treated", "lost"]
    if not dataset.has("campaigns", "treated"):
        return pd.DataFrame(columns=columns)
    cutoff = to_utc_naive(as_of)
    orders = prepare_orders(dataset)
    lo, hi = f"INTERVAL {horizon_days} DAY", f"INTERVAL {2 * horizon_days} DAY"
    seen = f'SELECT customer_id, "timestamp" FROM {orders} WHERE is_order'
    params: list[Any] = [cutoff]
    if activity_events and dataset.has("events"):
        seen += ' UNION ALL SELECT customer_id, "timestamp" FROM events WHERE event_type IN ?'
        params.append(list(activity_events))
    return dataset.con.execute(
        f"""WITH sent AS (
            SELECT customer_id, date_trunc('day', "timestamp") AS as_of,
                   min(offer) AS offer, bool_or(treated) AS treated
            FROM campaigns
            WHERE treated IS NOT NULL AND date_trunc('day', "timestamp") + {hi} <= ?
            GROUP BY customer_id, date_trunc('day', "timestamp")
        ), seen AS ({seen})
        SELECT k.customer_id, k.as_of, k.offer, k.treated,
               CAST(NOT EXISTS (SELECT 1 FROM seen a WHERE a.customer_id = k.customer_id
                   AND a."timestamp" >= k.as_of + {lo} AND a."timestamp" < k.as_of + {hi})
                   AS DOUBLE) AS lost
        FROM sent k
        WHERE EXISTS (SELECT 1 FROM {orders} o WHERE o.customer_id = k.customer_id
                      AND o.is_order AND o."timestamp" < k.as_of)
        ORDER BY k.as_of, k.customer_id""",
        params,
    ).df()[columns]


def _redeemed(dataset: Dataset, contacts: pd.DataFrame, horizon_days: int) -> _Array | None:
    """Per contact, 1.0 if an order with a discount followed within ``REDEMPTION_DAYS``.

    The window ends with the contact's outcome window at the latest, so a closed contact never
    reads past ``as_of``. None without a ``discount`` column: then nothing tells redemptions
    from other orders.
    """
    if not dataset.has("transactions", "discount") or contacts.empty:
        return None
    orders = prepare_orders(dataset)
    days = min(REDEMPTION_DAYS, 2 * horizon_days)
    sent = contacts[["customer_id", "as_of"]].assign(row=np.arange(len(contacts)))
    dataset.con.register("_winback_sent_df", sent)
    try:
        flags = dataset.con.execute(
            f"""SELECT CAST(EXISTS (SELECT 1 FROM {orders} o WHERE o.customer_id = k.customer_id
                       AND o.is_order AND o.discount > 0 AND o."timestamp" >= k.as_of
                       AND o."timestamp" < k.as_of + INTERVAL {days} DAY) AS DOUBLE)
                       AS redeemed
                FROM _winback_sent_df k ORDER BY k.row"""
        ).df()
    finally:
        dataset.con.unregister("_winback_sent_df")
    return flags["redeemed"].to_numpy(dtype=np.float64)


def _latest_days(days: pd.Series, share: float, among: Sequence[pd.Timestamp]) -> list[Any]:
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


# --- the learners ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Encoding:
    """Training columns and the fixed levels of the text columns among them."""

    names: tuple[str, ...]
    categories: dict[str, list[str]]

    @classmethod
    def learn(cls, frame: pd.DataFrame) -> _Encoding:
        levels = {
            str(c): sorted(str(v) for v in frame[c].astype("string").dropna().unique())
            for c in frame.columns
            if not pd.api.types.is_numeric_dtype(frame[c].dtype)
        }
        return cls(tuple(str(c) for c in frame.columns), levels)

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The training columns in training order; unseen levels and missing values become NaN."""
        missing = [c for c in self.names if c not in frame.columns]
        if missing:
            raise ColumnMismatchError(
                f"the uplift model needs {len(self.names)} feature columns; the frame lacks "
                f"{missing}. Build the features with the plan the model was fitted with."
            )
        out: dict[str, Any] = {}
        for name in self.names:
            column = frame[name]
            if name in self.categories:
                text = column.astype("string").to_numpy(dtype=object, na_value=None)
                codes = pd.Index(self.categories[name], dtype=object).get_indexer(text)
                out[name] = pd.Categorical.from_codes(codes, categories=self.categories[name])
            else:
                out[name] = pd.to_numeric(column).to_numpy(dtype="float64", na_value=np.nan)
        return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


@dataclass(frozen=True)
class _Boosting:
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
        self, objective: str, data: tuple[pd.DataFrame, _Array], stop: tuple[pd.DataFrame, _Array]
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

    def train_rounds(self, objective: str, data: tuple[pd.DataFrame, _Array]) -> lgb.Booster:
        """One booster on ``data`` with ``NUISANCE_ROUNDS`` rounds and no stopping set."""
        dataset = lgb.Dataset(data[0], data[1])
        return lgb.train(self.params(objective), dataset, num_boost_round=NUISANCE_ROUNDS)


@dataclass(frozen=True)
class _Learned:
    """The boosters of one fitted T- or X-learner: μ0, and μ1, τ0, τ1 by offer ("" = pooled)."""

    learner: Learner
    per_offer: bool
    treated_share: float
    boosters: dict[tuple[str, str], lgb.Booster]

    def effect(self, data: pd.DataFrame, offer: str) -> _Array:
        """Estimated reduction in P(lost) for encoded rows ``data`` (their offer column set)."""
        if data.empty:
            return np.zeros(0)
        key = offer if self.per_offer else ""

        def run(role: str, part: str, rows: pd.DataFrame) -> _Array:
            return np.asarray(self.boosters[role, part].predict(rows), dtype=np.float64)

        if self.learner == "t":
            return run("mu0", "", _no_offer(data)) - run("mu1", key, data)
        e = self.treated_share
        return e * run("tau0", key, data) + (1 - e) * run("tau1", key, data)


def _no_offer(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="offer", errors="ignore")


def _learn(
    boosting: _Boosting,
    learner: Learner,
    per_offer: bool,
    offers: Sequence[str],
    x: pd.DataFrame,
    contacts: pd.DataFrame,
    fit: _Mask,
    stop: _Mask,
) -> _Learned:
    """Fit a T- or X-learner on the ``fit`` rows, early-stopping every booster on ``stop``."""
    treated = contacts["treated"].to_numpy(dtype=bool)
    lost = contacts["lost"].to_numpy(dtype=np.float64)
    offer = contacts["offer"].to_numpy(dtype=object)
    keys = list(offers) if per_offer else [""]

    def arm(rows: _Mask, sent: bool, key: str) -> tuple[pd.DataFrame, _Array]:
        mine = rows & (treated == sent) & ((offer == key) if key else True)
        return x[mine].reset_index(drop=True), lost[mine]

    boosters: dict[tuple[str, str], lgb.Booster] = {}
    (x0, y0), (s0, z0) = arm(fit, False, ""), arm(stop, False, "")
    boosters["mu0", ""] = boosting.train("binary", (_no_offer(x0), y0), (_no_offer(s0), z0))
    for key in keys:
        boosters["mu1", key] = boosting.train("binary", arm(fit, True, key), arm(stop, True, key))
    treated_share = float(treated[fit].mean())
    if learner == "t":
        return _Learned(learner, per_offer, treated_share, boosters)

    def imputed(rows: _Mask, sent: bool, key: str) -> tuple[pd.DataFrame, _Array]:
        # The reduction in P(lost) each contact shows against the other arm's model.
        data, y = arm(rows, sent, key)
        if sent:
            return data, boosters["mu0", ""].predict(_no_offer(data)) - y
        return data, y - boosters["mu1", key].predict(data)

    for key in keys:
        for role, sent in (("tau1", True), ("tau0", False)):
            boosters[role, key] = boosting.train(
                "regression", imputed(fit, sent, key), imputed(stop, sent, key)
            )
    return _Learned(learner, per_offer, treated_share, boosters)


def _basis(
    risk: _Array,
    propensity: _Array | None,
    scale: tuple[float, float],
    offer: npt.NDArray[Any],
    offers: Sequence[str],
) -> _Array:
    """The R-learner's terms: 1, m, z, m·z (z the standardised propensity), one shift per offer."""
    ones = np.ones_like(risk)
    terms = [ones, risk]
    if propensity is not None:
        z = (propensity - scale[0]) / scale[1]
        terms += [z, risk * z]
    terms += [(offer == name).astype(np.float64) for name in offers[1:]]
    return np.column_stack(terms)


def _terms(offers: Sequence[str], with_propensity: bool) -> list[str]:
    names = ["intercept", "risk", *(["propensity", "risk × propensity"] if with_propensity else [])]
    return [*names, *(f"offer {name}" for name in offers[1:])]


@dataclass(frozen=True)
class _RLearned:
    """A fitted R-learner: the reduction in P(lost) is linear in a few terms of two models.

    ``risk`` is m(x) = P(lost) whatever the arm; ``propensity`` s(x) = P(a discounted order
    within ``REDEMPTION_DAYS`` | sent an offer), None without discounts in the data; ``scale``
    standardises s. ``coefficients`` holds each term's estimate and standard error (effects on
    P(lost), so a negative estimate means the offer keeps more customers).
    """

    offers: tuple[str, ...]
    risk: lgb.Booster
    propensity: lgb.Booster | None
    scale: tuple[float, float]
    coefficients: pd.DataFrame

    def effect(self, data: pd.DataFrame, offer: str) -> _Array:
        """Estimated reduction in P(lost) for encoded rows ``data`` if sent ``offer``."""
        if data.empty:
            return np.zeros(0)
        rows = _no_offer(data)
        risk = np.asarray(self.risk.predict(rows), dtype=np.float64)
        propensity = (
            None
            if self.propensity is None
            else np.asarray(self.propensity.predict(rows), dtype=np.float64)
        )
        offered = np.full(len(data), offer, dtype=object)
        phi = _basis(risk, propensity, self.scale, offered, self.offers)
        return -(phi @ self.coefficients["estimate"].to_numpy())


def _folds(customers: pd.Series) -> npt.NDArray[np.int64]:
    """A stable fold per customer, so one customer's contacts never sit on both sides."""
    hashes = [zlib.crc32(str(c).encode()) for c in customers]
    return np.asarray(hashes, dtype=np.int64) % FOLDS


def _learn_r(
    boosting: _Boosting,
    offers: Sequence[str],
    x: pd.DataFrame,
    contacts: pd.DataFrame,
    redeemed: _Array | None,
    rows: _Mask,
) -> _RLearned:
    """Fit the R-learner (Robinson's residuals, Nie and Wager 2021) on the ``rows`` contacts.

    Risk and propensity are cross-fitted over ``FOLDS`` folds of customers; the effect's few
    coefficients come from least squares of the risk residual on (treated − e) × the terms, e
    being each send day's treated share.
    """
    data = _no_offer(x[rows].reset_index(drop=True))
    mine = contacts[rows].reset_index(drop=True)
    lost = mine["lost"].to_numpy(dtype=np.float64)
    sent = mine["treated"].to_numpy(dtype=bool)
    offer = mine["offer"].to_numpy(dtype=object)
    share = mine.groupby("as_of")["treated"].transform("mean").to_numpy(dtype=np.float64)
    redeem = None if redeemed is None else redeemed[rows]
    fold = _folds(mine["customer_id"])
    risk, propensity = np.zeros(len(mine)), None if redeem is None else np.zeros(len(mine))
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        if not test.any():
            continue
        risk[test] = boosting.train_rounds("binary", (data[train], lost[train])).predict(data[test])
        if propensity is not None and redeem is not None:
            treated = train & sent
            model = boosting.train_rounds("binary", (data[treated], redeem[treated]))
            propensity[test] = model.predict(data[test])
    scale = (0.0, 1.0)
    if propensity is not None:
        scale = (float(propensity.mean()), float(propensity.std()) or 1.0)
    design = (sent - share)[:, None] * _basis(risk, propensity, scale, offer, offers)
    target = lost - risk
    beta, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ beta
    spread = float(residual @ residual) / max(len(target) - design.shape[1], 1)
    errors = np.sqrt(np.clip(np.diag(np.linalg.pinv(design.T @ design)) * spread, 0.0, None))
    coefficients = pd.DataFrame(
        {"estimate": beta, "std_error": errors},
        index=pd.Index(_terms(offers, propensity is not None), name="term"),
    )
    return _RLearned(
        offers=tuple(offers),
        risk=boosting.train_rounds("binary", (data, lost)),
        propensity=(
            None if redeem is None else boosting.train_rounds("binary", (data[sent], redeem[sent]))
        ),
        scale=scale,
        coefficients=coefficients,
    )


# --- the model ------------------------------------------------------------------------------------


# Not frozen: the policy's EffectModel protocol declares ``offers`` as a plain attribute.
@dataclass
class UpliftModel:
    """Each customer's estimated reduction in P(lost over the horizon) if sent an offer.

    ``evaluation`` holds the held-out figures (:func:`evaluate_uplift`) of the same learner
    fitted before the held-out send days, and ``qini_lower`` the 95% lower bound of its pooled
    Qini coefficient; ``contacts`` counts the closed contacts by split and ``last_send_day`` is
    the latest send day the model learned from.
    """

    offers: tuple[str, ...]
    learner: Learner
    per_offer: bool
    as_of: datetime
    horizon_days: int
    activity_events: tuple[str, ...]
    evaluation: pd.DataFrame
    qini_lower: float
    contacts: dict[str, int]
    last_send_day: datetime
    plan: FeaturePlan
    _encoding: _Encoding = field(repr=False)
    _learned: _Learned | _RLearned = field(repr=False)

    @property
    def coefficients(self) -> pd.DataFrame | None:
        """The R-learner's terms with estimate and standard error; None for ``t`` and ``x``."""
        if isinstance(self._learned, _RLearned):
            return self._learned.coefficients.copy()
        return None

    def describe(self) -> str:
        """One line on how the effects were learned and how well they held out."""
        held = self.evaluation.loc["all"]
        line = (
            f"{self.learner.upper()}-learner on {self.contacts['closed']:,} contacts sent up to "
            f"{self.last_send_day:%Y-%m-%d}; held-out Qini {held['qini']:.4f} (95% lower bound "
            f"{self.qini_lower:.4f})"
        )
        terms = self.coefficients
        if terms is not None and "propensity" in terms.index:
            # A negative change in P(lost) is customers kept: say it the way round users read.
            kept, error = -terms.loc["propensity", "estimate"], terms.loc["propensity", "std_error"]
            line += (
                f"; an offer keeps {100 * kept:+.2f} ± {100 * error:.2f} "
                "percentage points more of the customers per standard deviation of their "
                "redemption propensity"
            )
        return line

    @property
    def feature_names(self) -> list[str]:
        """The feature columns ``effect`` reads (plus the offer, which it sets itself)."""
        return [c for c in self._encoding.names if c != "offer"]

    def effect(self, features: pd.DataFrame, offer: str) -> _Array:
        """Absolute reduction in P(lost over the horizon) per row of ``features`` if sent ``offer``.

        Negative where the offer is estimated to push the customer away. ``features`` are rows
        of :func:`features.build_features` built with ``plan``; other columns are ignored.
        """
        if offer not in self.offers:
            raise UpliftError(
                f"no estimate for offer {offer!r}; the model knows {list(self.offers)}"
            )
        frame = features.assign(offer=offer) if "offer" in self._encoding.names else features
        return self._learned.effect(self._encoding.apply(frame), offer)


def _data_problem(dataset: Dataset, contacts: pd.DataFrame, cutoff: datetime) -> str | None:
    """Why the campaign history cannot show an offer's effect, or None."""
    if not dataset.has("campaigns"):
        return "no campaigns table"
    if not dataset.has("campaigns", "treated"):
        return "the campaigns table has no 'treated' column, so no control group"
    if contacts.empty:
        return f"no contact has an outcome known by {cutoff:%Y-%m-%d}"
    if contacts["treated"].all():
        return f"no control contacts (treated = false) with an outcome known by {cutoff:%Y-%m-%d}"
    return None


def fit_uplift(
    dataset: Dataset,
    as_of: date | datetime | str,
    horizon_days: int,
    plan: FeaturePlan | None = None,
    *,
    learner: Learner = "r",
    per_offer: bool = False,
    activity_events: Sequence[str] = (),
    holdout_share: float = 0.25,
    stopping_share: float = 0.2,
    min_control: int = 300,
    require_evidence: bool = True,
    seed: int = 0,
    n_jobs: int = 1,
    on_skip: Callable[[str], object] | None = None,
) -> UpliftModel | None:
    """Learn each customer's offer effect from the contacts whose outcome is known at ``as_of``.

    Returns None, after calling ``on_skip`` with a sentence saying why (e.g. ``on_skip=print``),
    when there is no campaigns table or control group, too few contacts, or (with
    ``require_evidence``) no held-out evidence that the estimates rank customers better than
    chance. ``plan`` is the churn model's feature plan, so the model reads the features scoring
    builds (without it, a plan is chosen from the data and kept as ``model.plan``).
    ``activity_events`` are event types that show a customer is still there (see the module
    docstring); ``min_control`` is the fewest control contacts worth learning from.
    """
    if learner not in LEARNERS:
        raise UpliftError(f"learner must be one of {list(LEARNERS)}, got {learner!r}")
    cutoff = to_utc_naive(as_of)

    def skip(reason: str) -> None:
        if on_skip is not None:
            on_skip(f"uplift: {reason}; offer effects stay assumed")

    contacts = uplift_contacts(dataset, cutoff, horizon_days, activity_events)
    problem = _data_problem(dataset, contacts, cutoff)
    days = contacts["as_of"]
    control = ~contacts["treated"].to_numpy(dtype=bool)
    if problem is None:
        held_days = _latest_days(days, holdout_share, days.unique())
        window = timedelta(days=2 * horizon_days)
        before = [d for d in days.unique() if d + window <= min(held_days)]
        held = days.isin(held_days).to_numpy()
        fit = days.isin(before).to_numpy()
        if len(before) < 2 or (fit & control).sum() < min_control or not (held & control).any():
            problem = (
                f"too few contacts: {len(contacts)} with an outcome known by {cutoff:%Y-%m-%d} "
                f"on {days.nunique()} send days, {int(control.sum())} of them control, "
                f"{int((fit & control).sum())} before the held-out days (at least {min_control} "
                "control contacts on two send days are needed to learn from)"
            )
    if problem is not None:
        skip(problem)
        return None

    cutoffs = sorted(days.unique())
    # Without the churn model's plan, choose one from the data before the latest contact, and
    # keep it: scoring must build the same columns.
    plan = plan or plan_features(dataset, FeatureSettings(), until=cutoffs[-1])
    table = build_features(dataset, cutoffs, plan=plan)
    table["as_of"] = table["as_of"].astype(days.dtype)
    rows = contacts.merge(table, on=list(KEYS), how="left", validate="one_to_one")
    names = [c for c in table.columns if c not in KEYS and c not in EXCLUDED_FEATURES]
    encoding = _Encoding.learn(rows[[*names, *([] if per_offer else ["offer"])]])
    x = encoding.apply(rows)
    offers = tuple(sorted(contacts["offer"][fit].unique()))
    boosting = _Boosting(seed=seed, n_jobs=n_jobs)

    redeemed = _redeemed(dataset, contacts, horizon_days) if learner == "r" else None

    def fitted(rows: _Mask) -> _Learned | _RLearned:
        if learner == "r":
            return _learn_r(boosting, offers, x, contacts, redeemed, rows)
        # Early stopping watches the latest send days of the rows learned from.
        stop = days.isin(_latest_days(days, stopping_share, days[rows].unique())).to_numpy()
        return _learn(boosting, learner, per_offer, offers, x, contacts, rows & ~stop, rows & stop)

    evaluated = fitted(fit)
    scored = held & contacts["offer"].isin(offers).to_numpy()
    estimate = np.zeros(len(contacts))
    for offer in offers:
        mine = scored & (contacts["offer"] == offer).to_numpy()
        estimate[mine] = evaluated.effect(x[mine].reset_index(drop=True), offer)
    held_out = contacts[scored]
    evaluation = evaluate_uplift(
        held_out["lost"], held_out["treated"], held_out["offer"], estimate[scored]
    )
    lower = qini_lower_bound(held_out["lost"], held_out["treated"], estimate[scored], seed=seed)
    if require_evidence and lower <= 0:
        skip(
            f"on the held-out send days ({len(held_out)} contacts) the estimated effects did not "
            f"rank customers better than chance (Qini {evaluation.loc['all', 'qini']:.4f}, "
            f"95% lower bound {lower:.4f})"
        )
        return None
    return UpliftModel(
        offers=offers,
        learner=learner,
        per_offer=per_offer,
        as_of=cutoff,
        horizon_days=horizon_days,
        activity_events=tuple(activity_events),
        evaluation=evaluation,
        qini_lower=lower,
        contacts={
            "closed": len(contacts),
            "evaluated_on": int(held.sum()),
            "learned_before_holdout": int(fit.sum()),
        },
        last_send_day=pd.Timestamp(days.max()).to_pydatetime(),
        plan=plan,
        _encoding=encoding,
        _learned=fitted(np.ones(len(contacts), dtype=bool)),
    )


__all__ = [
    "LEARNERS",
    "UpliftError",
    "UpliftModel",
    "auuc",
    "evaluate_uplift",
    "fit_uplift",
    "qini_coefficient",
    "qini_curve",
    "qini_lower_bound",
    "targeting_comparison",
    "uplift_contacts",
]
