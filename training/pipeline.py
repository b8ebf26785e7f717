"""Train the models on stacked snapshots: split by time, fit, calibrate, evaluate, compare.

``splits → fit → calibrate → evaluate → compare_to_baselines``, each step a function returning a
value. Early stopping and calibration use the validation cutoffs only; the test cutoffs are
touched once, to report. Baselines are scored on the very same test rows.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import mean_tweedie_deviance

from winback.common.errors import DataContractError
from winback.features import Dataset, LabelSettings, Snapshots
from winback.features.populations import (
    POPULATIONS,
    RETENTION,
    RULE_INPUTS,
    WINBACK,
    PopulationRule,
)
from winback.training.baselines import BgNbdBaseline, RfmRuleBaseline, rfm_summary
from winback.training.btyd import BTYD_COLUMNS, BtydFeatures
from winback.training.bundle import ModelBundle
from winback.training.calibration import Calibrator, choose_calibration, compare_calibrators
from winback.training.intervals import gain_intervals
from winback.training.metrics import classification_metrics, compare, regression_metrics
from winback.training.models import ChurnModel, CountModel, SpendModel, SpendObjective
from winback.training.periods import fit_period_models
from winback.training.progress import OnStep, step
from winback.training.reference import ReferenceProfile
from winback.training.settings import TrainingSettings
from winback.training.splits import (
    TimeSplit,
    choose_split,
    split_customers,
    split_cutoffs,
    split_frame,
)
from winback.training.tuning import TuningResult, tune_churn

_log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What one training produced: the bundle, where it was judged, and the numbers."""

    bundle: ModelBundle
    split: TimeSplit
    metrics: dict[str, float]
    calibration: dict[str, dict[str, float]]
    calibration_method: str
    #: The tuning study, when trials were asked for.
    tuning: TuningResult | None
    #: Test rows with labels, our predictions and the baselines' (for plots and reports).
    test_predictions: pd.DataFrame = field(repr=False)
    #: Validation figures behind choices made in training (spend objective, BG/NBD inputs).
    choices: dict[str, Any] = field(default_factory=dict)


#: Inputs that describe the cutoff's calendar, not the customer: the models learn them as a level
#: (no interactions), and drift checks leave them out.
CALENDAR_INPUTS = ("as_of_month",)


def _params(settings: TrainingSettings, columns: list[str]) -> dict[str, Any]:
    calendar = tuple(c for c in CALENDAR_INPUTS if c in columns)
    return {
        # A month is learned as a level, and its level refit on the training rows
        # (training.levels): early stopping on other months would leave it part-learned.
        "additive_features": calendar,
        "level_features": calendar if settings.month_levels else (),
        "learning_rate": settings.learning_rate,
        "num_leaves": settings.num_leaves,
        "min_child_samples": settings.min_child_samples,
        "n_estimators": settings.n_estimators,
        "early_stopping_rounds": settings.early_stopping_rounds,
        "seed": settings.seed,
        "n_jobs": settings.n_jobs,
    }


