"""One real ``train_and_register`` in a git checkout: what the run and the registry then say."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.training.test_tracking import MLFLOW_SQLALCHEMY_NOISE, end_runs, isolate_mlflow
from winback.features import (
    DataSettings,
    LabelSettings,
    SnapshotSettings,
    load_dataset,
)
from winback.features.settings import SourceSettings
from winback.settings import Settings
from winback.synthetic import simulate, write_world
from winback.training.descriptions import MODEL_DESCRIPTION
from winback.training.lineage import GIT_DIRTY_TAG
from winback.training.pipeline import TrainingSettings
from winback.training.run import TrainingRun, train_and_register

pytestmark = [pytest.mark.filterwarnings(MLFLOW_SQLALCHEMY_NOISE), pytest.mark.slow]

FAST = TrainingSettings(
    n_estimators=60,
    learning_rate=0.2,
    n_jobs=1,
    validation_cutoffs=1,
    bgnbd_baseline=False,
    btyd_features=False,  # fitting BG/NBD inputs takes a minute and is not what this tests
)


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Ana", "-c", "user.email=ana@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, TrainingRun]]:
    """A project checkout (settings committed, data and mlruns/ ignored) trained once."""
    root = tmp_path_factory.mktemp("project")
    with pytest.MonkeyPatch.context() as patch:
        isolate_mlflow(patch)
        patch.setenv("GIT_CEILING_DIRECTORIES", str(root.parent))
        patch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        git(root, "init", "-q", "-b", "main")
        (root / ".gitignore").write_text("data/\nmlruns/\n")
        (root / "winback.toml").write_text("[labels]\nhorizon_days = 60\n")
        git(root, "add", ".")
        git(root, "commit", "-q", "-m", "project")
        paths = write_world(
            simulate(300, datetime(2023, 1, 1), datetime(2024, 7, 1), seed=5),
            root / "data",
            "csv",
        )
        dataset = load_dataset(
            DataSettings(
                transactions=SourceSettings(path=paths["transactions"]),
                events=SourceSettings(path=paths["events"]),
            )
        )
        settings = Settings(
            labels=LabelSettings(horizon_days=60),
            snapshots=SnapshotSettings(min_history_days=90),
            training=FAST,
        )
        run = train_and_register(dataset, settings, root=root, as_of="2024-06-01")
        yield root, run
        end_runs()


@pytest.fixture(scope="module")
def client(trained: tuple[Path, TrainingRun]) -> MlflowClient:
    _, run = trained
    return MlflowClient(tracking_uri=run.tracking_uri, registry_uri=run.tracking_uri)


def test_the_run_names_the_commit_it_was_trained_from(
    trained: tuple[Path, TrainingRun], client: MlflowClient
) -> None:
    root, run = trained
    tags = client.get_run(run.run_id).data.tags
    assert tags["mlflow.source.git.commit"] == git(root, "rev-parse", "HEAD")
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags[GIT_DIRTY_TAG] == "false"  # data/ and mlruns/ are ignored


def test_the_run_names_the_data_it_was_trained_on(
    trained: tuple[Path, TrainingRun], client: MlflowClient
) -> None:
    _, run = trained
    recorded = client.get_run(run.run_id)
    (data,) = recorded.inputs.dataset_inputs
    assert data.dataset.name == "transactions.csv + events.csv"
    assert data.dataset.digest == recorded.data.params["data.hash"]
    profile = json.loads(data.dataset.profile)
    assert profile["transactions_rows"] == int(recorded.data.params["data.transactions_rows"])
    split = run.result.split
    assert profile["cutoffs"] >= len(split.train) + len(split.validation) + len(split.test)
    assert profile["last_cutoff"] == f"{split.test[-1]:%Y-%m-%d}"
    assert profile["snapshot_rows"] > len(run.result.test_predictions) > 0
    assert profile["observed_until"] == "2024-06-01T00:00:00"
    assert {t.key: t.value for t in data.tags}["mlflow.data.context"] == "training"


def test_the_registry_describes_the_model_and_the_version(
    trained: tuple[Path, TrainingRun], client: MlflowClient
) -> None:
    _, run = trained
    assert client.get_registered_model("winback").description == MODEL_DESCRIPTION.strip()
    text = client.get_model_version("winback", str(run.version)).description
    assert f"Trained by MLflow run `{run.run_id}` (train as of 2024-06-01)." in text
    assert "**Data**: records before 2024-06-01" in text
    assert "horizon 60 days" in text
    assert "| figure | ours | rfm |" in text
    roc = run.result.metrics["test.ours.active.roc_auc"]
    assert f"| active roc_auc | {roc:.4g} |" in text
    assert "vs rfm: better on" in text
    assert f"**Promotion gate at training**: promoted to champion ({run.decision.reason})." in text
