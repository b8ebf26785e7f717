"""Reason codes: each customer's strongest pushes towards churn, as data and as a plain sentence.

A reason is one of the churn model's SHAP contributions (log-odds, from
:func:`training.explain.top_contributions`) with the feature's value and a sentence a marketer
reads: "No order for 94 days, about 3× their usual gap", "Sessions down 60% in the last 30 days
vs the 30 days before".

Sentences are generated from the feature dictionary (``ModelBundle.dictionary``), never written
per feature: :mod:`serving.reason_sentences` chooses a rule by the row's unit and the family's
name pattern and takes its words from the meaning. A new family with a known unit therefore gets
a sentence without code, and an unknown unit still reads "<meaning>: <value> <unit>".

A reason never points the safe way. Every feature's definition says which of its values signal
risk (the dictionary's ``risk_when``: more days since the last order is riskier, more sessions
safer; :data:`features.definitions.Risk`). A feature whose values point neither way (``never``:
average order value, offers received) is no customer's reason, and with a population reference a
value on the safe side of its median gives way to the next strongest push (:func:`backwards`).

Context makes a number meaningful. Two kinds, at most one per sentence:

* the customer's own usual level, where a feature has one (days since the last order as a
  multiple of their mean gap between orders, from ``overdue_ratio``);
* the population: a *reference* (:func:`reason_reference`) holds percentiles of every numeric
  input, so a value reads "higher than 85% of customers". Build it once over the scored
  population (or the training rows) and pass it to every chunk, so chunks agree.

Cost: the contributions dominate; the sentences are cheap because the dictionary is parsed once
per feature, contexts are computed per feature with numpy, and each reason costs one short
formatting call (measured: ``docs/2026-12-05-scoring-cost.md``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from winback.serving.reason_sentences import (
    ENTRY_COLUMNS,
    NO_CONTEXT,
    OWN_USUAL,
    Context,
    Entry,
    parse_entry,
    plain_name,
    renderer,
)
from winback.training.bundle import ModelBundle
from winback.training.explain import top_contributions
from winback.training.pipeline import CALENDAR_INPUTS

#: Keys of one reason in :meth:`Reason.to_dict` and :func:`reasons_json`, in order.
REASON_KEYS = ("feature", "value", "contribution", "sentence")
#: Columns of :func:`reason_reference`: the 0th to 100th percentile of each feature.
REFERENCE_COLUMNS = tuple(f"p{i}" for i in range(101))
#: Rows a reason reference is built from at most: percentiles to a point need no more.
REFERENCE_ROWS = 200_000
#: Inputs that are never a customer's reason: the time of year moves everyone's risk alike, and
#: nobody can act on it.
NOT_REASONS = CALENDAR_INPUTS
#: Values of the dictionary's ``risk_when`` that may give a reason: a side (``high``, ``low``) or
#: a category's ``level``. Anything else (``never``, empty, unknown) gives none.
REASON_SIDES = ("high", "low", "level")

# Decimal places kept in the JSON text: enough to rank and read, few enough that the last bits of
# floating-point noise (thread count, platform) do not change the bytes.
_CONTRIBUTION_DECIMALS = 4
_VALUE_DIGITS = 6


@dataclass(frozen=True, slots=True)
class Reason:
    """One push towards churn: the feature, the customer's value, its log-odds contribution."""

    feature: str
    #: A number, a category level, or None when the customer has no value.
    value: float | str | None
    #: SHAP value on the churn model's log-odds scale (positive: towards churn).
    contribution: float
    sentence: str

    def to_dict(self) -> dict[str, object]:
        """The reason as written to the scores table: floats rounded so the bytes are stable."""
        value = self.value
        if isinstance(value, float):
            value = _stable(float(f"{value:.{_VALUE_DIGITS}g}"))
        contribution = _stable(round(self.contribution, _CONTRIBUTION_DECIMALS))
        return {
            "feature": self.feature,
            "value": value,
            "contribution": contribution,
            "sentence": self.sentence,
        }


