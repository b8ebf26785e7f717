"""Splits of stacked snapshots into train, validation and test: apart in time, or by customer.

A snapshot at cutoff ``T`` carries labels from ``[T, T + label_days)``. A split is honest when
no label window of an earlier split reaches into a later split's first cutoff: otherwise the
model would learn, in training, from the very days it is evaluated on. So the splits are cut
back to front: the test cutoffs are the latest ones, validation takes the latest cutoffs whose
label windows close by the first test cutoff, and training takes those that close by the first
validation cutoff. The cutoffs in between (the embargo) are used by no split.

A short history (a young business, one cohort, a year of data) has too few cutoffs for that.
Then the customers are held out instead (:func:`split_customers`): every customer's rows belong
to one split, chosen by a stable hash of the id; training and validation use every cutoff, the
test the latest. All label windows still close before the data's end, so nothing after the
training cutoff is read; what such a split cannot test is a change over calendar time, since the
held-out customers live through the same weeks as the training ones. :func:`choose_split` takes
the time split where it exists and says which it took.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from winback.common import WinbackError


class NotEnoughCutoffsError(WinbackError, ValueError):
    """Too few cutoffs for train, validation and test with their label windows apart."""


#: Shares of customers in training and validation when customers are held out (the rest test).
CUSTOMER_SHARES = (0.6, 0.2)


@dataclass(frozen=True)
class TimeSplit:
    """Cutoffs per split, each list sorted, and how the splits are kept apart.

    ``by="time"``: every train label window closes by the first validation cutoff, and every
    validation window by the first test cutoff. ``by="customers"``: the splits hold disjoint
    customers (``customer_shares`` of them in train and validation, the rest test).
    """

    train: tuple[datetime, ...]
    validation: tuple[datetime, ...]
    test: tuple[datetime, ...]
    label_days: int
    by: Literal["time", "customers"] = "time"
    customer_shares: tuple[float, float] = CUSTOMER_SHARES

    def describe(self) -> str:
        """One line per split: how many cutoffs and their range (and the customers' share)."""
        shares = (*self.customer_shares, 1 - sum(self.customer_shares))
        lines = []
        for (name, c), share in zip(
            (("train", self.train), ("validation", self.validation), ("test", self.test)),
            shares,
            strict=True,
        ):
            line = f"{name:<10} {len(c):>3} cutoffs {c[0]:%Y-%m-%d} … {c[-1]:%Y-%m-%d}"
            if self.by == "customers":
                line += f", {share:.0%} of the customers"
            lines.append(line)
        return "\n".join(lines)

    def method(self) -> str:
        """How the splits are kept apart, in a sentence for the run and the report."""
        if self.by == "time":
            return (
                "split in time: validation and test are later cutoffs whose label windows do "
                "not overlap the earlier splits'"
            )
        train, valid = self.customer_shares
        return (
            "split by customer (the history is too short for train, validation and test "
            f"{self.label_days} days apart in time): {train:.0%} of the customers train, "
            f"{valid:.0%} validate and {1 - train - valid:.0%} test, at cutoffs whose label "
            "windows all closed before the data's end; a shift over calendar time is not tested"
        )


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


def split_customers(
    cutoffs: Iterable[datetime],
    label_days: int,
    shares: tuple[float, float] = CUSTOMER_SHARES,
) -> TimeSplit:
    """Hold out customers: train and validation at every cutoff, test at the latest one."""
    ordered = tuple(sorted(set(cutoffs)))
    if not ordered:
        raise NotEnoughCutoffsError("no cutoffs to split")
    if min(shares) <= 0 or sum(shares) >= 1:
        raise ValueError(f"customer shares {shares} must be positive and leave some for test")
    return TimeSplit(ordered, ordered, ordered[-1:], label_days, "customers", shares)


def choose_split(
    cutoffs: Iterable[datetime],
    label_days: int,
    *,
    validation: int = 1,
    test: int = 1,
    min_train: int = 1,
) -> TimeSplit:
    """The time split where the cutoffs allow one, else held-out customers (see ``by``)."""
    cutoffs = list(cutoffs)
    try:
        return split_cutoffs(
            cutoffs, label_days, validation=validation, test=test, min_train=min_train
        )
    except NotEnoughCutoffsError:
        return split_customers(cutoffs, label_days)


def customer_part(
    customer_ids: pd.Series, shares: tuple[float, float] = CUSTOMER_SHARES
) -> np.ndarray:
    """0 (train), 1 (validation) or 2 (test) per customer: a stable hash of the id's text.

    CRC-32 rather than Python's ``hash``, which is salted per process: the same customer lands in
    the same split in every run and on every machine.
    """
    texts = customer_ids.astype(str).to_numpy()
    unit = np.fromiter((zlib.crc32(t.encode()) for t in texts), np.uint32, len(texts)) / 2**32
    return np.where(unit < shares[0], 0, np.where(unit < shares[0] + shares[1], 1, 2))


def split_frame(
    frame: pd.DataFrame, split: TimeSplit
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The rows of ``frame`` (``as_of``, ``customer_id``) in each split; embargoed rows left out."""
    as_of = pd.to_datetime(frame["as_of"])
    part = (
        customer_part(frame["customer_id"], split.customer_shares)
        if split.by == "customers"
        else None
    )

    def rows(cuts: Sequence[datetime], which: int) -> pd.DataFrame:
        keep = as_of.isin(pd.to_datetime(list(cuts)))
        if part is not None:
            keep &= part == which
        return frame[keep].reset_index(drop=True)

    return rows(split.train, 0), rows(split.validation, 1), rows(split.test, 2)


__all__ = [
    "CUSTOMER_SHARES",
    "NotEnoughCutoffsError",
    "TimeSplit",
    "choose_split",
    "customer_part",
    "split_customers",
    "split_cutoffs",
    "split_frame",
]
