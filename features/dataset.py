"""A validated dataset: the clean contract tables inside one DuckDB connection.

Loading (``features.loading``) is the only producer of a :class:`Dataset`; everything downstream
(features, labels, segments, snapshots) reads its tables and trusts them.

Clean tables, named as in the contract and typed so SQL can rely on them:

- ``transactions``: customer_id VARCHAR, "timestamp" TIMESTAMP (UTC), amount DOUBLE, and any of
  order_id VARCHAR, cost DOUBLE, quantity DOUBLE, channel VARCHAR, category VARCHAR, discount DOUBLE
  (money: amount, cost and discount, under 10^13 in magnitude; see ``features.contract``)
- ``events``: customer_id, "timestamp", event_type VARCHAR, and value DOUBLE if present
- ``customers``: customer_id (unique), signup_date TIMESTAMP if present, attribute columns
- ``campaigns``: customer_id, "timestamp", offer VARCHAR, and treated BOOLEAN, cost DOUBLE (money)
  if present
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

import duckdb
import pandas as pd

from winback.common.errors import SettingsError
from winback.common.timestamps import local_day, local_midnight_after, to_utc_naive
from winback.features.settings import TableName


@dataclass(frozen=True)
class TableReport:
    """What happened to one table at the boundary; ``rows_read == rows_used + rows_quarantined``."""

    table: TableName
    source: str
    rows_read: int
    rows_used: int
    rows_quarantined: int

    def __post_init__(self) -> None:
        if self.rows_read != self.rows_used + self.rows_quarantined:
            raise AssertionError(f"{self.table}: counts do not add up: {self}")


#: How stale the data may be at a cutoff: a nightly job may run on last night's data, not on last
#: quarter's.
MAX_DAYS_AFTER_DATA = 31

#: Columns of the rejects table, shared by error messages and quarantine files.
REJECT_COLUMNS = ("table", "source", "row", "column", "check", "value", "message")


@dataclass
class Dataset:
    """Clean contract tables in ``con``, with what loading saw."""

    con: duckdb.DuckDBPyConnection
    columns: dict[TableName, tuple[str, ...]]
    reports: dict[TableName, TableReport] = field(default_factory=dict)
    #: One row per problem found (REJECT_COLUMNS) plus ``record``: the raw row as text.
    rejects: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=[*REJECT_COLUMNS, "record"])
    )
    #: Customer attribute columns available as categoricals.
    attributes: tuple[str, ...] = ()
    #: Whether some order_id occurs on more than one transaction row (line-item data); when
    #: False the builder treats every row as its own order and skips grouping lines.
    order_lines: bool = True
    #: Derived tables already built in ``con`` (e.g. the orders table), built once per dataset.
    prepared: set[str] = field(default_factory=set)
    #: The business's time zone: cutoffs are its midnights.
    timezone: str = "UTC"
    #: What loading set aside without stopping (rows stamped after the load time), for the shell.
    notes: list[str] = field(default_factory=list)

    def cutoff(self, moment: date | datetime | str) -> datetime:
        """``moment`` as a naive UTC cutoff; a date means its midnight in the business's zone."""
        return to_utc_naive(moment, self.timezone)

    def end(self) -> datetime | None:
        """The exclusive end of the transactions: the business's midnight after the last day."""
        span = self.time_range()
        return None if span is None else local_midnight_after(span[1], self.timezone)

    def check_cutoff(self, moment: datetime, *, max_days_after: int = MAX_DAYS_AFTER_DATA) -> None:
        """Refuse a cutoff before the first transaction or far after the data's end.

        A cutoff outside the data scores every customer as if they had all left (or none had
        arrived), which looks like a result; this says what the data covers instead.
        """
        span = self.time_range()
        if span is None:
            return
        first, last = span
        end = local_midnight_after(last, self.timezone)
        day = partial(local_day, zone=self.timezone)
        covers = f"the transactions run from {day(first)} to {day(last)}"
        if moment <= first:
            raise SettingsError(
                f"as of {day(moment)} is not after the first transaction: {covers}. "
                "Choose a date after the first."
            )
        if (moment - end).days > max_days_after:
            raise SettingsError(
                f"as of {day(moment)} is {(moment - end).days:,} days after the data ends: "
                f"{covers}. Choose a date up to {day(end + timedelta(days=max_days_after))}, "
                "or load newer data."
            )

    def has(self, table: TableName, column: str | None = None) -> bool:
        """Whether ``table`` was loaded and, if given, has ``column``."""
        if table not in self.columns:
            return False
        return column is None or column in self.columns[table]

    def time_range(self) -> tuple[datetime, datetime] | None:
        """First and last transaction timestamp (UTC, naive), or None without transactions."""
        row = self.con.sql('SELECT min("timestamp"), max("timestamp") FROM transactions').fetchall()
        lo, hi = row[0]
        return None if lo is None else (lo, hi)

    def fingerprint(self) -> dict[str, str | int]:
        """Rows, customers, date range and a content hash of the clean tables."""
        digest = hashlib.sha256()
        out: dict[str, str | int] = {}
        for name in sorted(self.columns):
            cols = ", ".join(f'"{c}"' for c in self.columns[name])
            n, h = self.con.sql(
                f"SELECT count(*), coalesce(bit_xor(hash(({cols}))), 0) FROM {name}"
            ).fetchall()[0]
            digest.update(f"{name}:{n}:{h};".encode())
            out[f"{name}_rows"] = int(n)
        if self.has("transactions"):
            (n_customers,) = self.con.sql(
                "SELECT count(DISTINCT customer_id) FROM transactions"
            ).fetchall()[0]
            out["customers"] = int(n_customers)
            span = self.time_range()
            if span is not None:
                out["first_timestamp"] = span[0].isoformat()
                out["last_timestamp"] = span[1].isoformat()
        out["hash"] = digest.hexdigest()[:16]
        return out


__all__ = ["REJECT_COLUMNS", "Dataset", "TableReport"]
