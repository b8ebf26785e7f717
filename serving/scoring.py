"""Batch scoring: every customer known at ``as_of``, their risk, value, segments and reasons.

``check_inputs → build_features (the model's own plan) → check_types → segments → predict and
explain in chunks → the scores table``. The table's columns are the contract of DESIGN.md
("Outputs"); the same data, model and ``as_of`` give the same rows, byte for byte, apart from
``scored_at``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from features import (
    Dataset,
    FeatureSettings,
    SegmentSettings,
    WinbackError,
    build_features,
    build_segments,
)
from features.builder import to_utc_naive
from features.definitions import FAMILIES
from serving.model import ServedModel
from serving.reasons import reason_codes, reason_reference, reasons_json
from training.periods import value_columns

#: Columns of the scores table, in order (value periods follow the model's ``periods``).
SCORE_KEYS = ("customer_id", "as_of")
SEGMENT_OUTPUTS = ("lifecycle_stage", "value_segment", "rfm_segment")
TRAILER = ("reasons", "model_name", "model_version", "scored_at")


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
    # Feature.family is the template with its placeholders spelled out (see Family.expand).
    families = {
        f.template.replace("{w}", "N").replace("{e}", "EVENT").replace("{n}", "N"): f
        for f in FAMILIES
    }
    needs: dict[str, list[str]] = {}
    for feature in plan.features:
        family = families.get(feature.family)
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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scores table for every customer known at ``as_of``, and the features it came from.

    ``progress(done, total)`` is called after each chunk.
    """
    bundle = model.bundle
    cutoff = to_utc_naive(as_of)
    check_inputs(model, dataset)
    features = build_features(dataset, cutoff, plan=bundle.plan)
    check_types(model, features)
    segment_rows = build_segments(dataset, features, segments)
    table = score_table(
        model,
        features,
        segment_rows,
        reference=reason_reference(bundle.model_inputs(features)) if reasons else None,
        reasons=reasons,
        chunk_rows=chunk_rows,
        scored_at=scored_at,
        progress=progress,
    )
    return table, features


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
    ``value_at_risk`` is churn probability × CLV: the expected margin that churn puts at stake.
    """
    bundle = model.bundle
    dictionary = bundle.dictionary(FeatureSettings())
    stamp = (scored_at or datetime.now(UTC)).replace(microsecond=0, tzinfo=None)
    parts = []
    total = len(features)
    for start in range(0, total, chunk_rows):
        chunk = features.iloc[start : start + chunk_rows]
        codes = explain(model, chunk, k=reasons, reference=reference, dictionary=dictionary)
        parts.append(bundle.predict(chunk).assign(reasons=codes))
        if progress is not None:
            progress(min(start + chunk_rows, total), total)
    predicted = (
        pd.concat(parts)
        if parts
        else pd.DataFrame(columns=[*bundle.prediction_columns, "reasons"], dtype="float64")
    )
    table = features[list(SCORE_KEYS)].join(predicted).reset_index(drop=True)
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
