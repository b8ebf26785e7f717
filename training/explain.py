"""Why a customer is scored as they are: per-row reasons, global importance and summary plots.

Every number here is a SHAP value from :meth:`ChurnModel.contributions` (and the other models'),
which asks LightGBM for ``pred_contrib``: one column per feature plus ``bias``, each row summing
to the raw score, on the model's link scale (log-odds for churn; log of the expected value for
orders and spend). ``contribution`` columns below are on that scale.

``pred_contrib`` is exact path-dependent TreeSHAP (Lundberg, Erion and Lee, 2018), the algorithm
``shap.TreeExplainer`` runs in its ``tree_path_dependent`` mode, so the ``shap`` package would
add a dependency and no information; the two-part spend model's boosters already combine into
contributions that sum exactly (:class:`SpendModel`). TreeSHAP costs O(trees · leaves · depth²)
a row, far more than predicting, so explain the rows someone will act on (the offer list), not
every customer; :func:`top_contributions` works in chunks so a million rows fit in memory. The
comparison and the timings: ``docs/2026-12-05-scoring-cost.md``.

Join ``feature`` with ``features.describe_features(settings, plan)["name"]`` for the business
meaning of each reason.
"""

# scikit-learn names the feature matrix X; these functions keep that name.
# ruff: noqa: N803, N806

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, get_args

import numpy as np
import pandas as pd

from winback.common.figures import new_figure, save_figure

if TYPE_CHECKING:
    pass

Direction = Literal["increase", "decrease", "abs"]
#: Columns of :func:`top_contributions`, in order.
REASON_COLUMNS = ("row", "rank", "feature", "value", "contribution")
#: Columns of :func:`global_importance`, in order.
IMPORTANCE_COLUMNS = ("feature", "mean_abs_contribution", "share")
_BIAS = "bias"


class Explainable(Protocol):
    """A fitted model that gives SHAP values: one column per feature plus ``bias``."""

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """SHAP values per row of ``X``; each row sums to the raw score."""
        ...


