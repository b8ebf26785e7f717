"""Hyperparameter tuning: best parameters fit ChurnModel, studies resume, pruning, determinism."""

# scikit-learn names the feature matrix X.
# ruff: noqa: N806

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from winback.training.models import ChurnModel, ColumnMismatchError
from winback.training.tuning import TuningError, TuningResult, default_storage, tune_churn

Frames = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]

#: A tiny budget: a few dozen rounds, one thread, pruning checks every 5 rounds.
TINY: dict[str, Any] = {
    "n_estimators": 40,
    "early_stopping_rounds": 10,
    "report_every": 5,
    "threads_per_trial": 1,
}


def _frame(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.Series]:
    """Six informative-ish numbers, two noise columns and a text column; a noisy logistic label."""
    X = rng.normal(size=(n, 8))
    segment = rng.choice(["new", "loyal", "lapsed"], size=n)
    logit = X[:, :6] @ np.array([1.2, -0.8, 0.6, 0.4, -0.3, 0.2]) + (segment == "lapsed") * 0.7
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["segment"] = segment
    return frame, pd.Series(y, name="churned")


@pytest.fixture(scope="module")
def frames() -> Frames:
    rng = np.random.default_rng(7)
    train_X, train_y = _frame(rng, 1500)
    valid_X, valid_y = _frame(rng, 600)
    return train_X, train_y, valid_X, valid_y


@pytest.fixture(scope="module")
def tuned(frames: Frames) -> TuningResult:
    return tune_churn(*frames, n_trials=8, storage=None, study_name="churn", seed=3, **TINY)


def test_best_params_are_churn_model_arguments_and_fit(frames: Frames, tuned: TuningResult) -> None:
    train_X, train_y, valid_X, valid_y = frames
    assert set(tuned.best_params) <= set(ChurnModel().get_params())
    # The trials' fixed rate is not a tuned value: the caller's rate applies to the final model.
    assert "learning_rate" not in tuned.best_params
    model = ChurnModel(**tuned.best_params, learning_rate=0.1, n_jobs=1).fit(
        train_X, train_y, eval_set=(valid_X, valid_y)
    )
    # The trial trained the very model ChurnModel trains: same validation log loss.
    assert log_loss(valid_y, model.predict_proba(valid_X)) == pytest.approx(
        tuned.best_value, rel=1e-6
    )


def test_result_counts_and_history(tuned: TuningResult) -> None:
    history = tuned.history
    assert len(history) == 8
    assert tuned.n_trials + tuned.n_pruned == 8
    assert {"number", "value", "state", "params_num_leaves", "params_lambda_l2"} <= set(
        history.columns
    )
    assert tuned.best_value == history["value"].min()
    assert (tuned.study_name, tuned.storage) == ("churn", None)
    assert 8 <= tuned.best_params["num_leaves"] <= 255


def test_resumes_a_stored_study(frames: Frames, tmp_path: Path) -> None:
    (tmp_path / "mlruns").mkdir()
    storage = default_storage(tmp_path)
    budget = {**TINY, "report_every": 20}  # fewer database writes
    first = tune_churn(*frames, n_trials=8, storage=storage, study_name="churn", **budget)
    second = tune_churn(*frames, n_trials=8, storage=storage, study_name="churn", **budget)
    assert len(first.history) == 8
    assert len(second.history) == 16
    assert second.n_trials + second.n_pruned == 16
    assert second.history["number"].tolist() == list(range(16))
    assert second.best_value <= first.best_value
    # The resumed sampler is offset: it does not replay the first call's random draws.
    penalties = second.history["params_lambda_l2"]
    assert not np.allclose(penalties.iloc[:8].to_numpy(), penalties.iloc[8:].to_numpy())
    # Another name in the same storage is another study.
    other = tune_churn(*frames, n_trials=1, storage=storage, study_name="other", **budget)
    assert len(other.history) == 1
    assert sorted(optuna.get_all_study_names(storage)) == ["churn", "other"]


