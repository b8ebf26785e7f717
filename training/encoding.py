"""Feature frames as LightGBM reads them: numbers as float64, text as categoricals of fixed levels.

One encoding for every model trained here (the churn and value models, the uplift learners), so
a text column means the same levels in each: the levels are learned once, on the training rows,
and a level not seen then, like a missing value, becomes NaN. Which columns a frame must hold is
the caller's rule; these functions read the columns they are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def learn_levels(frame: pd.DataFrame, names: Sequence[str]) -> dict[str, list[str]]:
    """The sorted levels of each text column among ``names``; numbers and booleans have none."""
    levels = {}
    for name in names:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            raise ValueError(f"column {name!r} is a datetime; turn it into a number first")
        # Numbers and booleans are numeric features; anything else is a categorical level.
        if not pd.api.types.is_numeric_dtype(column.dtype):
            values = column.astype("string").dropna().unique()
            levels[str(name)] = sorted(str(v) for v in values)
    return levels


def encode(frame: pd.DataFrame, names: Sequence[str], levels: dict[str, list[str]]) -> pd.DataFrame:
    """Columns ``names`` of ``frame`` in that order: numbers as float64, text on ``levels``.

    Columns stored as numbers or booleans convert in one block: column by column, pandas' own
    overhead made one row cost as much as 10,000, holding the GIL while the API's event loop
    waited (bench/bench_api_load.py).
    """
    encoded: dict[str, Any] = {}
    plain = [n for n in names if n not in levels and _is_plain_number(frame[n].dtype)]
    block = frame[plain].to_numpy(dtype="float64", na_value=np.nan)
    if len(plain) == len(names):
        return pd.DataFrame(block, columns=pd.Index(list(names), dtype=object))
    encoded.update((name, block[:, i]) for i, name in enumerate(plain))
    for name in names:
        if name in encoded:
            continue
        column = frame[name]
        if name in levels:
            text = column.astype("string").to_numpy(dtype=object, na_value=None)
            # Unseen levels and missing values both become NaN (code -1).
            codes = pd.Index(levels[name], dtype=object).get_indexer(text)
            encoded[name] = pd.Categorical.from_codes(codes, categories=levels[name])
        else:
            try:
                numbers = pd.to_numeric(column).astype("float64")
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"column {name!r} was numeric in training but holds non-numbers: {exc}"
                ) from exc
            encoded[name] = numbers.to_numpy(dtype="float64", na_value=np.nan)
    return pd.DataFrame({name: encoded[name] for name in names}, index=pd.RangeIndex(len(frame)))


def _is_plain_number(dtype: Any) -> bool:
    """Integers, floats and booleans, NumPy's or pandas' nullable ones: float64 without parsing."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)


__all__ = ["encode", "learn_levels"]
