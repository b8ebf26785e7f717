"""Where a training run's code and data came from, recorded the way MLflow users look for it.

The code: the commit, branch and remote of the git checkout at the project root, as MLflow's own
system tags (``mlflow.source.git.commit``, ``….branch``, ``….repoURL``), plus
``winback.source.git.dirty`` saying whether tracked files had uncommitted changes. MLflow guesses
these from the entry script's folder, which for ``winback train`` is the environment's ``bin/``
(ignored by git, or outside any checkout), so it finds none. Outside a checkout, or without git,
nothing is tagged.

The data: one dataset input (``mlflow.log_input``, context ``training``) naming the sources the
contract tables were read from, with the data fingerprint's hash as its digest and the row counts
as its profile. Only this reference is recorded; the data itself is not uploaded.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import mlflow
import pandas as pd
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.types import ColSpec, DataType, Schema
from mlflow.utils.mlflow_tags import MLFLOW_GIT_BRANCH, MLFLOW_GIT_COMMIT, MLFLOW_GIT_REPO_URL

from winback.features import Dataset, Snapshots
from winback.features.settings import TABLES

#: Run tag: "true" when tracked files differed from the commit (untracked files do not count,
#: as for ``git describe --dirty``).
GIT_DIRTY_TAG = "winback.source.git.dirty"
#: Context of the dataset input, as MLflow's UI groups inputs.
TRAINING_CONTEXT = "training"
#: MLflow's limit on a dataset's name.
_MAX_NAME = 500


def _git(root: Path, *args: str) -> str | None:
    """Output of ``git <args>`` run at ``root``, or None when git is missing or fails."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _without_credentials(url: str) -> str:
    """``url`` without a user or password (``https://token@host/…`` → ``https://host/…``).

    Remotes written scp-style (``git@host:org/repo.git``) have no secret and stay as they are.
    """
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def source_tags(root: Path) -> dict[str, str]:
    """The git commit, branch, remote and dirtiness of the checkout at ``root``, as run tags.

    Empty outside a checkout (or one with no commit yet) and when git is not installed; the
    branch is left out on a detached HEAD, the remote when there is no ``origin``.
    """
    commit = _git(root, "rev-parse", "HEAD")
    if not commit:
        return {}
    tags = {MLFLOW_GIT_COMMIT: commit}
    branch = _git(root, "symbolic-ref", "--short", "-q", "HEAD")
    if branch:
        tags[MLFLOW_GIT_BRANCH] = branch
    remote = _git(root, "remote", "get-url", "origin")
    if remote:
        tags[MLFLOW_GIT_REPO_URL] = _without_credentials(remote)
    changes = _git(root, "status", "--porcelain", "--untracked-files=no")
    if changes is not None:
        tags[GIT_DIRTY_TAG] = "true" if changes else "false"
    return tags


def log_source(root: Path) -> dict[str, str]:
    """Tag the active run with :func:`source_tags` of ``root``; return the tags set."""
    tags = source_tags(root)
    if tags:
        mlflow.set_tags(tags)
    return tags


class ContractTables(DatasetSource):
    """Where each contract table was read from: a file name, a table name or "… query".

    Never a URL or a path (a SQL URL may hold a password). The data is not stored with the run,
    so :meth:`load` has nothing to load.
    """

    def __init__(self, tables: Mapping[str, str]) -> None:
        self._tables = dict(tables)

    @staticmethod
    def _get_source_type() -> str:
        return "winback_tables"

    def load(self, **kwargs: Any) -> Any:
        """Refuse: the run records where the data was, not the data."""
        raise NotImplementedError(
            "winback logs a reference to its training data, not the data; read the sources "
            f"named here again: {self._tables}"
        )

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> ContractTables:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """``{"tables": {table: source}}``."""
        return {"tables": self._tables}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> ContractTables:
        """The source :meth:`to_dict` describes."""
        return cls(source_dict.get("tables", {}))


class TrainingData(MetaDataset):
    """A reference to the training data: name, digest, schema and a profile of row counts."""

    def __init__(
        self,
        source: ContractTables,
        *,
        name: str,
        digest: str,
        schema: Schema | None,
        profile: Mapping[str, Any],
    ) -> None:
        self._profile = dict(profile)
        super().__init__(source, name=name, digest=digest, schema=schema)

    @property
    def profile(self) -> dict[str, Any]:
        """Rows per table, customers, snapshot rows and cutoffs."""
        return self._profile

    def to_dict(self) -> dict[str, str]:
        """MetaDataset's fields plus the profile, as JSON."""
        return {**super().to_dict(), "profile": json.dumps(self._profile)}


def _column_type(dtype: Any) -> DataType:
    if pd.api.types.is_bool_dtype(dtype):
        return DataType.boolean
    if pd.api.types.is_integer_dtype(dtype):
        return DataType.long
    if pd.api.types.is_float_dtype(dtype):
        return DataType.double
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DataType.datetime
    return DataType.string


def _schema(frame: pd.DataFrame) -> Schema:
    """The snapshot table's columns (keys, features, labels) with their types, from dtypes only."""
    return Schema([ColSpec(_column_type(t), str(c)) for c, t in frame.dtypes.items()])


def training_data(
    dataset: Dataset, snapshots: Snapshots, fingerprint: Mapping[str, Any] | None = None
) -> TrainingData:
    """The reference :func:`log_training_data` logs: sources, fingerprint, schema and counts.

    ``fingerprint`` is ``dataset.fingerprint()``, computed here when not given (it reads every
    table once).
    """
    fingerprint = dataset.fingerprint() if fingerprint is None else fingerprint
    tables: dict[str, str] = {t: dataset.reports[t].source for t in TABLES if t in dataset.reports}
    name = " + ".join(tables.values()) or "winback data"
    frame = snapshots.frame
    profile = {
        **{k: v for k, v in fingerprint.items() if k != "hash"},
        "snapshot_rows": len(frame),
        "snapshot_customers": int(frame["customer_id"].nunique()),
        "cutoffs": len(snapshots.cutoffs),
        "first_cutoff": f"{snapshots.cutoffs[0]:%Y-%m-%d}",
        "last_cutoff": f"{snapshots.cutoffs[-1]:%Y-%m-%d}",
        "observed_until": snapshots.observed_until.isoformat(),
    }
    return TrainingData(
        ContractTables(tables),
        name=name[:_MAX_NAME],
        digest=str(fingerprint["hash"]),
        schema=_schema(frame),
        profile=profile,
    )


def log_training_data(
    dataset: Dataset, snapshots: Snapshots, fingerprint: Mapping[str, Any] | None = None
) -> TrainingData:
    """Log the training data's reference to the active run as a ``training`` dataset input.

    The input's tags say up to when the data was read (``observed_until``: records at or after
    it were not used, as in a backtest) and how many snapshot rows the training, validation
    and test splits were drawn from.
    """
    data = training_data(dataset, snapshots, fingerprint)
    mlflow.log_input(
        data,
        context=TRAINING_CONTEXT,
        tags={
            "observed_until": snapshots.observed_until.isoformat(),
            "snapshot_rows": str(len(snapshots.frame)),
        },
    )
    return data


__all__ = [
    "GIT_DIRTY_TAG",
    "TRAINING_CONTEXT",
    "ContractTables",
    "TrainingData",
    "log_source",
    "log_training_data",
    "source_tags",
    "training_data",
]
