"""Shared by the serving tests: one small trained model and one scoring of the small world."""

from __future__ import annotations

from datetime import datetime

import pytest

from winback.features import LabelSettings, SnapshotSettings, build_snapshots, load_dataset
from winback.serving.model import load_model
from winback.serving.scoring import score
from winback.training.pipeline import TrainingSettings, train_models

TABLES = ("transactions", "events", "customers", "campaigns")
FAST = TrainingSettings(n_estimators=150, learning_rate=0.1, n_jobs=1, bgnbd_baseline=False)
AS_OF = "2024-11-01"
SCORED_AT = datetime(2024, 11, 2, 6, 0)


@pytest.fixture(scope="session")
def dataset(small_world):
    return load_dataset(frames={t: getattr(small_world, t) for t in TABLES})


@pytest.fixture(scope="session")
def model(dataset, tmp_path_factory):
    labels = LabelSettings(horizon_days=90)
    snaps = build_snapshots(
        dataset, labels=labels, snapshots=SnapshotSettings(min_history_days=120), as_of="2024-08-01"
    )
    result = train_models(snaps, dataset, labels, FAST)
    return load_model(str(result.bundle.save(tmp_path_factory.mktemp("model") / "bundle")))


@pytest.fixture(scope="session")
def scored(dataset, model):
    return score(dataset, model, AS_OF, scored_at=SCORED_AT, chunk_rows=700)
