"""Tune the churn model's hyperparameters with Optuna, on the validation cutoffs only.

:func:`tune_churn` takes the training and validation frames and nothing else, so the test
cutoffs cannot leak into the choice: each trial trains LightGBM on ``train`` and is scored by its
early-stopped log loss on ``valid`` (lower is better), exactly as :class:`ChurnModel` trains
(same encoding, same LightGBM parameters). The best parameters come back in the names
``ChurnModel`` takes.

Search space (``log`` = sampled on a log scale):

==================  =============  =========================================================
name                range          why
==================  =============  =========================================================
learning_rate       0.01–0.2 log   step size (only with ``learning_rate=None``, see below)
num_leaves          8–255 log      tree complexity
min_child_samples   10–500 log     rows per leaf: the main guard against noisy small segments
feature_fraction    0.5–1          share of features per tree
bagging_fraction    0.5–1          share of rows per tree (``bagging_freq`` fixed at 1)
lambda_l2           1e-3–10 log    L2 penalty on leaf values
==================  =============  =========================================================

By default every trial boosts at one fixed rate (``learning_rate``, 0.1) and the rate is left
out of ``best_params``, so the final model is refit at the caller's own rate: a rate trades
rounds for accuracy rather than shaping the trees, a fixed fast rate makes each trial a few times
cheaper, and the tree shape found transfers to a slower rate. ``learning_rate=None`` searches
the rate too and returns it.

Sampling is TPE, seeded. Pruning follows LightGBM's boosting rounds: every ``report_every``
rounds a callback reports the current validation log loss as the trial's intermediate value
(step = rounds done) and stops the trial when the pruner says so. The default pruner is a
median pruner that waits for 5 finished trials and gives every trial ``early_stopping_rounds``
rounds before judging it, so slow learning rates are not cut before they could have improved.

A study is resumable: with a database ``storage`` (:func:`default_storage` puts it beside the
MLflow store) a second call with the same ``study_name`` loads the study and runs
``n_trials`` more trials. The sampler's seed is offset by the number of trials already in the
study, so a resumed study does not replay its first random draws.
"""

# scikit-learn names the feature matrix X; this module keeps its spelling.
# ruff: noqa: N803, N806

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import optuna
import pandas as pd

from winback.common.errors import WinbackError
from winback.training.models import SAME_NAME_PARAMS, ChurnModel, _labels
from winback.training.progress import OnStep

#: ``ChurnModel`` keyword arguments fixed during tuning (the rest of the budget is an argument).
_FIXED = {"bagging_freq": 1}
#: Pruner defaults: finished trials before any pruning.
_PRUNER_STARTUP_TRIALS = 5
_METRIC = "binary_logloss"
_VALID = "valid"


class TuningError(WinbackError, RuntimeError):
    """A study finished without a single complete trial to take parameters from."""


@dataclass(frozen=True)
class TuningResult:
    """The outcome of a (possibly resumed) study, counted over all its trials."""

    #: Keyword arguments for ``ChurnModel``: the tuned values plus the fixed budget.
    best_params: dict[str, Any]
    #: Validation log loss of the best trial.
    best_value: float
    #: Complete trials in the study, over every call that ran it.
    n_trials: int
    n_pruned: int
    #: One row per trial: number, value, state, ``params_*`` and ``user_attrs_best_iteration``.
    history: pd.DataFrame = field(repr=False)
    study_name: str
    #: The storage URL, or None for an in-memory study.
    storage: str | None


def default_storage(root: Path) -> str:
    """``sqlite:///<root>/mlruns/optuna.db`` with ``root`` made absolute: beside the MLflow store.

    SQLite does not create directories: ``<root>/mlruns`` must exist (MLflow creates it).
    """
    return f"sqlite:///{(Path(root) / 'mlruns' / 'optuna.db').resolve()}"


