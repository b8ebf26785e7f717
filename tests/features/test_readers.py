"""Readers: Parquet, DuckDB files, SQLAlchemy URLs and DataFrames feed the same contract."""

from __future__ import annotations

import gzip
import sqlite3
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from winback.common.errors import DataContractError, DataSourceError
from winback.features.loading import load_dataset
from winback.features.settings import DataSettings, SourceSettings


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [101.0, 102.0, 103.0],
            "timestamp": pd.to_datetime(
                ["2024-03-01 12:00", "2024-03-02 12:00", "2024-07-01 00:00"]
            ),
            "amount": [10.0, -2.5, 7.0],
            "order_id": [1, 2, 3],
        }
    )


def all_rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.sql(sql).fetchall()


def test_parquet_with_naive_typed_timestamps_in_the_source_zone(tmp_path: Path) -> None:
    path = tmp_path / "tx.parquet"
    frame().to_parquet(path)
    ds = load_dataset(
        DataSettings(transactions=SourceSettings(path=path, timezone="America/New_York"))
    )
    assert all_rows(ds.con, 'SELECT customer_id, order_id, "timestamp" FROM transactions') == [
        ("101", "1", datetime(2024, 3, 1, 17)),  # EST, UTC-5
        ("102", "2", datetime(2024, 3, 2, 17)),
        ("103", "3", datetime(2024, 7, 1, 4)),  # EDT, UTC-4
    ]
    assert ds.reports["transactions"].source == "tx.parquet"


def test_parquet_with_tz_aware_timestamps_converts_to_utc(tmp_path: Path) -> None:
    data = frame()
    data["timestamp"] = data["timestamp"].dt.tz_localize("Asia/Tokyo")
    path = tmp_path / "tx.parquet"
    data.to_parquet(path)
    # the configured zone is for naive values only; these carry their own
    ds = load_dataset(DataSettings(transactions=SourceSettings(path=path, timezone="Europe/Paris")))
    assert all_rows(ds.con, 'SELECT "timestamp" FROM transactions')[0] == (datetime(2024, 3, 1, 3),)


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    data = frame()
    data.loc[1, "amount"] = np.nan
    data.loc[2, "amount"] = np.inf
    path = tmp_path / "tx.parquet"
    data.to_parquet(path)
    with pytest.raises(DataContractError) as info:
        load_dataset(DataSettings(transactions=SourceSettings(path=path)))
    lines = str(info.value).splitlines()
    assert lines[0] == "tx.parquet row 2, column 'amount': amount is required but empty."
    assert lines[1] == "  tx.parquet row 3, column 'amount': expected a finite number, got 'inf'."


