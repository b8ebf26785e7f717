"""Features for one cutoff, read a slice of customers at a time: memory stays flat as bases grow.

A nightly scoring of millions of customers needs every customer's row once, never all of them in
Python at the same time. :class:`FeatureChunks` builds the feature table once, inside DuckDB (a
temporary table, held within ``[engine] memory_limit`` and spilled to disk beyond it), then hands
it out ``chunk_rows`` customers at a time, in :func:`features.build_features`'s order: the
chunks, concatenated, are the single build's table, row for row. One query per chunk instead
would scan every event once per chunk (measured: ``docs/2026-12-05-scoring-cost.md``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime
from types import TracebackType

import pandas as pd

from winback.features.builder import FeaturePlan, feature_sql, set_cutoffs
from winback.features.dataset import Dataset

_POSITION = "_winback_position"
_numbers = itertools.count()


class FeatureChunks:
    """The feature rows of every customer known at ``as_of``, ``chunk_rows`` customers at a time.

    Iterating yields DataFrames in :func:`features.build_features`'s order; :meth:`every` gives
    the rows of every k-th customer (a deterministic sample for population summaries). Use it as
    a context manager, or call :meth:`close`, to free the table.
    """

    def __init__(
        self, dataset: Dataset, as_of: date | datetime | str, plan: FeaturePlan, chunk_rows: int
    ) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.dataset, self.chunk_rows = dataset, chunk_rows
        self.table = f"_winback_feature_chunks_{next(_numbers)}"
        set_cutoffs(dataset, [as_of])
        # Stored in position order, so a range of positions is a range of the table's blocks.
        dataset.con.execute(f"""
            CREATE TEMP TABLE {self.table} AS
            SELECT row_number() OVER (ORDER BY as_of, customer_id) - 1 AS {_POSITION}, *
            FROM ({feature_sql(dataset, plan)})
            ORDER BY {_POSITION}
        """)
        counted = dataset.con.sql(f"SELECT count(*) FROM {self.table}").fetchall()
        #: Customers known at ``as_of``: the number of rows all chunks hold.
        self.total = int(counted[0][0])

    def _read(self, where: str) -> pd.DataFrame:
        return self.dataset.con.sql(
            f"SELECT * EXCLUDE ({_POSITION}) FROM {self.table} WHERE {where} ORDER BY {_POSITION}"
        ).df()

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for start in range(0, self.total, self.chunk_rows):
            yield self._read(f"{_POSITION} >= {start} AND {_POSITION} < {start + self.chunk_rows}")

    def every(self, k: int) -> pd.DataFrame:
        """The rows of the customers at positions 0, k, 2k, … (all of them for k = 1)."""
        return self._read(f"{_POSITION} % {int(k)} = 0")

    def close(self) -> None:
        """Drop the table (the chunks already read stay valid)."""
        self.dataset.con.execute(f"DROP TABLE IF EXISTS {self.table}")

    def __enter__(self) -> FeatureChunks:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["FeatureChunks"]
