"""Checking one table: every row through the contract, the clean typed table out.

:func:`check_table` copies the data once. A single pass over the raw relation writes the checked
table: the row number, each clean typed value and one ``_ok`` flag per row (the per-column
checks are evaluated but their names are not stored). Only when some row fails are the problem
names computed, again from the raw relation but for the failing rows alone. The checks across
rows (:mod:`features.row_checks`) read the checked table, and the checked table becomes the
clean one by deleting rejected rows (skipped when there are none) and dropping the row number and
flag, which DuckDB does without copying the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from winback.common.errors import SettingsError
from winback.features.column_checks import (
    column_sql,
    double_sql,
    family,
    hygiene_sql,
    ident,
    literal,
    text_sql,
)
from winback.features.contract import CLEAN_TYPES, SCHEMA, TablePlan
from winback.features.readers import ROW, RawTable
from winback.features.rejects import collect_rejects, no_rejects
from winback.features.row_checks import check_rows
from winback.features.settings import SourceSettings, TableName


@dataclass(frozen=True)
class TableCheck:
    """The outcome of checking one table: the clean table's columns, counts and problems."""

    table: TableName
    columns: tuple[str, ...]
    attributes: tuple[str, ...]
    rows_read: int
    rows_used: int
    rows_quarantined: int
    #: REJECT_COLUMNS plus "record" (the raw row as JSON text), ordered by row.
    rejects: pd.DataFrame
    #: Transactions: some order_id occurs on more than one clean row (False without order ids).
    order_lines: bool = False


def check_table(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    plan: TablePlan,
    source: SourceSettings,
    not_after: datetime | None = None,
) -> TableCheck:
    """Check every row of ``raw``; create the clean table ``plan.table`` from the rows that pass.

    A timestamp after ``not_after`` (naive UTC; the load time) fails check ``after_load_time``.
    """
    names = _TempNames(plan.table)
    _validate_format(con, plan, source)
    sql = _CheckSql(con, raw, plan, source, not_after)
    try:
        with _session_zone(con, source.timezone or "UTC"):
            con.execute(f"CREATE OR REPLACE TABLE {names.checked} AS {sql.checked()}")
            (bad,) = con.sql(
                f"SELECT count(*) FILTER (WHERE NOT _ok) FROM {names.checked}"
            ).fetchall()[0]
            if bad:
                failing = f"SELECT _row FROM {names.checked} WHERE NOT _ok"
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {names.problems} AS {sql.problems(failing)}"
                )
        rows = check_rows(con, plan, names.checked, names.row_rejects)
        rejects = no_rejects()
        if bad or rows.rejected:
            problems = names.problems if bad else None
            rejects = collect_rejects(con, raw, plan, source, problems, names.row_rejects)
        columns, attributes = _build_clean(con, plan, names, delete=bool(len(rejects)))
        (used,) = con.sql(f"SELECT count(*) FROM {ident(plan.table)}").fetchall()[0]
    finally:
        for temp in (names.checked, names.problems, names.row_rejects):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    quarantined = int(rejects["row"].nunique())
    return TableCheck(
        plan.table,
        columns,
        attributes,
        raw.rows,
        int(used),
        quarantined,
        rejects,
        order_lines=rows.order_lines,
    )


@dataclass(frozen=True)
class _TempNames:
    table: str

    @property
    def checked(self) -> str:
        return f"_winback_checked_{self.table}"

    @property
    def problems(self) -> str:
        return f"_winback_problems_{self.table}"

    @property
    def row_rejects(self) -> str:
        return f"_winback_row_rejects_{self.table}"


def _attr(k: int) -> str:
    # An unlikely name, so renaming attributes to their own names can never collide.
    return f"__winback_attr_{k}"


