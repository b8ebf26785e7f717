"""Data contract, loading and point-in-time features, labels, segments and snapshots.

The bottom stage: it imports only ``winback.common``.
"""

from winback.features.builder import (
    FeaturePlan,
    build_features,
    feature_sql,
    plan_features,
    write_features,
)
from winback.features.dataset import Dataset, TableReport
from winback.features.dictionary import describe_features
from winback.features.labels import build_labels, label_columns
from winback.features.loading import load_dataset, load_summary, write_quarantine
from winback.features.segments import build_segments
from winback.features.settings import (
    DataSettings,
    EngineSettings,
    FeatureSettings,
    LabelSettings,
    SegmentSettings,
    SnapshotSettings,
    SourceSettings,
)
from winback.features.snapshots import Snapshots, build_snapshots, snapshot_calendar

__all__ = [
    "DataSettings",
    "Dataset",
    "EngineSettings",
    "FeaturePlan",
    "FeatureSettings",
    "LabelSettings",
    "SegmentSettings",
    "SnapshotSettings",
    "Snapshots",
    "SourceSettings",
    "TableReport",
    "build_features",
    "build_labels",
    "build_segments",
    "build_snapshots",
    "describe_features",
    "feature_sql",
    "label_columns",
    "load_dataset",
    "load_summary",
    "plan_features",
    "snapshot_calendar",
    "write_features",
    "write_quarantine",
]
