"""Rejected rows: one row per problem, with the raw value, the raw record and a message.

:func:`collect_rejects` joins the problems found by the per-column checks (a table holding only
the rejected rows) and by the checks across rows back to the raw relation, so every reject shows
the value and the whole record as the user wrote them, and turns each check name into a message
that says what was expected and how to fix it.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from winback.features.column_checks import DATE_RE, ident, literal
from winback.features.contract import MAX_YEAR, MIN_YEAR, MONEY_LIMIT, SCHEMA, TablePlan
from winback.features.dataset import REJECT_COLUMNS
from winback.features.readers import EXTRA, FIELDS, ROW, RawTable
from winback.features.settings import SourceSettings

_ISO_EXAMPLE = "expected ISO 8601 such as 2024-03-01 or 2024-03-01T12:30:00+02:00"


def no_rejects() -> pd.DataFrame:
    """An empty rejects frame (REJECT_COLUMNS plus record)."""
    return pd.DataFrame(columns=[*REJECT_COLUMNS, "record"]).astype({"row": "int64"})


def collect_rejects(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    plan: TablePlan,
    source: SourceSettings,
    problems: str | None,
    row_rejects: str,
) -> pd.DataFrame:
    """One row per problem (REJECT_COLUMNS + record), ordered by row and column.

    ``problems`` holds the rows failing a per-column check (``_row``, ``_hyg``, ``_hyg_col``,
    v<j>, p<j>), or is None when none did; ``row_rejects`` the cross-row rejects.
    """
    declared = {c.name: c for c in SCHEMA[plan.table]}
    parts = []
    if problems is not None:
        parts.append(
            "SELECT _row, _hyg_col AS col, NULL AS ours, _hyg AS chk, NULL AS detail, "
            f"NULL::BIGINT AS ref_row, 0 AS ord FROM {problems} WHERE _hyg IS NOT NULL"
        )
        for j, (ours, src) in enumerate(plan.mapping.items()):
            timestamp = declared[ours].kind == "timestamp"
            detail = f"CAST(year(v{j}) AS VARCHAR)" if timestamp else "NULL"
            parts.append(
                f"SELECT _row, {literal(src)}, {literal(ours)}, p{j}, {detail}, NULL, {j + 1} "
                f"FROM {problems} WHERE p{j} IS NOT NULL"
            )
    parts.append(f"SELECT *, 999 AS ord FROM {row_rejects}")
    value = " ".join(f"WHEN {literal(c)} THEN CAST(r.{ident(c)} AS VARCHAR)" for c in raw.columns)
    record = ", ".join(f"{literal(c)}, CAST(r.{ident(c)} AS VARCHAR)" for c in raw.columns)
    record_sql = f"CAST(json_object({record}) AS VARCHAR)"
    if raw.text_file:
        record_sql = (
            f"CASE WHEN r.{ident(FIELDS)} IS NULL THEN {record_sql} ELSE CAST(json_object("
            f"{record}, '_extra_fields', r.{ident(EXTRA)}) AS VARCHAR) END"
        )
    sql = (
        f"WITH p AS ({' UNION ALL '.join(parts)}), "
        f"j AS (SELECT p.*, CASE p.col {value} END AS value, r.{ident(FIELDS)} AS nfields, "
        f"r.{ident(EXTRA)} AS extra, {record_sql} AS record "
        f"FROM p JOIN {ident(raw.relation)} AS r ON r.{ident(ROW)} = p._row), "
        "s AS (SELECT *, CASE WHEN length(value) > 60 THEN left(value, 57) || '...' "
        "ELSE value END AS shown FROM j) "
        f'SELECT {literal(plan.table)} AS "table", {literal(raw.label)} AS source, _row AS "row", '
        f'col AS "column", chk AS "check", value, {_message_sql(raw, plan, source)} AS message, '
        "record FROM s ORDER BY _row, ord, col"
    )
    return con.sql(sql).df()


def _message_sql(raw: RawTable, plan: TablePlan, source: SourceSettings) -> str:
    got = "'''' || shown || ''''"
    if source.timestamp_format is None:
        how = f"'; {_ISO_EXAMPLE}, or set timestamp_format in [data.{plan.table}]'"
    else:
        how = literal(f" with timestamp_format {source.timestamp_format!r}")
    thousands = r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$"
    decimal_comma = r"^[+-]?[0-9]*,[0-9]+$"
    comma_hint = literal(
        f', or set decimal = "," in [data.{plan.table}] if the file writes decimal commas'
    )
    if source.decimal == ",":
        thousands = r"^[+-]?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?$"
        decimal_comma = "^$"  # never: commas are the decimal mark here
    encoding = literal(
        f"bytes that are not valid {raw.encoding} ({raw.bad_bytes} in the file, shown as "
        f"'\ufffd'); if the file was saved in another encoding, set encoding = \"latin-1\" "
        f"(or the file's real encoding) in [data.{plan.table}]"
    )
    width = len(raw.columns)
    # coalesce: a message is never NULL, even if a value in it unexpectedly is.
    return f"""coalesce(CASE chk
        WHEN 'missing' THEN ours || ' is required but empty'
        WHEN 'number' THEN 'expected a number, got ' || {got} || CASE
            WHEN regexp_matches(trim(value), {literal(thousands)})
            THEN '; write it without thousands separators, e.g. ' || replace(trim(value),
                {literal("." if source.decimal == "," else ",")}, '')
            WHEN regexp_matches(trim(value), {literal(decimal_comma)})
            THEN '; use ''.'' as the decimal point, e.g. ' || replace(trim(value), ',', '.')
                || {comma_hint}
            ELSE '' END
        WHEN 'finite' THEN 'expected a finite number, got ' || {got}
        WHEN 'money_range' THEN 'expected an amount of money below {MONEY_LIMIT:,} in '
            || 'magnitude, got ' || {got} || '; check the unit and the column mapping'
        WHEN 'timestamp' THEN 'could not read ' || {got} || ' as a date-time' || {how}
        WHEN 'date_exists' THEN 'the date ' || regexp_extract(trim(value), {literal(DATE_RE)})
            || ' does not exist' || CASE WHEN trim(value) = regexp_extract(trim(value),
            {literal(DATE_RE)}) THEN '' ELSE ' (got ' || {got} || ')' END
        WHEN 'after_load_time' THEN 'stamped ' || {got} || ', after the data''s load time, so it '
            || 'cannot have happened yet; the row is set aside (set [data] complete_until to '
            || 'move the limit)'
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


__all__ = ["collect_rejects", "no_rejects"]
