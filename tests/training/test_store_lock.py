"""Two commands opening one fresh local MLflow store at once: both succeed, one store results.

Without the lock, Alembic's schema creation races (``table ... already exists``, ``Online
migration expected to match one row``) and one command dies with a traceback.
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

import pytest

from winback.common.errors import DataSourceError
from winback.training.settings import TrackingSettings
from winback.training.tracking import configure, open_experiment


def _configure_at(root: Path, ready: Any, results: mp.Queue) -> None:  # type: ignore[type-arg]
    # Both children wait for each other once imported, so both find the store missing.
    ready.wait(timeout=120)
    try:
        configure(TrackingSettings(), root)
        results.put("ok")
    except Exception as exc:  # the test reports whatever a child died of
        results.put(repr(exc))


def test_two_processes_configure_a_fresh_store_at_once(tmp_path: Path) -> None:
    # spawn, not fork: a forked copy of a test worker inherits its threads' held locks (logging,
    # MLflow) and can die before it reports.
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    ready = ctx.Barrier(2)
    children = [
        ctx.Process(target=_configure_at, args=(tmp_path, ready, results)) for _ in range(2)
    ]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=180) for _ in children]
    for child in children:
        child.join(timeout=60)
    assert outcomes == ["ok", "ok"]
    assert [c.exitcode for c in children] == [0, 0]
    opened = open_experiment(TrackingSettings(), tmp_path)
    assert opened is not None
    client, _ = opened
    assert [e.name for e in client.search_experiments()].count(TrackingSettings().experiment) == 1


def test_a_store_folder_that_is_a_file_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "mlruns").write_text("a file where the store's folder should be")
    with pytest.raises(DataSourceError) as info:
        configure(TrackingSettings(), tmp_path)
    message = str(info.value)
    assert message.startswith(f"MLflow store {tmp_path / 'mlruns'} is not writable: a file ")
    assert "\n" not in message
