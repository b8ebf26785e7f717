"""The engine settings reach DuckDB: memory is bounded and spills go where they are told."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from winback.features import EngineSettings, load_dataset


def _tx() -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": ["a"], "timestamp": [pd.Timestamp("2024-01-01")], "amount": [1.0]}
    )


def test_memory_limit_threads_and_spill_directory_are_applied(tmp_path: Path) -> None:
    engine = EngineSettings(memory_limit="512MB", threads=1, temp_directory=tmp_path)
    con = load_dataset(frames={"transactions": _tx()}, engine=engine).con
    limit, threads, spill = con.sql(
        "SELECT current_setting('memory_limit'), current_setting('threads'), "
        "current_setting('temp_directory')"
    ).fetchall()[0]
    assert limit in ("488.2 MiB", "512.0 MB")
    assert int(threads) == 1
    assert Path(spill) == tmp_path


def test_default_engine_bounds_memory_below_the_machine() -> None:
    con = load_dataset(frames={"transactions": _tx()}).con
    (limit,) = con.sql("SELECT current_setting('memory_limit')").fetchall()[0]
    assert limit.endswith("GiB") and float(limit.split()[0]) < 3.0
