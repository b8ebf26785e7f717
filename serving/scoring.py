"""Batch scoring: every customer known at ``as_of``, their risk, value, segments and reasons.

``check_inputs → the feature table, built once inside DuckDB (the model's own plan) → a sample
of it for the reasons' reference → for each chunk of customers: check_types, predict and explain
→ segments → the scores table``. Python's memory grows with the scores table, not with the
feature table: a chunk's features are dropped once scored, unless the caller keeps them. The
table's columns are a contract (docs/design.md, "Outputs"); the same data, model and ``as_of``
give the same rows, byte for byte, apart from ``scored_at``, whatever the chunk size.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from winback.common import WinbackError
from winback.features import Dataset, FeatureSettings, SegmentSettings, build_segments
from winback.features.chunks import FeatureChunks
from winback.features.dataset import MAX_DAYS_AFTER_DATA
from winback.features.definitions import family_of
from winback.serving.model import ServedModel
from winback.serving.reasons import reason_codes, reason_reference, reasons_json, reference_stride
from winback.training.periods import value_columns

#: Columns of the scores table, in order (value periods follow the model's ``periods``).
SCORE_KEYS = ("customer_id", "as_of")
SEGMENT_OUTPUTS = ("lifecycle_stage", "value_segment", "rfm_segment")
TRAILER = ("reasons", "model_name", "model_version", "scored_at")
#: The feature columns segments are computed from (with the data).
_SEGMENT_INPUTS = ("customer_id", "as_of", "tenure_days")


class SignatureMismatchError(WinbackError):
    """The data cannot produce the inputs the model was trained on."""


def score_columns(periods: int) -> list[str]:
    """The scores table's columns for a model forecasting ``periods`` periods."""
    return [
        *SCORE_KEYS,
        "churn_probability",
        "decline_probability",
        "expected_orders",
        "expected_spend",
        *value_columns(periods),
        "clv",
        "value_at_risk",
        "population",
        *SEGMENT_OUTPUTS,
        *TRAILER,
    ]


def check_inputs(model: ServedModel, dataset: Dataset) -> None:
    """Refuse, naming every gap, when the data lacks a table or column the model's features use.

    The same rule as :func:`features.plan_features`: a family needs its source table (customer
    profile features fall back on first activity) and the columns it requires.
    """
    plan = model.bundle.plan
    present = set(dataset.columns) | {
        f"{t}.{c}" for t, cols in dataset.columns.items() for c in cols
    }
    needs: dict[str, list[str]] = {}
    for feature in plan.features:
        family = family_of(feature)
        if family is None:
            continue
        wanted = [] if family.source == "customers" else [family.source]
        for need in (*wanted, *family.requires):
            if need not in present:
                needs.setdefault(need, []).append(feature.name)
    problems = [
        f"{'column' if '.' in need else 'table'} {need!r} (used by {len(names)} features, "
        f"e.g. {names[0]})"
        for need, names in sorted(needs.items())
    ]
    problems += [
        f"customers column {raw!r} (feature {column})"
        for column, raw in plan.attributes.items()
        if not dataset.has("customers", raw)
    ]
    if problems:
        raise SignatureMismatchError(
            f"model {model.name} version {model.version} was trained on data with "
            + "; ".join(problems)
            + ", which this data lacks. Provide it (see --help for --events/--customers/"
            "--campaigns or the config's [data] sections), or train a model on this data"
        )


def check_types(model: ServedModel, features: pd.DataFrame) -> None:
    """Refuse when a built column's type differs from what the model learned (text vs number)."""
    categories = model.bundle.churn.categories_
    wrong = []
    for column in model.bundle.feature_columns:
        text = column in categories
        numeric = is_numeric_dtype(features[column])
        if text == numeric and features[column].notna().any():
            wrong.append(
                f"{column} is {'numeric' if numeric else 'text'} here, "
                f"{'text' if text else 'numeric'} in training"
            )
    if wrong:
        raise SignatureMismatchError(
            f"the data does not match model {model.name} version {model.version}'s signature: "
            + "; ".join(wrong)
        )


