"""Data contract, loading and point-in-time features, labels, segments and snapshots.

This is the bottom stage: it imports no other winback package.
"""

from features.builder import (
    FeaturePlan,
    build_features,
    feature_sql,
    plan_features,
    write_features,
)
from features.dataset import Dataset, TableReport
from features.dictionary import describe_features
from features.errors import DataContractError, DataSourceError, SettingsError, WinbackError
from features.labels import build_labels, label_columns
from features.loading import load_dataset, load_summary, write_quarantine
from features.output import write_frame
from features.segments import build_segments
from features.settings import (
    DataSettings,
    EngineSettings,
    FeatureSettings,
    LabelSettings,
    SegmentSettings,
    SnapshotSettings,
    SourceSettings,
)
from features.simulate import SyntheticWorld, simulate, write_world
from features.snapshots import Snapshots, build_snapshots, snapshot_calendar

__all__ = [
    "DataContractError",
    "DataSettings",
    "DataSourceError",
    "Dataset",
    "EngineSettings",
    "FeaturePlan",
    "FeatureSettings",
    "LabelSettings",
    "SegmentSettings",
    "SettingsError",
    "SnapshotSettings",
    "Snapshots",
    "SourceSettings",
    "SyntheticWorld",
    "TableReport",
    "WinbackError",
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
    "simulate",
    "snapshot_calendar",
    "write_features",
    "write_frame",
    "write_quarantine",
    "write_world",
]