def _suggest(trial: optuna.Trial, learning_rate: float | None) -> dict[str, Any]:
    """The search space documented in the module docstring, in ``ChurnModel``'s names."""
    rate = (
        trial.suggest_float("learning_rate", 0.01, 0.2, log=True)
        if learning_rate is None
        else learning_rate
    )
    return {
        "learning_rate": rate,
        "num_leaves": trial.suggest_int("num_leaves", 8, 255, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 10, 500, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
    }


def _lightgbm_params(model: dict[str, Any], threads: int) -> dict[str, Any]:
    """LightGBM parameters for ``ChurnModel`` keyword arguments, as ``ChurnModel`` sets them."""
    return {
        "objective": "binary",
        "metric": _METRIC,
        **{name: model[name] for name in SAME_NAME_PARAMS},
        "min_data_in_leaf": model["min_child_samples"],
        "num_threads": threads,
        "deterministic": True,
        "force_col_wise": True,
        "verbosity": -1,
    }


def _pruning_callback(trial: optuna.Trial, every: int) -> Any:
    """A LightGBM callback reporting validation log loss every ``every`` rounds, and pruning.

    Written here because Optuna's own LightGBM callback lives in ``optuna-integration``, which
    winback does not depend on.
    """

    def callback(env: lgb.callback.CallbackEnv) -> None:
        rounds = env.iteration + 1
        if rounds % every:
            return
        for data_name, metric, value, *_ in env.evaluation_result_list or []:
            if data_name == _VALID and metric == _METRIC:
                trial.report(float(value), step=rounds)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at round {rounds}: log loss {value:.5f}")
                return

    callback.order = 5  # type: ignore[attr-defined]  # LightGBM's hook: before early stopping
    return callback


@dataclass(frozen=True)
class _Objective:
    """One trial: suggest, train with pruning, return the early-stopped validation log loss."""

    train: tuple[pd.DataFrame, Any]
    valid: tuple[pd.DataFrame, Any]
    budget: dict[str, Any]
    report_every: int
    threads: int
    #: LightGBM interaction constraints, as ``ChurnModel`` derives them from additive features.
    constraints: dict[str, Any]
    #: The rate of every trial, or None to search it.
    learning_rate: float | None

    def __call__(self, trial: optuna.Trial) -> float:
        model = {**_suggest(trial, self.learning_rate), **_FIXED, **self.budget}
        # Fresh datasets per trial: LightGBM bins with min_data_in_leaf, which trials vary.
        train = lgb.Dataset(*self.train)
        valid = lgb.Dataset(*self.valid, reference=train)
        callbacks = [_pruning_callback(trial, self.report_every)]
        if model["early_stopping_rounds"]:
            callbacks.append(lgb.early_stopping(model["early_stopping_rounds"], verbose=False))
        booster = lgb.train(
            _lightgbm_params(model, self.threads) | self.constraints,
            train,
            num_boost_round=model["n_estimators"],
            valid_sets=[valid],
            valid_names=[_VALID],
            callbacks=callbacks,
        )
        trial.set_user_attr("best_iteration", booster.best_iteration or booster.num_trees())
        return float(booster.best_score[_VALID][_METRIC])


def _encoded(
    train_X: pd.DataFrame, train_y: Any, valid_X: pd.DataFrame, valid_y: Any
) -> tuple[tuple[pd.DataFrame, Any], tuple[pd.DataFrame, Any]]:
    """Both frames encoded as ``ChurnModel.fit`` encodes them, labels checked the same way.

    Borrows ``ChurnModel``'s own encoder so a tuned trial and the final fit see identical data.
    """
    encoder = ChurnModel()
    encoder._check_frame(train_X, "train_X")
    if len(train_X) == 0 or train_X.shape[1] == 0:
        raise ValueError(f"train_X is empty ({train_X.shape[0]} rows, {train_X.shape[1]} columns)")
    encoder.feature_names_ = [str(c) for c in train_X.columns]
    encoder.n_features_in_ = len(encoder.feature_names_)
    encoder.categories_ = encoder._learn_categories(train_X)
    out = []
    for X, y, what in ((train_X, train_y, "train_y"), (valid_X, valid_y, "valid_y")):
        labels = encoder._tasks(_labels(y, len(X), what), what)["binary"].label
        out.append((encoder._encode(X), labels))
    return out[0], out[1]


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna logs at WARNING inside the block; the caller's verbosity comes back after."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def tune_churn(
    train_X: pd.DataFrame,
    train_y: Any,
    valid_X: pd.DataFrame,
    valid_y: Any,
    *,
    n_trials: int,
    storage: str | None,
    study_name: str,
    seed: int = 0,
    n_jobs: int = 1,
    timeout: float | None = None,
    n_estimators: int = 2000,
    early_stopping_rounds: int | None = 100,
    report_every: int = 10,
    pruner: optuna.pruners.BasePruner | None = None,
    threads_per_trial: int | None = None,
    additive_features: tuple[str, ...] = (),
    on_step: OnStep | None = None,
    learning_rate: float | None = 0.1,
) -> TuningResult:
    """Run ``n_trials`` more trials of study ``study_name`` and return its best parameters.

    Args:
        train_X: the training cutoffs' feature columns (no keys, no labels).
        train_y: their 0/1 churn label.
        valid_X: the validation cutoffs' feature columns, the same as ``train_X``: for early
            stopping, pruning and the score. The test cutoffs are not an input, so they cannot
            influence the choice.
        valid_y: their 0/1 churn label.
        n_trials: trials to add in this call (a resumed study keeps its earlier ones).
        storage: an Optuna storage URL (``default_storage(root)``), or None for memory only.
        study_name: the study to create, or to continue when ``storage`` already holds it.
        seed: seeds the TPE sampler and LightGBM; with ``n_jobs=1`` a fresh study is
            reproducible.
        n_jobs: trials run in parallel (threads); above 1 the order, hence the result, varies.
        timeout: stop starting trials after this many seconds.
        n_estimators: each trial's maximum boosting rounds; passed on in ``best_params``.
        early_stopping_rounds: rounds without improvement before a trial stops (None: never);
            passed on in ``best_params``, so ``ChurnModel(**best_params)`` trains as the
            trial did.
        report_every: rounds between pruning checks.
        pruner: replaces the default median pruner (see the module docstring).
        threads_per_trial: LightGBM threads per trial; default every core with ``n_jobs=1``,
            one thread per trial otherwise.
        additive_features: columns each trial learns as a level only, as ``ChurnModel`` does;
            passed on in ``best_params``.
        on_step: called after each trial with its time and score (see ``training.progress``).
        learning_rate: the boosting rate of every trial, left out of ``best_params`` (the final
            model keeps its own); None searches it (0.01–0.2) and returns it.

    Raises:
        TuningError: no trial of the study has completed (all pruned or cut by ``timeout``).

    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1, got {n_trials}")
    if report_every < 1:
        raise ValueError(f"report_every must be at least 1, got {report_every}")
    if not study_name:
        raise ValueError("study_name must be a non-empty name, e.g. 'churn'")
    if learning_rate is not None and not 0 < learning_rate <= 1:
        raise ValueError(f"learning_rate must be in (0, 1] or None, got {learning_rate}")
    train, valid = _encoded(train_X, train_y, valid_X, valid_y)
    budget = {
        "n_estimators": n_estimators,
        "early_stopping_rounds": early_stopping_rounds,
        "seed": seed,
        "additive_features": additive_features,
    }
    probe = ChurnModel(additive_features=additive_features)
    probe.feature_names_ = [str(c) for c in train_X.columns]
    probe.n_features_in_ = len(probe.feature_names_)
    if pruner is None:
        pruner = optuna.pruners.MedianPruner(
            n_startup_trials=_PRUNER_STARTUP_TRIALS, n_warmup_steps=early_stopping_rounds or 0
        )
    threads = threads_per_trial if threads_per_trial is not None else (0 if n_jobs == 1 else 1)
    objective = _Objective(
        train, valid, budget, report_every, threads, probe._interaction_constraints(), learning_rate
    )
    with _quiet_optuna():
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            direction="minimize",
            pruner=pruner,
            load_if_exists=True,
        )
        # Offset the seed by the trials already run, so a resumed study draws new points.
        study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
        callbacks = [] if on_step is None else [_TrialReport(on_step, n_trials)]
        study.optimize(
            objective, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs, callbacks=callbacks
        )
    return _result(study, budget, storage)


@dataclass
class _TrialReport:
    """An Optuna callback: each finished trial of this call as one ``on_step`` report."""

    on_step: OnStep
    n_trials: int
    done: int = 0

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.done += 1
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
            detail = f"validation log loss {trial.value:.4f} (best {study.best_value:.4f})"
        elif trial.state == optuna.trial.TrialState.PRUNED:
            detail = f"pruned at round {trial.last_step}"
        else:
            detail = trial.state.name.lower()
        seconds = trial.duration.total_seconds() if trial.duration is not None else 0.0
        self.on_step(f"tuning trial {self.done}/{self.n_trials}", seconds, detail)


def _result(study: optuna.Study, budget: dict[str, Any], storage: str | None) -> TuningResult:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    complete = states.count(optuna.trial.TrialState.COMPLETE)
    pruned = states.count(optuna.trial.TrialState.PRUNED)
    if not complete:
        raise TuningError(
            f"study {study.study_name!r} has no complete trial ({pruned} pruned, "
            f"{len(states) - pruned} other): run more trials, raise the timeout or loosen the "
            "pruner"
        )
    best = study.best_trial
    history = study.trials_dataframe(attrs=("number", "value", "state", "params", "user_attrs"))
    return TuningResult(
        best_params={**best.params, **_FIXED, **budget},
        best_value=float(best.values[0]),
        n_trials=complete,
        n_pruned=pruned,
        history=history,
        study_name=study.study_name,
        storage=storage,
    )


__all__ = ["TuningError", "TuningResult", "default_storage", "tune_churn"]
