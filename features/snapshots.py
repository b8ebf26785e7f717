"""Training snapshots: features and labels at many cutoffs, stacked.

The cutoffs follow a calendar (week, month or quarter starts: midnights in the business's
zone). A snapshot is kept only when its first label window ``[T, T + horizon)`` closes by the
end of the data (``as_of`` when given), so a model trained on the stack has seen no record at
or after ``as_of``; later period labels that are not yet observed stay empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from winback.common.errors import WinbackError
from winback.common.timestamps import local_calendar
from winback.features.builder import FeaturePlan, build_features, plan_features
from winback.features.dataset import Dataset
from winback.features.labels import build_labels
from winback.features.settings import (
    AUTO_MIN_HISTORY_DAYS,
    FeatureSettings,
    LabelSettings,
    SnapshotSettings,
)

_FREQ = {"week": "W-MON", "month": "MS", "quarter": "QS"}


class NotEnoughHistoryError(WinbackError, ValueError):
    """The data is too short for one snapshot with history before it and a label window after."""


@dataclass(frozen=True)
class Snapshots:
    """Stacked snapshots: one row per (customer_id, as_of) with features then labels."""

    frame: pd.DataFrame
    plan: FeaturePlan
    cutoffs: list[datetime]
    observed_until: datetime
    label_columns: list[str]


def data_end(dataset: Dataset) -> datetime:
    """The exclusive end of the data: the business's midnight after the last transaction's day."""
    end = dataset.end()
    if end is None:
        raise NotEnoughHistoryError("there are no transactions")
    return end


def min_history(settings: SnapshotSettings, history_days: int, horizon_days: int) -> int:
    """Days of history before the first cutoff: the setting, or what ``auto`` makes of it.

    ``auto`` keeps 180 days where the history leaves two horizons after them, and otherwise
    shortens to leave them (never below one horizon): one cohort's 39 weeks with a 13-week
    horizon start cutoffs after 13 weeks rather than refusing to train.
    """
    if settings.min_history_days != "auto":
        return settings.min_history_days
    room = history_days - 2 * horizon_days
    return min(AUTO_MIN_HISTORY_DAYS, max(horizon_days, room))


def snapshot_calendar(
    first: datetime,
    end: datetime,
    labels: LabelSettings,
    settings: SnapshotSettings,
    zone: str = "UTC",
) -> list[datetime]:
    """Cutoffs from ``first`` + min_history_days to the last whose horizon closes by ``end``.

    Cutoffs are period starts at midnight in ``zone``; all moments are naive UTC.
    """
    history = min_history(settings, (end - first).days, labels.horizon_days)
    start = first + timedelta(days=history)
    last = end - timedelta(days=labels.horizon_days)
    if last < start:
        raise NotEnoughHistoryError(
            f"the data runs from {first:%Y-%m-%d} to {end:%Y-%m-%d}: too short for "
            f"{history} days of history plus a {labels.horizon_days}-day "
            "label window. Lower [snapshots] min_history_days or [labels] horizon_days."
        )
    cutoffs = local_calendar(start, last, _FREQ[settings.frequency], zone)
    if not cutoffs:
        raise NotEnoughHistoryError(
            f"no {settings.frequency} start between {start:%Y-%m-%d} and {last:%Y-%m-%d}; "
            "use a shorter [snapshots] frequency"
        )
    if settings.max_cutoffs:
        cutoffs = cutoffs[-settings.max_cutoffs :]
    return cutoffs


def build_snapshots(
    dataset: Dataset,
    *,
    features: FeatureSettings | None = None,
    labels: LabelSettings | None = None,
    snapshots: SnapshotSettings | None = None,
    as_of: date | datetime | str | None = None,
) -> Snapshots:
    """Features and labels at every calendar cutoff whose label window closes by ``as_of``.

    Without ``as_of`` the end of the data is used; with it, nothing at or after ``as_of`` is
    read, which is how a backtest trains "as if today were ``as_of``".
    """
    features = features or FeatureSettings()
    labels = labels or LabelSettings()
    snapshots = snapshots or SnapshotSettings()
    end = data_end(dataset) if as_of is None else min(dataset.cutoff(as_of), data_end(dataset))
    span = dataset.time_range()
    assert span is not None  # data_end has checked
    cutoffs = snapshot_calendar(span[0], end, labels, snapshots, dataset.timezone)
    plan = plan_features(dataset, features, until=cutoffs[-1])
    frame = build_features(dataset, cutoffs, features, plan=plan)
    target = build_labels(dataset, frame[["customer_id", "as_of"]], labels, end)
    stacked = frame.merge(target, on=["customer_id", "as_of"], how="left", validate="1:1")
    labels_only = [str(c) for c in target.columns if c not in frame.columns]
    return Snapshots(stacked, plan, cutoffs, end, labels_only)


__all__ = [
    "NotEnoughHistoryError",
    "Snapshots",
    "build_snapshots",
    "data_end",
    "snapshot_calendar",
]
