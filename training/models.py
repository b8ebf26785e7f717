"""LightGBM models for churn, decline, order counts and spend, with the scikit-learn contract.

Every class stores keyword-only hyperparameters in ``__init__`` and learns in ``fit``; learned
state ends in ``_``. Inputs are pandas frames of feature columns only (keys and labels removed by
the caller); text columns become categoricals whose levels are fixed in ``fit``. Predicting on a
frame whose columns differ from training raises :class:`ColumnMismatchError`. Models are saved
as one JSON file (LightGBM model strings, parameters and category levels; no pickle).

Features named in ``additive_features`` (the cutoff's calendar month) may only shift the score,
never enter another feature's branches (LightGBM interaction constraints). The levels of those
also named in ``level_features`` are refit on the training rows after boosting, one offset per
category and booster (:mod:`training.levels`); the offset is part of the feature's contribution.

Scales: ``raw_score`` and ``contributions`` are on the link scale, log-odds for
:class:`ChurnModel`, the log of the expected value for :class:`CountModel` and
:class:`SpendModel`.
"""

# scikit-learn names the feature matrix X; these estimators keep its signatures.
# ruff: noqa: N803, N806

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Self, cast

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from winback.common.errors import WinbackError
from winback.training.encoding import encode, learn_levels
from winback.training.levels import fit_offsets

_FORMAT = "winback-lightgbm-model"
_FORMAT_VERSION = 1
#: Hyperparameters passed to LightGBM under their own name.
SAME_NAME_PARAMS = (
    "learning_rate",
    "num_leaves",
    "feature_fraction",
    "bagging_fraction",
    "bagging_freq",
    "lambda_l2",
    "seed",
)


#: Distinct values a level feature may take: one refit offset each.
MAX_LEVELS = 400
#: Training rows (every k-th) a level is refit on.
LEVEL_ROWS = 200_000


class ColumnMismatchError(WinbackError, ValueError):
    """A frame's columns differ from the columns the model was fitted on."""


class ModelFileError(WinbackError, ValueError):
    """A saved model file is not a winback LightGBM model this code can read."""


@dataclass(frozen=True)
class _Task:
    """One booster to train: its objective parameters, which rows and which label."""

    params: dict[str, Any]
    rows: np.ndarray  # boolean mask over the rows of X
    label: np.ndarray
    weight: np.ndarray | None = None  # per selected row; None = every row counts once


