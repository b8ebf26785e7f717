"""Raw reading: get a source's rows into DuckDB as they are, numbered as the user sees them.

Readers neither type nor check anything; :mod:`features.checks` does that in SQL over the raw
relation a reader leaves in the connection. Every raw relation has the source's columns plus
:data:`ROW`, the row number used in messages:

- CSV: the header is row 1 and the first record row 2, as in a spreadsheet. Values stay text and
  an empty field means missing. Blank lines, repeated headers, bytes invalid in the configured
  encoding and records with too many fields are kept as rows (the contract rejects them by name),
  so nothing is dropped silently; only blank lines after the last record are ignored.
- Parquet, SQL and DataFrames: rows are numbered from 1 in the order the source returns them,
  and columns keep their types.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import lzma
import re
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from winback.common.arrow_tables import frame_to_arrow
from winback.common.errors import DataContractError, DataSourceError
from winback.features.settings import SourceSettings, TableName

#: Row number column of every raw relation (spreadsheet row for CSV, 1-based otherwise).
ROW = "__winback_row"
#: CSV only: the number of fields of a record that had more than the header, else NULL.
FIELDS = "__winback_fields"
#: CSV only: the fields beyond the header's count, joined by the delimiter.
EXTRA = "__winback_extra"

_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_OPENERS: dict[str, Callable[..., IO[str]]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}
_BATCH_ROWS = 256_000


@dataclass(frozen=True)
class RawTable:
    """One source's rows inside a DuckDB connection, untyped and unchecked."""

    table: TableName
    #: Name used in messages: the file name, the SQL table, or "<table> query" / "<table> frame".
    label: str
    #: The view or temporary table holding the rows (source columns plus ROW, FIELDS, EXTRA).
    relation: str
    columns: tuple[str, ...]
    rows: int
    #: True for CSV: the hygiene checks (blank, repeated header, field count, encoding) apply.
    text_file: bool = False
    #: The first bytes that were invalid in ``encoding`` (e.g. "0xe9"), None if the file decoded.
    bad_bytes: str | None = None
    encoding: str = "utf-8"
    storage: Literal["arrow", "view", "table"] = "arrow"


def read_source(
    con: duckdb.DuckDBPyConnection, table: TableName, source: SourceSettings
) -> RawTable:
    """Read one configured source (CSV, Parquet, DuckDB file or SQLAlchemy URL) into ``con``."""
    if source.path is not None:
        return _read_file(con, table, source)
    if source.url is not None and source.url.startswith("duckdb:///"):
        return _read_duckdb(con, table, source)
    return _read_sqlalchemy(con, table, source)


def read_frame(con: duckdb.DuckDBPyConnection, table: TableName, frame: pd.DataFrame) -> RawTable:
    """Register an in-memory DataFrame (rows numbered from 1) as the raw ``table``."""
    frame = frame.rename(columns=str).reset_index(drop=True)
    return _register(con, table, f"{table} frame", _frame_to_arrow(frame), first_row=1)


def release(con: duckdb.DuckDBPyConnection, raw: RawTable) -> None:
    """Drop the raw relation once its table has been checked."""
    if raw.storage == "arrow":
        con.unregister(raw.relation)
    else:
        con.execute(f'DROP {raw.storage.upper()} IF EXISTS "{raw.relation}"')


def _relation_name(table: TableName) -> str:
    return f"_winback_raw_{table}"


def _register(
    con: duckdb.DuckDBPyConnection,
    table: TableName,
    label: str,
    data: pa.Table,
    *,
    first_row: int,
    text_file: bool = False,
    bad_bytes: str | None = None,
    encoding: str = "utf-8",
) -> RawTable:
    columns = tuple(c for c in data.column_names if c not in (FIELDS, EXTRA))
    rows = np.arange(first_row, first_row + data.num_rows, dtype=np.int64)
    data = data.append_column(ROW, pa.array(rows))
    for name, kind in ((FIELDS, pa.int64()), (EXTRA, pa.string())):
        if name not in data.column_names:
            data = data.append_column(name, pa.nulls(data.num_rows, kind))
    relation = _relation_name(table)
    con.register(relation, data)
    return RawTable(
        table, label, relation, columns, data.num_rows, text_file, bad_bytes, encoding, "arrow"
    )