# --- the public functions -----------------------------------------------------------------------


def reason_codes(
    bundle: ModelBundle,
    features: pd.DataFrame,
    dictionary: pd.DataFrame,
    k: int = 3,
    reference: pd.DataFrame | None = None,
    chunk_size: int = 50_000,
) -> list[list[Reason]]:
    """The ``k`` strongest pushes towards churn of each row of ``features``, strongest first.

    One list per row, in the order of ``features``; a row with no positive contribution gets an
    empty list. ``dictionary`` is ``bundle.dictionary(settings)`` and must describe every model
    input; the inputs :func:`not_reasons` names are left out. ``reference`` (from
    :func:`reason_reference`) adds population context; features it lacks simply get none. With
    it, a value that reads backwards is not a reason (:func:`backwards`). Contributions are
    computed ``chunk_size`` rows at a time.
    """
    entries = _entries(dictionary, bundle.horizon_days)
    inputs = bundle.model_inputs(features)
    undescribed = [c for c in inputs.columns if c not in entries]
    if undescribed:
        raise ValueError(
            f"the dictionary does not describe model inputs {undescribed[:5]}"
            f"{' …' if len(undescribed) > 5 else ''}; pass bundle.dictionary(settings)"
        )
    grids = _grids(reference) if reference is not None else {}
    top = top_contributions(
        bundle.churn_by_population,
        inputs,
        k,
        direction="increase",
        chunk_size=chunk_size,
        exclude=not_reasons(dictionary),
        blocked=backwards(inputs, dictionary, reference),
    )
    rows = top["row"].to_numpy()
    raw = top["value"].to_numpy(dtype=object)
    values = np.empty(len(top), dtype=object)
    sentences = np.empty(len(top), dtype=object)
    # Work one feature at a time (one rule, one context computation), grouped by a single sort.
    codes, names = pd.factorize(top["feature"])
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    for code, name in enumerate(names):
        at = order[bounds[code] : bounds[code + 1]]
        entry = entries[name]
        shown, numeric = _plain_values(raw[at], entry)
        values[at] = shown
        render = renderer(entry)
        contexts = _contexts(entry, numeric, rows[at], inputs, grids.get(name))
        sentences[at] = [render(v, c) for v, c in zip(shown, contexts, strict=True)]
    features_of = names.to_numpy(dtype=object)[codes]
    out: list[list[Reason]] = [[] for _ in range(len(features))]
    for row, name, value, contribution, text in zip(
        rows.tolist(), features_of, values, top["contribution"].tolist(), sentences, strict=True
    ):
        out[row].append(Reason(name, value, contribution, text))
    return out


def not_reasons(dictionary: pd.DataFrame) -> tuple[str, ...]:
    """Inputs never given as a reason: :data:`NOT_REASONS` and those with no risk side.

    A feature whose ``risk_when`` is not in :data:`REASON_SIDES` has values that point neither
    way ("average order value 80.00" is no more a reason to leave than 20.00 is).
    """
    sides = dictionary.drop_duplicates("name").set_index("name")["risk_when"]
    sideless = [str(name) for name in sides[~sides.isin(REASON_SIDES)].index]
    return (*NOT_REASONS, *(name for name in sideless if name not in NOT_REASONS))


def backwards(
    inputs: pd.DataFrame, dictionary: pd.DataFrame, reference: pd.DataFrame | None
) -> pd.DataFrame | None:
    """True where a value sits on the side of the population's median its definition calls safe.

    Such a value can still push the model towards churn (through an interaction: many orders
    expected, but long overdue), and that is true of the model; but "expects more orders than
    57% of customers" reads backwards as a reason to expect churn, so it is not offered as one
    and the next strongest takes its place. Only the sides ``high`` and ``low`` are compared:
    a category's level and the sideless inputs (:func:`not_reasons`, left out anyway) are not,
    and neither are missing values or values at the median. None without a ``reference``
    (nothing to compare with).
    """
    if reference is None:
        return None
    sides = dictionary.drop_duplicates("name").set_index("name")["risk_when"]
    blocked = {}
    for column in inputs.columns:
        side = sides.get(column, "")
        median = reference["p50"].get(column, np.nan) if side in ("high", "low") else np.nan
        if pd.isna(median):
            continue
        values = inputs[column].to_numpy(dtype="float64", na_value=np.nan)
        blocked[column] = values < median if side == "high" else values > median
    return pd.DataFrame(blocked, index=inputs.index, columns=list(blocked), dtype=bool)


