"""A new SQLite store is seeded from the cached empty schema, which is exactly what MLflow makes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from winback.training.settings import TrackingSettings
from winback.training.store_schema import cache_folder, seed_new_store
from winback.training.tracking import configure


def schema(database: Path) -> list[tuple[str, str, list[str]]]:
    """Tables, indexes and revision; a statement's lines sorted, as MLflow orders constraints
    differently from one store to the next within a process."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        revision = db.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = [(kind, name, sorted((sql or "").splitlines())) for kind, name, sql in rows]
        return [*tables, ("revision", str(revision), [])]


def test_a_seeded_store_is_the_store_mlflow_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # A damaged cache file is rebuilt, not copied.
    cache_folder().mkdir(parents=True)
    damaged = cache_folder() / f"mlflow-{mlflow.__version__}-empty-store.db"
    damaged.write_bytes(b"not a database")
    seeded = tmp_path / "seeded" / "mlflow.db"
    seeded.parent.mkdir()
    assert seed_new_store(seeded)
    assert damaged.read_bytes() == seeded.read_bytes()

    made = tmp_path / "made.db"
    MlflowClient(tracking_uri=f"sqlite:///{made}").search_experiments()  # MLflow migrates it
    assert schema(seeded) == schema(made)

    # MLflow takes the seeded file as its own: the experiment and its artifacts land beside it.
    uri = configure(TrackingSettings(uri=f"sqlite:///{seeded}"), tmp_path)
    experiment = MlflowClient(tracking_uri=uri).get_experiment_by_name("winback")
    assert experiment is not None
    assert experiment.artifact_location == (seeded.parent / "artifacts").as_uri()


def test_an_existing_store_is_never_replaced(tmp_path: Path) -> None:
    store = tmp_path / "mlflow.db"
    store.write_bytes(b"someone's runs")
    assert not seed_new_store(store)
    assert store.read_bytes() == b"someone's runs"


def test_without_a_cache_folder_mlflow_builds_the_store_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    store = tmp_path / "store" / "mlflow.db"
    store.parent.mkdir()
    assert not seed_new_store(store)
    assert list(store.parent.iterdir()) == []