def _frame_to_arrow(frame: pd.DataFrame) -> pa.Table:
    try:
        return frame_to_arrow(frame)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # Mixed Python objects in a column: render that column as text; the contract decides.
        fixed = frame.copy()
        for name in [c for c in fixed.columns if pd.api.types.is_object_dtype(fixed[c])]:
            fixed[name] = fixed[name].map(lambda v: None if _is_missing(v) else str(v))
        return frame_to_arrow(fixed)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and np.isnan(value)


def _said(exc: Exception) -> str:
    """A database's error on one line: DuckDB adds hints below, SQLAlchemy the SQL and a link."""
    text = re.sub(r"\(Background on this error at: \S+\)", "", str(exc))
    return " ".join(text.split())


def _not_found(table: TableName, what: str) -> DataSourceError:
    return DataSourceError(
        f"{table}: {what}. Check [data.{table}] path in winback.toml or pass --{table} PATH."
    )


def _url_file_not_found(table: TableName, kind: str, path: Path) -> DataSourceError:
    return DataSourceError(
        f"{table}: {kind} file not found: {path}. Check [data.{table}] url in winback.toml "
        "(a relative file there is read from the config file's folder)."
    )


def _read_file(
    con: duckdb.DuckDBPyConnection, table: TableName, source: SourceSettings
) -> RawTable:
    path = source.path
    assert path is not None  # read_source routes only path sources here
    if not path.exists():
        raise _not_found(table, f"file not found: {path}")
    if path.is_dir():
        raise _not_found(table, f"{path} is a directory, not a CSV or Parquet file")
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes and suffixes[-1] in _PARQUET_SUFFIXES:
        return _read_parquet(con, table, path)
    compressed = bool(suffixes) and suffixes[-1] in _OPENERS
    if compressed:
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _CSV_SUFFIXES:
        if not compressed:
            _refuse_binary(table, path)
        tsv = suffixes[-1] == ".tsv" and source.delimiter == ","
        return _read_csv(con, table, source, path, "\t" if tsv else source.delimiter)
    raise DataSourceError(
        f"{table}: cannot tell the format of {path}: use a .csv (optionally .gz/.bz2/.xz) "
        "or .parquet file, or a SQL source (url = ...)."
    )


#: Leading bytes of files that are often given a .csv name by mistake, and what they are.
_MAGIC = {
    b"PAR1": ("a Parquet file", "name it .parquet"),
    b"\x1f\x8b": ("gzip-compressed", "name it .csv.gz"),
    b"BZh": ("bzip2-compressed", "name it .csv.bz2"),
    b"\xfd7zXZ": ("xz-compressed", "name it .csv.xz"),
    b"PK\x03\x04": ("a zip archive or an Excel workbook", "unzip it, or export the sheet as CSV"),
}


