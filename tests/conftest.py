"""Session-wide fixtures: one small seeded synthetic world, and one model trained on it.

Both are shared read-only by the tests. pytest-xdist computes a session fixture once per worker,
so however the modules are spread, each worker simulates the world and trains the model at most
once: training is most of what the suite spends its time on.
"""

from __future__ import annotations

import os

# No usage telemetry from MLflow in tests (nothing may reach the network); winback's shell sets
# the same default.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
# The suite runs in two worker processes (pytest-xdist); an OpenMP thread that busy-waits for
# work would take the core the other worker needs. Set before LightGBM loads its runtime, and
# inherited by the CLI subprocesses.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pickle
from dataclasses import dataclass
from datetime import datetime

import pytest

from tests.shared_run import locked, shared_dir
from winback.features import (
    Dataset,
    LabelSettings,
    Snapshots,
    SnapshotSettings,
    build_snapshots,
    load_dataset,
)
from winback.synthetic import SyntheticWorld, simulate
from winback.training.pipeline import TrainingSettings, TrainResult, train_models

TABLES = ("transactions", "events", "customers", "campaigns")
#: The shared model's labels and snapshots: a quarter's horizon, monthly cutoffs over all the data.
LABELS = LabelSettings(horizon_days=90)
SNAPSHOTS = SnapshotSettings(min_history_days=120)
#: Small but complete: every spend objective, calibration and BG/NBD inputs are fitted; only the
#: BG/NBD baseline (a second BG/NBD fit, covered in tests/training/test_baselines.py) is left out.
FAST = TrainingSettings(n_estimators=80, learning_rate=0.2, n_jobs=1, bgnbd_baseline=False)


@dataclass(frozen=True)
class Trained:
    """The small world's data, its snapshots and what ``train_models`` made of them."""

    dataset: Dataset
    snapshots: Snapshots
    result: TrainResult


@pytest.fixture(scope="session")
def small_world() -> SyntheticWorld:
    """3,000 customers over two years; treat as read-only."""
    return simulate(3000, datetime(2023, 1, 1), datetime(2025, 1, 1), seed=11)


@pytest.fixture(scope="session")
def small_dataset(small_world: SyntheticWorld) -> Dataset:
    """The small world loaded through the data contract; treat as read-only."""
    return load_dataset(frames={t: getattr(small_world, t) for t in TABLES})


@pytest.fixture(scope="session")
def small_trained(
    small_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Trained:
    """The small world trained once with ``FAST``, on snapshots over all its data; read-only.

    Trained by the first worker that asks and unpickled by the others: the same seeded world and
    settings give every worker the same model, so one training serves the whole run.
    """
    shared = shared_dir(tmp_path_factory, worker_id)
    saved = shared / "small_trained.pickle"
    with locked(shared / "small_trained.lock"):
        if not saved.exists():
            snaps = build_snapshots(small_dataset, labels=LABELS, snapshots=SNAPSHOTS)
            result = train_models(snaps, small_dataset, LABELS, FAST)
            saved.write_bytes(pickle.dumps((snaps, result)))
        snaps, result = pickle.loads(saved.read_bytes())
    return Trained(small_dataset, snaps, result)
