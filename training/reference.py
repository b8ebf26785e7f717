"""The reference profile: what the training data looked like, kept to compare later data with.

A :class:`ReferenceProfile` summarises the training distribution of every model input and of the
model's outputs in a few numbers per column, small enough to store inside the model bundle as
JSON, so that a scoring run can measure drift with nothing but the model. Its
:meth:`~ReferenceProfile.psi` gives the population stability index of a new frame per column;
``serving.drift`` turns that into statuses, warnings and MLflow metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import pandas as pd

from winback.common import WinbackError

#: Version of the document :meth:`ReferenceProfile.to_dict` writes.
PROFILE_VERSION = 1
#: Shares are floored at this before PSI is computed, so an empty bin adds a finite amount.
SHARE_FLOOR = 1e-4
#: Most frequent levels of a text column kept by name; the rest count as "(other)".
MAX_LEVELS = 20
OTHER = "(other)"
MISSING = "(missing)"

Kind = Literal["numeric", "categorical"]
Role = Literal["input", "output"]
#: Columns of :meth:`ReferenceProfile.psi`'s table, in order.
PSI_COLUMNS = ("feature", "role", "kind", "psi", "bin", "reference_share", "current_share")


class ProfileError(WinbackError, ValueError):
    """A reference profile cannot be fitted, compared or read (names the column and the problem)."""


def population_stability_index(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    floor: float = SHARE_FLOOR,
) -> float:
    """PSI = Σ (cur − ref) · ln(cur / ref) over bins, each share floored at ``floor``.

    Both arguments are the shares of rows per bin (each summing to 1). Zero for identical
    shares, positive otherwise, and symmetric in its two arguments. Usual reading: below 0.1
    stable, 0.1-0.25 a moderate shift, above 0.25 a major shift.
    """
    return float(np.sum(_contributions(np.asarray(reference), np.asarray(current), floor)))


def _contributions(reference: np.ndarray, current: np.ndarray, floor: float) -> np.ndarray:
    ref = np.maximum(reference.astype(float), floor)
    cur = np.maximum(current.astype(float), floor)
    return (cur - ref) * np.log(cur / ref)


@dataclass(frozen=True)
class ColumnProfile:
    """One column's training distribution: bins (numeric) or levels (text) and their shares.

    Numeric: ``edges`` e1 < … < ek cut the values into ``<= e1``, ``(e1, e2]``, …, ``> ek``;
    ``shares`` holds those k + 1 bins, then the missing values. Categorical: ``levels`` are the
    most frequent values; ``shares`` holds each level, then "(other)", then the missing values.
    """

    name: str
    kind: Kind
    role: Role
    shares: tuple[float, ...]
    edges: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()

    @property
    def bin_labels(self) -> list[str]:
        """A short human description of each bin, in the order of ``shares``."""
        if self.kind == "categorical":
            return [*self.levels, OTHER, MISSING]
        if not self.edges:
            return ["any value", MISSING]
        e = [_number(v) for v in self.edges]
        middle = [f"({lo}, {hi}]" for lo, hi in pairwise(e)]
        return [f"<= {e[0]}", *middle, f"> {e[-1]}", MISSING]

    def counts(self, values: pd.Series) -> np.ndarray:
        """Rows of ``values`` per bin, in the order of ``shares``."""
        if self.kind == "numeric":
            return _numeric_counts(_as_float(values, self.name), np.asarray(self.edges))
        return _categorical_counts(values, self.levels)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; :meth:`from_dict` reads it back unchanged."""
        document: dict[str, Any] = {"name": self.name, "kind": self.kind, "role": self.role}
        if self.kind == "numeric":
            document["edges"] = list(self.edges)
        else:
            document["levels"] = list(self.levels)
        document["shares"] = list(self.shares)
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ColumnProfile:
        """The column written by :meth:`to_dict`."""
        return cls(
            name=str(document["name"]),
            kind=document["kind"],
            role=document["role"],
            shares=tuple(float(s) for s in document["shares"]),
            edges=tuple(float(e) for e in document.get("edges", ())),
            levels=tuple(str(v) for v in document.get("levels", ())),
        )


def _number(value: float) -> str:
    return f"{value:.6g}"


