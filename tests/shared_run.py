"""What the pytest-xdist workers of one run share: a common folder and a lock on it.

A fixture that is costly and the same for every worker is made once, by whichever worker asks
first, and read by the others from the run's common temporary directory.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The temporary directory every worker of this run sees."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent
