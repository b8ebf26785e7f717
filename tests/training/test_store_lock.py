"""Two commands opening one fresh local MLflow store at once: both succeed, one store results.

Without the lock, Alembic's schema creation races (``table ... already exists``, ``Online
migration expected to match one row``) and one command dies with a traceback.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import pytest

from winback.common.errors import DataSourceError
from winback.training.settings import TrackingSettings
from winback.training.tracking import configure, open_experiment


def _configure_at(root: Path, start: float, results: mp.Queue) -> None:  # type: ignore[type-arg]
    # Both children wait for the same instant, so both find the store missing.
    while time.time() < start:
        time.sleep(0.001)
    try:
        configure(TrackingSettings(), root)
        results.put("ok")
    except Exception as exc:  # the test reports whatever a child died of
        results.put(repr(exc))


def test_two_processes_configure_a_fresh_store_at_once(tmp_path: Path) -> None:
    # fork: the children inherit the imported MLflow instead of paying for it again.
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    start = time.time() + 0.5
    children = [
        ctx.Process(target=_configure_at, args=(tmp_path, start, results)) for _ in range(2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
    assert [results.get(timeout=5) for _ in children] == ["ok", "ok"]
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