def reference_stride(rows: int, max_rows: int = REFERENCE_ROWS) -> int:
    """Every how many rows :func:`reason_reference` keeps one, so it keeps at most ``max_rows``."""
    return max(1, -(-rows // max_rows))


def reason_reference(inputs: pd.DataFrame, *, max_rows: int = REFERENCE_ROWS) -> pd.DataFrame:
    """Percentiles of each numeric column of ``inputs``: the population a value is compared with.

    Pass the model inputs (``bundle.model_inputs(features)``) of the scored population or of the
    training rows. One row per numeric or boolean column (index: feature), columns
    :data:`REFERENCE_COLUMNS` (``p0`` … ``p100``), each an observed value (the inverted empirical
    CDF, so the many equal values of a count column stay equal); missing values are left out,
    and a column with none observed gets NaN. Above ``max_rows`` rows every
    :func:`reference_stride`-th row is used: percentiles to a point need no more, and a million
    rows would cost seconds. A chunked scoring builds exactly those rows
    (:meth:`features.chunks.FeatureChunks.every`), so its reference is the same.
    """
    inputs = inputs.iloc[:: reference_stride(len(inputs), max_rows)]
    levels = np.linspace(0.0, 1.0, len(REFERENCE_COLUMNS))
    rows: dict[str, np.ndarray] = {}
    for column in inputs.columns:
        series = inputs[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            continue
        observed = series.to_numpy(dtype="float64", na_value=np.nan)
        observed = np.sort(observed[~np.isnan(observed)])
        if len(observed) == 0:
            rows[str(column)] = np.full(len(levels), np.nan)
            continue
        # Inverted CDF: the smallest value with at least a share p of values at or below it.
        at = np.clip(np.ceil(levels * len(observed)).astype("int64") - 1, 0, len(observed) - 1)
        rows[str(column)] = observed[at]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(REFERENCE_COLUMNS))
    frame.index.name = "feature"
    return frame


def sentence(
    entry: Mapping[str, object] | pd.Series, value: object, context: Context | None = None
) -> str:
    """The plain-language reason for one value of the feature ``entry`` describes.

    ``entry`` is a row of the feature dictionary (name, meaning, window_days, unit, family,
    source); ``context`` adds the customer's own usual level or the population's, where known.
    """
    parsed = parse_entry(entry)
    shown, _ = _plain_values(np.array([value], dtype=object), parsed)
    return renderer(parsed)(shown[0], context or NO_CONTEXT)


def plain_names(dictionary: pd.DataFrame) -> dict[str, str]:
    """Each feature's plain name (:func:`serving.reason_sentences.plain_name`), for summaries.

    ``dictionary`` is ``bundle.dictionary(settings)``: "btyd_expected_orders" reads "expected
    orders (purchase-pattern model)", "days_since_last_order" "time since last order".
    """
    records = dictionary[list(ENTRY_COLUMNS)].drop_duplicates("name").to_dict("records")
    return {str(r["name"]): plain_name(parse_entry(r)) for r in records}


def reasons_json(reasons: Sequence[Sequence[Reason]]) -> list[str]:
    """Compact JSON per row (a list of {feature, value, contribution, sentence}); byte-stable."""
    return [
        json.dumps(
            [r.to_dict() for r in row], ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
        for row in reasons
    ]


def reasons_text(reasons: Sequence[Sequence[Reason]]) -> list[str]:
    """The sentences of each row joined by "; " (empty for a row without reasons)."""
    return ["; ".join(r.sentence for r in row) for row in reasons]


# --- the dictionary and the contexts ------------------------------------------------------------


def _entries(dictionary: pd.DataFrame, horizon_days: int) -> dict[str, Entry]:
    missing = [c for c in (*ENTRY_COLUMNS, "risk_when") if c not in dictionary.columns]
    if missing:
        raise ValueError(
            f"the feature dictionary lacks columns {missing}; pass bundle.dictionary(settings)"
        )
    entries = {}
    for record in dictionary[list(ENTRY_COLUMNS)].to_dict("records"):
        entry = parse_entry(record)
        # The BG/NBD inputs' meanings say "the horizon"; the bundle knows how long it is.
        meaning = entry.meaning.replace("in the horizon", f"in the next {horizon_days} days")
        entries[entry.name] = Entry(
            entry.name, meaning, entry.unit, entry.family, entry.source, entry.window_days
        )
    return entries


def _grids(reference: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each feature's percentiles as an array; features without observed values are left out."""
    missing = [c for c in REFERENCE_COLUMNS if c not in reference.columns]
    if missing:
        raise ValueError(
            f"reference lacks percentile columns {missing[:3]}…; build it with reason_reference"
        )
    values = reference[list(REFERENCE_COLUMNS)].to_numpy(dtype="float64")
    return {
        str(name): grid
        for name, grid in zip(reference.index, values, strict=True)
        if not np.isnan(grid).any()
    }


def _plain_values(raw: np.ndarray, entry: Entry) -> tuple[list[float | str | None], np.ndarray]:
    """Values as JSON-ready Python objects, and as floats (NaN for missing or text)."""
    if entry.unit == "category":
        shown: list[float | str | None] = [None if _is_missing(v) else str(v) for v in raw]
        return shown, np.full(len(raw), np.nan)
    numeric = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    return [None if math.isnan(v) else v for v in numeric.tolist()], numeric


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _contexts(
    entry: Entry,
    numeric: np.ndarray,
    rows: np.ndarray,
    inputs: pd.DataFrame,
    grid: np.ndarray | None,
) -> list[Context]:
    """Each reason's context, computed for all rows of one feature at once."""
    own = OWN_USUAL.get(entry.family, ("", ""))[0]
    if grid is None and own not in inputs.columns:
        return [NO_CONTEXT] * len(rows)
    nothing = np.full(len(rows), np.nan)
    usual = nothing
    if own in inputs.columns:
        usual = inputs[own].to_numpy(dtype="float64", na_value=np.nan)[rows]
    below, above = nothing, nothing
    if grid is not None:
        # With p_j the j-th percentile (an observed value), values ≤ p_j are at least j% of the
        # population; so if m grid points lie below v, at least (m − 1)% of customers do too.
        step = len(grid) - 1
        below = np.maximum(np.searchsorted(grid, numeric, side="left") - 1, 0) / step
        above = np.maximum(len(grid) - np.searchsorted(grid, numeric, side="right") - 1, 0) / step
        missing = np.isnan(numeric)
        below, above = np.where(missing, np.nan, below), np.where(missing, np.nan, above)
    return [
        Context(
            below=None if math.isnan(b) else b,
            above=None if math.isnan(a) else a,
            usual=None if math.isnan(u) else u,
        )
        for b, a, u in zip(below.tolist(), above.tolist(), usual.tolist(), strict=True)
    ]


def _stable(x: float) -> float:
    return x + 0.0  # turns -0.0 into 0.0, so the JSON never shows "-0.0"


__all__ = [
    "REASON_KEYS",
    "REASON_SIDES",
    "REFERENCE_COLUMNS",
    "REFERENCE_ROWS",
    "Context",
    "Reason",
    "backwards",
    "not_reasons",
    "plain_names",
    "reason_codes",
    "reason_reference",
    "reasons_json",
    "reasons_text",
    "reference_stride",
    "sentence",
]
