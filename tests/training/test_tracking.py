"""MLflow tracking against a real store in tmp_path: where things land, what a run records."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient, fluent
from mlflow.tracking._model_registry import utils as registry_utils
from mlflow.tracking._tracking_service import utils as tracking_utils
from pydantic import ValidationError

from winback.features.builder import FeaturePlan
from winback.features.definitions import Feature
from winback.training.bundle import ModelBundle
from winback.training.models import ChurnModel, CountModel, SpendModel
from winback.training.registry import register
from winback.training.tracking import (
    SKIPPED_METRICS_TAG,
    TrackingSettings,
    _sqlite_artifact_location,
    configure,
    flatten_settings,
    log_bundle,
    log_fingerprint,
    log_frame,
    log_metrics_prefixed,
    log_settings,
    recent_runs,
    resolve_tracking_uri,
)

# MLflow 3.17's ORM mappings use SQLAlchemy's ``noload`` strategy, which SQLAlchemy 2.1
# deprecates; the warning fires once, when the first SQLite store is opened. Not our code.
MLFLOW_SQLALCHEMY_NOISE = (
    "ignore:The ``noload`` loader strategy is deprecated:sqlalchemy.exc.SADeprecationWarning"
)
pytestmark = pytest.mark.filterwarnings(MLFLOW_SQLALCHEMY_NOISE)

#: Environment variables MLflow sets itself (set_tracking_uri, set_experiment) for subprocesses.
_MLFLOW_ENV = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
)


def isolate_mlflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start from MLflow's unset state; monkeypatch restores URIs, experiment and env after."""
    for name in _MLFLOW_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tracking_utils, "_tracking_uri", None)
    monkeypatch.setattr(registry_utils, "_registry_uri", None)
    monkeypatch.setattr(fluent, "_active_experiment_id", None)