# --- checks -------------------------------------------------------------------------------------


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _feature_contributions(model: Explainable, X: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """Feature names in name order and the matching (rows, features) SHAP values, bias dropped."""
    contrib = model.contributions(X)
    if _BIAS not in contrib.columns:
        raise ValueError(
            f"{type(model).__name__}.contributions returned no {_BIAS!r} column; expected one "
            "column per feature plus 'bias' (LightGBM pred_contrib)"
        )
    # Name order makes the stable sort below break ties by feature name.
    names = sorted(str(c) for c in contrib.columns if c != _BIAS)
    values = contrib[names].to_numpy(dtype="float64")
    return names, values


def _chunks(n_rows: int, chunk_size: int) -> range:
    return range(0, n_rows, chunk_size)


# --- per-row reasons ----------------------------------------------------------------------------


def top_contributions(
    model: Explainable,
    X: pd.DataFrame,
    k: int = 3,
    *,
    direction: Direction = "increase",
    chunk_size: int = 100_000,
    exclude: Collection[str] = (),
    blocked: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The ``k`` strongest reasons per row of ``X``, one output row per (row, rank).

    ``direction="increase"`` keeps the largest positive contributions (towards churn for
    :class:`ChurnModel`), ``"decrease"`` the most negative, ``"abs"`` the largest in size of
    either sign. Contributions of exactly zero (and of the wrong sign) are never reasons, so a
    row may have fewer than ``k`` of them, or none. Equal contributions rank by feature name.

    Columns: ``row`` (position in ``X``; ``X.index[row]`` gives its label), ``rank`` (1 is the
    strongest), ``feature``, ``value`` (the row's value of that feature, as an object) and
    ``contribution`` (float, on the model's raw scale). Rows are sorted by ``row`` then ``rank``.
    ``X`` is explained ``chunk_size`` rows at a time, bounding memory for large frames.
    Features in ``exclude`` are never reasons (their contributions still count in the model's
    score); the next strongest take their place. ``blocked`` (booleans, rows as ``X``'s, columns
    named by feature; missing columns are False) does the same for single values.
    """
    k = _positive_int(k, "k")
    chunk_size = _positive_int(chunk_size, "chunk_size")
    if direction not in get_args(Direction):
        raise ValueError(f"direction must be one of {list(get_args(Direction))}, got {direction!r}")
    parts = [
        _top_of_chunk(
            model,
            X.iloc[start : start + chunk_size],
            k,
            direction,
            start,
            exclude,
            None if blocked is None else blocked.iloc[start : start + chunk_size],
        )
        for start in _chunks(len(X), chunk_size)
    ]
    if not parts:
        return _reasons(np.array([], dtype="int64"), np.array([], dtype="int64"), [], [], [])
    return pd.concat(parts, ignore_index=True)


def _top_of_chunk(
    model: Explainable,
    chunk: pd.DataFrame,
    k: int,
    direction: Direction,
    offset: int,
    exclude: Collection[str],
    blocked: pd.DataFrame | None,
) -> pd.DataFrame:
    names, values = _feature_contributions(model, chunk)
    # Sort key: smaller is stronger; entries that cannot be reasons get +inf and sort last.
    if direction == "increase":
        key, eligible = -values, values > 0
    elif direction == "decrease":
        key, eligible = values, values < 0
    else:
        key, eligible = -np.abs(values), np.abs(values) > 0
    eligible &= ~np.isin(np.asarray(names, dtype=object), list(exclude))
    if blocked is not None:
        eligible &= ~blocked.reindex(columns=names, fill_value=False).to_numpy(dtype=bool)
    key = np.where(eligible, key, np.inf)
    # A stable full sort, not argpartition: argpartition picks arbitrarily among ties at the
    # k-th place, and the ranking must break ties by name. With ~100 features it costs far less
    # than computing the contributions.
    order = np.argsort(key, axis=1, kind="stable")[:, :k]
    keep = np.take_along_axis(eligible, order, axis=1)
    # Row-major nonzero: sorted by row, then rank. Eligible entries come first in every row.
    rows, ranks = np.nonzero(keep)
    columns = order[rows, ranks]
    contribution = values[rows, columns]
    feature = np.asarray(names, dtype=object)[columns]
    value = np.empty(len(rows), dtype=object)
    for column in np.unique(columns):
        picked = columns == column
        source = chunk[names[column]].iloc[rows[picked]]
        value[picked] = source.to_numpy(dtype=object)
    return _reasons(rows + offset, ranks + 1, feature, value, contribution)


def _reasons(
    rows: np.ndarray, ranks: np.ndarray, feature: object, value: object, contribution: object
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.Series(rows, dtype="int64"),
            "rank": pd.Series(ranks, dtype="int64"),
            "feature": pd.Series(feature, dtype="str"),
            "value": pd.Series(value, dtype=object),
            "contribution": pd.Series(contribution, dtype="float64"),
        }
    )


# --- global importance --------------------------------------------------------------------------


def global_importance(
    model: Explainable, X: pd.DataFrame, *, chunk_size: int = 100_000
) -> pd.DataFrame:
    """Mean |SHAP| per feature over the rows of ``X``, strongest first (ties by name).

    Columns: ``feature``, ``mean_abs_contribution`` (raw scale) and ``share`` (of the total over
    all features; sums to 1, or all zero for a model that never splits).
    """
    chunk_size = _positive_int(chunk_size, "chunk_size")
    if len(X) == 0:
        raise ValueError("X has no rows: importance is a mean over rows")
    names: list[str] = []
    sums: list[np.ndarray] = []
    for start in _chunks(len(X), chunk_size):
        names, values = _feature_contributions(model, X.iloc[start : start + chunk_size])
        sums.append(np.abs(values).sum(axis=0))
    mean = np.sum(sums, axis=0) / len(X)
    overall = mean.sum()
    share = mean / overall if overall > 0 else np.zeros_like(mean)
    frame = pd.DataFrame(
        {
            "feature": pd.Series(names, dtype="str"),
            "mean_abs_contribution": mean,
            "share": share,
        }
    )
    # Names are already sorted, so a stable sort on the value breaks ties by name.
    frame = frame.sort_values("mean_abs_contribution", ascending=False, kind="stable")
    return frame.reset_index(drop=True)


# --- plots --------------------------------------------------------------------------------------


def _value_colour(column: pd.Series) -> np.ndarray:
    """Each value's rank within the column in [0, 1]; NaN for missing and non-numeric values."""
    if pd.api.types.is_bool_dtype(column.dtype):
        column = column.astype("float64")
    elif not pd.api.types.is_numeric_dtype(column.dtype):
        return np.full(len(column), np.nan)
    return column.rank(pct=True).to_numpy(dtype="float64", na_value=np.nan)


def _swarm_offsets(x: np.ndarray, rng: np.random.Generator, width: float = 0.4) -> np.ndarray:
    """Vertical jitter that widens where dots are dense, so the spread reads as a distribution."""
    if len(x) == 0 or np.ptp(x) == 0:
        return rng.uniform(-width, width, len(x))
    counts, edges = np.histogram(x, bins=50)
    bins = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(counts) - 1)
    density = counts[bins] / counts.max()
    return rng.uniform(-1.0, 1.0, len(x)) * width * np.sqrt(density)


def shap_summary_plot(
    model: Explainable,
    X: pd.DataFrame,
    path: Path,
    max_features: int = 20,
    *,
    max_rows: int = 5_000,
    scale: str = "raw score",
    seed: int = 0,
) -> Path:
    """A beeswarm-style summary saved as PNG at ``path``; returns the path.

    One line of dots per feature (the ``max_features`` with the largest mean |SHAP|, strongest
    on top), each dot a row placed at its contribution and coloured by the rank of the row's
    value of the feature (blue low, red high; grey for missing or categorical values). Above
    ``max_rows`` rows a seeded sample is drawn. ``scale`` names the raw scale on the x axis,
    e.g. ``"log-odds of churn"``. The same inputs and ``seed`` give the same file.
    """
    from matplotlib import colormaps  # noqa: PLC0415 (slow; only to plot)
    from matplotlib.cm import ScalarMappable  # noqa: PLC0415
    from matplotlib.colors import Normalize  # noqa: PLC0415

    max_features = _positive_int(max_features, "max_features")
    max_rows = _positive_int(max_rows, "max_rows")
    if len(X) == 0:
        raise ValueError("X has no rows: nothing to plot")
    rng = np.random.default_rng(seed)
    if len(X) > max_rows:
        X = X.iloc[np.sort(rng.choice(len(X), size=max_rows, replace=False))]
    names, values = _feature_contributions(model, X)
    strength = np.abs(values).mean(axis=0)
    top = np.argsort(-strength, kind="stable")[:max_features]

    figure = new_figure(9.0, 1.6 + 0.38 * len(top), dpi=110)
    axes = figure.subplots()
    cmap = colormaps["coolwarm"]
    norm = Normalize(0.0, 1.0)
    for line, column in enumerate(top):
        y = len(top) - 1 - line
        x = values[:, column]
        colour = _value_colour(X[names[column]])
        offsets = _swarm_offsets(x, rng)
        missing = np.isnan(colour)
        axes.scatter(x[missing], y + offsets[missing], s=6, c="#9a9a9a", alpha=0.6, linewidths=0)
        axes.scatter(
            x[~missing],
            y + offsets[~missing],
            s=6,
            c=colour[~missing],
            cmap=cmap,
            norm=norm,
            alpha=0.8,
            linewidths=0,
        )
    axes.axvline(0.0, color="#444444", linewidth=0.8, zorder=0)
    axes.set_yticks(range(len(top)), [names[c] for c in reversed(top)])
    axes.set_ylim(-0.7, len(top) - 0.3)
    axes.set_xlabel(f"SHAP value (effect on {scale})")
    axes.set_title(
        f"SHAP summary: top {len(top)} of {len(names)} features by mean |SHAP|, {len(X):,} rows"
    )
    axes.grid(axis="x", alpha=0.3)
    bar = figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, aspect=40, pad=0.01)
    bar.set_ticks([0.0, 1.0], labels=["low", "high"])
    bar.set_label("feature value (rank; grey: missing or category)")
    return save_figure(figure, path)


def importance_plot(
    importance: pd.DataFrame,
    path: Path,
    max_features: int = 20,
    *,
    scale: str = "raw score",
    xlabel: str | None = None,
) -> Path:
    """Horizontal bars of mean |SHAP| from :func:`global_importance`, saved as PNG at ``path``.

    The ``max_features`` strongest features are drawn, strongest on top, each labelled with its
    share of the total; ``scale`` names the raw scale on the x axis, or ``xlabel`` replaces the
    axis label whole (for another measure of importance, e.g. split gain). Returns the path.
    """
    max_features = _positive_int(max_features, "max_features")
    missing = [c for c in IMPORTANCE_COLUMNS if c not in importance.columns]
    if missing:
        raise ValueError(
            f"importance lacks columns {missing}; pass the frame global_importance returns"
        )
    if len(importance) == 0:
        raise ValueError("importance has no rows: nothing to plot")
    shown = importance.sort_values("mean_abs_contribution", ascending=False, kind="stable")
    shown = shown.head(max_features).iloc[::-1]
    figure = new_figure(8.0, 1.4 + 0.34 * len(shown), dpi=110)
    axes = figure.subplots()
    positions = np.arange(len(shown))
    values = shown["mean_abs_contribution"].to_numpy(dtype="float64")
    axes.barh(positions, values, color="#3b75af", height=0.7)
    axes.set_yticks(positions, shown["feature"].astype(str).tolist())
    for y, (value, share) in enumerate(zip(values, shown["share"], strict=True)):
        axes.annotate(
            f"{share:.1%}",
            (value, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    axes.margins(x=0.12)
    axes.set_xlabel(xlabel or f"mean |SHAP value| (effect on {scale})")
    axes.set_title(f"Global feature importance: top {len(shown)} of {len(importance)} features")
    axes.grid(axis="x", alpha=0.3)
    return save_figure(figure, path)


__all__ = [
    "IMPORTANCE_COLUMNS",
    "REASON_COLUMNS",
    "Direction",
    "Explainable",
    "global_importance",
    "importance_plot",
    "shap_summary_plot",
    "top_contributions",
]