def test_duckdb_file_with_table_and_with_query(tmp_path: Path) -> None:
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE sales AS SELECT * FROM (VALUES ('C1', TIMESTAMPTZ '2024-03-01 "
            "12:00:00+02', 5.0), ('C2', TIMESTAMPTZ '2024-03-02 00:00:00+00', 6.0)) "
            "t(cust, ts, total)"
        )
    columns = {"customer_id": "cust", "timestamp": "ts", "amount": "total"}
    url = f"duckdb:///{db}"
    by_table = load_dataset(
        DataSettings(transactions=SourceSettings(url=url, table="sales", columns=columns))
    )
    assert all_rows(by_table.con, 'SELECT customer_id, "timestamp" FROM transactions') == [
        ("C1", datetime(2024, 3, 1, 10)),
        ("C2", datetime(2024, 3, 2)),
    ]
    by_query = load_dataset(
        DataSettings(
            transactions=SourceSettings(
                url=url, query="SELECT * FROM sales WHERE total > 5.5", columns=columns
            )
        )
    )
    assert all_rows(by_query.con, "SELECT customer_id FROM transactions") == [("C2",)]
    assert by_query.reports["transactions"].source == "transactions query"


def test_duckdb_source_failures_are_data_source_errors(tmp_path: Path) -> None:
    missing = SourceSettings(url=f"duckdb:///{tmp_path / 'none.duckdb'}", table="sales")
    with pytest.raises(DataSourceError, match="transactions: DuckDB file not found"):
        load_dataset(DataSettings(transactions=missing))
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    no_table = SourceSettings(url=f"duckdb:///{db}", table="sales")
    with pytest.raises(DataSourceError, match="cannot read 'sales'"):
        load_dataset(DataSettings(transactions=no_table))


def test_sqlite_url_with_table_and_query(tmp_path: Path) -> None:
    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE tx (customer_id INTEGER, timestamp TEXT, amount REAL)")
        con.executemany(
            "INSERT INTO tx VALUES (?, ?, ?)",
            [(7, "2024-03-01T09:00:00+01:00", 3.5), (8, "2024-03-02", 4.0), (9, "never", 1.0)],
        )
    con.close()
    url = f"sqlite:///{db}"
    ds = load_dataset(
        DataSettings(transactions=SourceSettings(url=url, table="tx")), on_bad_rows="quarantine"
    )
    assert all_rows(ds.con, 'SELECT customer_id, "timestamp" FROM transactions') == [
        ("7", datetime(2024, 3, 1, 8)),
        ("8", datetime(2024, 3, 2)),
    ]
    assert ds.rejects[["source", "row", "column", "check"]].values.tolist() == [
        ["tx", 3, "timestamp", "timestamp"]
    ]
    query = SourceSettings(url=url, query="SELECT * FROM tx WHERE amount > 3.9")
    assert load_dataset(DataSettings(transactions=query)).reports["transactions"].rows_read == 1
    with pytest.raises(DataSourceError, match="cannot read 'nope'"):
        load_dataset(DataSettings(transactions=SourceSettings(url=url, table="nope")))


def test_dataframe_sources_use_the_configured_mapping() -> None:
    tx = frame().rename(columns={"amount": "total"})
    events = pd.DataFrame(
        {"customer_id": ["101", "999"], "timestamp": ["2024-03-01", "2024-03-01"],
         "event_type": ["visit", "visit"]}
    )  # fmt: skip
    settings = DataSettings(
        transactions=SourceSettings(path=Path("unused.csv"), columns={"amount": "total"})
    )
    ds = load_dataset(settings, frames={"transactions": tx, "events": events})
    assert ds.reports["transactions"].source == "transactions frame"
    assert all_rows(ds.con, "SELECT sum(amount) FROM transactions") == [(14.5,)]
    assert all_rows(ds.con, "SELECT count(*) FROM events") == [(2,)]


def test_dataframe_rows_are_numbered_from_one() -> None:
    tx = frame().astype({"customer_id": object})
    tx.loc[2, "customer_id"] = None
    with pytest.raises(DataContractError, match=r"^transactions frame row 3, column 'customer_id'"):
        load_dataset(frames={"transactions": tx})


def test_dataframe_with_mixed_object_column_is_read_as_text() -> None:
    tx = frame().astype({"amount": object})
    tx.loc[0, "amount"] = "12.5"  # str among floats: arrow refuses, the reader renders text
    ds = load_dataset(frames={"transactions": tx})
    assert all_rows(ds.con, "SELECT amount FROM transactions")[0] == (12.5,)


def test_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("customer_id,timestamp,amount\nC1,2024-03-01,1\nC2,2024-03-01,2,9\n")
    ds = load_dataset(
        DataSettings(transactions=SourceSettings(path=path)), on_bad_rows="quarantine"
    )
    assert ds.rejects[["row", "check"]].values.tolist() == [[3, "field_count"]]


def test_unknown_file_format(tmp_path: Path) -> None:
    path = tmp_path / "tx.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(DataSourceError, match=r"cannot tell the format of .*tx\.xlsx"):
        load_dataset(DataSettings(transactions=SourceSettings(path=path)))


def test_corrupt_parquet_is_a_data_source_error(tmp_path: Path) -> None:
    path = tmp_path / "tx.parquet"
    path.write_bytes(b"not parquet")
    with pytest.raises(DataSourceError, match="cannot read Parquet file"):
        load_dataset(DataSettings(transactions=SourceSettings(path=path)))


def test_customer_attributes_from_typed_frames() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": ["101", "102"],
            "age": [31, 45],
            "vip": [True, False],
            "plan": ["gold", None],
        }
    )
    ds = load_dataset(frames={"transactions": frame(), "customers": customers})
    types = dict(all_rows(ds.con, "SELECT column_name, column_type FROM (DESCRIBE customers)"))
    assert types == {"customer_id": "VARCHAR", "age": "DOUBLE", "vip": "VARCHAR", "plan": "VARCHAR"}
    assert ds.attributes == ("age", "vip", "plan")
    assert all_rows(ds.con, "SELECT vip, plan FROM customers ORDER BY customer_id") == [
        ("true", "gold"),
        ("false", None),
    ]


