"""The data contract on CSV input: every bad-input case, in stop and in quarantine mode."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from winback.common.errors import DataContractError, DataSourceError, SettingsError
from winback.features.dataset import REJECT_COLUMNS, Dataset
from winback.features.loading import load_dataset, load_summary, write_quarantine
from winback.features.settings import DataSettings, SourceSettings

HEADER = "customer_id,timestamp,amount,order_id\n"


def write(tmp_path: Path, body: str | bytes, name: str = "transactions.csv") -> Path:
    path = tmp_path / name
    if isinstance(body, str):
        path.write_text(body, encoding="utf-8", newline="")
    else:
        path.write_bytes(body)
    return path


def tx(path: Path, **options: object) -> DataSettings:
    return DataSettings(transactions=SourceSettings(path=path, **options))


def stop_message(data: DataSettings) -> str:
    with pytest.raises(DataContractError) as info:
        load_dataset(data)
    return str(info.value)


def quarantine(data: DataSettings) -> Dataset:
    return load_dataset(data, on_bad_rows="quarantine")


def rows(ds: Dataset, sql: str) -> list[tuple]:
    return ds.con.sql(sql).fetchall()


def problems(ds: Dataset) -> list[tuple[int, str | None, str]]:
    """(row, column, check) of every reject, with missing columns as None."""
    return [
        (int(r.row), r.column if isinstance(r.column, str) else None, r.check)
        for r in ds.rejects.itertuples()
    ]


def counts(ds: Dataset, table: str = "transactions") -> tuple[int, int, int]:
    report = ds.reports[table]
    return report.rows_read, report.rows_used, report.rows_quarantined


GOOD = HEADER + "C1,2024-03-01,10.0,O1\nC2,2024-03-02,20.0,O2\n"


# --- sources and columns -------------------------------------------------------------------


def test_good_file_loads_with_the_contract_types(tmp_path: Path) -> None:
    ds = load_dataset(tx(write(tmp_path, GOOD)))
    types = dict(rows(ds, "SELECT column_name, column_type FROM (DESCRIBE transactions)"))
    assert types == {
        "customer_id": "VARCHAR",
        "timestamp": "TIMESTAMP",
        "amount": "DOUBLE",
        "order_id": "VARCHAR",
    }
    assert ds.columns["transactions"] == ("customer_id", "timestamp", "amount", "order_id")
    assert counts(ds) == (2, 2, 0)
    assert ds.rejects.empty
    assert list(ds.rejects.columns) == [*REJECT_COLUMNS, "record"]


def test_missing_file_names_table_path_and_hint(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError) as info:
        load_dataset(tx(tmp_path / "tx.csv"))
    message = str(info.value)
    assert message.startswith(f"transactions: file not found: {tmp_path / 'tx.csv'}.")
    assert "[data.transactions] path in winback.toml or pass --transactions PATH" in message


def test_missing_optional_file_is_an_error_too(tmp_path: Path) -> None:
    data = DataSettings(
        transactions=SourceSettings(path=write(tmp_path, GOOD)),
        events=SourceSettings(path=tmp_path / "events.csv"),
    )
    with pytest.raises(DataSourceError, match=r"events: file not found: .*events\.csv"):
        load_dataset(data)


def test_no_transactions_source_is_an_error() -> None:
    with pytest.raises(DataSourceError, match="transactions: no source configured"):
        load_dataset(DataSettings())


def test_missing_column_names_file_column_and_mapping_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "customer_id,order_date,amount\nC1,2024-03-01,10\n")
    message = stop_message(tx(path))
    assert message.startswith("transactions.csv: missing required column 'timestamp'.")
    assert "The file has columns: customer_id, order_date, amount." in message
    assert '[data.transactions] timestamp = "order_date"' in message


def test_column_mapping_from_config_fixes_it(tmp_path: Path) -> None:
    path = write(tmp_path, "Client,order_date,Total\nC1,2024-03-01,10\n")
    ds = load_dataset(
        tx(path, columns={"customer_id": "Client", "timestamp": "order_date", "amount": "Total"})
    )
    assert rows(ds, "SELECT customer_id, amount FROM transactions") == [("C1", 10.0)]


def test_mapping_names_the_source_column_in_messages(tmp_path: Path) -> None:
    path = write(tmp_path, "Customer_ID ,order_date,Total\nC1,2024-03-01,ten\n")
    message = stop_message(tx(path, columns={"timestamp": "order_date", "amount": "Total"}))
    # "Customer_ID " matches customer_id loosely; messages use the names the file has
    assert message.startswith("transactions.csv row 2, column 'Total': expected a number")


def test_mapped_column_absent_from_file(tmp_path: Path) -> None:
    message = stop_message(tx(write(tmp_path, GOOD), columns={"timestamp": "order_dt"}))
    assert "column 'order_dt' (configured for timestamp) is not in the file" in message


def test_unknown_mapping_key_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"unknown column.*'timestap'"):
        load_dataset(tx(write(tmp_path, GOOD), columns={"timestap": "ts"}))


def test_empty_file_without_header(tmp_path: Path) -> None:
    message = stop_message(tx(write(tmp_path, "")))
    assert "transactions.csv is empty" in message
    assert "no rows" in message


def test_header_only_transactions_has_no_rows(tmp_path: Path) -> None:
    message = stop_message(tx(write(tmp_path, HEADER)))
    assert message.startswith("transactions.csv has no rows")


def test_header_only_optional_table_is_fine(tmp_path: Path) -> None:
    events = write(tmp_path, "customer_id,timestamp,event_type\n", "events.csv")
    data = DataSettings(
        transactions=SourceSettings(path=write(tmp_path, GOOD)),
        events=SourceSettings(path=events),
    )
    ds = load_dataset(data)
    assert counts(ds, "events") == (0, 0, 0)
    assert rows(ds, "SELECT count(*) FROM events") == [(0,)]


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "column", "check", "text"),
    [
        ("C3,abc,5,O3", "timestamp", "timestamp", "could not read 'abc' as a date-time; expected"),
        ("C3,2024-02-30,5,O3", "timestamp", "date_exists", "the date 2024-02-30 does not exist"),
        ("C3,3024-01-01,5,O3", "timestamp", "date_range", "year 3024 is outside 1900–2200"),
        ("C3,1899-12-31,5,O3", "timestamp", "date_range", "year 1899 is outside 1900–2200"),
        ("C3,epoch,5,O3", "timestamp", "timestamp", "could not read 'epoch'"),
        ("C3,infinity,5,O3", "timestamp", "timestamp", "could not read 'infinity'"),
        ("C3,,5,O3", "timestamp", "missing", "timestamp is required but empty"),
        ("C3,2024-03-01,abc,O3", "amount", "number", "expected a number, got 'abc'"),
        ("C3,2024-03-01,,O3", "amount", "missing", "amount is required but empty"),
        ("C3,2024-03-01,inf,O3", "amount", "finite", "expected a finite number, got 'inf'"),
        ("C3,2024-03-01,nan,O3", "amount", "finite", "expected a finite number, got 'nan'"),
        ('C3,2024-03-01,"1,234.50",O3', "amount", "number", "without thousands separators"),
        ('C3,2024-03-01,"12,5",O3', "amount", "number", "use '.' as the decimal point"),
        (
            "C3,2024-03-01,1e13,O3",
            "amount",
            "money_range",
            "expected an amount of money below 10,000,000,000,000 in magnitude, got '1e13'",
        ),
        ("C3,2024-03-01,-25000000000000000000,O3", "amount", "money_range", "check the unit"),
        (",2024-03-01,5,O3", "customer_id", "missing", "customer_id is required but empty"),
        ("   ,2024-03-01,5,O3", "customer_id", "missing", "customer_id is required but empty"),
    ],
)
def test_bad_value_stops_with_row_column_and_problem(
    tmp_path: Path, line: str, column: str, check: str, text: str
) -> None:
    path = write(tmp_path, GOOD + line + "\n")
    message = stop_message(tx(path))
    assert message.startswith(f"transactions.csv row 4, column '{column}': ")
    assert text in message.splitlines()[0]
    assert message.endswith("Fix the rows or rerun with --on-bad-rows quarantine.")

    ds = quarantine(tx(path))
    assert problems(ds) == [(4, column, check)]
    assert counts(ds) == (3, 2, 1)
    assert rows(ds, "SELECT count(*) FROM transactions") == [(2,)]


def test_good_twins_of_the_bad_values_load(tmp_path: Path) -> None:
    lines = ["C3,2024-02-29,5,O3", "C4,2200-12-31,1e3,O4", "  C5  ,2024-03-01, 7.5 ,O5"]
    ds = load_dataset(tx(write(tmp_path, GOOD + "\n".join(lines) + "\n")))
    assert rows(ds, "SELECT customer_id, amount FROM transactions ORDER BY customer_id")[2:] == [
        ("C3", 5.0),
        ("C4", 1000.0),
        ("C5", 7.5),
    ]


def test_money_is_bounded_in_every_money_column(tmp_path: Path) -> None:
    body = (
        "customer_id,timestamp,amount,cost,discount,quantity\n"
        "C1,2024-03-01,19.99,0.00005,-0.00004,1e20\n"
        "C2,2024-03-01,9999999999999.99,1e14,0,1\n"
        "C3,2024-03-01,10,1,-1e13,1\n"
    )
    campaigns = write(
        tmp_path,
        "customer_id,timestamp,offer,cost\nC1,2024-03-01,10off,0.33333\nC2,2024-03-01,10off,2e13\n",
        "campaigns.csv",
    )
    data = DataSettings(
        transactions=SourceSettings(path=write(tmp_path, body)),
        campaigns=SourceSettings(path=campaigns),
    )
    ds = quarantine(data)
    # quantity is a count, not money: no bound.
    assert problems(ds) == [(3, "cost", "money_range"), (4, "discount", "money_range"),
                            (3, "cost", "money_range")]  # fmt: skip
    assert ds.rejects["table"].tolist() == ["transactions", "transactions", "campaigns"]
    # Kept as read: features round money to 4 places where they add it up.
    assert rows(ds, "SELECT amount, cost, discount FROM transactions") == [
        (19.99, 0.00005, -0.00004)
    ]
    assert rows(ds, "SELECT cost FROM campaigns") == [(0.33333,)]
    message = stop_message(data)
    assert message.startswith(
        "transactions.csv row 3, column 'cost': expected an amount of money below "
        "10,000,000,000,000 in magnitude, got '1e14'; check the unit and the column mapping."
    )


def test_money_out_of_range_in_a_typed_source_is_rejected_too() -> None:
    frame = pd.DataFrame(
        {"customer_id": ["C1", "C2", "C3"], "timestamp": [datetime(2024, 3, 1)] * 3,
         "amount": [10.0, -1e300, 9_999_999_999_999.5]}
    )  # fmt: skip
    ds = load_dataset(frames={"transactions": frame}, on_bad_rows="quarantine")
    assert problems(ds) == [(2, "amount", "money_range")]
    assert rows(ds, "SELECT amount FROM transactions") == [(10.0,), (9_999_999_999_999.5,)]


def test_optional_numbers_may_be_missing_but_not_text(tmp_path: Path) -> None:
    body = "customer_id,timestamp,amount,cost\nC1,2024-03-01,10,\nC2,2024-03-01,10,abc\n"
    ds = quarantine(tx(write(tmp_path, body)))
    assert problems(ds) == [(3, "cost", "number")]
    assert rows(ds, "SELECT customer_id, cost FROM transactions") == [("C1", None)]


def test_missing_column_hint_without_a_likely_column(tmp_path: Path) -> None:
    message = stop_message(tx(write(tmp_path, "customer_id,amount,x\nC1,1,2\n")))
    assert '[data.transactions] timestamp = "<column name in the file>"' in message


def test_a_row_with_three_problems_counts_once(tmp_path: Path) -> None:
    ds = quarantine(tx(write(tmp_path, GOOD + ",abc,xyz,O3\n")))
    assert problems(ds) == [(4, "customer_id", "missing"), (4, "timestamp", "timestamp"),
                            (4, "amount", "number")]  # fmt: skip
    assert counts(ds) == (3, 2, 1)


def test_refunds_are_kept_negative(tmp_path: Path) -> None:
    ds = load_dataset(tx(write(tmp_path, GOOD + "C1,2024-03-05,-10.0,R1\n")))
    assert rows(ds, "SELECT amount FROM transactions WHERE order_id = 'R1'") == [(-10.0,)]
    assert counts(ds) == (3, 3, 0)


def test_mixed_offsets_are_normalised_to_utc(tmp_path: Path) -> None:
    body = HEADER + (
        "C1,2024-03-01T12:00:00+02:00,1,O1\n"
        "C1,2024-03-01T12:00:00Z,1,O2\n"
        "C1,2024-03-01T12:00:00-05:00,1,O3\n"
        "C1,2024-03-01 12:00:00,1,O4\n"
    )
    ds = load_dataset(tx(write(tmp_path, body)))
    assert [r[0] for r in rows(ds, 'SELECT "timestamp" FROM transactions ORDER BY order_id')] == [
        datetime(2024, 3, 1, 10),
        datetime(2024, 3, 1, 12),
        datetime(2024, 3, 1, 17),
        datetime(2024, 3, 1, 12),
    ]


def test_naive_timestamps_are_read_in_the_configured_zone(tmp_path: Path) -> None:
    body = HEADER + (
        "C1,2024-01-15 12:00,1,O1\n"  # winter: UTC+1
        "C1,2024-07-15 12:00,1,O2\n"  # summer: UTC+2
        "C1,2024-07-15,1,O3\n"  # a date is the zone's midnight
        "C1,2024-07-15T12:00:00Z,1,O4\n"  # an offset in the data wins
    )
    ds = load_dataset(tx(write(tmp_path, body), timezone="Europe/Berlin"))
    assert [r[0] for r in rows(ds, 'SELECT "timestamp" FROM transactions ORDER BY order_id')] == [
        datetime(2024, 1, 15, 11),
        datetime(2024, 7, 15, 10),
        datetime(2024, 7, 14, 22),
        datetime(2024, 7, 15, 12),
    ]
    (zone,) = rows(ds, "SELECT current_setting('TimeZone')")[0]
    assert zone != "Europe/Berlin"  # the session zone is restored


def test_timestamp_format(tmp_path: Path) -> None:
    body = HEADER + "C1,15/01/2024 12:30,1,O1\nC1,2024-01-15,1,O2\n"
    path = write(tmp_path, body)
    ds = quarantine(tx(path, timestamp_format="%d/%m/%Y %H:%M"))
    assert rows(ds, 'SELECT "timestamp" FROM transactions') == [(datetime(2024, 1, 15, 12, 30),)]
    assert problems(ds) == [(3, "timestamp", "timestamp")]
    assert "with timestamp_format '%d/%m/%Y %H:%M'" in ds.rejects.message[0]
    with pytest.raises(SettingsError, match="not a valid strptime format"):
        load_dataset(tx(path, timestamp_format="%Q"))


# --- orders and duplicates ------------------------------------------------------------------


def test_order_id_under_another_customer_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "C1,2024-03-03,5,O9\nC2,2024-03-03,5,O9\nC3,2024-03-04,5,O9\n")
    message = stop_message(tx(path))
    assert message.startswith(
        "transactions.csv row 5, column 'order_id': order_id 'O9' already belongs to "
        "customer 'C1' (row 4)."
    )
    ds = quarantine(tx(path))
    assert problems(ds) == [(5, "order_id", "order_customer"), (6, "order_id", "order_customer")]
    assert counts(ds) == (5, 3, 2)


def test_line_items_of_one_order_are_accepted(tmp_path: Path) -> None:
    body = HEADER.replace("\n", ",category\n") + (
        "C1,2024-03-01,10,O1,shoes\nC1,2024-03-01,5,O1,socks\nC1,2024-03-01,5,O1,laces\n"
    )
    ds = load_dataset(tx(write(tmp_path, body)))
    assert rows(ds, "SELECT count(*), sum(amount) FROM transactions") == [(3, 20.0)]


def test_exact_duplicate_row_is_rejected(tmp_path: Path) -> None:
    # 10 and 10.00 are the same amount, so row 5 repeats row 4 once values are read.
    path = write(tmp_path, GOOD + "C3,2024-03-03,10,O3\nC3,2024-03-03,10.00,O3\n")
    message = stop_message(tx(path))
    assert message.startswith("transactions.csv row 5: duplicate row of row 4.")
    ds = quarantine(tx(path))
    assert problems(ds) == [(5, None, "duplicate_row")]
    assert counts(ds) == (4, 3, 1)


def test_equal_rows_without_order_ids_are_two_purchases(tmp_path: Path) -> None:
    body = "customer_id,timestamp,amount\nC1,2024-03-01,10\nC1,2024-03-01,10\n"
    ds = load_dataset(tx(write(tmp_path, body)))
    assert counts(ds) == (2, 2, 0)


# --- CSV hygiene ----------------------------------------------------------------------------


def test_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    body = ("\ufeff" + GOOD).replace("\n", "\r\n").encode()
    ds = load_dataset(tx(write(tmp_path, body)))
    assert ds.columns["transactions"][0] == "customer_id"
    assert rows(ds, "SELECT order_id FROM transactions ORDER BY 1") == [("O1",), ("O2",)]


def test_crlf_keeps_row_numbers(tmp_path: Path) -> None:
    body = (GOOD + "C3,2024-03-03,abc,O3\n").replace("\n", "\r\n").encode()
    assert stop_message(tx(write(tmp_path, body))).startswith("transactions.csv row 4, column")


def test_repeated_header_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + HEADER + "C3,2024-03-03,5,O3\n")
    message = stop_message(tx(path))
    assert message.startswith("transactions.csv row 4: the row repeats the header line")
    assert "concatenated" in message
    ds = quarantine(tx(path))
    assert problems(ds) == [(4, None, "repeated_header")]
    assert counts(ds) == (4, 3, 1)


def test_blank_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "C1,2024-03-01,1,O1\n\n ,, \nC3,2024-03-03,5,O3\n")
    assert stop_message(tx(path)).startswith("transactions.csv row 3: the row is blank")
    ds = quarantine(tx(path))
    assert problems(ds) == [(3, None, "blank_row"), (4, None, "blank_row")]
    assert counts(ds) == (4, 2, 2)


def test_blank_lines_after_the_last_row_are_not_rows(tmp_path: Path) -> None:
    ds = load_dataset(tx(write(tmp_path, GOOD + "\n\n\r\n")))
    assert counts(ds) == (2, 2, 0)


def test_non_utf8_bytes_reject_exactly_those_rows(tmp_path: Path) -> None:
    body = (GOOD + "C3,2024-03-03,5,Caf\xe9\n" + "C4,2024-03-04,5,O4\n").encode("latin-1")
    path = write(tmp_path, body)
    message = stop_message(tx(path))
    first = message.splitlines()[0]
    assert first.startswith("transactions.csv row 4, column 'order_id': the value 'Caf\ufffd'")
    assert "not valid utf-8 (0xe9 in the file" in first
    assert 'encoding = "latin-1"' in first
    ds = quarantine(tx(path))
    assert problems(ds) == [(4, "order_id", "encoding")]
    assert counts(ds) == (4, 3, 1)


def test_latin1_file_with_the_right_encoding_loads(tmp_path: Path) -> None:
    body = (GOOD + "C3,2024-03-03,5,Caf\xe9\n").encode("latin-1")
    ds = load_dataset(tx(write(tmp_path, body), encoding="latin-1"))
    assert rows(ds, "SELECT order_id FROM transactions WHERE customer_id = 'C3'") == [("Café",)]


@pytest.mark.parametrize("where", ["first", "later"])
def test_too_many_fields(tmp_path: Path, where: str) -> None:
    extra = "C9,2024-03-09,5,O9,surplus\n"
    body = HEADER + extra + GOOD[len(HEADER) :] if where == "first" else GOOD + extra
    path = write(tmp_path, body)
    row = 2 if where == "first" else 4
    message = stop_message(tx(path))
    assert message.startswith(
        f"transactions.csv row {row}: expected 4 fields, found 5 (extra: 'surplus')"
    )
    ds = quarantine(tx(path))
    assert problems(ds) == [(row, None, "field_count")]
    assert counts(ds) == (3, 2, 1)
    assert set(rows(ds, "SELECT order_id FROM transactions")) == {("O1",), ("O2",)}


def test_too_few_fields_are_missing_values(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "C3,2024-03-03\n")
    assert stop_message(tx(path)).startswith(
        "transactions.csv row 4, column 'amount': amount is required but empty."
    )


# --- other tables ---------------------------------------------------------------------------


def test_events_for_customers_without_transactions_are_allowed(tmp_path: Path) -> None:
    events = write(
        tmp_path,
        "customer_id,timestamp,event_type,value\nC1,2024-03-01,visit,\nZ9,2024-03-01,visit,2\n",
        "events.csv",
    )
    data = DataSettings(
        transactions=SourceSettings(path=write(tmp_path, GOOD)),
        events=SourceSettings(path=events),
    )
    ds = load_dataset(data)
    assert rows(ds, "SELECT customer_id, value FROM events ORDER BY 1") == [
        ("C1", None),
        ("Z9", 2.0),
    ]


def test_events_need_an_event_type_and_numeric_value(tmp_path: Path) -> None:
    events = write(
        tmp_path,
        "customer_id,timestamp,event_type,value\nC1,2024-03-01,,1\nC1,2024-03-01,open,x\n",
        "events.csv",
    )
    data = DataSettings(
        transactions=SourceSettings(path=write(tmp_path, GOOD)),
        events=SourceSettings(path=events),
    )
    ds = quarantine(data)
    assert problems(ds) == [(2, "event_type", "missing"), (3, "value", "number")]
    assert counts(ds, "events") == (2, 0, 2)


def test_customers_unique_and_attributes_typed(tmp_path: Path) -> None:
    customers = write(
        tmp_path,
        "customer_id,signup_date,country,age,zip\n"
        "C1,2023-01-01,DE,31,01234\nC2,,FR,45.5,75001\nC1,2023-02-01,DE,31,01234\n",
        "customers.csv",
    )
    data = DataSettings(
        transactions=SourceSettings(path=write(tmp_path, GOOD)),
        customers=SourceSettings(path=customers),
    )
    message = stop_message(data)
    assert message.startswith(
        "customers.csv row 4, column 'customer_id': customer_id 'C1' already appears in row 2."
    )
    ds = quarantine(data)
    assert ds.attributes == ("country", "age", "zip")
    types = dict(rows(ds, "SELECT column_name, column_type FROM (DESCRIBE customers)"))
    assert types == {
        "customer_id": "VARCHAR",
        "signup_date": "TIMESTAMP",
        "country": "VARCHAR",
        "age": "DOUBLE",
        "zip": "VARCHAR",  # leading zeros: a code, not a number
    }
    assert counts(ds, "customers") == (3, 2, 1)


def test_configured_attributes_only(tmp_path: Path) -> None:
    customers = write(tmp_path, "customer_id,country,age\nC1,DE,31\n", "customers.csv")
    data = DataSettings(
        transactions=SourceSettings(path=write(tmp_path, GOOD)),
        customers=SourceSettings(path=customers, attributes=("country",)),
    )
    assert load_dataset(data).columns["customers"] == ("customer_id", "country")
    bad = DataSettings(
        transactions=SourceSettings(path=write(tmp_path, GOOD)),
        customers=SourceSettings(path=customers, attributes=("plan",)),
    )
    assert "attribute column 'plan'" in stop_message(bad)


def test_campaigns_treated_and_offer(tmp_path: Path) -> None:
    campaigns = write(
        tmp_path,
        "customer_id,timestamp,offer,treated,cost\n"
        "C1,2024-03-01,10off,Yes,1\nC2,2024-03-01,10off,f,\nC3,2024-03-01,,1,1\n"
        "C4,2024-03-01,10off,maybe,1\n",
        "campaigns.csv",
    )
    data = DataSettings(
        transactions=SourceSettings(path=write(tmp_path, GOOD)),
        campaigns=SourceSettings(path=campaigns),
    )
    ds = quarantine(data)
    assert problems(ds) == [(4, "offer", "missing"), (5, "treated", "bool")]
    assert rows(ds, "SELECT customer_id, treated, cost FROM campaigns ORDER BY 1") == [
        ("C1", True, 1.0),
        ("C2", False, None),
    ]
    assert "expected true or false" in stop_message(data).splitlines()[1]


# --- stop message, quarantine files, summary ------------------------------------------------


def test_stop_message_lists_ten_more_and_counts_the_rest(tmp_path: Path) -> None:
    bad = "".join(f"C{i},2024-03-01,x{i},B{i}\n" for i in range(15))
    message = stop_message(tx(write(tmp_path, GOOD + bad)))
    lines = message.splitlines()
    assert lines[0] == "transactions.csv row 4, column 'amount': expected a number, got 'x0'."
    assert len(lines) == 1 + 10 + 2
    assert lines[-2] == "(and 4 more problems in 4 rows)"


def test_quarantine_file_and_summary(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "C3,2024-03-03,abc,O3\n,bad,,O4\n")
    ds = quarantine(tx(path))
    out = tmp_path / "out"
    written = write_quarantine(ds, out)
    assert written == {"transactions": out / "transactions.quarantine.csv"}
    saved = pd.read_csv(written["transactions"], dtype=str, keep_default_na=False)
    assert list(saved.columns) == [
        "customer_id", "timestamp", "amount", "order_id", "row", "column", "check", "message",
    ]  # fmt: skip
    assert saved["row"].tolist() == ["4", "5"]
    assert saved["amount"].tolist() == ["abc", ""]
    assert saved["check"].tolist() == ["number", "missing; timestamp; missing"]
    summary = load_summary(ds, written)
    assert "transactions (transactions.csv): read 4 = used 2 + quarantined 2" in summary
    assert "transactions.quarantine.csv" in summary
    assert not list(out.glob(".*.tmp"))


def test_clean_run_removes_a_stale_quarantine_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = out / "transactions.quarantine.csv"
    stale.write_text("old\n")
    ds = load_dataset(tx(write(tmp_path, GOOD)))
    assert write_quarantine(ds, out) == {}
    assert not stale.exists()
    assert ".quarantine.csv" not in load_summary(ds)


def test_quarantine_with_no_usable_transactions_stops(tmp_path: Path) -> None:
    with pytest.raises(DataContractError, match="none of its 1 rows passed"):
        quarantine(tx(write(tmp_path, HEADER + "C1,2024-03-01,abc,O1\n")))


def test_stop_leaves_no_half_loaded_tables(tmp_path: Path) -> None:
    con = duckdb.connect()
    with pytest.raises(DataContractError):
        load_dataset(tx(write(tmp_path, GOOD + "C3,x,1,O3\n")), con=con)
    assert con.sql("SELECT count(*) FROM duckdb_tables()").fetchall() == [(0,)]


# --- whether orders have several lines -----------------------------------------------------------


def test_one_row_per_order_id_has_no_order_lines(tmp_path: Path) -> None:
    assert load_dataset(tx(write(tmp_path, GOOD))).order_lines is False


def test_an_order_id_on_several_rows_has_order_lines(tmp_path: Path) -> None:
    body = GOOD + "C1,2024-03-01,5.0,O1\n"
    assert load_dataset(tx(write(tmp_path, body))).order_lines is True


def test_without_order_ids_there_are_no_order_lines(tmp_path: Path) -> None:
    body = "customer_id,timestamp,amount\nC1,2024-03-01,10\nC1,2024-03-01,10\n"
    assert load_dataset(tx(write(tmp_path, body))).order_lines is False


def test_order_lines_count_only_clean_rows(tmp_path: Path) -> None:
    # Row 5 repeats row 4 and is quarantined, which leaves O3 on a single clean row.
    body = GOOD + "C3,2024-03-03,10,O3\nC3,2024-03-03,10,O3\n"
    ds = quarantine(tx(write(tmp_path, body)))
    assert problems(ds) == [(5, None, "duplicate_row")]
    assert ds.order_lines is False


def test_equal_rows_without_an_order_id_among_rows_with_one_are_duplicates(tmp_path: Path) -> None:
    body = GOOD + "C3,2024-03-03,10,\nC3,2024-03-03,10,\n"
    ds = quarantine(tx(write(tmp_path, body)))
    assert problems(ds) == [(5, None, "duplicate_row")]
    assert ds.order_lines is False
