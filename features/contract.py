"""The data contract: each table's declared columns and the checks that make raw rows clean.

The schema (:data:`SCHEMA`) declares, per table, our column name, its kind and whether it is
required; ``SourceSettings.columns`` maps our names to the source's. :func:`plan_table` resolves
that mapping against the columns a source really has and reports every missing column at once.
:func:`check_table` then checks every row in DuckDB SQL (no per-row Python, so ten million rows
take seconds) and writes the clean typed table; each failure becomes one reject row naming the
table, source, row, source column, check, value and a message.

What the checks decide, and why:

- ids (customer_id, order_id) are text, trimmed; numeric ids from typed sources become integer
  text ("12", never "12.0"), so the same customer matches across sources.
- Timestamps are ISO 8601 text or typed values, stored as naive UTC. An offset in the data always
  wins (mixed offsets are normalised, not rejected); text without one, and typed naive values,
  are in the source's ``timezone``; a bare date is that zone's midnight. Dates that do not exist
  (2024-02-30) and years outside 1900–2200 are rejected.
- A negative amount is a refund or return. It is kept: it reduces net spend and margin in the
  window it is stamped in, and it is not counted as an order. Non-finite or unparseable amounts
  are rejected; only "." is a decimal separator and no thousands separators are read.
- Rows sharing an order_id are lines of one order, so they must share a customer; an order_id
  seen under a second customer is rejected from that row on. With an order_id, a row equal in
  every mapped column to an earlier one is a duplicate and rejected. Without order ids two equal
  rows may be two real purchases (at daily resolution they often are), so they are kept.
- Customers must be unique by customer_id; events and campaigns may name customers who have no
  transactions.
- CSV hygiene: blank rows, repeated header lines, records with too many fields and rows with
  bytes invalid in the declared encoding are rejected by name instead of breaking the parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import duckdb
import pandas as pd

from features.dataset import REJECT_COLUMNS
from features.errors import DataContractError, SettingsError
from features.readers import EXTRA, FIELDS, ROW, RawTable
from features.settings import CONTRACT_COLUMNS, SourceSettings, TableName

Kind = Literal["id", "timestamp", "number", "text", "bool"]


@dataclass(frozen=True)
class ContractColumn:
    """One declared column: our name, what kind of value it holds, whether the table needs it."""

    name: str
    kind: Kind
    required: bool


_KINDS: dict[str, Kind] = {
    "customer_id": "id",
    "order_id": "id",
    "timestamp": "timestamp",
    "signup_date": "timestamp",
    "amount": "number",
    "cost": "number",
    "quantity": "number",
    "discount": "number",
    "value": "number",
    "channel": "text",
    "category": "text",
    "event_type": "text",
    "offer": "text",
    "treated": "bool",
}

#: The declared schema of every contract table, in contract order.
SCHEMA: dict[TableName, tuple[ContractColumn, ...]] = {
    table: tuple(ContractColumn(n, _KINDS[n], True) for n in required)
    + tuple(ContractColumn(n, _KINDS[n], False) for n in optional)
    for table, (required, optional) in CONTRACT_COLUMNS.items()
}

#: The clean SQL type of each kind (customer attributes are DOUBLE or VARCHAR by their data).
CLEAN_TYPES: dict[Kind, str] = {
    "id": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "number": "DOUBLE",
    "text": "VARCHAR",
    "bool": "BOOLEAN",
}

MIN_YEAR, MAX_YEAR = 1900, 2200
_ISO_EXAMPLE = "expected ISO 8601 such as 2024-03-01 or 2024-03-01T12:30:00+02:00"
# Words that suggest which file column holds a missing contract column (for the hint only).
_HINTS = {
    "customer_id": ("customer", "client", "user", "member", "account", "cust"),
    "timestamp": ("date", "time", "created", "ts"),
    "amount": ("amount", "total", "revenue", "sales", "price", "spend", "value"),
    "event_type": ("event", "type", "action"),
    "offer": ("offer", "campaign", "promo", "treatment"),
}


@dataclass(frozen=True)
class TablePlan:
    """The contract resolved against one source: which source column feeds each of ours."""

    table: TableName
    #: our column -> source column, for the contract columns present, in contract order.
    mapping: dict[str, str]
    #: Customers only: source columns kept as attributes (same name in the clean table).
    attributes: tuple[str, ...] = ()


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


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def plan_table(raw: RawTable, source: SourceSettings) -> TablePlan:
    """Resolve the column mapping; raise one DataContractError naming every missing column."""
    declared = {c.name: c for c in SCHEMA[raw.table]}
    unknown = sorted(set(source.columns) - set(declared))
    if unknown:
        raise SettingsError(
            f"[data.{raw.table}] maps unknown column(s) {', '.join(map(repr, unknown))}; "
            f"the {raw.table} columns are: {', '.join(declared)}."
        )
    mapping: dict[str, str] = {}
    missing: list[tuple[str, str]] = []  # (ours, source name looked for)
    for col in declared.values():
        wanted = source.source_column(col.name)
        found = _find_column(wanted, raw.columns)
        if found is not None:
            mapping[col.name] = found
        elif col.required or col.name in source.columns:
            missing.append((col.name, wanted))
    attributes: tuple[str, ...] = ()
    if raw.table == "customers":
        if source.attributes is not None:
            clash = sorted(set(source.attributes) & set(declared))
            if clash:
                raise SettingsError(
                    f"[data.customers] attributes may not include contract columns {clash}."
                )
            for name in source.attributes:
                found = _find_column(name, raw.columns)
                if found is None:
                    missing.append((f"attribute {name}", name))
                else:
                    attributes += (found,)
        else:
            used = set(mapping.values())
            attributes = tuple(c for c in raw.columns if c not in used and c not in declared)
    if missing:
        raise DataContractError(_missing_message(raw, source, mapping, missing))
    return TablePlan(raw.table, mapping, attributes)


def _find_column(wanted: str, columns: tuple[str, ...]) -> str | None:
    if wanted in columns:
        return wanted
    # Forgive case and stray spaces in headers ("Customer_ID ", "AMOUNT") when unambiguous.
    loose = [c for c in columns if c.strip().lower() == wanted.strip().lower()]
    return loose[0] if len(loose) == 1 else None


def _missing_message(
    raw: RawTable, source: SourceSettings, mapping: dict[str, str], missing: list[tuple[str, str]]
) -> str:
    lines = []
    for ours, wanted in missing:
        if ours in source.columns:
            lines.append(f"column {wanted!r} (configured for {ours}) is not in the file")
        elif ours.startswith("attribute "):
            lines.append(f"attribute column {wanted!r} (listed in attributes) is not in the file")
        else:
            lines.append(f"missing required column {ours!r}")
    has = ", ".join(raw.columns) or "(none)"
    ours, _ = missing[0]
    free = [c for c in raw.columns if c not in mapping.values()]
    guess = next(
        (c for c in free for word in _HINTS.get(ours, ()) if word in c.lower()),
        "<column name in the file>",
    )
    return (
        f"{raw.label}: {'; '.join(lines)}. The file has columns: {has}. "
        f"Map the column in winback.toml, e.g. [data.{raw.table}] {ours.split()[-1]} = "
        f'"{guess}".'
    )


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


def _family(duck_type: str) -> str:
    """How a raw DuckDB type is read: text, timestamp(tz), bool, float, integer; others as text."""
    if duck_type.startswith("DECIMAL"):
        return "float"
    return _FAMILIES.get(duck_type, "text")


def _text(src: str) -> str:
    return f"nullif(trim(CAST({src} AS VARCHAR)), '')"


def _as_double(src: str) -> str:
    return f"CASE WHEN isnan(CAST({src} AS DOUBLE)) THEN NULL ELSE CAST({src} AS DOUBLE) END"


@dataclass(frozen=True)
class _Step:
    """SQL for one column in three steps over aliases ``t`` and ``v``.

    ``first`` reads the raw value into ``t`` (NULL when missing), ``typed`` turns ``t`` into the
    clean value ``v`` (NULL when unreadable) and ``problem`` names the failed check, if any.
    """

    first: str
    typed: str
    problem: str


def _column_sql(
    col: ContractColumn, src: str, family: str, source: SourceSettings, t: str, v: str
) -> _Step:
    missing = f"WHEN {t} IS NULL THEN " + ("'missing'" if col.required else "NULL")
    build = {"id": _id_sql, "text": _id_sql, "number": _number_sql, "bool": _bool_sql}
    if col.kind == "timestamp":
        return _timestamp_sql(src, family, source, t, v, missing)
    return build[col.kind](src, family, t, v, missing)


def _id_sql(src: str, family: str, t: str, v: str, missing: str) -> _Step:
    first = _text(src)
    if family == "float":
        # Numeric ids read from typed sources: 12.0 is customer "12", as in a CSV.
        x = f"CAST({src} AS DOUBLE)"
        first = (
            f"CASE WHEN isnan({x}) THEN NULL WHEN {x} = trunc({x}) AND abs({x}) < 1e18 "
            f"THEN CAST(CAST({x} AS HUGEINT) AS VARCHAR) ELSE CAST({src} AS VARCHAR) END"
        )
    return _Step(first, t, f"CASE {missing} END")


def _number_sql(src: str, family: str, t: str, v: str, missing: str) -> _Step:
    if family in ("integer", "float"):
        return _Step(_as_double(src), t, f"CASE {missing} WHEN NOT isfinite({v}) THEN 'finite' END")
    return _Step(
        _text(src),
        f"try_cast({t} AS DOUBLE)",
        f"CASE {missing} WHEN {v} IS NULL THEN 'number' WHEN NOT isfinite({v}) THEN 'finite' END",
    )


def _bool_sql(src: str, family: str, t: str, v: str, missing: str) -> _Step:
    if family == "bool":
        return _Step(src, t, f"CASE {missing} END")
    if family in ("integer", "float"):
        first, yes, no = _as_double(src), "1", "0"
    else:
        first, yes, no = f"lower({_text(src)})", "'true','t','yes','1'", "'false','f','no','0'"
    typed = f"CASE WHEN {t} IN ({yes}) THEN true WHEN {t} IN ({no}) THEN false END"
    return _Step(first, typed, f"CASE {missing} WHEN {v} IS NULL THEN 'bool' END")


def _timestamp_sql(
    src: str, family: str, source: SourceSettings, t: str, v: str, missing: str
) -> _Step:
    # Timestamps end as naive UTC: timezone(zone, naive) reads a wall time in that zone and
    # timezone('UTC', instant) gives the UTC wall time.
    zone = _lit(source.timezone)
    in_range = (
        f"WHEN NOT isfinite({v}) OR year({v}) NOT BETWEEN {MIN_YEAR} AND {MAX_YEAR} "
        "THEN 'date_range'"
    )
    if family == "timestamptz":
        return _Step(src, f"timezone('UTC', {t})", f"CASE {missing} {in_range} END")
    if family == "timestamp":
        typed = f"timezone('UTC', timezone({zone}, CAST({t} AS TIMESTAMP)))"
        if source.timezone in ("UTC", "Etc/UTC"):
            typed = f"CAST({t} AS TIMESTAMP)"  # already UTC wall time; skips two ICU calls
        return _Step(src, typed, f"CASE {missing} {in_range} END")
    fmt = source.timestamp_format
    unread = "'timestamp'"
    if fmt is None:
        # Naive text is read in the session TimeZone, which check_table sets to the source's.
        # Only text starting with a digit: DuckDB also reads 'epoch' and 'infinity'.
        typed = (
            f"CASE WHEN left({t}, 1) BETWEEN '0' AND '9' "
            f"THEN timezone('UTC', try_cast({t} AS TIMESTAMPTZ)) END"
        )
        date = f"regexp_extract({t}, {_lit(_DATE_RE)})"
        unread = (
            f"CASE WHEN {date} <> '' AND try_cast({date} AS DATE) IS NULL "
            "THEN 'date_exists' ELSE 'timestamp' END"
        )
    elif re.search("%[zZ]", fmt):
        typed = f"timezone('UTC', try_strptime({t}, {_lit(fmt)}))"
    else:
        typed = f"timezone('UTC', timezone({zone}, try_strptime({t}, {_lit(fmt)})))"
    return _Step(_text(src), typed, f"CASE {missing} WHEN {v} IS NULL THEN {unread} {in_range} END")


_DATE_RE = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"


def _hygiene_sql(raw: RawTable) -> tuple[str, str]:
    """CSV rows that are not records at all: (check expression, column expression)."""
    if not raw.text_file:
        return "NULL::VARCHAR", "NULL::VARCHAR"
    cols = [_q(c) for c in raw.columns]
    blank = " AND ".join(f"coalesce(trim({c}), '') = ''" for c in cols)
    header = " AND ".join(_header_match(c, name) for c, name in zip(cols, raw.columns, strict=True))
    bad = " OR ".join(f"contains({c}, '\ufffd')" for c in cols) if raw.bad_bytes else "false"
    check = (
        f"CASE WHEN {_q(FIELDS)} IS NOT NULL THEN 'field_count' WHEN {blank} THEN 'blank_row' "
        f"WHEN {header} THEN 'repeated_header' WHEN {bad} THEN 'encoding' END"
    )
    if not raw.bad_bytes:
        return check, "NULL::VARCHAR"
    where = " ".join(
        f"WHEN contains({c}, '\ufffd') THEN {_lit(n)}"
        for c, n in zip(cols, raw.columns, strict=True)
    )
    return check, f"CASE WHEN {_q(FIELDS)} IS NULL THEN CASE {where} END END"


def _header_match(col: str, name: str) -> str:
    if re.fullmatch(r"Unnamed: \d+", name):
        return f"coalesce(trim({col}), '') = ''"
    names = {name, re.sub(r"\.\d+$", "", name)}  # pandas renames a repeated "a" to "a.1"
    return f"trim({col}) IN ({', '.join(_lit(n.strip()) for n in sorted(names))})"


def check_table(
    con: duckdb.DuckDBPyConnection, raw: RawTable, plan: TablePlan, source: SourceSettings
) -> TableCheck:
    """Check every row of ``raw``; create the clean table ``plan.table`` from the rows that pass."""
    names = _TempNames(plan.table)
    try:
        _build_checked(con, raw, plan, source, names)
        _build_row_checks(con, plan, names)
        rejects = _rejects(con, raw, plan, source, names)
        columns, attributes = _build_clean(con, plan, names)
        (used,) = con.sql(f"SELECT count(*) FROM {_q(plan.table)}").fetchall()[0]
    finally:
        con.execute(f"DROP TABLE IF EXISTS {names.checked}")
        con.execute(f"DROP TABLE IF EXISTS {names.row_rejects}")
    quarantined = int(rejects["row"].nunique())
    return TableCheck(plan.table, columns, attributes, raw.rows, int(used), quarantined, rejects)


@dataclass(frozen=True)
class _TempNames:
    table: str

    @property
    def checked(self) -> str:
        return f"_winback_checked_{self.table}"

    @property
    def row_rejects(self) -> str:
        return f"_winback_row_rejects_{self.table}"


def _build_checked(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    plan: TablePlan,
    source: SourceSettings,
    names: _TempNames,
) -> None:
    """One pass over the raw rows: typed values v<j>, problems p<j>, attributes, _ok.

    The table is created in the main schema because it becomes the clean table by deleting the
    rejected rows and dropping the check columns, which DuckDB does without copying the data.
    """
    types = {r[0]: r[1] for r in con.sql(f"DESCRIBE {_q(raw.relation)}").fetchall()}
    declared = {c.name: c for c in SCHEMA[plan.table]}
    hygiene, hygiene_column = _hygiene_sql(raw)
    first = [f"{_q(ROW)} AS _row", f"{hygiene} AS _hyg", f"{hygiene_column} AS _hyg_col"]
    second = ["*"]
    third = ["_row", "_hyg", "_hyg_col"]
    for j, (ours, src) in enumerate(plan.mapping.items()):
        family = _family(types[src])
        step = _column_sql(declared[ours], _q(src), family, source, f"t{j}", f"v{j}")
        first.append(f"{step.first} AS t{j}")
        second.append(f"CAST({step.typed} AS {CLEAN_TYPES[declared[ours].kind]}) AS v{j}")
        # A row that is not a record (blank, header, ...) gets that one problem, not ten more.
        third += [f"v{j}", f"CASE WHEN _hyg IS NULL THEN {step.problem} END AS p{j}"]
    for k, name in enumerate(plan.attributes):
        numeric = _family(types[name]) in ("integer", "float")
        first.append(f"{_as_double(_q(name)) if numeric else _text(_q(name))} AS {_attr(k)}")
        third.append(_attr(k))
    ok = " AND ".join(["_hyg IS NULL", *(f"p{j} IS NULL" for j in range(len(plan.mapping)))])
    sql = (
        f"CREATE OR REPLACE TABLE {names.checked} AS SELECT *, ({ok}) AS _ok FROM ("
        f"SELECT {', '.join(third)} FROM (SELECT {', '.join(second)} FROM ("
        f"SELECT {', '.join(first)} FROM {_q(raw.relation)})))"
    )
    if source.timestamp_format is not None:
        try:
            con.sql(f"SELECT try_strptime('2024', {_lit(source.timestamp_format)})").fetchall()
        except duckdb.Error as exc:
            raise SettingsError(
                f"[data.{plan.table}] timestamp_format {source.timestamp_format!r} is not a "
                f"valid strptime format: {exc}"
            ) from exc
    (previous,) = con.sql("SELECT current_setting('TimeZone')").fetchall()[0]
    # Text without an offset is read in the source's zone; offsets in the text still win.
    con.execute(f"SET TimeZone = {_lit(source.timezone)}")
    try:
        con.execute(sql)
    finally:
        con.execute(f"SET TimeZone = {_lit(previous)}")


def _build_row_checks(con: duckdb.DuckDBPyConnection, plan: TablePlan, names: _TempNames) -> None:
    """Checks across rows, over rows that passed the column checks (the first one is kept).

    Each check first finds candidates by grouping on 64-bit hashes (one cheap pass over all
    rows), then compares exact values only within the candidates, which are few.
    """
    v = {ours: f"v{j}" for j, ours in enumerate(plan.mapping)}
    parts = [
        "SELECT NULL::BIGINT AS _row, NULL::VARCHAR AS col, NULL::VARCHAR AS ours, "
        "NULL::VARCHAR AS chk, NULL::VARCHAR AS detail, NULL::BIGINT AS ref_row WHERE false"
    ]
    # Inlined: materialising all checked rows for two consumers would copy every row.
    ctes = [f"ok AS NOT MATERIALIZED (SELECT * FROM {names.checked} WHERE _ok)"]
    if plan.table == "transactions" and "order_id" in plan.mapping:
        order, customer = v["order_id"], v["customer_id"]
        ctes.append(
            f"mixed AS (SELECT _row, {order}, {customer} FROM ok WHERE hash({order}) IN ("
            f"SELECT hash({order}) FROM ok WHERE {order} IS NOT NULL GROUP BY ALL "
            f"HAVING min(hash({customer})) <> max(hash({customer}))))"
        )
        parts.append(
            f"SELECT m._row, {_lit(plan.mapping['order_id'])}, 'order_id', 'order_customer', "
            f"o.owner, o.first_row FROM mixed AS m JOIN (SELECT {order} AS oid, "
            f"arg_min({customer}, _row) AS owner, min(_row) AS first_row FROM mixed "
            f"GROUP BY {order}) AS o ON m.{order} = o.oid WHERE m.{customer} <> o.owner"
        )
        parts.append(_later_copies(", ".join(v.values()), "NULL", "NULL", "duplicate_row"))
    if plan.table == "customers":
        parts.append(
            _later_copies(
                v["customer_id"],
                _lit(plan.mapping["customer_id"]),
                "'customer_id'",
                "duplicate_customer",
            )
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {names.row_rejects} AS "
        f"WITH {', '.join(ctes)} {' UNION ALL '.join(parts)}"
    )


def _later_copies(key: str, col: str, ours: str, check: str) -> str:
    """Rows whose ``key`` values equal an earlier row's, with that earlier row's number."""
    return (
        f"SELECT _row, {col}, {ours}, '{check}', NULL, first_row FROM (SELECT _row, "
        f"min(_row) OVER (PARTITION BY {key}) AS first_row FROM ok WHERE hash({key}) IN ("
        f"SELECT hash({key}) FROM ok GROUP BY ALL HAVING count(*) > 1)) WHERE _row > first_row"
    )


def _rejects(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    plan: TablePlan,
    source: SourceSettings,
    names: _TempNames,
) -> pd.DataFrame:
    """One row per problem (REJECT_COLUMNS + record), ordered by row and column."""
    (bad,) = con.sql(
        f"SELECT (SELECT count(*) FROM {names.checked} WHERE NOT _ok) "
        f"+ (SELECT count(*) FROM {names.row_rejects})"
    ).fetchall()[0]
    if bad == 0:
        return pd.DataFrame(columns=[*REJECT_COLUMNS, "record"]).astype({"row": "int64"})
    declared = {c.name: c for c in SCHEMA[plan.table]}
    problems = [
        "SELECT _row, _hyg_col AS col, NULL AS ours, _hyg AS chk, NULL AS detail, "
        f"NULL::BIGINT AS ref_row, 0 AS ord FROM {names.checked} WHERE _hyg IS NOT NULL"
    ]
    for j, (ours, src) in enumerate(plan.mapping.items()):
        detail = f"CAST(year(v{j}) AS VARCHAR)" if declared[ours].kind == "timestamp" else "NULL"
        problems.append(
            f"SELECT _row, {_lit(src)}, {_lit(ours)}, p{j}, {detail}, NULL, {j + 1} "
            f"FROM {names.checked} WHERE p{j} IS NOT NULL"
        )
    problems.append(f"SELECT *, 999 FROM {names.row_rejects}")
    value = " ".join(f"WHEN {_lit(c)} THEN CAST(r.{_q(c)} AS VARCHAR)" for c in raw.columns)
    record = ", ".join(f"{_lit(c)}, CAST(r.{_q(c)} AS VARCHAR)" for c in raw.columns)
    record_sql = f"CAST(json_object({record}) AS VARCHAR)"
    if raw.text_file:
        record_sql = (
            f"CASE WHEN r.{_q(FIELDS)} IS NULL THEN {record_sql} ELSE CAST(json_object("
            f"{record}, '_extra_fields', r.{_q(EXTRA)}) AS VARCHAR) END"
        )
    sql = (
        f"WITH p AS ({' UNION ALL '.join(problems)}), "
        f"j AS (SELECT p.*, CASE p.col {value} END AS value, r.{_q(FIELDS)} AS nfields, "
        f"r.{_q(EXTRA)} AS extra, {record_sql} AS record "
        f"FROM p JOIN {_q(raw.relation)} AS r ON r.{_q(ROW)} = p._row), "
        "s AS (SELECT *, CASE WHEN length(value) > 60 THEN left(value, 57) || '...' "
        "ELSE value END AS shown FROM j) "
        f'SELECT {_lit(plan.table)} AS "table", {_lit(raw.label)} AS source, _row AS "row", '
        f'col AS "column", chk AS "check", value, {_message_sql(raw, plan, source)} AS message, '
        "record FROM s ORDER BY _row, ord, col"
    )
    return con.sql(sql).df()


def _message_sql(raw: RawTable, plan: TablePlan, source: SourceSettings) -> str:
    got = "'''' || shown || ''''"
    if source.timestamp_format is None:
        how = f"'; {_ISO_EXAMPLE}, or set timestamp_format in [data.{plan.table}]'"
    else:
        how = _lit(f" with timestamp_format {source.timestamp_format!r}")
    thousands = r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$"
    decimal_comma = r"^[+-]?[0-9]*,[0-9]+$"
    encoding = _lit(
        f"bytes that are not valid {raw.encoding} ({raw.bad_bytes} in the file, shown as "
        f"'\ufffd'); if the file was saved in another encoding, set encoding = \"latin-1\" "
        f"(or the file's real encoding) in [data.{plan.table}]"
    )
    width = len(raw.columns)
    # coalesce: a message is never NULL, even if a value in it unexpectedly is.
    return f"""coalesce(CASE chk
        WHEN 'missing' THEN ours || ' is required but empty'
        WHEN 'number' THEN 'expected a number, got ' || {got} || CASE
            WHEN regexp_matches(trim(value), {_lit(thousands)})
            THEN '; write it without thousands separators, e.g. ' || replace(trim(value), ',', '')
            WHEN regexp_matches(trim(value), {_lit(decimal_comma)})
            THEN '; use ''.'' as the decimal point, e.g. ' || replace(trim(value), ',', '.')
            ELSE '' END
        WHEN 'finite' THEN 'expected a finite number, got ' || {got}
        WHEN 'timestamp' THEN 'could not read ' || {got} || ' as a date-time' || {how}
        WHEN 'date_exists' THEN 'the date ' || regexp_extract(trim(value), {_lit(_DATE_RE)})
            || ' does not exist' || CASE WHEN trim(value) = regexp_extract(trim(value),
            {_lit(_DATE_RE)}) THEN '' ELSE ' (got ' || {got} || ')' END
        WHEN 'date_range' THEN 'implausible date ' || {got} || coalesce(': year ' || detail
            || ' is outside {MIN_YEAR}–{MAX_YEAR}', '; expected a year in {MIN_YEAR}–{MAX_YEAR}')
        WHEN 'bool' THEN 'expected true or false (or 1/0, yes/no, t/f), got ' || {got}
        WHEN 'blank_row' THEN 'the row is blank; delete blank lines from the file'
        WHEN 'repeated_header' THEN 'the row repeats the header line (were several files '
            || 'concatenated?); delete the extra header lines'
        WHEN 'encoding' THEN 'the value ' || {got} || ' has ' || {encoding}
        WHEN 'field_count' THEN 'expected {width} fields, found ' || nfields || ' (extra: '''
            || extra || '''); quote values that contain the delimiter'
        WHEN 'order_customer' THEN 'order_id ' || {got} || ' already belongs to customer '''
            || detail || ''' (row ' || ref_row || ')'
        WHEN 'duplicate_row' THEN 'duplicate row of row ' || ref_row
        WHEN 'duplicate_customer' THEN 'customer_id ' || {got} || ' already appears in row '
            || ref_row
    END, chk)"""


def _attr(k: int) -> str:
    # An unlikely name, so renaming attributes to their own names can never collide.
    return f"__winback_attr_{k}"


def _build_clean(
    con: duckdb.DuckDBPyConnection, plan: TablePlan, names: _TempNames
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Turn the checked table into the clean one; return its columns and the attributes."""
    checked = names.checked
    con.execute(
        f"DELETE FROM {checked} WHERE NOT _ok OR _row IN (SELECT _row FROM {names.row_rejects})"
    )
    internal = ["_row", "_hyg", "_hyg_col", "_ok", *(f"p{j}" for j in range(len(plan.mapping)))]
    for column in internal:
        con.execute(f"ALTER TABLE {checked} DROP COLUMN {column}")
    for j, ours in enumerate(plan.mapping):
        con.execute(f"ALTER TABLE {checked} RENAME COLUMN v{j} TO {_q(ours)}")
    if plan.attributes:
        types = {r[0]: r[1] for r in con.sql(f"DESCRIBE {checked}").fetchall()}
        # Text attributes whose every value is a plain finite number become DOUBLE; codes with
        # leading zeros (zip codes, "007") stay text. Typed numeric attributes are DOUBLE already.
        texts = [_attr(k) for k in range(len(plan.attributes)) if types[_attr(k)] == "VARCHAR"]
        tests = [
            f"count({a}) > 0 AND count({a}) FILTER (WHERE NOT coalesce(isfinite("
            f"try_cast({a} AS DOUBLE)), false) OR regexp_matches({a}, '^[+-]?0[0-9]')) = 0"
            for a in texts
        ]
        if texts:
            numeric = con.sql(f"SELECT {', '.join(tests)} FROM {checked}").fetchall()[0]
            for a, is_numeric in zip(texts, numeric, strict=True):
                if is_numeric:
                    con.execute(
                        f"ALTER TABLE {checked} ALTER {a} TYPE DOUBLE USING try_cast({a} AS DOUBLE)"
                    )
        for k, name in enumerate(plan.attributes):
            con.execute(f"ALTER TABLE {checked} RENAME COLUMN {_attr(k)} TO {_q(name)}")
    con.execute(f"DROP TABLE IF EXISTS {_q(plan.table)}")
    con.execute(f"ALTER TABLE {checked} RENAME TO {_q(plan.table)}")
    return (*plan.mapping, *plan.attributes), plan.attributes


__all__ = [
    "CLEAN_TYPES",
    "SCHEMA",
    "ContractColumn",
    "Kind",
    "TableCheck",
    "TablePlan",
    "check_table",
    "plan_table",
]