def _labelled(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    return frame[frame[label].notna()]


def _data(
    frame: pd.DataFrame, label: str, columns: list[str], clip: bool = False
) -> tuple[pd.DataFrame, pd.Series]:
    rows = _labelled(frame, label)
    y = rows[label].clip(lower=0) if clip else rows[label]
    return rows[columns], y


def _in(frame: pd.DataFrame, population: str) -> pd.DataFrame:
    """The rows of one population (every row when the frame has no ``population`` column)."""
    if "population" not in frame:
        return frame
    return frame[frame["population"] == population]


def _population_rows(
    train: pd.DataFrame, population: str, borrow: float
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """A population model's labelled training rows and their weights.

    Its own rows, plus the other population's at weight ``borrow`` (0 leaves them out).
    """
    rows = _labelled(train, "churned")
    if "population" not in rows:
        return rows, None
    own = (rows["population"] == population).to_numpy()
    if borrow == 0:
        return rows[own], None
    return rows, np.where(own, 1.0, borrow)


def _learnable(train: pd.DataFrame, valid: pd.DataFrame, label: str) -> bool:
    """Both classes of ``label`` in training and in validation: a model can learn and stop."""
    return all(_labelled(f, label)[label].nunique() == 2 for f in (train, valid))


def fit_models(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    columns: list[str],
    settings: TrainingSettings,
    churn_params: dict[str, Any] | None = None,
    on_step: OnStep | None = None,
) -> tuple[
    ChurnModel, ChurnModel | None, ChurnModel | None, CountModel, SpendModel, dict[str, Any]
]:
    """Fit churn (per population), decline, orders and spend, each stopping early on validation.

    With a ``population`` column, the churn model learns the retention rows and a second one the
    win-back rows (None when they hold one class only, and then the first learns every row).
    ``churn_params`` (from tuning) replace the settings' hyperparameters for the retention churn
    model. Also returns the validation figures of each spend objective tried. Each fit is a step
    reported to ``on_step``.
    """
    params = _params(settings, columns)
    tuned = {**params, **(churn_params or {})}
    winback = None
    split_populations = (
        "population" in train
        and _learnable(_in(train, WINBACK), _in(valid, WINBACK), "churned")
        and _learnable(_in(train, RETENTION), _in(valid, RETENTION), "churned")
    )
    first = _in(valid, RETENTION) if split_populations else valid
    with step(on_step, "churn model, retention" if split_populations else "churn model") as done:
        rows, weight = (
            _population_rows(train, RETENTION, settings.population_borrow)
            if split_populations
            else (_labelled(train, "churned"), None)
        )
        churn = ChurnModel(**tuned).fit(
            *_data(rows, "churned", columns),
            eval_set=_data(first, "churned", columns),
            sample_weight=weight,
        )
        done.detail = _rounds(churn)
    if split_populations:
        with step(on_step, "churn model, win-back") as done:
            rows, weight = _population_rows(train, WINBACK, settings.population_borrow)
            winback = ChurnModel(**params).fit(
                *_data(rows, "churned", columns),
                eval_set=_data(_in(valid, WINBACK), "churned", columns),
                sample_weight=weight,
            )
            done.detail = _rounds(winback)
    decline = None
    if _labelled(train, "declined")["declined"].nunique() == 2:
        with step(on_step, "decline model") as done:
            decline = ChurnModel(**params).fit(
                *_data(train, "declined", columns), eval_set=_data(valid, "declined", columns)
            )
            done.detail = _rounds(decline)
    with step(on_step, "orders model") as done:
        orders = CountModel(**params).fit(
            *_data(train, "orders_next", columns), eval_set=_data(valid, "orders_next", columns)
        )
        done.detail = _rounds(orders)
    with step(on_step, "spend model") as done:
        spend, figures = fit_spend(train, valid, columns, settings.spend_objective, params, orders)
        done.detail = f"{figures['spend_objective']}, {_rounds(spend)}"
    return churn, winback, decline, orders, spend, figures


def _rounds(model: ChurnModel | CountModel | SpendModel) -> str:
    """The boosting rounds early stopping kept, per booster: ``312 rounds``."""
    return " + ".join(str(n) for n in model.best_iterations_.values()) + " rounds"


#: The spend objectives ``auto`` chooses from, in the order they are tried.
SPEND_OBJECTIVES: tuple[SpendObjective, ...] = ("tweedie", "two_part", "orders_x_value")


def fit_spend(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    columns: list[str],
    objective: Literal["auto"] | SpendObjective,
    params: dict[str, Any],
    orders: CountModel | None = None,
) -> tuple[SpendModel, dict[str, Any]]:
    """Fit spend over the horizon with ``objective``, or with each and keep the best (``auto``).

    All objectives predict the mean, so they are compared by the mean Tweedie deviance (power
    1.5, a proper score for a zero-heavy mean) on the validation cutoffs; MAE and the aggregate
    error are logged beside. Net spend is negative for the few customers who only returned
    goods: the models learn it as 0, and refunds stay in the evaluation's actuals.
    ``orders``, the order-count model fitted with ``params`` on the rows that have an order
    label, is reused as the orders part of ``orders_x_value`` when those are the spend rows.
    """
    fit_rows = _labelled(_labelled(train, "spend_next"), "orders_next")
    val_rows = _labelled(_labelled(valid, "spend_next"), "orders_next")
    x_fit, x_val = fit_rows[columns], val_rows[columns]
    y_val = val_rows["spend_next"].clip(lower=0)
    candidates = SPEND_OBJECTIVES if objective == "auto" else (objective,)
    # The same rows, labels and hyperparameters give the same booster: train it once.
    reuse = orders is not None and all(
        frame["spend_next"].notna().equals(frame["orders_next"].notna()) for frame in (train, valid)
    )
    fitted: dict[str, SpendModel] = {}
    figures: dict[str, Any] = {}
    for name in candidates:
        labels = ["spend_next", "orders_next"] if name == "orders_x_value" else "spend_next"
        model = SpendModel(objective=name, **params).fit(
            x_fit,
            fit_rows[labels].clip(lower=0),
            eval_set=(x_val, val_rows[labels].clip(lower=0)),
            pretrained={"orders": orders} if reuse and orders is not None else None,
        )
        predicted = np.clip(model.predict(x_val), 1e-9, None)
        fitted[name] = model
        figures[f"valid.spend.{name}.tweedie_deviance"] = float(
            mean_tweedie_deviance(y_val, predicted, power=1.5)
        )
        figures[f"valid.spend.{name}.mae"] = float(np.mean(np.abs(y_val - predicted)))
        figures[f"valid.spend.{name}.aggregate_error"] = float(predicted.sum() / y_val.sum() - 1)
    best = min(candidates, key=lambda n: figures[f"valid.spend.{n}.tweedie_deviance"])
    return fitted[best], figures | {"spend_objective": best}


def calibrate(
    churn: ChurnModel, valid: pd.DataFrame, columns: list[str], method: str
) -> tuple[Calibrator | None, str, dict[str, dict[str, float]]]:
    """Choose and fit a calibrator on the validation cutoffs alone.

    With ``auto``, the validation customers are halved by a hash of their id: each method is
    fitted on one half and scored on the other, the lowest Brier wins, and the winner is refit
    on all validation rows. The test period plays no part.
    """
    rows = _labelled(valid, "churned")
    p, y = churn.predict_proba(rows[columns]), rows["churned"].to_numpy()
    if method == "none" or len(np.unique(y)) < 2:
        return None, "none", {}
    scores: dict[str, dict[str, float]] = {}
    if method == "auto":
        half = rows["customer_id"].map(lambda c: zlib.crc32(str(c).encode()) % 2).to_numpy()
        a, b = half == 0, half == 1
        if len(np.unique(y[a])) == 2 and len(np.unique(y[b])) == 2:
            scores = compare_calibrators(p[a], y[a], p[b], y[b])
            method = choose_calibration(scores)
        else:
            method = "platt"
    if method == "none":
        return None, "none", scores
    return Calibrator(method=method).fit(p, y), method, scores  # type: ignore[arg-type]


def _baselines(
    dataset: Dataset,
    train: pd.DataFrame,
    test: pd.DataFrame,
    labels: LabelSettings,
    bgnbd: bool,
    choices: dict[str, Any],
) -> dict[str, pd.DataFrame]:
    """Each baseline's predictions on the test rows (same index).

    BG/NBD is skipped, with the reason in ``choices`` and a warning, where the history cannot
    fit it (e.g. nobody bought twice): a missing yardstick must not cost the whole run.
    """
    out = {"rfm": RfmRuleBaseline().fit(train).predict(test).set_index(test.index)}
    if not bgnbd:
        return out
    tx = dataset.con.sql('SELECT customer_id, "timestamp", amount FROM transactions').df()
    parts = []
    for as_of, rows in test.groupby("as_of"):
        summary = rfm_summary(tx, as_of, customer_ids=rows["customer_id"])
        try:
            model = BgNbdBaseline().fit(summary.dropna())
        except ValueError as exc:
            choices["bgnbd_baseline"] = f"skipped: {exc}"
            _log.warning("BG/NBD baseline skipped, models compared with RFM rules only: %s", exc)
            return out
        predicted = model.predict(summary, labels.horizon_days)
        parts.append(predicted.set_axis(rows.index))
    out["bgnbd"] = pd.concat(parts).loc[test.index]
    return out


def evaluate(test: pd.DataFrame, predictions: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Metrics on the test rows for us and every baseline, and our improvement over each.

    Names: ``test.<who>.<target>.<metric>`` with who = ours, rfm, bgnbd; targets: ``active``
    (ordered in the horizon), ``churn`` (ours only, calibrated), ``orders`` and ``spend``;
    ``vs_<baseline>.<target>.<metric>`` is our improvement (positive = better). All are computed
    on the rows every model can score (BG/NBD needs a purchase before the cutoff), so the
    comparison is like for like; ``test.ours.all.*`` covers every test row.
    """
    outputs = ["p_active", "expected_orders", "expected_spend"]
    common = np.logical_and.reduce(
        [np.isfinite(p[outputs].to_numpy(float)).all(axis=1) for p in predictions.values()]
    )
    metrics: dict[str, float] = {"test.rows": len(test), "test.rows_compared": int(common.sum())}
    per_model = {who: _figures(test[common], p[common]) for who, p in predictions.items()}
    for who, figures in per_model.items():
        for target, values in figures.items():
            metrics |= {f"test.{who}.{target}.{k}": v for k, v in values.items()}
    for target, values in _figures(test, predictions["ours"]).items():
        metrics |= {f"test.ours.all.{target}.{k}": v for k, v in values.items()}
    for who in predictions.keys() - {"ours"}:
        for target in ("active", "orders", "spend"):
            gains = compare(per_model["ours"][target], per_model[who][target])
            metrics |= {f"vs_{who}.{target}.{k}": v for k, v in gains.items()}
        metrics |= _gain_intervals(
            test[common], predictions["ours"][common], predictions[who][common], who
        )
    return metrics


#: Each headline target's actual values and the prediction column it is judged on.
_TARGETS = {
    "active": ("churned", "p_active"),
    "orders": ("orders_next", "expected_orders"),
    "spend": ("spend_next", "expected_spend"),
}


def _gain_intervals(
    test: pd.DataFrame, ours: pd.DataFrame, baseline: pd.DataFrame, who: str
) -> dict[str, float]:
    """95% paired-bootstrap interval of each headline gain over ``who``: ``….ci_low/ci_high``."""
    out: dict[str, float] = {}
    for target, (label, column) in _TARGETS.items():
        names = tuple(name for t, name in HEADLINE if t == target)
        rows = test[label].notna().to_numpy()
        actual = test.loc[rows, label].to_numpy(float)
        if target == "active":
            actual = 1 - actual
        ranges = gain_intervals(
            actual,
            ours.loc[rows, column].to_numpy(float),
            baseline.loc[rows, column].to_numpy(float),
            names,
        )
        for name, (low, high) in ranges.items():
            out |= {
                f"vs_{who}.{target}.{name}.ci_low": low,
                f"vs_{who}.{target}.{name}.ci_high": high,
            }
    return out


def _figures(test: pd.DataFrame, pred: pd.DataFrame) -> dict[str, dict[str, float]]:
    labelled = test["churned"].notna().to_numpy()
    churned = test.loc[labelled, "churned"].to_numpy()
    p_active = pred.loc[labelled, "p_active"].to_numpy()
    figures = {
        "active": classification_metrics(1 - churned, p_active),
        "orders": regression_metrics(test["orders_next"], pred["expected_orders"]),
        "spend": regression_metrics(test["spend_next"], pred["expected_spend"]),
    }
    if "churn_probability" in pred:
        figures["churn"] = classification_metrics(churned, 1 - p_active)
    if "decline_probability" in pred:
        rated = test["declined"].notna().to_numpy() & pred["decline_probability"].notna().to_numpy()
        declined = test.loc[rated, "declined"].to_numpy()
        if len(np.unique(declined)) == 2:
            figures["decline"] = classification_metrics(
                declined, pred.loc[rated, "decline_probability"].to_numpy()
            )
    return figures


#: The figures a user compares across models, in the order a summary shows them.
HEADLINE = (
    ("active", "roc_auc"),
    ("active", "pr_auc"),
    ("active", "brier"),
    ("spend", "mae"),
    ("spend", "spearman"),
    ("spend", "top_decile_share"),
    ("spend", "aggregate_error"),
    ("orders", "mae"),
    ("orders", "aggregate_error"),
)


#: What each population's figures are measured on, in words (None: every test row).
POPULATION_WORDS = {
    RETENTION: "retention: customers active at the cutoff",
    WINBACK: "win-back: lapsed customers",
    None: "everyone who ordered before the cutoff",
}


def measured_populations(metrics: dict[str, float]) -> list[str | None]:
    """The populations with test figures, retention first, then every test row (None)."""
    found = [p for p in POPULATIONS if f"{p}.test.ours.active.roc_auc" in metrics]
    return [*found, None]


def comparison_table(metrics: dict[str, float], population: str | None = None) -> pd.DataFrame:
    """Headline test figures: one row per figure, one column per model (ours and baselines).

    ``population`` (``retention``, ``winback``) takes that population's rows; None every row.
    """
    prefix = f"{population}." if population else ""
    who = [w for w in ("ours", "rfm", "bgnbd") if f"{prefix}test.{w}.active.roc_auc" in metrics]
    rows = {
        f"{target} {name}": [metrics.get(f"{prefix}test.{w}.{target}.{name}", np.nan) for w in who]
        for target, name in HEADLINE
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=who)


def verdict(metrics: dict[str, float], population: str | None = None) -> list[str]:
    """One line per baseline: on how many headline figures we win, and where we lose, by how much.

    Built from the ``vs_<baseline>.*`` improvements (positive = ours better), of one
    ``population``'s rows or (None) every row. A win counts as clear when its 95% interval
    (``….ci_low``) lies above zero; each loss shows its interval, so a reader sees whether it is
    a loss or a tie within the test sample's noise.
    """
    lines = []
    prefix = f"{population}." if population else ""
    for who in ("rfm", "bgnbd"):
        gains = {
            f"{target} {name}": (
                metrics.get(f"{prefix}vs_{who}.{target}.{name}", np.nan),
                metrics.get(f"{prefix}vs_{who}.{target}.{name}.ci_low", np.nan),
                metrics.get(f"{prefix}vs_{who}.{target}.{name}.ci_high", np.nan),
            )
            for target, name in HEADLINE
        }
        known = {k: v for k, v in gains.items() if np.isfinite(v[0])}
        if not known:
            continue
        losses = [
            f"{k} by {-v:.4g}" + _interval(low, high)
            for k, (v, low, high) in known.items()
            if v < 0
        ]
        wins = sum(v > 0 for v, _, _ in known.values())
        clear = sum(low > 0 for _, low, _ in known.values())
        line = f"vs {who}: better on {wins} of {len(known)} headline figures"
        if any(np.isfinite(low) for _, low, _ in known.values()):
            line += f" ({clear} beyond the test sample's noise)"
        lines.append(line + (f"; worse on {', '.join(losses)}" if losses else ""))
    return lines


def _interval(low: float, high: float) -> str:
    """`` (gain −0.01 to +0.005, a tie within noise)`` for a 95% interval of a gain."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    reading = "a tie within noise" if low <= 0 <= high else "a clear loss"
    return f" (95% interval of the gain {low:+.3g} to {high:+.3g}: {reading})"


def train_models(
    snapshots: Snapshots,
    dataset: Dataset,
    labels: LabelSettings,
    settings: TrainingSettings | None = None,
    tuning_storage: str | None = None,
    on_step: OnStep | None = None,
) -> TrainResult:
    """Split, tune (optionally), fit, calibrate and evaluate against baselines on the test rows.

    Tuning sees the training and validation cutoffs only; ``tuning_storage`` (an Optuna storage
    URL) makes the study resumable across runs. Each tuning trial, model fit, the baselines and
    the evaluation are reported to ``on_step`` as they finish.
    """
    settings = settings or TrainingSettings()
    split = _split(snapshots, labels, settings)
    choices: dict[str, Any] = {"split": split.method()}
    with step(on_step, "BG/NBD inputs") as done:
        btyd = _fit_btyd(snapshots, split, labels.horizon_days, settings, choices)
        done.detail = choices["btyd_features"]
    frame = snapshots.frame
    columns = list(snapshots.plan.columns)
    if btyd is not None:
        frame = pd.concat([frame, btyd.transform(frame)], axis=1)
        columns += list(BTYD_COLUMNS)
    frame, rule = _with_populations(frame, labels, columns, choices)
    train, valid, test = split_frame(frame, split)
    _require_repeat_orders(dataset, train, labels.horizon_days)
    tuning = None
    if settings.trials:
        # The rows the retention model learns from (weights aside), stopped on its own rows.
        fit_rows = _population_rows(train, RETENTION, settings.population_borrow)[0]
        valid_rows = _labelled(_in(valid, RETENTION), "churned")
        tuning = tune_churn(
            fit_rows[columns],
            fit_rows["churned"],
            valid_rows[columns],
            valid_rows["churned"],
            n_trials=settings.trials,
            storage=tuning_storage,
            study_name="winback-churn",
            seed=settings.seed,
            n_estimators=settings.n_estimators,
            early_stopping_rounds=settings.early_stopping_rounds,
            threads_per_trial=settings.n_jobs,
            additive_features=_params(settings, columns)["additive_features"],
            on_step=on_step,
        )
    churn, winback, decline, orders, spend, spend_figures = fit_models(
        train, valid, columns, settings, tuning.best_params if tuning else None, on_step
    )
    choices |= spend_figures | _month_levels(churn)
    with step(on_step, "calibration") as done:
        calibrator, method, scores, winback_calibrator = _calibrate_populations(
            churn, winback, valid, columns, settings.calibration, choices
        )
        done.detail = method + (f", win-back {choices['calibration.winback']}" if winback else "")
    with step(on_step, "value per period models") as done:
        periods = fit_period_models(
            frame,
            columns,
            horizon_days=labels.horizon_days,
            periods=labels.periods,
            main_split=split,
            validation=settings.validation_cutoffs,
            test=settings.test_cutoffs,
            min_train_cutoffs=settings.min_period_train_cutoffs,
            discount_rate=settings.discount_rate,
            params=_params(settings, columns),
            btyd=btyd,
        )
        done.detail = ", ".join(f"period {k} {m}" for k, m in periods.methods.items())
    choices |= {f"period_{k}.method": m for k, m in periods.methods.items()}
    bundle = ModelBundle(
        plan=snapshots.plan,
        horizon_days=labels.horizon_days,
        churn=churn,
        orders=orders,
        spend=spend,
        decline=decline,
        calibrator=calibrator,
        btyd=btyd,
        periods=periods,
        winback_churn=winback,
        winback_calibrator=winback_calibrator,
        populations=rule if winback is not None else None,
    )
    bundle.reference = reference_profile(bundle, train)
    ours = bundle.predict(test)
    with step(on_step, "baselines") as done:
        baselines = _baselines(dataset, train, test, labels, settings.bgnbd_baseline, choices)
        done.detail = ", ".join(baselines)
    predictions = {"ours": ours.assign(p_active=1 - ours["churn_probability"]), **baselines}
    with step(on_step, "test evaluation") as done:
        metrics = evaluate(test, predictions) | period_metrics(bundle, frame)
        if "population" in test:
            metrics |= population_metrics(test, predictions)
        cutoffs = ", ".join(f"{c:%Y-%m-%d}" for c in split.test)
        done.detail = f"{len(test):,} rows at test cutoffs {cutoffs}"
    keep = ["customer_id", "as_of", "churned", "declined", "orders_next", "spend_next"]
    keep += ["population"] if "population" in test else []
    table = test[keep].join(ours)
    for who, pred in predictions.items():
        if who != "ours":
            table = table.join(pred.add_prefix(f"{who}_"))
    return TrainResult(bundle, split, metrics, scores, method, tuning, table, choices)


def _split(snapshots: Snapshots, labels: LabelSettings, settings: TrainingSettings) -> TimeSplit:
    """The split the settings ask for: in time, by customer, or (``auto``) time where it fits."""
    cutoffs, days = snapshots.cutoffs, labels.horizon_days
    if settings.split == "customers":
        return split_customers(cutoffs, days)
    sizes = {"validation": settings.validation_cutoffs, "test": settings.test_cutoffs}
    if settings.split == "time":
        return split_cutoffs(cutoffs, days, **sizes)
    return choose_split(cutoffs, days, **sizes)


def _calibrate_populations(
    churn: ChurnModel,
    winback: ChurnModel | None,
    valid: pd.DataFrame,
    columns: list[str],
    method: str,
    choices: dict[str, Any],
) -> tuple[Calibrator | None, str, dict[str, dict[str, float]], Calibrator | None]:
    """:func:`calibrate` each churn model on its own population's validation rows."""
    rows = _in(valid, RETENTION) if winback is not None else valid
    calibrator, chosen, scores = calibrate(churn, rows, columns, method)
    if winback is None:
        return calibrator, chosen, scores, None
    winback_calibrator, choices["calibration.winback"], _ = calibrate(
        winback, _in(valid, WINBACK), columns, method
    )
    return calibrator, chosen, scores, winback_calibrator


def _with_populations(
    frame: pd.DataFrame, labels: LabelSettings, columns: list[str], choices: dict[str, Any]
) -> tuple[pd.DataFrame, PopulationRule | None]:
    """Each row's ``population`` by the activity rule of ``[labels]``, and the rule.

    No rule (and no column) when the features it reads are not model inputs.
    """
    if any(c not in columns for c in RULE_INPUTS):
        return frame, None
    rule = PopulationRule.from_labels(labels)
    choices["populations"] = rule.describe()
    return frame.assign(population=rule.assign(frame)), rule


def population_metrics(
    test: pd.DataFrame, predictions: dict[str, pd.DataFrame]
) -> dict[str, float]:
    """:func:`evaluate` on each population's test rows: ``<population>.test.…``, ``….vs_…``.

    Every model is judged on the same rows of each population; a population with one outcome
    only (nobody churned, or everyone did) has its row count and no figures.
    """
    metrics: dict[str, float] = {}
    for population in POPULATIONS:
        rows = (test["population"] == population).to_numpy()
        part = test[rows]
        metrics[f"{population}.test.rows"] = int(rows.sum())
        if _labelled(part, "churned")["churned"].nunique() < 2:
            continue
        figures = evaluate(part, {who: p[rows] for who, p in predictions.items()})
        metrics |= {f"{population}.{k}": v for k, v in figures.items()}
    return metrics


def reference_profile(
    bundle: ModelBundle, train: pd.DataFrame, max_rows: int = 200_000
) -> ReferenceProfile:
    """The training distribution of the model's inputs and outputs (a seeded sample of rows).

    Calendar inputs (the cutoff's month) are left out: a scoring snapshot holds one month, so
    they would always look shifted.
    """
    rows = train.sample(n=max_rows, random_state=0) if len(train) > max_rows else train
    frame = pd.concat([bundle.model_inputs(rows), bundle.predict(rows)], axis=1)
    inputs = [c for c in bundle.model_columns if c not in CALENDAR_INPUTS]
    return ReferenceProfile.fit(frame, inputs, outputs=bundle.prediction_columns)


def _require_repeat_orders(dataset: Dataset, train: pd.DataFrame, horizon_days: int) -> None:
    """Refuse a history in which nobody ordered after a training cutoff: nothing to learn from.

    LightGBM would stop on the all-zero orders label with its own fatal error.
    """
    if train["orders_next"].fillna(0).gt(0).any():
        return
    source = dataset.reports["transactions"].source
    raise DataContractError(
        f"{source}: no customer ordered again within {horizon_days} days of any of the "
        f"{train['as_of'].nunique()} training cutoffs ({len(train):,} rows), so there is "
        "nothing to learn churn and orders from. Training needs customers who buy more than "
        "once: a longer history, or the whole customer base"
    )


def _fit_btyd(
    snapshots: Snapshots,
    split: TimeSplit,
    horizon_days: int,
    settings: TrainingSettings,
    choices: dict[str, Any],
) -> BtydFeatures | None:
    """BG/NBD + Gamma-Gamma fitted on the customers at the last training cutoff, or None.

    Only data before that cutoff is used, so no later split leaks into the numbers; a population
    the models cannot describe (e.g. no repeat buyer) leaves the inputs out, with the reason.
    """
    if not settings.btyd_features or not BtydFeatures.available(snapshots.plan.columns):
        choices["btyd_features"] = "off"
        return None
    train = split_frame(snapshots.frame, split)[0]
    rows = train[pd.to_datetime(train["as_of"]) == pd.Timestamp(split.train[-1])]
    try:
        btyd = BtydFeatures.fit(rows, horizon_days)
    except ValueError as exc:
        choices["btyd_features"] = f"off: {exc}"
        return None
    choices["btyd_features"] = f"fitted on {len(rows)} customers at {split.train[-1]:%Y-%m-%d}"
    return btyd


def _month_levels(model: ChurnModel) -> dict[str, str]:
    """Which calendar months had their level refit (seen in training), and which did not."""
    refit = {m for part in model.levels_.values() for m in part.get("as_of_month", {})}
    if not refit:
        return {}
    seen = sorted(int(float(m)) for m in refit)
    unseen = [m for m in range(1, 13) if m not in seen]
    text = "refit on the training rows for months " + ", ".join(map(str, seen))
    if unseen:
        text += "; not in training (the boosters' own level): " + ", ".join(map(str, unseen))
    return {"month_levels": text}


def period_metrics(bundle: ModelBundle, frame: pd.DataFrame) -> dict[str, float]:
    """Each directly learned period's figures on its own test cutoffs: ``test.ours.period_<k>.*``.

    Extrapolated periods have no held-out cutoff with the period observed (that is why they are
    extrapolated) and get no figures.
    """
    periods = bundle.periods
    if periods is None:
        return {}
    metrics: dict[str, float] = {}
    for k, split in periods.splits.items():
        rows = split_frame(frame, split)[2]
        rows = rows[rows[f"margin_period_{k}"].notna()]
        if rows.empty:
            continue
        predicted = bundle.predict(rows)[f"value_period_{k}"]
        figures = regression_metrics(rows[f"margin_period_{k}"], predicted)
        metrics |= {f"test.ours.period_{k}.{name}": v for name, v in figures.items()}
    return metrics


__all__ = [
    "HEADLINE",
    "POPULATION_WORDS",
    "TrainResult",
    "TrainingSettings",
    "calibrate",
    "comparison_table",
    "evaluate",
    "fit_models",
    "measured_populations",
    "population_metrics",
    "train_models",
    "verdict",
]
