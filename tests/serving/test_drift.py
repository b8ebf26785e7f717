"""Drift reports: statuses from thresholds, human warnings, and what lands in the MLflow run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient, fluent
from mlflow.tracking._model_registry import utils as registry_utils
from mlflow.tracking._tracking_service import utils as tracking_utils

from winback.features import build_features, load_dataset
from winback.serving.drift import REPORT_COLUMNS, DriftReport, drift_report, log_drift, status_of
from winback.serving.settings import DriftSettings
from winback.synthetic import SyntheticWorld
from winback.training.reference import ProfileError, ReferenceProfile
from winback.training.tracking import TrackingSettings, configure

KEYS = ("customer_id", "as_of")
EARLY, LATE = datetime(2024, 3, 1), datetime(2024, 12, 1)


@pytest.fixture(scope="module")
def snapshots(small_world: SyntheticWorld) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Real feature rows of the small world at two cutoffs nine months apart."""
    frames = {
        "transactions": small_world.transactions,
        "events": small_world.events,
        "customers": small_world.customers,
        "campaigns": small_world.campaigns,
    }
    dataset = load_dataset(frames=frames)
    return build_features(dataset, EARLY), build_features(dataset, LATE)


@pytest.fixture(scope="module")
def real_report(snapshots: tuple[pd.DataFrame, pd.DataFrame]) -> DriftReport:
    early, late = snapshots
    profile = ReferenceProfile.fit(early, [c for c in early.columns if c not in KEYS])
    return drift_report(profile, late, DriftSettings())


def shifted(rows: int = 4000) -> tuple[ReferenceProfile, pd.DataFrame]:
    """A profile of three columns and a frame where one shifts by 1 sd, one a little, one not."""
    rng = np.random.default_rng(0)
    before = pd.DataFrame(
        {
            "stable": rng.normal(0, 1, rows),
            "nudged": rng.normal(0, 1, rows),
            "moved": rng.normal(0, 1, rows),
            "score": rng.uniform(0, 1, rows),
        }
    )
    profile = ReferenceProfile.fit(before, ["stable", "nudged", "moved"], outputs=["score"])
    after = pd.DataFrame(
        {
            "stable": rng.normal(0, 1, rows),
            "nudged": rng.normal(0.4, 1, rows),
            "moved": rng.normal(1, 1, rows),
            "score": rng.uniform(0, 1, rows) ** 2,
        }
    )
    return profile, after


# --- statuses ----------------------------------------------------------------------------------


def test_status_follows_the_thresholds_at_their_boundaries() -> None:
    settings = DriftSettings(warn_psi=0.1, alert_psi=0.25)
    assert status_of(0.0, settings) == "ok"
    assert status_of(0.0999, settings) == "ok"
    assert status_of(0.1, settings) == "warn"
    assert status_of(0.25, settings) == "warn"
    assert status_of(0.2501, settings) == "alert"


def test_a_one_sd_shift_alerts_a_small_one_warns_and_noise_is_ok() -> None:
    profile, after = shifted()
    report = drift_report(profile, after, DriftSettings())
    status = dict(zip(report.table["feature"], report.table["status"], strict=True))
    assert status == {"moved": "alert", "score": "alert", "nudged": "warn", "stable": "ok"}
    assert report.counts == {"ok": 1, "warn": 1, "alert": 2}
    assert report.status == "alert"


def test_other_thresholds_give_other_statuses() -> None:
    profile, after = shifted()
    lenient = drift_report(profile, after, DriftSettings(warn_psi=5.0, alert_psi=10.0))
    assert lenient.counts == {"ok": 4, "warn": 0, "alert": 0}
    assert lenient.status == "ok"
    assert lenient.warnings() == []
    strict = drift_report(profile, after, DriftSettings(warn_psi=1e-6, alert_psi=2e-6))
    assert strict.counts == {"ok": 0, "warn": 0, "alert": 4}


# --- the report --------------------------------------------------------------------------------