def _labels(y: Any, n_rows: int, what: str, columns: int = 1) -> np.ndarray:
    """``y`` as finite floats, ``n_rows`` long (by ``columns`` wide when more than one).

    Raises a ValueError saying what is wrong.
    """
    try:
        if isinstance(y, pd.Series | pd.DataFrame):
            values = y.to_numpy(dtype="float64", na_value=np.nan)
        else:
            values = np.asarray(y, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric: {exc}") from exc
    if columns == 1 and values.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {values.shape}")
    if columns > 1 and (values.ndim != 2 or values.shape[1] != columns):
        raise ValueError(f"{what} must have {columns} columns, got shape {values.shape}")
    if len(values) != n_rows:
        raise ValueError(f"{what} has {len(values)} values but X has {n_rows} rows")
    missing = np.isnan(values) if values.ndim == 1 else np.isnan(values).any(axis=1)
    if missing.any():
        raise ValueError(
            f"{what} has {int(missing.sum())} missing (NaN) labels, first at row "
            f"{int(np.flatnonzero(missing)[0])}: drop the rows whose label is undefined "
            "before fit (e.g. `declined` is NaN for customers who were offered nothing)"
        )
    if not np.isfinite(values).all():
        raise ValueError(f"{what} has infinite values; labels must be finite")
    return values


class _LightGBMModel(BaseEstimator):
    """Shared fit, predict, explain and save logic; subclasses say what to train."""

    def __init__(
        self,
        *,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 50,
        feature_fraction: float = 0.8,
        bagging_fraction: float = 0.8,
        bagging_freq: int = 1,
        lambda_l2: float = 1.0,
        n_estimators: int = 2000,
        early_stopping_rounds: int | None = 100,
        seed: int = 0,
        n_jobs: int = 0,
        additive_features: tuple[str, ...] = (),
        level_features: tuple[str, ...] = (),
    ) -> None:
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.bagging_freq = bagging_freq
        self.lambda_l2 = lambda_l2
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed
        self.n_jobs = n_jobs
        self.additive_features = additive_features
        self.level_features = level_features

    #: Whether the link is the logit (else the log): how a refit level maps onto the mean.
    _logistic = False

    # --- what subclasses define -------------------------------------------------------------

    def _tasks(self, y: np.ndarray, what: str) -> dict[str, _Task]:
        """The boosters to train on labels ``y``, by name; checks the label domain."""
        raise NotImplementedError

    def _label_columns(self) -> int:
        """How many label columns ``fit`` takes (one unless a subclass needs more)."""
        return 1

    def _raw(self, data: pd.DataFrame) -> np.ndarray:
        """The link-scale score; one booster by default."""
        return self._part_raw(self._first_part(), data)

    def _mean(self, data: pd.DataFrame) -> np.ndarray:
        """The prediction on the response scale; one booster by default."""
        name = self._first_part()
        if not self.levels_.get(name):
            return np.asarray(self.booster_.predict(data), dtype="float64")
        raw = self._part_raw(name, data)
        return 1.0 / (1.0 + np.exp(-raw)) if self._logistic else np.exp(raw)

    def _contrib(self, data: pd.DataFrame) -> np.ndarray:
        """Per-feature contributions plus a bias column, summing to ``_raw``."""
        return self._part_contrib(self._first_part(), data)

    # --- one booster's scores, with its refit levels -------------------------------------------

    def _first_part(self) -> str:
        return next(iter(self.boosters_))

    def _level_codes(
        self, feature: str, data: pd.DataFrame, names: list[str] | None = None
    ) -> tuple[np.ndarray, list[str]]:
        """Each row's level of ``feature`` as a code into the level names (−1: none of them).

        A categorical's levels are its categories; a number's are ``names`` (its values as
        text), by default the distinct values in ``data``.
        """
        column = data[feature]
        if feature in self.categories_:
            return np.asarray(column.cat.codes, dtype=np.int64), self.categories_[feature]
        values = column.to_numpy(dtype="float64")
        if names is None:
            names = [f"{v:g}" for v in np.unique(values[np.isfinite(values)])]
        index = pd.Index([float(n) for n in names], dtype="float64")
        return np.asarray(index.get_indexer(values), dtype=np.int64), names

    def _level_offset(self, name: str, feature: str, data: pd.DataFrame) -> np.ndarray:
        """Each row's refit level of ``feature`` in booster ``name``."""
        values = self.levels_[name][feature]
        names = None if feature in self.categories_ else list(values)
        codes, names = self._level_codes(feature, data, names)
        # Code -1 (an unseen or missing level) reads the trailing 0: the booster's own view.
        return np.array([values.get(n, 0.0) for n in names] + [0.0])[codes]

    def _offset(self, name: str, data: pd.DataFrame) -> np.ndarray | None:
        """The sum of the refit level offsets of booster ``name`` (None when it has none)."""
        features = self.levels_.get(name)
        if not features:
            return None
        return sum((self._level_offset(name, f, data) for f in features), np.zeros(len(data)))

    def _part_raw(self, name: str, data: pd.DataFrame) -> np.ndarray:
        raw = np.asarray(self.boosters_[name].predict(data, raw_score=True), dtype="float64")
        offset = self._offset(name, data)
        return raw if offset is None else raw + offset

    def _part_contrib(self, name: str, data: pd.DataFrame) -> np.ndarray:
        values = np.asarray(self.boosters_[name].predict(data, pred_contrib=True), dtype="float64")
        for feature in self.levels_.get(name, {}):
            values[:, self.feature_names_.index(feature)] += self._level_offset(name, feature, data)
        return values

    # --- fitting ----------------------------------------------------------------------------

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        *,
        eval_set: tuple[pd.DataFrame, Any] | None = None,
        pretrained: dict[str, _LightGBMModel] | None = None,
        sample_weight: Any = None,
    ) -> Self:
        """Train on ``X`` and ``y``; early-stop on ``eval_set`` (a later period) when given.

        Without ``eval_set`` all ``n_estimators`` rounds are kept. Rows whose label is undefined
        (NaN) are refused, not dropped: the caller decides which rows belong in training.
        ``pretrained`` maps a part's name (``"orders"`` of ``SpendModel(objective=
        "orders_x_value")``) to a fitted model that trained exactly that part on the same rows,
        label and hyperparameters; its booster is taken instead of training it again.
        ``sample_weight`` (one non-negative number per row of ``X``) weighs each row's loss.
        """
        self._check_frame(X, "X")
        if len(X) == 0 or X.shape[1] == 0:
            raise ValueError(f"X is empty ({X.shape[0]} rows, {X.shape[1]} columns)")
        labels = _labels(y, len(X), "y", self._label_columns())
        self.feature_names_ = [str(c) for c in X.columns]
        self.n_features_in_ = len(self.feature_names_)
        self.categories_ = self._learn_categories(X)
        self._check_level_features()
        data = self._encode(X)
        tasks = self._tasks(labels, "y")
        if sample_weight is not None:
            weight = np.asarray(sample_weight, dtype="float64")
            if weight.shape != (len(X),) or not (np.isfinite(weight) & (weight >= 0)).all():
                raise ValueError("sample_weight must hold one finite number >= 0 per row of X")
            tasks = {
                n: replace(t, weight=weight[t.rows] * (1.0 if t.weight is None else t.weight))
                for n, t in tasks.items()
            }
        eval_tasks: dict[str, _Task] = {}
        eval_data = None
        if eval_set is not None:
            X_eval, y_eval = eval_set
            self._check_frame(X_eval, "eval_set X")
            eval_data = self._encode(X_eval)
            y_eval = _labels(y_eval, len(X_eval), "eval_set y", self._label_columns())
            eval_tasks = self._tasks(y_eval, "eval_set y")
        trained = {}
        for name, task in tasks.items():
            given = (pretrained or {}).get(name)
            if given is not None:
                trained[name] = self._reuse(given, name)
                continue
            held = None if eval_data is None else (eval_data, eval_tasks[name])
            trained[name] = self._train(data, task, held)
        self._set_boosters(trained)
        levels = {name: self._fit_levels(name, data, task) for name, task in tasks.items()}
        self.levels_: dict[str, dict[str, dict[str, float]]] = {
            name: refit for name, refit in levels.items() if refit
        }
        return self

    def _check_level_features(self) -> None:
        loose = sorted(set(self.level_features) - set(self.additive_features))
        if loose:
            raise ValueError(f"level_features must also be additive_features: {loose}")

    def _fit_levels(self, name: str, data: pd.DataFrame, task: _Task) -> dict[str, dict]:
        """Booster ``name``'s level per category of each ``level_features``, on its own rows."""
        if not self.level_features or not task.rows.any():
            return {}
        rows = _selected(data, task.rows)
        # Every k-th row, at most LEVEL_ROWS: a month's level is settled long before that, and
        # predicting every row cost 19% of the time of a 300,000-row training (measured).
        step = -(-len(rows) // LEVEL_ROWS)
        rows = rows.iloc[::step]
        label = task.label[::step]
        weight = None if task.weight is None else task.weight[::step]
        raw = np.asarray(self.boosters_[name].predict(rows, raw_score=True), dtype="float64")
        logistic = task.params["objective"] == "binary"
        levels: dict[str, dict] = {}
        for feature in self.level_features:
            codes, names = self._level_codes(feature, rows)
            if len(names) > MAX_LEVELS:
                raise ValueError(
                    f"level feature {feature!r} has {len(names)} distinct values in training; "
                    f"a level per value needs at most {MAX_LEVELS}"
                )
            offsets = fit_offsets(
                logistic,
                raw,
                label,
                codes,
                len(names),
                weight=weight,
                l2=self.lambda_l2,
                min_rows=self.min_child_samples,
            )
            seen = np.bincount(codes[codes >= 0], minlength=len(offsets)) >= self.min_child_samples
            named = zip(names, offsets, seen, strict=True)
            levels[feature] = {c: float(v) for c, v, has_rows in named if has_rows}
            raw = raw + np.append(offsets, 0.0)[codes]
        return levels

    def _reuse(self, given: _LightGBMModel, name: str) -> tuple[lgb.Booster, int]:
        """A fitted model's booster for part ``name``, if it was fitted as this part would be."""
        same = (
            given.__sklearn_is_fitted__()
            and len(given.boosters_) == 1
            and given.feature_names_ == self.feature_names_
            and given.categories_ == self.categories_
            and {k: v for k, v in given.get_params().items() if k in self.get_params()}
            == {k: v for k, v in self.get_params().items() if k in given.get_params()}
        )
        if not same:
            raise ValueError(
                f"pretrained {name!r} must be one fitted booster with this model's columns, "
                "categories and hyperparameters"
            )
        return given.booster_, given.best_iteration_

    def _train(
        self, data: pd.DataFrame, task: _Task, held: tuple[pd.DataFrame, _Task] | None
    ) -> tuple[lgb.Booster, int]:
        """One booster and its best round, early-stopped on ``held`` when given."""
        train = lgb.Dataset(_selected(data, task.rows), task.label, weight=task.weight)
        valid: list[lgb.Dataset] = []
        callbacks: list[Callable[..., Any]] = []
        if held is not None:
            held_data, held_task = held
            if not held_task.rows.any():
                raise ValueError(f"eval_set has no rows to evaluate {task.params['objective']}")
            rows = _selected(held_data, held_task.rows)
            valid = [lgb.Dataset(rows, held_task.label, weight=held_task.weight, reference=train)]
            if self.early_stopping_rounds:
                callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        params = {
            **task.params,
            **{name: getattr(self, name) for name in SAME_NAME_PARAMS},
            "min_data_in_leaf": self.min_child_samples,
            "num_threads": self.n_jobs,
            **self._interaction_constraints(),
            # Same data, parameters and seed give the same trees, run after run.
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }
        booster = lgb.train(
            params,
            train,
            num_boost_round=self.n_estimators,
            valid_sets=valid,
            valid_names=["eval"] if valid else None,
            callbacks=callbacks,
        )
        best = booster.best_iteration or booster.current_iteration()
        # Keep only the trees up to the best round, so predict and save need no bookkeeping.
        return lgb.Booster(model_str=booster.model_to_string(num_iteration=best)), best

    def _interaction_constraints(self) -> dict[str, Any]:
        """Keep each of ``additive_features`` out of every other feature's branches.

        Such a feature then moves the score by itself (a level, e.g. the season of a calendar
        month) and never re-ranks customers: a month is seen at one or two cutoffs in a few years
        of history, so any interaction with it would be learned from one cutoff's customers.
        """
        unknown = sorted(set(self.additive_features) - set(self.feature_names_))
        if unknown:
            raise ValueError(f"additive_features names columns X does not have: {unknown}")
        alone = list(dict.fromkeys(self.feature_names_.index(f) for f in self.additive_features))
        if not alone:
            return {}
        rest = [i for i in range(self.n_features_in_) if i not in set(alone)]
        return {"interaction_constraints": [[i] for i in alone] + ([rest] if rest else [])}

    def _set_boosters(self, trained: dict[str, tuple[lgb.Booster, int]]) -> None:
        """Learned state from named (booster, best round) pairs; the first is ``booster_``."""
        self.boosters_ = {name: booster for name, (booster, _) in trained.items()}
        self.levels_ = {}
        self.best_iterations_ = {name: best for name, (_, best) in trained.items()}
        self.booster_, self.best_iteration_ = next(iter(trained.values()))
        # Total gain per feature, summed over the parts, in feature_names_ order.
        self.feature_importances_ = sum(
            (b.feature_importance(importance_type="gain") for b in self.boosters_.values()),
            start=np.zeros(self.n_features_in_),
        )

    # --- columns and categories --------------------------------------------------------------

    @staticmethod
    def _check_frame(X: Any, what: str) -> None:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"{what} must be a pandas DataFrame, got {type(X).__name__}")
        if X.columns.has_duplicates:
            dupes = sorted({str(c) for c in X.columns[X.columns.duplicated()]})
            raise ValueError(f"{what} has duplicate columns: {dupes}")

    def _learn_categories(self, X: pd.DataFrame) -> dict[str, list[str]]:
        return learn_levels(X, self.feature_names_)

    def _encode(self, X: pd.DataFrame) -> pd.DataFrame:
        """Training columns in training order: numbers as float64, text as fixed categoricals."""
        self._check_frame(X, "X")
        missing = [c for c in self.feature_names_ if c not in X.columns]
        unexpected = [str(c) for c in X.columns if c not in set(self.feature_names_)]
        if missing or unexpected:
            raise ColumnMismatchError(
                f"{type(self).__name__} was fitted on {self.n_features_in_} columns; the frame "
                f"is missing {missing} and has unexpected {unexpected}. Pass exactly the "
                "training columns (model.feature_names_), in any order."
            )
        return encode(X, self.feature_names_, self.categories_)

    # --- predicting ---------------------------------------------------------------------------

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "booster_")

    def _fitted_data(self, X: pd.DataFrame) -> pd.DataFrame:
        if not self.__sklearn_is_fitted__():
            name = type(self).__name__
            raise NotFittedError(
                f"this {name} is not fitted yet: call fit(X, y) or {name}.load(path) first"
            )
        return self._encode(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The expected value per row on the response scale (a probability for ChurnModel)."""
        return self._mean(self._fitted_data(X))

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """The score on the link scale: log-odds (ChurnModel) or log of the expected value."""
        return self._raw(self._fitted_data(X))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """SHAP values per row: one column per feature plus ``bias``; rows sum to ``raw_score``.

        The scale is the link scale: log-odds for ChurnModel, log of the expected count or spend
        for CountModel and SpendModel. The index is the index of ``X``.
        """
        values = self._contrib(self._fitted_data(X))
        return pd.DataFrame(values, columns=[*self.feature_names_, "bias"], index=X.index)

    # --- saving -------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to one JSON file at ``path`` and return the path."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: nothing to save")
        document = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "class": type(self).__name__,
            "params": self.get_params(),
            "feature_names": self.feature_names_,
            "categories": self.categories_,
            "best_iterations": self.best_iterations_,
            "boosters": {name: b.model_to_string() for name, b in self.boosters_.items()},
            "levels": self.levels_,
        }
        target = Path(path)
        target.write_text(json.dumps(document), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save`; predictions equal those before saving."""
        source = Path(path)
        try:
            document = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"{source}: cannot read a saved model ({exc})") from exc
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise ModelFileError(f"{source}: not a winback LightGBM model file")
        if document.get("version") != _FORMAT_VERSION:
            raise ModelFileError(
                f"{source}: model file version {document.get('version')!r}; this code reads "
                f"version {_FORMAT_VERSION}"
            )
        classes = {c.__name__: c for c in (ChurnModel, CountModel, SpendModel)}
        klass = classes.get(document.get("class", ""))
        if klass is None or not issubclass(klass, cls):
            raise ModelFileError(
                f"{source}: holds a {document.get('class')!r}, not a {cls.__name__}"
            )
        params = dict(document["params"])
        # JSON has no tuples; these hyperparameters are, as get_params() reports them.
        for name in ("additive_features", "level_features"):
            params[name] = tuple(params.get(name, ()))
        model = cast("Self", klass(**params))
        model.feature_names_ = list(document["feature_names"])
        model.n_features_in_ = len(model.feature_names_)
        model.categories_ = {k: list(v) for k, v in document["categories"].items()}
        best = document["best_iterations"]
        model._set_boosters(
            {
                name: (lgb.Booster(model_str=text), int(best[name]))
                for name, text in document["boosters"].items()
            }
        )
        # Files written before levels were refit have none: the boosters' own view.
        model.levels_ = {
            part: {f: {c: float(v) for c, v in values.items()} for f, values in features.items()}
            for part, features in document.get("levels", {}).items()
        }
        return model


