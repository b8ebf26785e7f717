"""Time-based splits of stacked snapshots: train, then validation, then test, later each time.

A snapshot at cutoff ``T`` carries labels from ``[T, T + label_days)``. A split is honest when
no label window of an earlier split reaches into a later split's first cutoff: otherwise the
model would learn, in training, from the very days it is evaluated on. So the splits are cut
back to front: the test cutoffs are the latest ones, validation takes the latest cutoffs whose
label windows close by the first test cutoff, and training takes those that close by the first
validation cutoff. The cutoffs in between (the embargo) are used by no split.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from winback.common import WinbackError


class NotEnoughCutoffsError(WinbackError, ValueError):
    """Too few cutoffs for train, validation and test with their label windows apart."""


@dataclass(frozen=True)
class TimeSplit:
    """Cutoffs per split, each list sorted; every train label window closes by validation."""

    train: tuple[datetime, ...]
    validation: tuple[datetime, ...]
    test: tuple[datetime, ...]
    label_days: int

    def describe(self) -> str:
        """One line per split: how many cutoffs and their range."""
        return "\n".join(
            f"{name:<10} {len(c):>3} cutoffs {c[0]:%Y-%m-%d} … {c[-1]:%Y-%m-%d}"
            for name, c in (("train", self.train), ("validation", self.validation),
                            ("test", self.test))
        )  # fmt: skip


def split_cutoffs(
    cutoffs: Iterable[datetime],
    label_days: int,
    *,
    validation: int = 1,
    test: int = 1,
    min_train: int = 1,
) -> TimeSplit:
    """Split cutoffs into train < validation < test with no label window crossing a boundary.

    ``label_days`` is the longest label window the models learn from (the horizon, or all the
    periods for period values). The last ``test`` cutoffs are the test split; ``validation``
    cutoffs end where their labels close by the first test cutoff, and so on.
    """
    ordered = sorted(set(cutoffs))
    span = timedelta(days=label_days)
    if test < 1 or validation < 1 or min_train < 1:
        raise ValueError("each split needs at least one cutoff")
    if len(ordered) < test:
        raise NotEnoughCutoffsError(f"{len(ordered)} cutoffs, but the test split needs {test}")
    test_cut = ordered[-test:]
    val_pool = [c for c in ordered if c + span <= test_cut[0]]
    val_cut = val_pool[-validation:]
    train_cut = [c for c in ordered if val_cut and c + span <= val_cut[0]]
    if len(val_cut) < validation or len(train_cut) < min_train:
        raise NotEnoughCutoffsError(
            f"{len(ordered)} cutoffs from {ordered[0]:%Y-%m-%d} to {ordered[-1]:%Y-%m-%d} are "
            f"too few for {min_train} training, {validation} validation and {test} test cutoffs "
            f"kept {label_days} days apart (so that no label window crosses into a later split). "
            "Use a longer history, a more frequent [snapshots] calendar, or a shorter horizon."
        )
    return TimeSplit(tuple(train_cut), tuple(val_cut), tuple(test_cut), label_days)


def split_frame(
    frame: pd.DataFrame, split: TimeSplit
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The rows of ``frame`` (with an ``as_of`` column) in each split; embargoed rows are left out."""  # noqa: E501
    as_of = pd.to_datetime(frame["as_of"])

    def rows(cuts: Sequence[datetime]) -> pd.DataFrame:
        return frame[as_of.isin(pd.to_datetime(list(cuts)))].reset_index(drop=True)

    return rows(split.train), rows(split.validation), rows(split.test)


__all__ = ["NotEnoughCutoffsError", "TimeSplit", "split_cutoffs", "split_frame"]