@pytest.mark.parametrize(("name", "delimiter"), [("tx.tsv", ","), ("tx.csv", ";")])
def test_delimiters(tmp_path: Path, name: str, delimiter: str) -> None:
    sep = "\t" if name.endswith(".tsv") else delimiter
    path = tmp_path / name
    path.write_text(sep.join(["customer_id", "timestamp", "amount"]) + "\nC1" + sep + "2024-03-01"
                    + sep + "1,5\n")  # fmt: skip
    source = SourceSettings(path=path, delimiter=delimiter)
    with pytest.raises(DataContractError, match=r"use '\.' as the decimal point, e\.g\. 1\.5"):
        load_dataset(DataSettings(transactions=source))


def test_loading_leaves_only_the_clean_tables(tmp_path: Path) -> None:
    path = tmp_path / "tx.parquet"
    frame().to_parquet(path)
    con = duckdb.connect()
    load_dataset(DataSettings(transactions=SourceSettings(path=path)), con=con)
    assert all_rows(con, "SELECT table_name FROM duckdb_tables()") == [("transactions",)]
    assert all_rows(con, "SELECT count(*) FROM duckdb_views() WHERE NOT internal") == [(0,)]


def test_parquet_typed_values_are_trimmed_and_checked_without_text_parsing(
    tmp_path: Path,
) -> None:
    data = frame()
    data["customer_id"] = [" 101", "102 ", "103"]
    data["timestamp"] = data["timestamp"].dt.tz_localize("UTC")
    path = tmp_path / "tx.parquet"
    data.to_parquet(path)
    ds = load_dataset(DataSettings(transactions=SourceSettings(path=path)))
    assert all_rows(ds.con, 'SELECT customer_id, "timestamp" FROM transactions ORDER BY 1') == [
        ("101", datetime(2024, 3, 1, 12)),
        ("102", datetime(2024, 3, 2, 12)),
        ("103", datetime(2024, 7, 1)),
    ]
    assert ds.order_lines is False


def test_parquet_typed_timestamps_out_of_range_or_blank_ids_are_rejected(tmp_path: Path) -> None:
    data = frame()
    data["customer_id"] = ["101", "  ", "103"]
    data["timestamp"] = pd.to_datetime(
        ["2024-03-01 12:00", "2024-03-02 12:00", "1850-07-01 00:00"]
    ).tz_localize("UTC")
    path = tmp_path / "tx.parquet"
    data.to_parquet(path)
    ds = load_dataset(
        DataSettings(transactions=SourceSettings(path=path)), on_bad_rows="quarantine"
    )
    assert list(ds.rejects[["row", "check"]].itertuples(index=False, name=None)) == [
        (2, "missing"),
        (3, "date_range"),
    ]
    assert "year 1850 is outside 1900–2200" in ds.rejects["message"].iloc[1]
    assert ds.reports["transactions"].rows_used == 1


def test_infinite_typed_timestamps_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "tx.parquet"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM (VALUES ('1', TIMESTAMPTZ '2024-03-01 00:00:00+00', 1.0), "
        "('2', 'infinity'::TIMESTAMPTZ, 2.0)) AS t(customer_id, \"timestamp\", amount)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    con.close()
    ds = load_dataset(
        DataSettings(transactions=SourceSettings(path=path)), on_bad_rows="quarantine"
    )
    assert list(ds.rejects[["row", "check"]].itertuples(index=False, name=None)) == [
        (2, "date_range")
    ]