def test_pruning_callback_reports_rounds_and_prunes(frames: Frames, tmp_path: Path) -> None:
    (tmp_path / "mlruns").mkdir()
    storage = default_storage(tmp_path)
    # Log loss is never below 0: this pruner stops every trial at its first report.
    with pytest.raises(TuningError, match="no complete trial"):
        tune_churn(
            *frames,
            n_trials=3,
            storage=storage,
            study_name="doomed",
            pruner=optuna.pruners.ThresholdPruner(upper=0.0),
            **TINY,
        )
    trials = optuna.load_study(study_name="doomed", storage=storage).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.PRUNED] * 3
    for trial in trials:
        assert list(trial.intermediate_values) == [TINY["report_every"]]
        assert 0 < trial.intermediate_values[TINY["report_every"]] < 1


def test_median_pruner_prunes_weak_trials(frames: Frames) -> None:
    result = tune_churn(
        *frames,
        n_trials=10,
        storage=None,
        study_name="pruned",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
        **TINY,
    )
    assert result.n_pruned > 0
    assert result.n_trials > 0
    assert result.n_trials + result.n_pruned == 10
    assert set(result.history["state"]) <= {"COMPLETE", "PRUNED"}


def test_same_seed_same_study(frames: Frames, tuned: TuningResult) -> None:
    again = tune_churn(*frames, n_trials=8, storage=None, study_name="churn", seed=3, **TINY)
    assert again.best_params == tuned.best_params
    pd.testing.assert_frame_equal(again.history, tuned.history)
    other = tune_churn(*frames, n_trials=8, storage=None, study_name="churn", seed=4, **TINY)
    assert other.history["params_lambda_l2"].tolist() != (
        tuned.history["params_lambda_l2"].tolist()
    )


def test_the_rate_is_searched_only_when_asked(frames: Frames) -> None:
    searched = tune_churn(
        *frames, n_trials=3, storage=None, study_name="rate", learning_rate=None, **TINY
    )
    assert 0.01 <= searched.best_params["learning_rate"] <= 0.2
    assert "params_learning_rate" in searched.history.columns
    with pytest.raises(ValueError, match="learning_rate"):
        tune_churn(*frames, n_trials=1, storage=None, study_name="x", learning_rate=0.0, **TINY)


def test_takes_train_and_validation_only() -> None:
    parameters = inspect.signature(tune_churn).parameters
    positional = [name for name, p in parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == ["train_X", "train_y", "valid_X", "valid_y"]
    assert not [name for name in parameters if "test" in name]


def test_leaves_optuna_verbosity_as_it_was(frames: Frames) -> None:
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        tune_churn(*frames, n_trials=1, storage=None, study_name="quiet", **TINY)
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(before)


def test_default_storage_is_absolute_beside_mlruns(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    url = default_storage(Path("project"))
    assert url == f"sqlite:///{tmp_path.resolve()}/project/mlruns/optuna.db"


# --- failure paths ---------------------------------------------------------------------------


def test_refuses_validation_columns_that_differ(frames: Frames) -> None:
    train_X, train_y, valid_X, valid_y = frames
    with pytest.raises(ColumnMismatchError, match="x7"):
        tune_churn(
            train_X,
            train_y,
            valid_X.drop(columns="x7"),
            valid_y,
            n_trials=1,
            storage=None,
            study_name="x",
            **TINY,
        )


def test_refuses_labels_that_are_not_binary(frames: Frames) -> None:
    train_X, train_y, valid_X, valid_y = frames
    with pytest.raises(ValueError, match="only 0 and 1"):
        tune_churn(train_X, train_y * 2, valid_X, valid_y, n_trials=1, storage=None, study_name="x")


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ({"n_trials": 0}, "n_trials"),
        ({"study_name": ""}, "study_name"),
        ({"report_every": 0}, "report_every"),
    ],
)
def test_refuses_bad_arguments(frames: Frames, argument: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"n_trials": 1, "storage": None, "study_name": "x", **argument}
    with pytest.raises(ValueError, match=message):
        tune_churn(*frames, **arguments)