def _as_float(values: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(values.dtype):
        raise ProfileError(
            f"column {name!r}: the reference is numeric, got dtype {values.dtype}. "
            "Build the frame with the model's feature plan"
        )
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _numeric_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Rows per bin ``<= e1, (e1, e2], …, > ek``, then missing (NaN).

    Counting ``values <= e`` edge by edge is one fast pass per edge (NaN compares false, so the
    missing rows fall out); per-row ``np.searchsorted`` is about ten times slower here.
    """
    present = values.size - int(np.count_nonzero(np.isnan(values)))
    at_or_below = [int(np.count_nonzero(values <= e)) for e in edges]
    cumulative = np.array([0, *at_or_below, present], dtype=np.int64)
    return np.append(np.diff(cumulative), values.size - present)


def _categorical_counts(values: pd.Series, levels: tuple[str, ...]) -> np.ndarray:
    """Rows per level, then every other value, then missing.

    Counts distinct values first and maps only those to levels: far faster than looking up
    every row's text.
    """
    frequencies = _frequencies(values)
    codes = pd.Index(levels, dtype=object).get_indexer(frequencies.index)
    codes[codes < 0] = len(levels)
    counts = np.bincount(codes, weights=frequencies.to_numpy(), minlength=len(levels) + 1)
    return np.append(counts.astype(np.int64), len(values) - int(frequencies.sum()))


def _frequencies(values: pd.Series) -> pd.Series:
    """Rows per distinct non-missing value, the values as text (object index)."""
    frequencies = values.value_counts(dropna=True, sort=False)
    frequencies.index = pd.Index(frequencies.index.astype(str), dtype=object)
    return frequencies.groupby(level=0, sort=False).sum()


def _fit_numeric(name: str, role: Role, values: pd.Series, bins: int) -> ColumnProfile:
    x = _as_float(values, name)
    present = x[~np.isnan(x)]
    if present.size:
        quantiles = np.quantile(present, np.arange(1, bins) / bins, method="inverted_cdf")
        # Ties (a column that is mostly zeros) repeat an edge; one bin then holds the tie.
        edges = np.unique(quantiles[np.isfinite(quantiles)])
    else:
        edges = np.array([], dtype=float)
    counts = _numeric_counts(x, edges)
    return ColumnProfile(
        name=name,
        kind="numeric",
        role=role,
        shares=_shares(counts),
        edges=tuple(float(e) for e in edges),
    )


def _fit_categorical(name: str, role: Role, values: pd.Series, max_levels: int) -> ColumnProfile:
    frequencies = _frequencies(values)
    frequencies = frequencies[frequencies > 0]  # unused levels of a pandas categorical
    # Most frequent first, ties by name, so the kept levels never depend on row order.
    ranked = sorted(frequencies.items(), key=lambda item: (-item[1], item[0]))
    levels = tuple(str(level) for level, _ in ranked[:max_levels])
    counts = _categorical_counts(values, levels)
    return ColumnProfile(
        name=name, kind="categorical", role=role, shares=_shares(counts), levels=levels
    )


def _shares(counts: np.ndarray) -> tuple[float, ...]:
    total = int(counts.sum())
    return tuple(float(c) / total for c in counts)


def _is_numeric(values: pd.Series) -> bool:
    dtype = values.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ProfileError(f"{what}: the frame lacks column(s) {absent}")
    if frame.empty:
        raise ProfileError(f"{what}: the frame has no rows")


@dataclass(frozen=True)
class ReferenceProfile:
    """The training distribution of the model's inputs and outputs, for drift checks.

    Numeric columns: ``bins`` quantile bins of the training rows (edges repeated by ties, such
    as a column that is mostly zeros, are merged, so there can be fewer) and a bin for missing
    values. Text (and boolean) columns: the :data:`MAX_LEVELS` most frequent levels, "(other)"
    and missing. Each column stores the share of training rows per bin.

    :meth:`psi` compares a new frame with it: the population stability index per column,
    PSI = Σ (cur − ref) · ln(cur / ref) over the bins, shares floored at :data:`SHARE_FLOOR` so
    an empty bin adds a large but finite term. Usual reading: < 0.1 stable, 0.1-0.25 a moderate
    shift, > 0.25 a major shift. Deterministic: the same frame gives the same profile.
    """

    columns: tuple[ColumnProfile, ...]
    bins: int
    #: Training rows the profile was fitted on.
    rows: int

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        columns: Sequence[str],
        bins: int = 10,
        *,
        outputs: Sequence[str] = (),
        max_levels: int = MAX_LEVELS,
    ) -> ReferenceProfile:
        """Profile ``columns`` (model inputs) and ``outputs`` (model predictions) of ``frame``."""
        if bins < 2:
            raise ProfileError(f"bins must be at least 2, got {bins}")
        overlap = sorted(set(columns) & set(outputs))
        if overlap:
            raise ProfileError(f"columns {overlap} are given both as inputs and as outputs")
        roles: list[tuple[str, Role]] = [(c, "input") for c in columns]
        roles += [(c, "output") for c in outputs]
        _check_columns(frame, [c for c, _ in roles], "reference profile")
        profiles = tuple(
            _fit_numeric(name, role, frame[name], bins)
            if _is_numeric(frame[name])
            else _fit_categorical(name, role, frame[name], max_levels)
            for name, role in roles
        )
        return cls(columns=profiles, bins=bins, rows=len(frame))

    @property
    def names(self) -> list[str]:
        """Profiled columns, inputs then outputs."""
        return [c.name for c in self.columns]

    def psi(self, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """PSI of ``frame`` against the reference, one row per profiled column (profile order).

        Columns :data:`PSI_COLUMNS`: ``feature``, ``role`` (input or output), ``kind``, ``psi``,
        and the bin that contributes most to the PSI, with its reference and current shares.
        ``columns`` limits the comparison to some profiled columns (default: all of them).
        """
        wanted = self.names if columns is None else list(columns)
        unknown = sorted(set(wanted) - set(self.names))
        if unknown:
            raise ProfileError(f"columns {unknown} are not in the reference profile")
        _check_columns(frame, wanted, "drift")
        by_name = {c.name: c for c in self.columns}
        rows = []
        for name in wanted:
            column = by_name[name]
            reference = np.asarray(column.shares)
            current = column.counts(frame[name]) / len(frame)
            terms = _contributions(reference, current, SHARE_FLOOR)
            top = int(np.argmax(terms))
            rows.append(
                (
                    name,
                    column.role,
                    column.kind,
                    float(terms.sum()),
                    column.bin_labels[top],
                    float(reference[top]),
                    float(current[top]),
                )
            )
        return pd.DataFrame(rows, columns=list(PSI_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (lists, str, int, float); :meth:`from_dict` reads it back exactly."""
        return {
            "version": PROFILE_VERSION,
            "bins": self.bins,
            "rows": self.rows,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ReferenceProfile:
        """The profile written by :meth:`to_dict`."""
        if document.get("version") != PROFILE_VERSION:
            raise ProfileError(
                f"reference profile version {document.get('version')!r}; this code reads "
                f"version {PROFILE_VERSION}"
            )
        try:
            columns = tuple(ColumnProfile.from_dict(c) for c in document["columns"])
            profile = cls(columns=columns, bins=int(document["bins"]), rows=int(document["rows"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileError(f"not a reference profile: {exc!r}") from exc
        for column in profile.columns:
            _check_shape(column)
        return profile


def _check_shape(column: ColumnProfile) -> None:
    expected = len(column.edges) + 2 if column.kind == "numeric" else len(column.levels) + 2
    if column.kind not in ("numeric", "categorical") or column.role not in ("input", "output"):
        raise ProfileError(
            f"reference profile column {column.name!r}: unknown kind {column.kind!r} or role "
            f"{column.role!r}"
        )
    if len(column.shares) != expected:
        raise ProfileError(
            f"reference profile column {column.name!r}: {len(column.shares)} shares, expected "
            f"{expected}"
        )
    if not math.isclose(sum(column.shares), 1.0, abs_tol=1e-9):
        raise ProfileError(f"reference profile column {column.name!r}: shares do not sum to 1")


__all__ = [
    "MAX_LEVELS",
    "PROFILE_VERSION",
    "PSI_COLUMNS",
    "SHARE_FLOOR",
    "ColumnProfile",
    "ProfileError",
    "ReferenceProfile",
    "population_stability_index",
]
