"""Write a result table atomically to a file (CSV, Parquet) or a database table (SQLAlchemy URL).

Files are written under a temporary name and renamed into place. A database table is written as
a fresh table under a temporary name and swapped in within one transaction, so readers see the
old table or the new one, never a partial one (on databases with transactional DDL, such as
PostgreSQL; elsewhere the swap is two quick statements). A failed write leaves the old table.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from winback.common import DataSourceError, write_frame

_URL = re.compile(r"^[a-z][a-z0-9+]*://")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def is_database_url(target: str) -> bool:
    """Whether ``target`` is a SQLAlchemy URL rather than a file path."""
    return bool(_URL.match(target))


def write_output(frame: pd.DataFrame, target: str, table: str | None = None) -> str:
    """Write ``frame`` to ``target``; return a description of where it went.

    ``target`` is a ``.csv``/``.parquet`` path, or a SQLAlchemy URL with ``table`` naming the
    table to replace (``schema.table`` allowed).
    """
    if not is_database_url(target):
        write_frame(frame, Path(target))
        return str(target)
    if not table or not _TABLE.match(table):
        raise DataSourceError(
            f"writing to {_redact(target)} needs a table name (letters, digits, _; optionally "
            f"schema.table), got {table!r}: pass --table NAME"
        )
    schema, _, name = table.rpartition(".")
    tmp = f"{name}__winback_tmp_{os.getpid()}"
    try:
        engine = sa.create_engine(target)
        with engine.begin() as con:
            frame.to_sql(tmp, con, schema=schema or None, index=False)
            inspector = sa.inspect(con)
            quoted = con.dialect.identifier_preparer
            full = (
                f"{quoted.quote_schema(schema)}.{quoted.quote(name)}"
                if schema
                else quoted.quote(name)
            )
            if inspector.has_table(name, schema=schema or None):
                con.execute(sa.text(f"DROP TABLE {full}"))
            old = (
                f"{quoted.quote_schema(schema)}.{quoted.quote(tmp)}"
                if schema
                else quoted.quote(tmp)
            )
            con.execute(sa.text(f"ALTER TABLE {old} RENAME TO {quoted.quote(name)}"))
        engine.dispose()
    except (SQLAlchemyError, pd.errors.DatabaseError, ImportError) as exc:
        _drop_quietly(target, schema, tmp)
        # Driver messages repeat the whole statement and its rows: the first part says enough.
        reason = str(exc).split("\n", 1)[0][:300]
        raise DataSourceError(f"cannot write table {table} at {_redact(target)}: {reason}") from exc
    return f"{_redact(target)} table {table}"


def _drop_quietly(target: str, schema: str, name: str) -> None:
    """Remove a half-written temporary table: drivers without transactional DDL keep it."""
    try:
        engine = sa.create_engine(target)
        with engine.begin() as con:
            if sa.inspect(con).has_table(name, schema=schema or None):
                sa.Table(name, sa.MetaData(schema=schema or None)).drop(con)
        engine.dispose()
    except SQLAlchemyError:
        pass  # the original error is the one to report


def _redact(url: str) -> str:
    """The URL without a password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


__all__ = ["is_database_url", "write_output"]
