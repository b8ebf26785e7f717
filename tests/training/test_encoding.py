"""One encoding for every model: text on levels fixed in training, numbers as float64."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from winback.training.encoding import encode, learn_levels


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "plan": pd.Series(["pro", "free", None, "pro"], dtype="string"),
            "orders": pd.Series([1, None, 3, 4], dtype="Int64"),
            "active": [True, False, True, True],
        }
    )


def test_text_columns_get_sorted_levels_and_numbers_none() -> None:
    assert learn_levels(_frame(), ["plan", "orders", "active"]) == {"plan": ["free", "pro"]}


def test_unseen_levels_and_missing_values_become_nan() -> None:
    levels = learn_levels(_frame(), ["plan"])
    later = pd.DataFrame({"plan": ["pro", "team", None], "extra": [1, 2, 3]})
    encoded = encode(later, ["plan"], levels)
    assert list(encoded.columns) == ["plan"]
    assert list(encoded["plan"].cat.categories) == ["free", "pro"]
    assert encoded["plan"].cat.codes.tolist() == [1, -1, -1]


def test_numbers_and_booleans_become_float64_in_the_given_order() -> None:
    encoded = encode(_frame(), ["active", "orders"], {})
    assert list(encoded.columns) == ["active", "orders"]
    assert (encoded.dtypes == np.float64).all()
    np.testing.assert_array_equal(encoded["orders"], [1.0, np.nan, 3.0, 4.0])
    np.testing.assert_array_equal(encoded["active"], [1.0, 0.0, 1.0, 1.0])


def test_a_datetime_or_a_text_in_a_numeric_column_is_refused() -> None:
    frame = _frame().assign(seen=pd.to_datetime(["2024-01-01"] * 4))
    with pytest.raises(ValueError, match="'seen' is a datetime"):
        learn_levels(frame, ["seen"])
    with pytest.raises(ValueError, match="'plan' was numeric in training"):
        encode(_frame(), ["plan"], {})
