"""Splits: later each time with no label window crossing a split, or by held-out customer."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from winback.training.splits import (
    NotEnoughCutoffsError,
    choose_split,
    customer_part,
    split_customers,
    split_cutoffs,
    split_frame,
)

MONTHS = [datetime(2023, m, 1) for m in range(1, 13)] + [datetime(2024, m, 1) for m in range(1, 13)]


def test_monthly_cutoffs_with_a_90_day_horizon_leave_an_embargo() -> None:
    split = split_cutoffs(MONTHS, 90)
    assert split.test == (datetime(2024, 12, 1),)
    # 2024-09-01 + 90 days = 2024-11-30 <= 2024-12-01; 2024-10-01 + 90 days would cross.
    assert split.validation == (datetime(2024, 9, 1),)
    assert split.train[-1] == datetime(2024, 6, 1)
    assert split.train[0] == datetime(2023, 1, 1)


@given(
    st.lists(st.integers(0, 1500), min_size=1, max_size=40),
    st.integers(1, 200),
    st.integers(1, 3),
    st.integers(1, 3),
)
def test_no_label_window_reaches_a_later_split(days, label_days, n_val, n_test) -> None:
    cutoffs = [datetime(2022, 1, 1) + timedelta(days=d) for d in days]
    try:
        split = split_cutoffs(cutoffs, label_days, validation=n_val, test=n_test)
    except NotEnoughCutoffsError:
        return
    span = timedelta(days=label_days)
    assert max(split.train) + span <= min(split.validation)
    assert max(split.validation) + span <= min(split.test)
    assert split.test == tuple(sorted(set(cutoffs))[-n_test:])
    assert len(split.validation) == n_val
    assert not set(split.train) & set(split.validation)


def test_too_short_a_history_is_refused_with_advice() -> None:
    with pytest.raises(NotEnoughCutoffsError, match="too few"):
        split_cutoffs(MONTHS[:5], 90)


def test_split_frame_drops_the_embargoed_rows() -> None:
    frame = pd.DataFrame({"as_of": MONTHS, "x": range(len(MONTHS))})
    split = split_cutoffs(MONTHS, 90)
    train, val, test = split_frame(frame, split)
    assert len(train) == len(split.train)
    assert val["as_of"].tolist() == [pd.Timestamp("2024-09-01")]
    assert test["as_of"].tolist() == [pd.Timestamp("2024-12-01")]
    assert len(train) + len(val) + len(test) < len(frame)


def test_a_short_history_holds_out_customers_instead() -> None:
    cutoffs = MONTHS[:4]
    split = choose_split(cutoffs, 90, validation=2)
    assert split.by == "customers"
    assert split.train == split.validation == tuple(cutoffs)
    assert split.test == (cutoffs[-1],)
    assert "split by customer" in split.method() and "not tested" in split.method()
    assert choose_split(MONTHS, 90).by == "time"


def test_held_out_customers_never_meet_and_keep_their_split_across_cutoffs() -> None:
    ids = [f"C{i:05d}" for i in range(3000)] + list(range(2000))  # text and integer ids
    frame = pd.DataFrame({"customer_id": ids * 3, "as_of": [c for c in MONTHS[:3] for _ in ids]})
    train, val, test = split_frame(frame, split_customers(MONTHS[:3], 90))
    parts = [set(map(str, p["customer_id"])) for p in (train, val, test)]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    assert test["as_of"].eq(MONTHS[2]).all()
    assert train["as_of"].nunique() == val["as_of"].nunique() == 3
    # Each customer's split is a stable function of its id, about 60/20/20.
    share = np.bincount(customer_part(pd.Series(ids)), minlength=3) / len(ids)
    assert np.allclose(share, [0.6, 0.2, 0.2], atol=0.03)
    again = customer_part(pd.Series(list(reversed(ids))))[::-1]
    assert (again == customer_part(pd.Series(ids))).all()


def test_customer_shares_must_leave_a_test_split() -> None:
    with pytest.raises(ValueError, match="leave some for test"):
        split_customers(MONTHS[:3], 90, shares=(0.7, 0.3))
