"""Checks across rows: order ids under two customers, duplicate rows and duplicate customers.

They run over the rows that passed the per-column checks (the first row of a clash is kept) and
write one reject row per later row into a temporary table of ``(_row, col, ours, chk, detail,
ref_row)``.

Transactions with order ids need one grouping pass on the order id's 64-bit hash: an order id can
only belong to two customers, and a row can only repeat an earlier one, if its order id occurs
more than once, so when every order id occurs once (the common case for one row per order) both
checks are skipped. Otherwise the exact comparisons run only over rows whose order-id hash
repeats. The same pass tells whether orders have several lines (:attr:`RowChecks.order_lines`).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from winback.features.column_checks import literal
from winback.features.contract import TablePlan


@dataclass(frozen=True)
class RowChecks:
    """What the checks across rows found."""

    #: Rows rejected (each is a later copy or a clash with an earlier row).
    rejected: int
    #: Transactions: some order_id occurs on more than one clean row. False without order ids.
    order_lines: bool


_EMPTY = (
    "SELECT NULL::BIGINT AS _row, NULL::VARCHAR AS col, NULL::VARCHAR AS ours, "
    "NULL::VARCHAR AS chk, NULL::VARCHAR AS detail, NULL::BIGINT AS ref_row WHERE false"
)


def check_rows(
    con: duckdb.DuckDBPyConnection, plan: TablePlan, checked: str, out: str
) -> RowChecks:
    """Write the cross-row rejects of the ``checked`` table (``_row``, v0.., ``_ok``) to ``out``.

    ``out`` is created as a temporary table, empty when nothing is rejected.
    """
    v = {ours: f"v{j}" for j, ours in enumerate(plan.mapping)}
    if plan.table == "transactions" and "order_id" in plan.mapping:
        return _check_orders(con, plan, checked, out, v)
    parts = [_EMPTY]
    if plan.table == "customers":
        column = literal(plan.mapping["customer_id"])
        parts.append(_later_copies(v["customer_id"], column, "'customer_id'", "duplicate_customer"))
    _create(con, out, f"ok AS NOT MATERIALIZED (SELECT * FROM {checked} WHERE _ok)", parts)
    return RowChecks(_count(con, out), order_lines=False)


def _check_orders(
    con: duckdb.DuckDBPyConnection, plan: TablePlan, checked: str, out: str, v: dict[str, str]
) -> RowChecks:
    order, customer = v["order_id"], v["customer_id"]
    groups = f"{out}_groups"
    try:
        # One pass: order-id hashes on more than one row (rows without an order id share one
        # hash, so equal rows among them are still found), and whether a customer changes.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {groups} AS SELECT hash({order}) AS h, "
            f"bool_or({order} IS NOT NULL) AS has_id, "
            f"min(hash({customer})) <> max(hash({customer})) AS mixed "
            f"FROM {checked} WHERE _ok GROUP BY 1 HAVING count(*) > 1"
        )
        if _count(con, groups) == 0:
            _create(con, out, None, [_EMPTY])
            return RowChecks(0, order_lines=False)
        ok = (
            f"ok AS NOT MATERIALIZED (SELECT * FROM {checked} "
            f"WHERE _ok AND hash({order}) IN (SELECT h FROM {groups}))"
        )
        mixed = (
            f"mixed AS (SELECT _row, {order}, {customer} FROM ok WHERE {order} IS NOT NULL "
            f"AND hash({order}) IN (SELECT h FROM {groups} WHERE mixed))"
        )
        owner = (
            f"SELECT m._row, {literal(plan.mapping['order_id'])}, 'order_id', 'order_customer', "
            f"o.owner, o.first_row FROM mixed AS m JOIN (SELECT {order} AS oid, "
            f"arg_min({customer}, _row) AS owner, min(_row) AS first_row FROM mixed "
            f"GROUP BY {order}) AS o ON m.{order} = o.oid WHERE m.{customer} <> o.owner"
        )
        # Equal rows share their order id, so only rows whose order-id hash repeats can be equal.
        copies = _later_copies(", ".join(v.values()), "NULL", "NULL", "duplicate_row")
        _create(con, out, f"{ok}, {mixed}", [_EMPTY, owner, copies])
        rejected = _count(con, out)
        if rejected == 0:
            (lines,) = con.sql(f"SELECT bool_or(has_id) FROM {groups}").fetchall()[0]
        else:
            # Rejected rows may leave an order id on a single clean row: count again without them.
            (lines,) = con.sql(
                f"SELECT count(*) > 0 FROM (SELECT 1 FROM {checked} WHERE _ok "
                f"AND {order} IS NOT NULL AND hash({order}) IN (SELECT h FROM {groups} "
                f"WHERE has_id) AND _row NOT IN (SELECT _row FROM {out}) "
                f"GROUP BY {order} HAVING count(*) > 1)"
            ).fetchall()[0]
        return RowChecks(rejected, order_lines=bool(lines))
    finally:
        con.execute(f"DROP TABLE IF EXISTS {groups}")


def _create(con: duckdb.DuckDBPyConnection, out: str, ctes: str | None, parts: list[str]) -> None:
    with_ = f"WITH {ctes} " if ctes else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS {with_}{' UNION ALL '.join(parts)}")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    (n,) = con.sql(f"SELECT count(*) FROM {table}").fetchall()[0]
    return int(n)


def _later_copies(key: str, col: str, ours: str, check: str) -> str:
    """Rows of ``ok`` whose ``key`` values equal an earlier row's, with that earlier row."""
    return (
        f"SELECT _row, {col}, {ours}, '{check}', NULL, first_row FROM (SELECT _row, "
        f"min(_row) OVER (PARTITION BY {key}) AS first_row FROM ok WHERE hash({key}) IN ("
        f"SELECT hash({key}) FROM ok GROUP BY ALL HAVING count(*) > 1)) WHERE _row > first_row"
    )


__all__ = ["RowChecks", "check_rows"]