def _refuse_binary(table: TableName, path: Path) -> None:
    """A file named .csv that is something else: say what it is instead of listing its bytes."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise DataSourceError(f"{table}: cannot read {path}: {exc.strerror or exc}") from exc
    for magic, (what, fix) in _MAGIC.items():
        if head.startswith(magic):
            raise DataSourceError(f"{table}: {path} is {what}, not a CSV file: {fix}.")


def _read_parquet(con: duckdb.DuckDBPyConnection, table: TableName, path: Path) -> RawTable:
    # DuckDB scans the file in place: no pandas copy, and file_row_number numbers the rows.
    relation = _relation_name(table)
    literal = "'" + str(path).replace("'", "''") + "'"
    try:
        con.execute(
            f'CREATE OR REPLACE TEMP VIEW "{relation}" AS SELECT * EXCLUDE (file_row_number), '
            f'file_row_number + 1 AS "{ROW}", NULL::BIGINT AS "{FIELDS}", '
            f'NULL::VARCHAR AS "{EXTRA}" FROM read_parquet({literal}, file_row_number = true)'
        )
        columns = [r[0] for r in con.sql(f'DESCRIBE "{relation}"').fetchall()]
        (rows,) = con.sql(f'SELECT count(*) FROM "{relation}"').fetchall()[0]
    except duckdb.Error as exc:
        raise DataSourceError(f"{table}: cannot read Parquet file {path}: {_said(exc)}") from exc
    data_columns = tuple(c for c in columns if c not in (ROW, FIELDS, EXTRA))
    return RawTable(table, path.name, relation, data_columns, int(rows), storage="view")


def _codec(encoding: str, table: TableName) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise DataSourceError(
            f"{table}: unknown encoding {encoding!r} in [data.{table}]; use e.g. 'utf-8' or "
            "'latin-1'."
        ) from exc
    # utf-8-sig strips a byte-order mark that Excel and Notepad like to write.
    return "utf-8-sig" if name == "utf-8" else name


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    table: TableName,
    source: SourceSettings,
    path: Path,
    sep: str,
) -> RawTable:
    codec = _codec(source.encoding, table)
    bad_bytes: str | None = None
    errors = "strict"
    while True:
        try:
            try:
                data = _csv_with_pandas(path, sep, codec, errors)
            except (pd.errors.ParserError, pd.errors.ParserWarning):
                # Records with more fields than the header: the C parser stops (or, on the first
                # record, takes a column as the index), so re-read keeping every record.
                data = _csv_with_stdlib(path, sep, codec, errors)
            break
        except UnicodeDecodeError as exc:
            if errors == "replace":
                raise
            bad_bytes = " ".join(f"0x{b:02x}" for b in exc.object[exc.start : exc.end])
            errors = "replace"  # read on; the contract rejects exactly the rows with U+FFFD
        except pd.errors.EmptyDataError as exc:
            raise DataContractError(
                f"{path.name} is empty: it has no header line and no rows. A {table} file needs a "
                "header line naming its columns."
            ) from exc
        except (OSError, csv.Error, EOFError, lzma.LZMAError, zlib.error) as exc:
            raise _unreadable(table, path, exc) from exc
    return _register(
        con,
        table,
        path.name,
        data,
        first_row=2,
        text_file=True,
        bad_bytes=bad_bytes,
        encoding=source.encoding,
    )


def _unreadable(table: TableName, path: Path, exc: Exception) -> DataSourceError:
    """Name a broken compressed file as such: the decompressor's own words rarely say so."""
    kind = _COMPRESSIONS.get(path.suffix.lower())
    # Decompressors fail with EOFError, zlib.error, LZMAError or a bare OSError (bz2's "Invalid
    # data stream", gzip's BadGzipFile); a PermissionError and its kin are about the file.
    corrupt = isinstance(exc, (EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)) or (
        type(exc) is OSError and exc.errno is None
    )
    if kind is None or not corrupt:
        return DataSourceError(f"{table}: cannot read {path}: {exc}")
    return DataSourceError(
        f"{table}: {path} is not a valid {kind} file ({exc}): it is truncated, damaged or not "
        f"{kind}-compressed. Compress it again, or drop the {path.suffix} ending if it is plain "
        "CSV."
    )


def _csv_with_pandas(path: Path, sep: str, codec: str, errors: str) -> pa.Table:
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        frame = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            index_col=False,
            encoding=codec,
            encoding_errors=errors,
            engine="c",
        )
    end = len(frame)
    while end > 0 and all(_blank(v) for v in frame.iloc[end - 1]):
        end -= 1
    return pa.Table.from_pandas(frame.iloc[:end], preserve_index=False)


def _blank(value: object) -> bool:
    return _is_missing(value) or not str(value).strip()


def _csv_with_stdlib(path: Path, sep: str, codec: str, errors: str) -> pa.Table:
    opener = _OPENERS.get(path.suffix.lower(), open)
    with opener(path, "rt", encoding=codec, errors=errors, newline="") as handle:
        records = csv.reader(handle, delimiter=sep, strict=False)
        header = next(records, None)
        if header is None:
            raise pd.errors.EmptyDataError("no header")
        rows = list(records)
    while rows and all(not f.strip() for f in rows[-1]):
        rows.pop()
    names = _unique_names(header)
    width = len(names)
    columns: dict[str, list[object]] = {
        name: [r[i] if i < len(r) else None for r in rows] for i, name in enumerate(names)
    }
    columns[FIELDS] = [len(r) if len(r) > width else None for r in rows]
    columns[EXTRA] = [sep.join(r[width:]) if len(r) > width else None for r in rows]
    schema = pa.schema(
        [(n, pa.string()) for n in names] + [(FIELDS, pa.int64()), (EXTRA, pa.string())]
    )
    return pa.table(columns, schema=schema)


