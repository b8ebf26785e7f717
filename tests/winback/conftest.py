"""One simulated world and one trained store per test run, shared by the CLI tests.

Both are made by the ``winback`` command itself, in a real process, once for the whole run: the
two pytest-xdist workers share them through a lock in the run's common temporary directory.
A test that writes copies them first (:func:`copy_of`); the training output is kept beside the
store so that every worker can assert on it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.shared_run import locked, shared_dir
from winback.cli import console

WINBACK = str(Path(sys.executable).with_name("winback"))

#: The project's settings: small models, one validation cutoff, no BG/NBD baseline (slow).
CONFIG = (
    '[data.transactions]\npath = "data/transactions.csv"\n'
    '[data.events]\npath = "data/events.csv"\n'
    '[data.campaigns]\npath = "data/campaigns.csv"\n'
    "[snapshots]\nmin_history_days = 90\n[labels]\nhorizon_days = 60\n"
    "[training]\nn_estimators = 60\nlearning_rate = 0.2\nn_jobs = 1\n"
    "validation_cutoffs = 1\nbgnbd_baseline = false\n"
    "[policy]\ncontrol_share = 0.2\n"
)
#: How the shared store is trained: a backtest with two tuning trials.
TRAIN = ("train", "--config", "s.toml", "--as-of", "2024-04-01", "--trials", "2")


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``winback ARGS`` in a new process, as a user runs it."""
    return subprocess.run(
        [WINBACK, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )


def copy_of(source: Path, where: Path) -> Path:
    """A private copy of ``source`` at ``where`` (a test that writes never touches the shared one).

    A copied store keeps the absolute artifact location of the original: new runs add their
    own directories there, and nothing already in it changes.
    """
    shutil.copytree(source, where)
    return where


@pytest.fixture(scope="session")
def shared_world(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """``winback simulate``: 300 customers over 18 months as CSV in ``data/``; read only."""
    shared = shared_dir(tmp_path_factory, worker_id)
    root = shared / "world"
    with locked(shared / "world.lock"):
        if not (root / "data" / "ground_truth.csv").exists():
            root.mkdir(exist_ok=True)
            done = run(
                "simulate", "--customers", "300", "--start", "2023-01-01", "--end", "2024-07-01",
                "--seed", "3", "--out", "data", "--format", "csv", cwd=root,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
    return root


@dataclass(frozen=True)
class Trained:
    """The shared project after ``winback train``: its folder and what the command printed."""

    root: Path
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def trained(
    shared_world: Path, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Trained:
    """The world with ``s.toml`` and a store trained once by :data:`TRAIN`; read only."""
    shared = shared_dir(tmp_path_factory, worker_id)
    root = shared / "trained"
    with locked(shared / "trained.lock"):
        if not (root / "train.stdout").exists():
            shutil.rmtree(root, ignore_errors=True)
            copy_of(shared_world, root)
            (root / "s.toml").write_text(CONFIG)
            env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
            done = subprocess.run(
                [WINBACK, *TRAIN], cwd=root, capture_output=True, text=True, timeout=900,
                check=False, env=env,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            (root / "train.stderr").write_text(done.stderr)
            (root / "train.stdout").write_text(done.stdout)
    return Trained(root, (root / "train.stdout").read_text(), (root / "train.stderr").read_text())


@pytest.fixture(autouse=True)
def _output_state_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process commands set log levels and MLflow's stream: give them back afterwards."""
    monkeypatch.setenv("MLFLOW_LOGGING_LEVEL", os.environ.get("MLFLOW_LOGGING_LEVEL", "INFO"))
    names = ["", *console.CHATTY_LOGGERS]
    levels = {name: logging.getLogger(name).level for name in names}
    streams = sys.modules.get("mlflow.utils.logging_utils")
    enabled = None if streams is None else streams.MLFLOW_LOGGING_STREAM.enabled
    quiet = console.out.quiet
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    streams = sys.modules.get("mlflow.utils.logging_utils")
    if streams is not None:
        streams.MLFLOW_LOGGING_STREAM.enabled = True if enabled is None else enabled
    console.out.quiet = quiet