def score(
    dataset: Dataset,
    model: ServedModel,
    as_of: date | datetime | str,
    *,
    segments: SegmentSettings | None = None,
    reasons: int = 3,
    chunk_rows: int = 50_000,
    scored_at: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_features: bool = True,
    max_days_after_data: int = MAX_DAYS_AFTER_DATA,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scores table for every customer known at ``as_of``, and the features it came from.

    An ``as_of`` before the first transaction, or more than ``max_days_after_data`` days after
    the data's end, is refused: everyone would look lost (or unknown), which reads as a result.

    Features are built once inside DuckDB, then read, predicted and explained ``chunk_rows``
    customers at a time; ``progress(done, total)`` is called after each chunk. With
    ``keep_features=False`` the second frame holds only the rows of the sample the reasons'
    reference comes from (up to :data:`serving.reasons.REFERENCE_ROWS` customers, every k-th
    one) — enough for drift — and memory stays bounded by the chunk size and the scores table.
    """
    bundle = model.bundle
    check_inputs(model, dataset)
    dictionary = bundle.dictionary(FeatureSettings())
    parts, keys, kept = [], [], []
    cutoff = dataset.cutoff(as_of)
    dataset.check_cutoff(cutoff, max_days_after=max_days_after_data)
    with FeatureChunks(dataset, cutoff, bundle.plan, chunk_rows) as chunks:
        sample = chunks.every(reference_stride(chunks.total))
        check_types(model, sample)
        reference = reason_reference(bundle.model_inputs(sample)) if reasons else None
        done = 0
        for chunk in chunks:
            check_types(model, chunk)
            parts.append(_predicted(model, chunk, reasons, reference, dictionary))
            keys.append(chunk[list(_SEGMENT_INPUTS)])
            if keep_features:
                kept.append(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, chunks.total)
    rows = pd.concat(keys, ignore_index=True) if keys else sample[list(_SEGMENT_INPUTS)]
    table = _assemble(model, rows, parts, build_segments(dataset, rows, segments), scored_at)
    return table, pd.concat(kept, ignore_index=True) if kept else sample


def explain(
    model: ServedModel,
    features: pd.DataFrame,
    *,
    k: int = 3,
    reference: pd.DataFrame | None = None,
    dictionary: pd.DataFrame | None = None,
) -> list[str]:
    """The top ``k`` reasons (JSON, as in the scores table) for each row of ``features``.

    ``reference`` must be built over the whole scored population
    (:func:`serving.reasons.reason_reference`), not over the rows explained, so a customer's
    sentence is the same whether they are explained alone or in a full scoring.
    """
    if not k:
        return ["[]"] * len(features)
    bundle = model.bundle
    dictionary = bundle.dictionary(FeatureSettings()) if dictionary is None else dictionary
    return reasons_json(reason_codes(bundle, features, dictionary, k=k, reference=reference))


def score_table(
    model: ServedModel,
    features: pd.DataFrame,
    segment_rows: pd.DataFrame,
    *,
    reference: pd.DataFrame | None,
    reasons: int = 3,
    chunk_rows: int = 50_000,
    scored_at: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Scores-table rows for feature rows of one cutoff, predicted and explained in chunks.

    ``segment_rows`` holds ``customer_id`` and the segment columns; ``reference`` the typical
    values reason sentences compare with (:func:`serving.reasons.reason_reference`).
    """
    dictionary = model.bundle.dictionary(FeatureSettings())
    parts = []
    total = len(features)
    for start in range(0, total, chunk_rows):
        chunk = features.iloc[start : start + chunk_rows]
        parts.append(_predicted(model, chunk, reasons, reference, dictionary))
        if progress is not None:
            progress(min(start + chunk_rows, total), total)
    return _assemble(model, features, parts, segment_rows, scored_at)


def _predicted(
    model: ServedModel,
    chunk: pd.DataFrame,
    reasons: int,
    reference: pd.DataFrame | None,
    dictionary: pd.DataFrame,
) -> pd.DataFrame:
    """Every model's predictions and the reasons JSON for one chunk, on a fresh 0… index."""
    chunk = chunk.reset_index(drop=True)
    codes = explain(model, chunk, k=reasons, reference=reference, dictionary=dictionary)
    predicted = model.bundle.predict(chunk)
    return predicted.assign(population=model.bundle.population(chunk), reasons=codes)


def _assemble(
    model: ServedModel,
    keys: pd.DataFrame,
    parts: list[pd.DataFrame],
    segment_rows: pd.DataFrame,
    scored_at: datetime | None,
) -> pd.DataFrame:
    """The scores table from the rows' keys and their predicted parts, in the same order.

    ``value_at_risk`` is churn probability × CLV: the expected margin that churn puts at stake.
    """
    bundle = model.bundle
    stamp = (scored_at or datetime.now(UTC)).replace(microsecond=0, tzinfo=None)
    predicted = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=[*bundle.prediction_columns, "reasons"], dtype="float64")
    )
    table = pd.concat(
        [keys[list(SCORE_KEYS)].reset_index(drop=True), predicted.reset_index(drop=True)], axis=1
    )
    if "clv" not in table:  # a bundle without period values
        table["clv"] = np.nan
    table["value_at_risk"] = table["churn_probability"] * table["clv"].clip(lower=0)
    segments = segment_rows.drop_duplicates("customer_id").set_index("customer_id")
    for column in SEGMENT_OUTPUTS:
        table[column] = segments[column].reindex(table["customer_id"]).to_numpy()
    table["model_name"] = model.name
    table["model_version"] = model.version
    table["scored_at"] = pd.Timestamp(stamp)
    periods = bundle.periods.periods if bundle.periods is not None else 0
    return table.reindex(columns=score_columns(periods))


__all__ = [
    "SignatureMismatchError",
    "check_inputs",
    "check_types",
    "explain",
    "score",
    "score_columns",
    "score_table",
]
