"""The feature query is the Spark path: it must transpile to Spark SQL with known functions only."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from winback.features import FeatureSettings, load_dataset, plan_features
from winback.features.builder import feature_sql, set_cutoffs


@pytest.fixture(scope="module")
def query(small_world) -> str:
    tables = ("transactions", "events", "customers", "campaigns")
    dataset = load_dataset(frames={t: getattr(small_world, t) for t in tables})
    set_cutoffs(dataset, ["2024-06-01"])
    return feature_sql(dataset, plan_features(dataset, FeatureSettings()))


def _unknown_functions(sql: str, dialect: str) -> set[str]:
    tree = sqlglot.parse_one(sql, read=dialect)
    return {node.name for node in tree.find_all(exp.Anonymous)}


def test_feature_query_transpiles_to_spark_with_no_unknown_function(query: str) -> None:
    spark = sqlglot.transpile(
        query, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE
    )[0]
    assert _unknown_functions(spark, "spark") == set()
    assert "DATEDIFF(MICROSECOND" in spark


def test_the_check_catches_a_duckdb_only_function() -> None:
    spark = sqlglot.transpile("SELECT epoch_us(ts) FROM t", read="duckdb", write="spark")[0]
    assert _unknown_functions(spark, "spark") == {"EPOCH_US"}