def _unique_names(header: list[str]) -> list[str]:
    # The same names pandas gives: blank -> "Unnamed: i", repeats -> "name.1".
    seen: dict[str, int] = {}
    names = []
    for i, raw in enumerate(header):
        name = raw if raw.strip() else f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


def _read_duckdb(
    con: duckdb.DuckDBPyConnection, table: TableName, source: SourceSettings
) -> RawTable:
    assert source.url is not None
    path = Path(source.url.removeprefix("duckdb:///"))
    if not path.is_file():
        raise _url_file_not_found(table, "DuckDB", path)
    sql = source.query or f"SELECT * FROM {_quote_dotted(source.table or '')}"
    label = source.table or f"{table} query"
    relation = _relation_name(table)
    try:
        with duckdb.connect(str(path), read_only=True) as src:
            reader = src.sql(sql).to_arrow_reader(_BATCH_ROWS)
            numbered = pa.RecordBatchReader.from_batches(
                reader.schema.append(pa.field(ROW, pa.int64())), _numbered(reader)
            )
            con.register("_winback_stream", numbered)
            try:
                con.execute(
                    f'CREATE OR REPLACE TEMP TABLE "{relation}" AS SELECT *, '
                    f'NULL::BIGINT AS "{FIELDS}", NULL::VARCHAR AS "{EXTRA}" FROM _winback_stream'
                )
            finally:
                con.unregister("_winback_stream")
    except duckdb.Error as exc:
        raise DataSourceError(
            f"{table}: cannot read {label!r} from DuckDB file {path}: {_said(exc)}"
        ) from exc
    columns = tuple(reader.schema.names)
    (rows,) = con.sql(f'SELECT count(*) FROM "{relation}"').fetchall()[0]
    return RawTable(table, label, relation, columns, int(rows), storage="table")


def _numbered(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    start = 1
    for batch in reader:
        rows = pa.array(np.arange(start, start + batch.num_rows, dtype=np.int64))
        start += batch.num_rows
        yield pa.RecordBatch.from_arrays([*batch.columns, rows], [*batch.schema.names, ROW])


def _quote_dotted(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def _read_sqlalchemy(
    con: duckdb.DuckDBPyConnection, table: TableName, source: SourceSettings
) -> RawTable:
    assert source.url is not None
    # Imported here: SQLAlchemy costs a quarter second at start-up, and most runs read files.
    import sqlalchemy as sa  # noqa: PLC0415

    try:
        url = sa.engine.make_url(source.url)
        shown = url.render_as_string(hide_password=True)
        engine = sa.create_engine(url)
    except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        raise DataSourceError(
            f"{table}: cannot use the database URL in [data.{table}] url: {_said(exc)}. A driver "
            "may be missing (e.g. pip install psycopg for postgresql://)."
        ) from exc
    database = url.database or ""
    sqlite_file = url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    if sqlite_file and not Path(database).is_file():
        # SQLite would create the missing file and then find no table in it.
        raise _url_file_not_found(table, "SQLite", Path(database))
    if source.query is not None:
        statement: sa.Executable = sa.text(source.query)
        label = f"{table} query"
    else:
        schema, _, name = (source.table or "").rpartition(".")
        statement = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))
        label = source.table or table
    try:
        with engine.connect() as connection:
            frame = pd.read_sql(statement, connection)
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        raise DataSourceError(f"{table}: cannot read {label!r} from {shown}: {_said(exc)}") from exc
    finally:
        engine.dispose()
    return _register(con, table, label, _frame_to_arrow(frame), first_row=1)


__all__ = ["EXTRA", "FIELDS", "ROW", "RawTable", "read_frame", "read_source", "release"]
