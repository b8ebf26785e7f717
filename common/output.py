"""Writing tables atomically: to a temporary name beside the target, then renamed.

A reader of the target path sees the old file or the new one, never a partial one, and a
failure midway leaves no file behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from winback.common.errors import DataSourceError, SettingsError

FORMATS = {".parquet": "parquet", ".csv": "csv"}


def output_format(path: Path) -> str:
    """``parquet`` or ``csv`` from the file's extension; anything else is refused."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SettingsError(f"{path}: output must end in .parquet or .csv, got {path.suffix!r}")
    return fmt


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_query(con: duckdb.DuckDBPyConnection, sql: str, out: Path) -> int:
    """Run ``sql`` and write its rows to ``out`` (.parquet or .csv) atomically; return the count."""
    fmt = output_format(out)
    options = (
        "FORMAT parquet, COMPRESSION zstd"
        if fmt == "parquet"
        else "FORMAT csv, HEADER true, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ'"
    )
    with atomic_path(out) as tmp:
        try:
            con.execute(f"COPY ({sql}) TO '{_quote(tmp)}' ({options})")
        except duckdb.IOException as exc:
            raise DataSourceError(f"cannot write {out}: {exc}") from exc
    (rows,) = con.execute(f"SELECT count(*) FROM read_{fmt}('{_quote(out)}')").fetchall()[0]
    return int(rows)


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def write_frame(frame: pd.DataFrame, out: Path) -> int:
    """Write a pandas frame to ``out`` (.parquet or .csv) atomically; return the row count."""
    con = duckdb.connect()
    try:
        con.register("_winback_frame", frame)
        return write_query(con, "SELECT * FROM _winback_frame", out)
    finally:
        con.close()


__all__ = ["atomic_path", "output_format", "write_frame", "write_query"]
