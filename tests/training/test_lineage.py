"""Where a run's code and data came from: git tags from a real checkout, the data as an input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from tests.training.test_tracking import (
    MLFLOW_SQLALCHEMY_NOISE,
    end_runs,
    isolate_mlflow,
    seed_store,
)
from winback.features import (
    Dataset,
    DataSettings,
    LabelSettings,
    Snapshots,
    SnapshotSettings,
    build_snapshots,
    load_dataset,
)
from winback.features.settings import SourceSettings
from winback.synthetic import simulate, write_world
from winback.training.lineage import (
    GIT_DIRTY_TAG,
    ContractTables,
    log_source,
    log_training_data,
    source_tags,
)
from winback.training.tracking import TrackingSettings, configure

pytestmark = pytest.mark.filterwarnings(MLFLOW_SQLALCHEMY_NOISE)
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

COMMIT, BRANCH, URL = (
    "mlflow.source.git.commit",
    "mlflow.source.git.branch",
    "mlflow.source.git.repoURL",
)


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lineage-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_store: Path) -> Iterator[None]:
    isolate_mlflow(monkeypatch)
    seed_store(empty_store, tmp_path)
    # git must not find a repository above tmp_path, nor read the user's configuration.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    yield
    end_runs()


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Ana", "-c", "user.email=ana@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git checkout with one commit on ``main`` and an origin whose URL holds a token."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "winback.toml").write_text("[labels]\nhorizon_days = 60\n")
    git(root, "add", "winback.toml")
    git(root, "commit", "-q", "-m", "settings")
    git(root, "remote", "add", "origin", "https://ana:s3cret@git.example.com/team/churn.git")
    return root


# --- the code ----------------------------------------------------------------------------------


@needs_git
def test_a_checkout_gives_commit_branch_remote_and_a_clean_tree(checkout: Path) -> None:
    assert source_tags(checkout) == {
        COMMIT: git(checkout, "rev-parse", "HEAD"),
        BRANCH: "main",
        URL: "https://git.example.com/team/churn.git",
        GIT_DIRTY_TAG: "false",
    }


@needs_git
def test_a_changed_tracked_file_makes_the_tree_dirty_an_untracked_one_does_not(
    checkout: Path,
) -> None:
    (checkout / "notes.txt").write_text("scratch")
    assert source_tags(checkout)[GIT_DIRTY_TAG] == "false"
    (checkout / "winback.toml").write_text("[labels]\nhorizon_days = 90\n")
    assert source_tags(checkout)[GIT_DIRTY_TAG] == "true"


@needs_git
def test_a_subdirectory_of_a_checkout_is_in_the_checkout(checkout: Path) -> None:
    (checkout / "configs").mkdir()
    assert source_tags(checkout / "configs")[COMMIT] == git(checkout, "rev-parse", "HEAD")


@needs_git
def test_a_detached_head_has_no_branch_and_no_origin_no_remote(checkout: Path) -> None:
    git(checkout, "checkout", "-q", "--detach")
    git(checkout, "remote", "remove", "origin")
    tags = source_tags(checkout)
    assert set(tags) == {COMMIT, GIT_DIRTY_TAG}


@needs_git
def test_an_scp_style_remote_is_kept_as_it_is(checkout: Path) -> None:
    git(checkout, "remote", "set-url", "origin", "git@git.example.com:team/churn.git")
    assert source_tags(checkout)[URL] == "git@git.example.com:team/churn.git"


@needs_git
def test_outside_a_checkout_or_before_the_first_commit_there_are_no_tags(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert source_tags(plain) == {}
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q")
    assert source_tags(fresh) == {}
    assert source_tags(tmp_path / "missing") == {}


@needs_git
def test_without_git_there_are_no_tags(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert source_tags(checkout)
    monkeypatch.setenv("PATH", str(checkout / "no-bin-here"))
    assert source_tags(checkout) == {}


@needs_git
def test_a_run_is_tagged_with_the_checkouts_commit(checkout: Path, tmp_path: Path) -> None:
    configure(TrackingSettings(), tmp_path)
    with mlflow.start_run() as run:
        log_source(checkout)
    tags = MlflowClient().get_run(run.info.run_id).data.tags
    assert tags[COMMIT] == git(checkout, "rev-parse", "HEAD")
    assert tags[BRANCH] == "main"
    assert tags[URL] == "https://git.example.com/team/churn.git"
    assert tags[GIT_DIRTY_TAG] == "false"
    assert not any("s3cret" in value for value in tags.values())


def test_a_run_outside_a_checkout_gets_no_tag_and_no_error(tmp_path: Path) -> None:
    configure(TrackingSettings(), tmp_path)
    with mlflow.start_run() as run:
        before = MlflowClient().get_run(run.info.run_id).data.tags
        assert log_source(tmp_path) == {}
    assert MlflowClient().get_run(run.info.run_id).data.tags == before


# --- the data ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_on(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, Snapshots]:
    """400 simulated customers written as CSV files, loaded and stacked into snapshots."""
    folder = tmp_path_factory.mktemp("data")
    paths = write_world(
        simulate(400, datetime(2023, 1, 1), datetime(2024, 7, 1), seed=3), folder, "csv"
    )
    data = DataSettings(
        transactions=SourceSettings(path=paths["transactions"]),
        events=SourceSettings(path=paths["events"]),
        customers=SourceSettings(path=paths["customers"]),
    )
    dataset = load_dataset(data)
    snapshots = build_snapshots(
        dataset,
        labels=LabelSettings(horizon_days=60),
        snapshots=SnapshotSettings(min_history_days=90),
        as_of="2024-05-01",
    )
    return dataset, snapshots


def test_the_training_data_is_a_run_input_with_name_digest_and_rows(
    tmp_path: Path, trained_on: tuple[Dataset, Snapshots]
) -> None:
    dataset, snapshots = trained_on
    fingerprint = dataset.fingerprint()
    configure(TrackingSettings(), tmp_path)
    with mlflow.start_run() as run:
        log_training_data(dataset, snapshots)
    inputs = MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    logged = inputs[0].dataset
    assert logged.name == "transactions.csv + events.csv + customers.csv"
    assert logged.digest == fingerprint["hash"]
    assert logged.source_type == "winback_tables"
    assert json.loads(logged.source) == {
        "tables": {
            "transactions": "transactions.csv",
            "events": "events.csv",
            "customers": "customers.csv",
        }
    }
    profile = json.loads(logged.profile)
    assert profile["transactions_rows"] == fingerprint["transactions_rows"] > 0
    assert profile["customers_rows"] == 400
    assert profile["events_rows"] == fingerprint["events_rows"]
    assert profile["snapshot_rows"] == len(snapshots.frame) > 0
    assert profile["cutoffs"] == len(snapshots.cutoffs)
    assert profile["observed_until"] == "2024-05-01T00:00:00"
    schema = json.loads(logged.schema)["mlflow_colspec"]
    columns = {column["name"]: column["type"] for column in schema}
    assert list(columns) == [str(c) for c in snapshots.frame.columns]
    assert columns["as_of"] == "datetime"
    assert columns["churned"] == "double"
    tags = {tag.key: tag.value for tag in inputs[0].tags}
    assert tags["mlflow.data.context"] == "training"
    assert tags["observed_until"] == "2024-05-01T00:00:00"
    assert tags["snapshot_rows"] == str(len(snapshots.frame))


def test_the_data_itself_is_not_uploaded(
    tmp_path: Path, trained_on: tuple[Dataset, Snapshots]
) -> None:
    dataset, snapshots = trained_on
    configure(TrackingSettings(), tmp_path)
    with mlflow.start_run() as run:
        log_training_data(dataset, snapshots)
    assert MlflowClient().list_artifacts(run.info.run_id) == []
    with pytest.raises(NotImplementedError, match="not the data"):
        ContractTables({"transactions": "transactions.csv"}).load()


def test_another_dataset_gets_another_digest(
    tmp_path: Path, trained_on: tuple[Dataset, Snapshots]
) -> None:
    dataset, snapshots = trained_on
    frames = {t: dataset.con.sql(f"SELECT * FROM {t}").df() for t in ("transactions", "customers")}
    frames["transactions"] = frames["transactions"].iloc[1:]
    other = load_dataset(frames=frames)
    configure(TrackingSettings(), tmp_path)
    with mlflow.start_run() as run:
        log_training_data(dataset, snapshots)
        log_training_data(other, snapshots)
    inputs = MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
    names = {i.dataset.name for i in inputs}
    assert names == {
        "transactions.csv + events.csv + customers.csv",
        "transactions frame + customers frame",
    }
    assert len({i.dataset.digest for i in inputs}) == 2
