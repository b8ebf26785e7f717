"""Per-column checks: the SQL that reads one raw column into its clean type and names its problem.

Each contract column becomes a :class:`ColumnSql` of three expressions (raw value, clean value,
failed check) chosen by the column's kind and by how the source stores it (its *family*: text,
timestamp, timestamptz, bool, float or integer). Typed sources skip the text-oriented work: a
TIMESTAMPTZ column is converted by arithmetic on its instant, never parsed or sent through ICU.

The expressions are plain SQL over aliases, so :mod:`features.checks` can evaluate them once for
every row (keeping only whether the row is clean) and again for the few rejected rows (keeping
each problem's name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from winback.features.contract import MAX_YEAR, MIN_YEAR, MONEY_LIMIT, ContractColumn
from winback.features.readers import FIELDS, RawTable
from winback.features.settings import SourceSettings

#: A date at the start of a text value, as the 'date_exists' check and its message read it.
DATE_RE = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"

_FAMILIES = {
    "VARCHAR": "text",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "DATE": "timestamp",
    "BOOLEAN": "bool",
    "FLOAT": "float",
    "DOUBLE": "float",
    **dict.fromkeys(
        ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
         "UINTEGER", "UBIGINT", "UHUGEINT"],
        "integer",
    ),
}  # fmt: skip

# Years MIN_YEAR..MAX_YEAR as one comparison (year() per row costs ~40x more); infinities and
# NULL fall outside it.
_IN_RANGE = f"BETWEEN TIMESTAMP '{MIN_YEAR}-01-01' AND TIMESTAMP '{MAX_YEAR}-12-31 23:59:59.999999'"


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def family(duck_type: str) -> str:
    """How a raw DuckDB type is read: text, timestamp(tz), bool, float, integer; others as text."""
    if duck_type.startswith("DECIMAL"):
        return "float"
    return _FAMILIES.get(duck_type, "text")


def text_sql(src: str, kind: str = "text") -> str:
    """Trimmed text, NULL when empty; integer values need neither (they never hold spaces)."""
    if kind == "integer":
        return f"CAST({src} AS VARCHAR)"
    x = f"CAST({src} AS VARCHAR)"
    # trim() copies every string; only values that start or end with a space (or are empty)
    # need it, and LIKE on a fixed prefix or suffix tests that without copying.
    padded = f"{x} = '' OR {x} LIKE ' %' OR {x} LIKE '% '"
    return f"CASE WHEN {padded} THEN nullif(trim({x}), '') ELSE {x} END"


def double_sql(src: str, kind: str = "float") -> str:
    """The value as DOUBLE with NaN read as missing (integers cannot be NaN)."""
    if kind == "integer":
        return f"CAST({src} AS DOUBLE)"
    return f"CASE WHEN isnan(CAST({src} AS DOUBLE)) THEN NULL ELSE CAST({src} AS DOUBLE) END"


@dataclass(frozen=True)
class ColumnSql:
    """SQL for one column in three steps over aliases ``t`` and ``v``.

    ``first`` reads the raw value into ``t`` (NULL when missing), ``typed`` turns ``t`` into the
    clean value ``v`` (NULL when unreadable) and ``problem`` names the failed check, if any.
    """

    first: str
    typed: str
    problem: str


def column_sql(
    col: ContractColumn, src: str, kind: str, source: SourceSettings, t: str, v: str
) -> ColumnSql:
    """The three steps for contract column ``col`` read from ``src`` of family ``kind``."""
    missing = f"WHEN {t} IS NULL THEN " + ("'missing'" if col.required else "NULL")
    if col.kind == "timestamp":
        return _timestamp_sql(src, kind, source, t, v, missing)
    if col.kind == "money":
        return _money_sql(src, kind, t, v, missing, source.decimal)
    if col.kind == "number":
        return _number_sql(src, kind, t, v, missing, source.decimal)
    build = {"id": _id_sql, "text": _id_sql, "bool": _bool_sql}
    return build[col.kind](src, kind, t, v, missing)


def _id_sql(src: str, kind: str, t: str, v: str, missing: str) -> ColumnSql:
    first = text_sql(src, kind)
    if kind == "float":
        # Numeric ids read from typed sources: 12.0 is customer "12", as in a CSV.
        x = f"CAST({src} AS DOUBLE)"
        first = (
            f"CASE WHEN isnan({x}) THEN NULL WHEN {x} = trunc({x}) AND abs({x}) < 1e18 "
            f"THEN CAST(CAST({x} AS HUGEINT) AS VARCHAR) ELSE CAST({src} AS VARCHAR) END"
        )
    return ColumnSql(first, t, f"CASE {missing} END")


def _number_sql(src: str, kind: str, t: str, v: str, missing: str, decimal: str = ".") -> ColumnSql:
    if kind in ("integer", "float"):
        finite = f"CASE {missing} WHEN NOT isfinite({v}) THEN 'finite' END"
        return ColumnSql(double_sql(src, kind), t, finite)
    typed = f"try_cast({t} AS DOUBLE)"
    if decimal == ",":
        # "1.234" may be a thousand: with decimal commas a "." makes the value unreadable.
        comma = f"try_cast(replace({t}, ',', '.') AS DOUBLE)"
        typed = f"CASE WHEN NOT contains({t}, '.') THEN {comma} END"
    return ColumnSql(
        text_sql(src),
        typed,
        f"CASE {missing} WHEN {v} IS NULL THEN 'number' WHEN NOT isfinite({v}) THEN 'finite' END",
    )


def _money_sql(src: str, kind: str, t: str, v: str, missing: str, decimal: str = ".") -> ColumnSql:
    """A number that fits the decimal features add money up in; others fail 'money_range'."""
    number = _number_sql(src, kind, t, v, missing, decimal)
    too_large = f"CASE WHEN abs({v}) >= {MONEY_LIMIT} THEN 'money_range' END"
    return ColumnSql(number.first, number.typed, f"coalesce({number.problem}, {too_large})")


def _bool_sql(src: str, kind: str, t: str, v: str, missing: str) -> ColumnSql:
    if kind == "bool":
        return ColumnSql(src, t, f"CASE {missing} END")
    if kind in ("integer", "float"):
        first, yes, no = double_sql(src, kind), "1", "0"
    else:
        first, yes, no = f"lower({text_sql(src)})", "'true','t','yes','1'", "'false','f','no','0'"
    typed = f"CASE WHEN {t} IN ({yes}) THEN true WHEN {t} IN ({no}) THEN false END"
    return ColumnSql(first, typed, f"CASE {missing} WHEN {v} IS NULL THEN 'bool' END")


def _utc(instant: str) -> str:
    # The UTC wall time of a TIMESTAMPTZ: its microseconds since the epoch, read back as a naive
    # TIMESTAMP. Same result as timezone('UTC', x), without a per-row ICU call; infinities
    # become NULL (the range check rejects them).
    return f"make_timestamp(epoch_us({instant}))"


def _timestamp_sql(
    src: str, kind: str, source: SourceSettings, t: str, v: str, missing: str
) -> ColumnSql:
    # Timestamps end as naive UTC: timezone(zone, naive) reads a wall time in that zone.
    zone = literal(source.timezone or "UTC")
    # t is not NULL here, so a NULL v is a value the conversion could not represent.
    in_range = f"WHEN {v} IS NULL OR NOT ({v} {_IN_RANGE}) THEN 'date_range'"
    if kind == "timestamptz":
        return ColumnSql(src, _utc(t), f"CASE {missing} {in_range} END")
    if kind == "timestamp":
        typed = _utc(f"timezone({zone}, CAST({t} AS TIMESTAMP))")
        if (source.timezone or "UTC") in ("UTC", "Etc/UTC"):
            typed = f"CAST({t} AS TIMESTAMP)"  # already UTC wall time
        return ColumnSql(src, typed, f"CASE {missing} {in_range} END")
    fmt = source.timestamp_format
    unread = "'timestamp'"
    if fmt is None:
        # Naive text is read in the session TimeZone, which checks set to the source's.
        # Only text starting with a digit: DuckDB also reads 'epoch' and 'infinity'.
        typed = (
            f"CASE WHEN left({t}, 1) BETWEEN '0' AND '9' "
            f"THEN {_utc(f'try_cast({t} AS TIMESTAMPTZ)')} END"
        )
        date = f"regexp_extract({t}, {literal(DATE_RE)})"
        unread = (
            f"CASE WHEN {date} <> '' AND try_cast({date} AS DATE) IS NULL "
            "THEN 'date_exists' ELSE 'timestamp' END"
        )
    elif re.search("%[zZ]", fmt):
        typed = _utc(f"try_strptime({t}, {literal(fmt)})")
    else:
        typed = _utc(f"timezone({zone}, try_strptime({t}, {literal(fmt)}))")
    return ColumnSql(
        text_sql(src), typed, f"CASE {missing} WHEN {v} IS NULL THEN {unread} {in_range} END"
    )


def hygiene_sql(raw: RawTable) -> tuple[str, str]:
    """CSV rows that are not records at all: (check expression, column expression)."""
    if not raw.text_file:
        return "NULL::VARCHAR", "NULL::VARCHAR"
    cols = [ident(c) for c in raw.columns]
    blank = " AND ".join(f"coalesce(trim({c}), '') = ''" for c in cols)
    header = " AND ".join(_header_match(c, name) for c, name in zip(cols, raw.columns, strict=True))
    bad = " OR ".join(f"contains({c}, '\ufffd')" for c in cols) if raw.bad_bytes else "false"
    check = (
        f"CASE WHEN {ident(FIELDS)} IS NOT NULL THEN 'field_count' WHEN {blank} THEN 'blank_row' "
        f"WHEN {header} THEN 'repeated_header' WHEN {bad} THEN 'encoding' END"
    )
    if not raw.bad_bytes:
        return check, "NULL::VARCHAR"
    where = " ".join(
        f"WHEN contains({c}, '\ufffd') THEN {literal(n)}"
        for c, n in zip(cols, raw.columns, strict=True)
    )
    return check, f"CASE WHEN {ident(FIELDS)} IS NULL THEN CASE {where} END END"


def _header_match(col: str, name: str) -> str:
    if re.fullmatch(r"Unnamed: \d+", name):
        return f"coalesce(trim({col}), '') = ''"
    names = {name, re.sub(r"\.\d+$", "", name)}  # pandas renames a repeated "a" to "a.1"
    return f"trim({col}) IN ({', '.join(literal(n.strip()) for n in sorted(names))})"


__all__ = [
    "DATE_RE",
    "ColumnSql",
    "column_sql",
    "double_sql",
    "family",
    "hygiene_sql",
    "ident",
    "literal",
    "text_sql",
]