class _CheckSql:
    """The per-column checks of one table as two queries over its raw relation.

    Both read the raw value into t<j> and the typed value into v<j>; :meth:`checked` keeps the
    typed values and whether the row passed, :meth:`problems` the names of the failed checks.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        raw: RawTable,
        plan: TablePlan,
        source: SourceSettings,
        not_after: datetime | None = None,
    ) -> None:
        types = {r[0]: r[1] for r in con.sql(f"DESCRIBE {ident(raw.relation)}").fetchall()}
        declared = {c.name: c for c in SCHEMA[plan.table]}
        hygiene, hygiene_column = hygiene_sql(raw)
        self._raw = raw
        self._first = [
            f"{ident(ROW)} AS _row",
            f"{hygiene} AS _hyg",
            f"{hygiene_column} AS _hyg_col",
        ]
        self._typed = ["*"]
        self._values: list[str] = []
        self._problems: list[str] = []
        for j, (ours, src) in enumerate(plan.mapping.items()):
            col = declared[ours]
            step = column_sql(col, ident(src), family(types[src]), source, f"t{j}", f"v{j}")
            self._first.append(f"{step.first} AS t{j}")
            self._typed.append(f"CAST({step.typed} AS {CLEAN_TYPES[col.kind]}) AS v{j}")
            self._values.append(f"v{j}")
            problem = step.problem
            if ours == "timestamp" and not_after is not None:
                limit = f"TIMESTAMP '{not_after:%Y-%m-%d %H:%M:%S.%f}'"
                late = f"CASE WHEN v{j} > {limit} THEN 'after_load_time' END"
                problem = f"coalesce({problem}, {late})"
            self._problems.append(problem)
        for k, name in enumerate(plan.attributes):
            kind = family(types[name])
            numeric = kind in ("integer", "float")
            value = double_sql(ident(name), kind) if numeric else text_sql(ident(name))
            self._first.append(f"{value} AS {_attr(k)}")
            self._values.append(_attr(k))

    def _typed_rows(self, where: str = "") -> str:
        return (
            f"SELECT {', '.join(self._typed)} FROM (SELECT {', '.join(self._first)} "
            f"FROM {ident(self._raw.relation)}{where})"
        )

    def checked(self) -> str:
        """Every row: _row, v<j>, attributes, and _ok (no check failed)."""
        ok = " AND ".join(["_hyg IS NULL", *(f"({p}) IS NULL" for p in self._problems)])
        return f"SELECT _row, {', '.join(self._values)}, ({ok}) AS _ok FROM ({self._typed_rows()})"

    def problems(self, rows: str) -> str:
        """The rows whose number ``rows`` selects: _row, _hyg, _hyg_col, v<j> and problem p<j>."""
        # A row that is not a record (blank, header, ...) gets that one problem, not ten more.
        checks = [
            f"v{j}, CASE WHEN _hyg IS NULL THEN {p} END AS p{j}"
            for j, p in enumerate(self._problems)
        ]
        where = f" WHERE {ident(ROW)} IN ({rows})"
        return f"SELECT _row, _hyg, _hyg_col, {', '.join(checks)} FROM ({self._typed_rows(where)})"


def _validate_format(
    con: duckdb.DuckDBPyConnection, plan: TablePlan, source: SourceSettings
) -> None:
    if source.timestamp_format is None:
        return
    try:
        con.sql(f"SELECT try_strptime('2024', {literal(source.timestamp_format)})").fetchall()
    except duckdb.Error as exc:
        raise SettingsError(
            f"[data.{plan.table}] timestamp_format {source.timestamp_format!r} is not a "
            f"valid strptime format: {exc}"
        ) from exc


@contextmanager
def _session_zone(con: duckdb.DuckDBPyConnection, zone: str) -> Iterator[None]:
    """Text without an offset is read in the source's zone; offsets in the text still win."""
    (previous,) = con.sql("SELECT current_setting('TimeZone')").fetchall()[0]
    con.execute(f"SET TimeZone = {literal(zone)}")
    try:
        yield
    finally:
        con.execute(f"SET TimeZone = {literal(previous)}")


def _build_clean(
    con: duckdb.DuckDBPyConnection, plan: TablePlan, names: _TempNames, *, delete: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Turn the checked table into the clean one; return its columns and the attributes."""
    checked = names.checked
    if delete:
        con.execute(
            f"DELETE FROM {checked} WHERE NOT _ok OR _row IN (SELECT _row FROM {names.row_rejects})"
        )
    for column in ("_row", "_ok"):
        con.execute(f"ALTER TABLE {checked} DROP COLUMN {column}")
    for j, ours in enumerate(plan.mapping):
        con.execute(f"ALTER TABLE {checked} RENAME COLUMN v{j} TO {ident(ours)}")
    if plan.attributes:
        _type_attributes(con, checked, len(plan.attributes))
        for k, name in enumerate(plan.attributes):
            con.execute(f"ALTER TABLE {checked} RENAME COLUMN {_attr(k)} TO {ident(name)}")
    con.execute(f"DROP TABLE IF EXISTS {ident(plan.table)}")
    con.execute(f"ALTER TABLE {checked} RENAME TO {ident(plan.table)}")
    return (*plan.mapping, *plan.attributes), plan.attributes


def _type_attributes(con: duckdb.DuckDBPyConnection, table: str, count: int) -> None:
    """Text attributes whose every value is a plain finite number become DOUBLE.

    Codes with leading zeros (zip codes, "007") stay text; typed numeric attributes are DOUBLE
    already.
    """
    types = {r[0]: r[1] for r in con.sql(f"DESCRIBE {table}").fetchall()}
    texts = [_attr(k) for k in range(count) if types[_attr(k)] == "VARCHAR"]
    if not texts:
        return
    tests = [
        f"count({a}) > 0 AND count({a}) FILTER (WHERE NOT coalesce(isfinite("
        f"try_cast({a} AS DOUBLE)), false) OR regexp_matches({a}, '^[+-]?0[0-9]')) = 0"
        for a in texts
    ]
    numeric = con.sql(f"SELECT {', '.join(tests)} FROM {table}").fetchall()[0]
    for a, is_numeric in zip(texts, numeric, strict=True):
        if is_numeric:
            con.execute(f"ALTER TABLE {table} ALTER {a} TYPE DOUBLE USING try_cast({a} AS DOUBLE)")


__all__ = ["TableCheck", "check_table"]
