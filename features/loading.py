"""Loading the contract tables: read each source, check it, and hand over a :class:`Dataset`.

:func:`load_dataset` is the boundary of the pipeline. Bad rows never crash a run and are never
dropped silently: by default loading stops with a message naming file, row, column and problem
for every failure found (all tables are checked first); with ``on_bad_rows="quarantine"`` the
rejected rows are left out, listed in ``Dataset.rejects`` and counted in ``Dataset.reports``
(read = used + quarantined), and :func:`write_quarantine` writes them beside the output.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from winback.common.errors import DataContractError, DataSourceError, SettingsError
from winback.common.timestamps import to_utc_naive
from winback.features.checks import check_table
from winback.features.contract import TablePlan, plan_table
from winback.features.dataset import REJECT_COLUMNS, Dataset, TableReport
from winback.features.readers import RawTable, read_frame, read_source, release
from winback.features.settings import (
    TABLES,
    DataSettings,
    EngineSettings,
    SourceSettings,
    TableName,
)

OnBadRows = Literal["stop", "quarantine"]
#: Problems listed in a stop message after the first one.
SHOWN_PROBLEMS = 10
_RERUN = "Fix the rows or rerun with --on-bad-rows quarantine."


def load_dataset(
    data: DataSettings | None = None,
    *,
    frames: Mapping[str, pd.DataFrame] | None = None,
    on_bad_rows: OnBadRows = "stop",
    con: duckdb.DuckDBPyConnection | None = None,
    engine: EngineSettings | None = None,
    load_time: datetime | None = None,
) -> Dataset:
    """Read, check and load the contract tables into ``con`` (a new in-memory DuckDB if None).

    A new connection is set up from ``engine`` (memory limit, threads, spill directory).

    Records stamped after ``[data] complete_until``, else after ``load_time`` (naive UTC; the
    shell passes the clock's time), cannot have happened yet: they are quarantined in either
    mode, counted, and never choose a cutoff; ``Dataset.notes`` says so. Tables whose customer
    ids barely meet (``[data] min_id_overlap``) stop the load with examples from both.

    ``frames`` supplies tables as DataFrames (they win over ``data``'s source for the same table,
    whose column mapping and time zone still apply). Raises DataSourceError when a source cannot
    be read and DataContractError when columns are missing or, with ``on_bad_rows="stop"``, when
    any row breaks the contract.
    """
    if on_bad_rows not in ("stop", "quarantine"):
        raise SettingsError(f"on_bad_rows must be 'stop' or 'quarantine', got {on_bad_rows!r}")
    data = data or DataSettings()
    sources = data.sources()
    frames = dict(frames or {})
    unknown = sorted(set(frames) - set(TABLES))
    if unknown:
        raise SettingsError(f"unknown table(s) {unknown} in frames; tables are {list(TABLES)}")
    if "transactions" not in sources and "transactions" not in frames:
        raise DataSourceError(
            "transactions: no source configured. Set [data.transactions] path in winback.toml "
            "or pass --transactions PATH."
        )
    own = con is None
    if con is None:
        con = connect(engine or EngineSettings())
    try:
        not_after = load_time
        if data.complete_until is not None:
            not_after = to_utc_naive(data.complete_until, data.business_zone())
        dataset = _load(con, sources, frames, on_bad_rows, data.business_zone(), not_after)
        _check_ids_meet(dataset, data.min_id_overlap)
        return dataset
    except BaseException:
        if own:
            con.close()
        raise


def connect(engine: EngineSettings) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection within the engine's limits."""
    spill = engine.temp_directory
    if spill is None:
        spill = Path(tempfile.mkdtemp(prefix="winback-spill-"))
        atexit.register(shutil.rmtree, spill, ignore_errors=True)
    con = duckdb.connect()
    # The CLI reports progress itself. In Jupyter without ipywidgets DuckDB already has the bar
    # off and refuses to touch the setting.
    if con.sql("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]:
        con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{engine.memory_limit}'")
    con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
    if engine.threads:
        con.execute(f"SET threads = {engine.threads}")
    return con


def _load(
    con: duckdb.DuckDBPyConnection,
    sources: Mapping[TableName, SourceSettings],
    frames: Mapping[str, pd.DataFrame],
    on_bad_rows: OnBadRows,
    zone: str,
    not_after: datetime | None,
) -> Dataset:
    raws: dict[TableName, RawTable] = {}
    plans: dict[TableName, tuple[TablePlan, SourceSettings]] = {}
    unreadable: list[str] = []
    broken: list[str] = []
    try:
        for table in TABLES:
            if table not in frames and table not in sources:
                continue
            # A frame without a configured source still needs the defaults (UTC, no mapping).
            source = sources.get(table) or SourceSettings.model_construct(timezone=zone)
            try:
                raw = (
                    read_frame(con, table, frames[table])
                    if table in frames
                    else read_source(con, table, source)
                )
                raws[table] = raw
                plans[table] = (plan_table(raw, source), source)
                if table == "transactions" and raw.rows == 0:
                    raise DataContractError(
                        f"{raw.label} has no rows: it has a header line but no data. "
                        "Transactions are required."
                    )
            except DataSourceError as exc:
                unreadable.append(str(exc))
            except DataContractError as exc:
                broken.append(str(exc))
        # Report every table's structural problems at once, not one per run.
        if unreadable:
            raise DataSourceError("\n".join(unreadable))
        if broken:
            raise DataContractError("\n".join(broken))
        checks = {
            t: check_table(con, raws[t], plan, source, not_after)
            for t, (plan, source) in plans.items()
        }
    finally:
        for raw in raws.values():
            release(con, raw)

    found = [c.rejects for c in checks.values() if len(c.rejects)]
    rejects = (
        pd.concat(found, ignore_index=True)
        if found
        else pd.DataFrame(columns=[*REJECT_COLUMNS, "record"]).astype({"row": "int64"})
    )
    transactions = checks["transactions"]
    late_rows = _late_rows(rejects)
    serious = rejects[~late_rows]
    if len(rejects) and ((on_bad_rows == "stop" and len(serious)) or transactions.rows_used == 0):
        for table in checks:
            con.execute(f'DROP TABLE IF EXISTS "{table}"')
        if on_bad_rows == "stop" and len(serious):
            raise DataContractError(describe_problems(serious))
        raise DataContractError(
            f"{raws['transactions'].label}: none of its {transactions.rows_read} rows passed "
            f"the checks, so there is nothing to load. First problem: {_line(rejects.iloc[0])}"
        )
    return Dataset(
        con=con,
        columns={t: c.columns for t, c in checks.items()},
        reports={
            t: TableReport(t, raws[t].label, c.rows_read, c.rows_used, c.rows_quarantined)
            for t, c in checks.items()
        },
        rejects=rejects,
        attributes=checks["customers"].attributes if "customers" in checks else (),
        order_lines=transactions.order_lines,
        timezone=zone,
        notes=_late_notes(rejects[late_rows], not_after),
    )


def _late_rows(rejects: pd.DataFrame) -> pd.Series:
    """Rejects of rows whose only problem is a timestamp after the load time."""
    late = rejects["check"] == "after_load_time"
    only_late = late.groupby([rejects["table"], rejects["row"]]).transform("all")
    return late & only_late


def _late_notes(late: pd.DataFrame, not_after: datetime | None) -> list[str]:
    notes = []
    for (table, source), part in late.groupby(["table", "source"], sort=False):
        n = len(part)
        notes.append(
            f"{source}: {n:,} {table} row{'s' * (n > 1)} stamped after "
            f"{not_after:%Y-%m-%d %H:%M} UTC (the data's load time), e.g. row "
            f"{part['row'].iloc[0]} ({part['value'].iloc[0]}), "
            f"{'were' if n > 1 else 'was'} set aside: quarantined, never used."
        )
    return notes


#: Fewer distinct ids than this on either side say nothing about whether the tables meet.
_MIN_IDS_TO_JUDGE = 50


def _check_ids_meet(dataset: Dataset, min_overlap: float) -> None:
    """Stop when another table's customer ids barely meet the transactions' (e.g. 12 vs C012)."""
    if min_overlap <= 0:
        return
    for table in ("customers", "events", "campaigns"):
        if not dataset.has(table):
            continue
        (ours, theirs, both) = dataset.con.sql(
            "WITH a AS (SELECT DISTINCT customer_id FROM transactions), "
            f"b AS (SELECT DISTINCT customer_id FROM {table}) "
            "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b), "
            "(SELECT count(*) FROM a JOIN b USING (customer_id))"
        ).fetchall()[0]
        smaller = min(ours, theirs)
        if smaller < _MIN_IDS_TO_JUDGE or both / smaller >= min_overlap:
            continue
        examples = {
            t: [
                r[0]
                for r in dataset.con.sql(
                    f"SELECT DISTINCT customer_id FROM {t} WHERE customer_id NOT IN "
                    f"(SELECT customer_id FROM {other}) ORDER BY 1 LIMIT 3"
                ).fetchall()
            ]
            for t, other in (("transactions", table), (table, "transactions"))
        }
        raise DataContractError(
            f"{dataset.reports[table].source}: only {both:,} of {smaller:,} customer ids are "
            f"shared between transactions ({ours:,} ids) and {table} ({theirs:,} ids), so the "
            f"two tables describe different customers. Ids only in transactions: "
            f"{', '.join(map(repr, examples['transactions']))}; only in {table}: "
            f"{', '.join(map(repr, examples[table]))}. Map the same id column in both "
            "(or set [data] min_id_overlap = 0 if they really are different customers)."
        )


def _line(problem: pd.Series) -> str:
    where = f"{problem['source']} row {problem['row']}"
    if isinstance(problem["column"], str):
        where += f", column {problem['column']!r}"
    return f"{where}: {problem['message']}."


def describe_problems(rejects: pd.DataFrame, shown: int = SHOWN_PROBLEMS) -> str:
    """The stop message: the first problem, up to ``shown`` more, a count of the rest, the fix.

    A single problem is one line, the fix at its end.
    """
    if len(rejects) == 1:
        return f"{_line(rejects.iloc[0])} {_RERUN}"  # one problem, one line
    lines = [_line(rejects.iloc[0])]
    lines += [f"  {_line(p)}" for _, p in rejects.iloc[1 : 1 + shown].iterrows()]
    rest = rejects.iloc[1 + shown :]
    if len(rest):
        rows = len(rest[["table", "row"]].drop_duplicates())
        lines.append(
            f"(and {len(rest)} more problem{'s' * (len(rest) > 1)} in {rows} row{'s' * (rows > 1)})"
        )
    lines.append(_RERUN)
    return "\n".join(lines)


def write_quarantine(dataset: Dataset, out_dir: Path) -> dict[TableName, Path]:
    """Write ``<table>.quarantine.csv`` per table with rejected rows; return what was written.

    One line per rejected row: its original values, then ``row``, ``column``, ``check`` and
    ``message`` (several problems of one row joined by "; "). A stale file of a table loaded
    without rejects is removed so it cannot be mistaken for this run's.
    """
    written: dict[TableName, Path] = {}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for table in dataset.columns:
            path = out_dir / f"{table}.quarantine.csv"
            part = dataset.rejects[dataset.rejects["table"] == table]
            if part.empty:
                path.unlink(missing_ok=True)
                continue
            _write_atomic(_quarantine_frame(part), path)
            written[table] = path
    except OSError as exc:
        raise DataSourceError(
            f"cannot write quarantine files to {out_dir}: {exc.strerror or exc}; choose a folder "
            "you can write to"
        ) from exc
    return written


def _quarantine_frame(rejects: pd.DataFrame) -> pd.DataFrame:
    def join(values: pd.Series) -> str:
        return "; ".join(str(v) for v in values if isinstance(v, str) and v)

    grouped = rejects.groupby("row", sort=True).agg(
        record=("record", "first"),
        column=("column", join),
        check=("check", join),
        message=("message", join),
    )
    frame = pd.DataFrame([json.loads(r) for r in grouped["record"]], dtype="str")
    for name in ("row", "column", "check", "message"):
        # Never overwrite an original column that happens to share the name.
        label = name if name not in frame.columns else f"quarantine_{name}"
        frame[label] = grouped.index if name == "row" else grouped[name].to_numpy()
    return frame


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        frame.to_csv(tmp, index=False)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def load_summary(dataset: Dataset, quarantine_files: Mapping[TableName, Path] | None = None) -> str:
    """Per table "read N = used U + quarantined Q", and where quarantined rows were written."""
    lines = []
    for table, report in dataset.reports.items():
        line = (
            f"{table} ({report.source}): read {report.rows_read:,} = used {report.rows_used:,}"
            f" + quarantined {report.rows_quarantined:,}"
        )
        if quarantine_files and table in quarantine_files:
            line += f" -> {quarantine_files[table]}"
        lines.append(line)
    return "\n".join(lines)


__all__ = ["OnBadRows", "describe_problems", "load_dataset", "load_summary", "write_quarantine"]
