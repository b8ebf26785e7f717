"""Time splits: later each time, and no label window crosses into a later split."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from winback.training.splits import NotEnoughCutoffsError, split_cutoffs, split_frame

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