def end_runs() -> None:
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite database with its tables created (creating them takes about a second)."""
    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


def seed_store(empty_store: Path, root: Path) -> None:
    """Put a copy of the empty store where ``configure`` looks for the local store of ``root``."""
    (root / "mlruns").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty_store, root / "mlruns" / "mlflow.db")


@pytest.fixture(autouse=True)
def _isolated_mlflow(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_store: Path
) -> Iterator[None]:
    isolate_mlflow(monkeypatch)
    seed_store(empty_store, tmp_path)
    yield
    end_runs()


def tiny_bundle(seed: int = 0) -> ModelBundle:
    """A real bundle on 300 synthetic rows: two numeric features and one text attribute."""
    rng = np.random.default_rng(seed)
    n = 300
    x = pd.DataFrame(
        {
            "orders_90d": rng.poisson(2, n).astype(float),
            "days_since_last_order": rng.uniform(0, 300, n),
            "plan": pd.Series(rng.choice(["basic", "pro"], n), dtype="str"),
        }
    )
    churned = (x["days_since_last_order"] / 300 + rng.uniform(0, 1, n) > 1).astype(int)
    features = tuple(
        Feature(
            name=name,
            expression="0",
            meaning=name,
            unit="count",
            family=name,
            source="transactions",
            kind="aggregate",
        )
        for name in ("orders_90d", "days_since_last_order")
    )
    small: dict[str, Any] = {
        "n_estimators": 15,
        "early_stopping_rounds": None,
        "min_child_samples": 10,
    }
    return ModelBundle(
        plan=FeaturePlan(features=features, event_types={}, attributes={"plan": "plan"}),
        horizon_days=90,
        churn=ChurnModel(**small).fit(x, churned),
        decline=ChurnModel(**small, seed=1).fit(x, 1 - churned),
        orders=CountModel(**small).fit(x, x["orders_90d"]),
        spend=SpendModel(**small).fit(x, x["orders_90d"] * 12.5),
    )


def scoring_frame(rows: int = 25, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "orders_90d": rng.poisson(2, rows).astype(float),
            "days_since_last_order": rng.uniform(0, 300, rows),
            "plan": pd.Series(rng.choice(["basic", "pro", "enterprise"], rows), dtype="str"),
        }
    )


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    return tiny_bundle()


def files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


# --- where the store is ------------------------------------------------------------------------


def test_default_uri_is_an_absolute_sqlite_file_under_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    uri = resolve_tracking_uri(Path("project"), None)
    assert uri == f"sqlite:///{tmp_path.resolve()}/project/mlruns/mlflow.db"


def test_a_given_uri_is_used_as_is(tmp_path: Path) -> None:
    assert resolve_tracking_uri(tmp_path, "http://mlflow.team:5000") == "http://mlflow.team:5000"


def test_artifacts_land_under_root_mlruns_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bundle: ModelBundle
) -> None:
    root, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    uri = configure(TrackingSettings(), root)
    assert uri == f"sqlite:///{root.resolve()}/mlruns/mlflow.db"
    assert mlflow.get_tracking_uri() == uri
    assert mlflow.get_registry_uri() == uri
    with mlflow.start_run():
        log_frame(pd.DataFrame({"decile": [1, 2], "lift": [3.0, 1.5]}), "eval/lift.csv")
        log_bundle(bundle)
    landed = files_under(root / "mlruns" / "artifacts")
    assert any(p.name == "lift.csv" and p.parent.name == "eval" for p in landed)
    assert any(p.name == "bundle.json" for p in landed)
    assert any(p.name == "MLmodel" for p in landed)
    assert files_under(elsewhere) == []


def test_a_given_sqlite_uri_keeps_artifacts_beside_its_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team, elsewhere = tmp_path / "team", tmp_path / "elsewhere"
    team.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    uri = f"sqlite:///{team}/mlflow.db"
    assert configure(TrackingSettings(uri=uri, experiment="team-exp"), tmp_path / "project") == uri
    experiment = MlflowClient(uri).get_experiment_by_name("team-exp")
    assert experiment is not None
    assert experiment.artifact_location == (team / "artifacts").as_uri()
    assert not (tmp_path / "project").exists()
    assert files_under(elsewhere) == []


def test_a_server_or_in_memory_store_keeps_its_own_artifact_location() -> None:
    assert _sqlite_artifact_location("http://mlflow.team:5000") is None
    assert _sqlite_artifact_location("databricks") is None
    assert _sqlite_artifact_location("sqlite://") is None
    assert _sqlite_artifact_location("sqlite:///:memory:") is None
    assert _sqlite_artifact_location("sqlite:////srv/x.db?timeout=5") == "file:///srv/artifacts"


def test_configure_twice_reuses_the_experiment(tmp_path: Path) -> None:
    settings = TrackingSettings(experiment="again")
    configure(settings, tmp_path)
    first = mlflow.get_experiment_by_name("again")
    configure(settings, tmp_path)
    second = mlflow.get_experiment_by_name("again")
    assert first is not None and second is not None
    assert first.experiment_id == second.experiment_id
    assert second.artifact_location == (tmp_path.resolve() / "mlruns" / "artifacts").as_uri()


# --- the model ---------------------------------------------------------------------------------


def test_logged_model_predicts_like_the_bundle_with_signature_and_example(
    tmp_path: Path, bundle: ModelBundle
) -> None:
    configure(TrackingSettings(), tmp_path)
    with mlflow.start_run():
        info = log_bundle(bundle)
    assert info.signature is not None
    assert info.signature.inputs.input_names() == bundle.feature_columns
    assert info.signature.outputs.input_names() == [
        "churn_probability",
        "decline_probability",
        "expected_orders",
        "expected_spend",
    ]
    assert info.saved_input_example_info is not None
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    frame = scoring_frame()
    pd.testing.assert_frame_equal(
        loaded.predict(frame).reset_index(drop=True),
        bundle.predict(frame).reset_index(drop=True),
    )
    model_dir = Path(
        mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path / "m"))
    )
    requirements = (model_dir / "requirements.txt").read_text()
    assert "winback==" in requirements
    assert "mlflow==" in requirements


def test_logged_model_refuses_a_frame_without_a_model_column(
    tmp_path: Path, bundle: ModelBundle
) -> None:
    configure(TrackingSettings(), tmp_path)
    with mlflow.start_run():
        info = log_bundle(bundle)
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    with pytest.raises(MlflowException, match="days_since_last_order"):
        loaded.predict(scoring_frame().drop(columns="days_since_last_order"))


# --- settings, fingerprint, metrics, frames ----------------------------------------------------


def test_settings_are_flattened_stringified_and_kept_whole_as_json(tmp_path: Path) -> None:
    configure(TrackingSettings(), tmp_path)
    settings = {
        "features": {"windows_days": (30, 90), "trend_weeks": 8},
        "training": {"churn": {"learning_rate": 0.05}, "path": tmp_path, "note": "x" * 7000},
        "seed": 11,
        "empty": {},
    }
    with mlflow.start_run() as run:
        log_settings(settings)
    params = MlflowClient().get_run(run.info.run_id).data.params
    assert params["features.windows_days"] == "[30, 90]"
    assert params["training.churn.learning_rate"] == "0.05"
    assert params["training.path"] == str(tmp_path)
    assert params["seed"] == "11"
    assert params["empty"] == "{}"
    assert len(params["training.note"]) == 6000
    assert params["training.note"].endswith("…")
    whole = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/settings.json")
    assert whole["training"]["note"] == "x" * 7000


def test_flatten_settings_replaces_characters_mlflow_refuses_in_keys() -> None:
    assert flatten_settings({"a[0]": 1, "b": {"c=d": None}}) == {"a_0_": "1", "b.c_d": "None"}


def test_fingerprint_is_logged_as_data_params_and_json(tmp_path: Path) -> None:
    configure(TrackingSettings(), tmp_path)
    fingerprint = {"transactions_rows": 120, "customers": 30, "hash": "abc123"}
    with mlflow.start_run() as run:
        log_fingerprint(fingerprint)
    params = MlflowClient().get_run(run.info.run_id).data.params
    assert params == {
        "data.transactions_rows": "120",
        "data.customers": "30",
        "data.hash": "abc123",
    }
    logged = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/data_fingerprint.json")
    assert logged == fingerprint


def test_metrics_are_prefixed_and_undefined_ones_skipped_with_a_tag(tmp_path: Path) -> None:
    configure(TrackingSettings(), tmp_path)
    with mlflow.start_run() as run:
        skipped = log_metrics_prefixed("test.churn", {"roc_auc": 0.71, "pr_auc": math.nan})
        assert skipped == ["test.churn.pr_auc"]
        log_metrics_prefixed("test.spend", {"mae": 3.5, "mape": math.inf})
    data = MlflowClient().get_run(run.info.run_id).data
    assert data.metrics == {"test.churn.roc_auc": 0.71, "test.spend.mae": 3.5}
    assert data.tags[SKIPPED_METRICS_TAG] == "test.churn.pr_auc,test.spend.mape"


def test_all_finite_metrics_set_no_skip_tag(tmp_path: Path) -> None:
    configure(TrackingSettings(), tmp_path)
    with mlflow.start_run() as run:
        assert log_metrics_prefixed("valid.churn", {"brier": 0.2}) == []
    data = MlflowClient().get_run(run.info.run_id).data
    assert data.metrics == {"valid.churn.brier": 0.2}
    assert SKIPPED_METRICS_TAG not in data.tags


def test_frame_is_logged_as_csv(tmp_path: Path) -> None:
    configure(TrackingSettings(), tmp_path)
    frame = pd.DataFrame({"segment": ["strategic", "ordinary"], "customers": [3, 9]})
    with mlflow.start_run() as run:
        log_frame(frame, "segments.csv")
    path = mlflow.artifacts.download_artifacts(
        f"{run.info.artifact_uri}/segments.csv", dst_path=str(tmp_path / "dl")
    )
    pd.testing.assert_frame_equal(pd.read_csv(path), frame, check_dtype=False)


# --- listing runs ------------------------------------------------------------------------------


def test_recent_runs_lists_newest_first_with_metrics_and_version(
    tmp_path: Path, bundle: ModelBundle
) -> None:
    settings = TrackingSettings()
    configure(settings, tmp_path)
    with mlflow.start_run(run_name="first") as first:
        log_metrics_prefixed("test.ours.active", {"roc_auc": 0.70, "pr_auc": 0.40})
    with mlflow.start_run(run_name="second") as second:
        log_metrics_prefixed("test.ours.active", {"roc_auc": 0.75})
        log_metrics_prefixed("test.ours.spend", {"mae": 12.0})
        info = log_bundle(bundle)
    register(info.model_uri, settings.registered_model)

    runs = recent_runs(settings, tmp_path)
    assert list(runs["run_id"]) == [second.info.run_id, first.info.run_id]
    assert list(runs["run_name"]) == ["second", "first"]
    assert list(runs["status"]) == ["FINISHED", "FINISHED"]
    assert list(runs["test.ours.active.roc_auc"]) == [0.75, 0.70]
    assert math.isnan(runs["test.ours.active.pr_auc"].iloc[0])
    assert runs["test.ours.spend.mae"].iloc[0] == 12.0
    assert runs["version"].iloc[0] == 1
    assert runs["version"].isna().iloc[1]
    assert runs["aliases"].iloc[0] == "challenger"
    assert runs["start_time"].iloc[0] >= runs["start_time"].iloc[1]
    assert len(recent_runs(settings, tmp_path, limit=1)) == 1


def test_recent_runs_of_an_empty_store_is_an_empty_table(tmp_path: Path) -> None:
    runs = recent_runs(TrackingSettings(experiment="nothing-yet"), tmp_path)
    assert runs.empty
    assert {"run_id", "start_time", "status", "version"} <= set(runs.columns)


def test_recent_runs_without_a_store_creates_none(tmp_path: Path) -> None:
    root = tmp_path / "fresh-clone"
    assert recent_runs(TrackingSettings(), root).empty
    assert not root.exists()


def test_settings_are_frozen_and_keyword_only() -> None:
    settings = TrackingSettings(uri="sqlite:///x.db")
    with pytest.raises(ValidationError, match="frozen"):
        settings.uri = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        TrackingSettings("sqlite:///x.db")  # type: ignore[call-arg]
    assert json.dumps(TrackingSettings().__dict__) == (
        '{"uri": null, "experiment": "winback", "registered_model": "winback"}'
    )
