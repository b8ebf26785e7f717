"""Features built a slice of customers at a time are the single build's rows, row for row."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from winback.features import FeatureSettings, build_features, load_dataset, plan_features
from winback.features.chunks import FeatureChunks

TABLES = ("transactions", "events", "customers", "campaigns")


@pytest.fixture(scope="module")
def dataset(small_world):
    return load_dataset(frames={t: getattr(small_world, t) for t in TABLES})


# An early cutoff (most customers not yet known), one mid-history, and the end of the data.
@pytest.mark.parametrize("as_of", ["2023-02-15", "2024-03-01", "2025-01-01"])
def test_chunks_concatenate_to_the_single_build(dataset, as_of) -> None:
    plan = plan_features(dataset, FeatureSettings(), until=pd.Timestamp(as_of).to_pydatetime())
    whole = build_features(dataset, as_of, plan=plan)
    with FeatureChunks(dataset, as_of, plan, chunk_rows=401) as chunks:
        parts = list(chunks)
        # The sample a population summary uses is every k-th row of the same table.
        sample = chunks.every(7)
    assert chunks.total == len(whole) > 0
    assert [len(p) for p in parts[:-1]] == [401] * (len(parts) - 1)
    assert_frame_equal(pd.concat(parts, ignore_index=True), whole, check_exact=True)
    assert_frame_equal(sample, whole.iloc[::7].reset_index(drop=True), check_exact=True)


def test_another_build_between_chunks_does_not_change_them(dataset) -> None:
    as_of = pd.Timestamp("2024-06-01").to_pydatetime()
    plan = plan_features(dataset, FeatureSettings(), until=as_of)
    whole = build_features(dataset, as_of, plan=plan)
    with FeatureChunks(dataset, as_of, plan, chunk_rows=1000) as chunks:
        parts = iter(chunks)
        first = next(parts)
        build_features(dataset, ["2023-06-01", "2023-09-01"], plan=plan)  # other cutoffs
        with FeatureChunks(dataset, "2023-06-01", plan, chunk_rows=10) as other:
            assert other.total < chunks.total
        second = next(parts)
    assert_frame_equal(
        pd.concat([first, second], ignore_index=True), whole.iloc[:2000], check_exact=True
    )
    tables = set(dataset.con.sql("SELECT table_name FROM duckdb_tables()").df()["table_name"])
    assert chunks.table != other.table and not {chunks.table, other.table} & tables


def test_no_customers_known_gives_no_chunks(dataset) -> None:
    plan = plan_features(
        dataset, FeatureSettings(), until=pd.Timestamp("2024-01-01").to_pydatetime()
    )
    with FeatureChunks(dataset, "1990-01-01", plan, chunk_rows=100) as chunks:
        assert chunks.total == 0 and list(chunks) == []
        assert chunks.every(1).empty and "tenure_days" in chunks.every(1)