def _selected(data: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The rows a task trains on; the frame itself (no copy) when that is every row."""
    if rows.all():
        # A boolean selection copies the whole matrix (a GiB at a million rows); with pandas'
        # copy-on-write, reset_index alone shares the data.
        return data.reset_index(drop=True)
    return data[rows].reset_index(drop=True)


class ChurnModel(_LightGBMModel):
    """P(event) for a binary label: churn, or decline of an offer.

    ``predict`` and ``predict_proba`` both return P(label = 1) as a 1-D array (unlike
    scikit-learn classifiers, whose ``predict_proba`` has one column per class): offers are
    priced with the probability, so there is no thresholded class prediction.
    """

    _logistic = True

    def _tasks(self, y: np.ndarray, what: str) -> dict[str, _Task]:
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError(f"{what} must hold only 0 and 1 for {type(self).__name__}")
        return {"binary": _Task({"objective": "binary"}, np.ones(len(y), dtype=bool), y)}

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(label = 1) per row, as a 1-D array."""
        return self.predict(X)


class CountModel(_LightGBMModel):
    """Expected number of orders over the horizon (Poisson objective, log link)."""

    def _tasks(self, y: np.ndarray, what: str) -> dict[str, _Task]:
        if (y < 0).any():
            raise ValueError(f"{what} must be non-negative counts for {type(self).__name__}")
        return {"poisson": _Task({"objective": "poisson"}, np.ones(len(y), dtype=bool), y)}


SpendObjective = Literal["tweedie", "two_part", "orders_x_value"]


class SpendModel(_LightGBMModel):
    """Expected spend (or margin) over a window: zero for most customers, skewed above zero.

    ``objective="tweedie"`` fits one booster with a Tweedie loss (``tweedie_variance_power``
    between 1, Poisson-like, and 2, gamma-like). ``objective="two_part"`` fits
    P(spend > 0) (binary) times E[spend | spend > 0] (gamma, on the rows that spent).
    ``objective="orders_x_value"`` is the classical CLV decomposition (BG/NBD × Gamma-Gamma's,
    learned by trees): E[orders] (Poisson) times E[spend per order] (gamma on the rows that
    ordered and spent, each weighted by its order count); its ``y`` has two columns, spend and
    the order count. All predict on the response scale and explain on the log of the expected
    spend: orders × value adds its two boosters' log-scale contributions; for two-part the
    classifier's log-odds contributions are rescaled onto log P(spend > 0) by the secant slope
    of log-sigmoid between the bias and the row's score, so rows still sum exactly.
    """

    def __init__(
        self,
        *,
        objective: SpendObjective = "tweedie",
        tweedie_variance_power: float = 1.3,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 50,
        feature_fraction: float = 0.8,
        bagging_fraction: float = 0.8,
        bagging_freq: int = 1,
        lambda_l2: float = 1.0,
        n_estimators: int = 2000,
        early_stopping_rounds: int | None = 100,
        seed: int = 0,
        n_jobs: int = 0,
        additive_features: tuple[str, ...] = (),
        level_features: tuple[str, ...] = (),
    ) -> None:
        super().__init__(
            learning_rate=learning_rate,
            num_leaves=num_leaves,
            min_child_samples=min_child_samples,
            feature_fraction=feature_fraction,
            bagging_fraction=bagging_fraction,
            bagging_freq=bagging_freq,
            lambda_l2=lambda_l2,
            n_estimators=n_estimators,
            early_stopping_rounds=early_stopping_rounds,
            seed=seed,
            n_jobs=n_jobs,
            additive_features=additive_features,
            level_features=level_features,
        )
        self.objective = objective
        self.tweedie_variance_power = tweedie_variance_power

    def _label_columns(self) -> int:
        return 2 if self.objective == "orders_x_value" else 1

    def _tasks(self, y: np.ndarray, what: str) -> dict[str, _Task]:
        spend = y[:, 0] if y.ndim == 2 else y
        if (spend < 0).any():
            raise ValueError(
                f"{what} has {int((spend < 0).sum())} negative amounts (min {spend.min():g}); "
                f"{type(self).__name__} needs amounts >= 0: spend net of refunds can dip below "
                "zero, so clip it at 0 before fit"
            )
        everyone = np.ones(len(y), dtype=bool)
        if self.objective == "orders_x_value":
            return self._orders_x_value_tasks(spend, y[:, 1], what)
        if self.objective == "tweedie":
            if not 1.0 < self.tweedie_variance_power < 2.0:
                raise ValueError(
                    "tweedie_variance_power must lie strictly between 1 and 2, got "
                    f"{self.tweedie_variance_power}"
                )
            params = {
                "objective": "tweedie",
                "tweedie_variance_power": self.tweedie_variance_power,
            }
            return {"tweedie": _Task(params, everyone, y)}
        if self.objective == "two_part":
            spent = y > 0
            if what == "y" and not spent.any():
                raise ValueError(f"{what} has no positive amounts: nothing for the amount part")
            return {
                "occurrence": _Task({"objective": "binary"}, everyone, spent.astype("float64")),
                "amount": _Task({"objective": "gamma"}, spent, y[spent]),
            }
        raise ValueError(
            f"objective must be 'tweedie', 'two_part' or 'orders_x_value', got {self.objective!r}"
        )

    @staticmethod
    def _orders_x_value_tasks(spend: np.ndarray, orders: np.ndarray, what: str) -> dict[str, _Task]:
        if (orders < 0).any():
            raise ValueError(f"{what}: the order counts (second column) must be non-negative")
        # Orders whose net spend is zero (all returned) say nothing about the value of an order.
        valued = (orders > 0) & (spend > 0)
        if what == "y" and not valued.any():
            raise ValueError(
                f"{what} has no rows with orders and spend: nothing for the value part"
            )
        return {
            "orders": _Task({"objective": "poisson"}, np.ones(len(spend), dtype=bool), orders),
            "value": _Task(
                {"objective": "gamma"},
                valued,
                spend[valued] / orders[valued],
                weight=orders[valued],
            ),
        }

    def _raw(self, data: pd.DataFrame) -> np.ndarray:
        if "value" in self.boosters_:
            return self._part_raw("orders", data) + self._part_raw("value", data)
        if "amount" not in self.boosters_:
            return super()._raw(data)
        logit = self._part_raw("occurrence", data)
        return _log_sigmoid(logit) + self._part_raw("amount", data)

    def _mean(self, data: pd.DataFrame) -> np.ndarray:
        if "amount" not in self.boosters_ and "value" not in self.boosters_:
            return super()._mean(data)
        return np.exp(self._raw(data))

    def _contrib(self, data: pd.DataFrame) -> np.ndarray:
        if "value" in self.boosters_:
            return self._part_contrib("orders", data) + self._part_contrib("value", data)
        if "amount" not in self.boosters_:
            return super()._contrib(data)
        occurrence = self._part_contrib("occurrence", data)
        amount = self._part_contrib("amount", data)
        bias, score = occurrence[:, -1], occurrence.sum(axis=1)
        step = score - bias
        close = np.abs(step) < 1e-9
        # Secant slope of log-sigmoid from the bias to the score (its derivative when they meet):
        # positive, so every feature keeps the sign it has in the classifier.
        slope = np.where(
            close,
            np.exp(_log_sigmoid(-bias)),
            (_log_sigmoid(score) - _log_sigmoid(bias)) / np.where(close, 1.0, step),
        )
        combined = amount + occurrence * slope[:, None]
        combined[:, -1] = amount[:, -1] + _log_sigmoid(bias)
        return combined


def _log_sigmoid(z: np.ndarray) -> np.ndarray:
    """log(1 / (1 + exp(-z))) without overflow."""
    return -np.logaddexp(0.0, -z)


__all__ = [
    "ChurnModel",
    "ColumnMismatchError",
    "CountModel",
    "ModelFileError",
    "SpendModel",
    "SpendObjective",
]