def test_the_table_is_sorted_by_psi_and_the_counts_add_up(
    real_report: DriftReport, snapshots: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    table = real_report.table
    assert list(table.columns) == list(REPORT_COLUMNS)
    assert table["psi"].is_monotonic_decreasing
    # One row per profiled column: every feature column of the snapshot.
    profiled = [c for c in snapshots[0].columns if c not in KEYS]
    assert sum(real_report.counts.values()) == len(table) == len(profiled)
    assert sorted(table["feature"]) == sorted(profiled)
    assert real_report.max_psi == table["psi"].iloc[0]
    # One snapshot holds one calendar month: against another month that is all drift.
    assert table["feature"].iloc[0] == "as_of_month"
    assert real_report.rows > real_report.reference_rows  # the customer base grew


def test_the_summary_is_plain_and_names_the_worst_columns(real_report: DriftReport) -> None:
    summary = real_report.summary(n=3)
    assert summary["status"] == "alert"
    assert summary["columns"] == summary["ok"] + summary["warn"] + summary["alert"]
    assert list(summary["worst"]) == real_report.table["feature"].head(3).tolist()
    assert real_report.worst(3).equals(real_report.table.head(3))


def test_one_warning_line_per_shifted_column_most_shifted_first(real_report: DriftReport) -> None:
    lines = real_report.warnings()
    shifted_columns = real_report.table[real_report.table["status"] != "ok"]
    assert len(lines) == len(shifted_columns) > 0
    assert lines[0].startswith("as_of_month: PSI ")
    assert "(major shift)" in lines[0]
    moderate = shifted_columns[shifted_columns["status"] == "warn"].iloc[0]
    assert any(
        line.startswith(f"{moderate['feature']}: PSI {moderate['psi']:.2f} (moderate shift)")
        for line in lines
    )


def test_an_output_is_named_as_such_in_its_warning() -> None:
    profile, after = shifted()
    lines = drift_report(profile, after, DriftSettings()).warnings()
    assert any(line.startswith("score (model output): PSI ") for line in lines)
    assert not any(line.startswith("stable") for line in lines)


def test_ties_in_psi_are_ordered_by_name() -> None:
    frame = pd.DataFrame({"b": [1.0, 2.0], "a": [1.0, 2.0]})
    report = drift_report(ReferenceProfile.fit(frame, ["b", "a"]), frame, DriftSettings())
    assert report.table["feature"].tolist() == ["a", "b"]


def test_a_subset_of_columns_can_be_compared_and_a_missing_one_is_named() -> None:
    profile, after = shifted()
    inputs = drift_report(profile, after.drop(columns="score"), DriftSettings(), ["moved"])
    assert inputs.table["feature"].tolist() == ["moved"]
    with pytest.raises(ProfileError, match="score"):
        drift_report(profile, after.drop(columns="score"), DriftSettings())


# --- MLflow ------------------------------------------------------------------------------------

#: Environment variables MLflow sets itself (set_tracking_uri, set_experiment) for subprocesses.
_MLFLOW_ENV = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite MLflow store in tmp_path; MLflow's global state is restored after."""
    for name in _MLFLOW_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tracking_utils, "_tracking_uri", None)
    monkeypatch.setattr(registry_utils, "_registry_uri", None)
    monkeypatch.setattr(fluent, "_active_experiment_id", None)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    configure(TrackingSettings(uri=uri, experiment="drift"), tmp_path)
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()


def test_log_drift_records_metrics_counts_table_and_summary(store: str, tmp_path: Path) -> None:
    profile, after = shifted()
    report = drift_report(profile, after, DriftSettings())
    with mlflow.start_run() as run:
        artifact = log_drift(report, "2024-12-01")
    assert artifact == "drift/psi_2024-12-01.csv"
    client = MlflowClient(store)
    logged = client.get_run(run.info.run_id)
    metrics = logged.data.metrics
    for feature, psi in zip(report.table["feature"], report.table["psi"], strict=True):
        assert metrics[f"drift.psi.{feature}"] == pytest.approx(psi)
    assert metrics["drift.columns.alert"] == 2
    assert metrics["drift.columns.warn"] == 1
    assert metrics["drift.columns.ok"] == 1
    assert metrics["drift.max_psi"] == pytest.approx(report.max_psi)
    assert metrics["drift.rows"] == len(after)
    assert logged.data.tags["winback.drift.as_of"] == "2024-12-01T00:00:00"
    table = pd.read_csv(
        client.download_artifacts(run.info.run_id, artifact, str(tmp_path / "download"))
    )
    assert table["feature"].tolist() == report.table["feature"].tolist()
    assert table["status"].tolist() == report.table["status"].tolist()
    summary = mlflow.artifacts.load_dict(
        f"{logged.info.artifact_uri}/drift/summary_2024-12-01.json"
    )
    assert summary["as_of"] == "2024-12-01T00:00:00"
    assert summary["alert"] == 2


def test_log_drift_needs_an_active_run() -> None:
    profile, after = shifted(200)
    assert mlflow.active_run() is None
    with pytest.raises(RuntimeError, match="active MLflow run"):
        log_drift(drift_report(profile, after, DriftSettings()), datetime(2024, 12, 1))
