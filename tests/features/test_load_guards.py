"""Guards at the boundary against data that would be silently wrong.

Records from the future, cutoffs outside the data, and tables whose customer ids never meet.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from winback.common.errors import DataContractError, SettingsError
from winback.features.loading import load_dataset, write_quarantine
from winback.features.settings import DataSettings, SourceSettings
from winback.features.snapshots import data_end

LOAD_TIME = datetime(2025, 1, 2, 9, 30)


def _orders(n: int = 120, prefix: str = "C") -> pd.DataFrame:
    """Two orders each for 60 customers, every other day of 2024 from 1 January to 26 August."""
    days = pd.date_range("2024-01-01", periods=n, freq="2D")
    return pd.DataFrame(
        {"customer_id": [f"{prefix}{i % 60}" for i in range(n)], "timestamp": days, "amount": 20.0}
    )


def test_a_future_dated_row_is_set_aside_and_never_picks_the_cutoff() -> None:
    tx = _orders()
    tx.loc[len(tx)] = ["C1", pd.Timestamp("2030-06-01"), 99.0]
    dataset = load_dataset(frames={"transactions": tx}, load_time=LOAD_TIME)
    report = dataset.reports["transactions"]
    assert (report.rows_read, report.rows_used, report.rows_quarantined) == (121, 120, 1)
    assert data_end(dataset) == datetime(2024, 8, 27)  # the day after the last real order
    assert dataset.rejects["check"].tolist() == ["after_load_time"]
    assert int(dataset.rejects["row"].iloc[0]) == 121
    assert len(dataset.notes) == 1
    assert "1 transactions row stamped after 2025-01-02 09:30 UTC" in dataset.notes[0]
    assert "row 121" in dataset.notes[0]


def test_the_set_aside_rows_are_written_to_the_quarantine_file(tmp_path: Path) -> None:
    tx = _orders()
    tx.loc[len(tx)] = ["C1", pd.Timestamp("2030-06-01"), 99.0]
    dataset = load_dataset(frames={"transactions": tx}, load_time=LOAD_TIME)
    written = write_quarantine(dataset, tmp_path)
    frame = pd.read_csv(written["transactions"])
    assert frame["check"].tolist() == ["after_load_time"]
    assert "cannot have happened yet" in frame["message"].iloc[0]


def test_without_a_load_time_nothing_is_set_aside() -> None:
    tx = _orders()
    tx.loc[len(tx)] = ["C1", pd.Timestamp("2030-06-01"), 99.0]
    dataset = load_dataset(frames={"transactions": tx})
    assert dataset.reports["transactions"].rows_used == 121
    assert dataset.notes == []


def test_complete_until_moves_the_limit_and_is_read_in_the_business_zone() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a"],
            "timestamp": ["2024-05-01", "2024-05-31T23:30:00", "2024-06-01T00:30:00"],
            "amount": [1.0, 2.0, 3.0],
        }
    )
    data = DataSettings(timezone="Europe/Berlin", complete_until="2024-06-01")
    dataset = load_dataset(data, frames={"transactions": tx}, load_time=LOAD_TIME)
    # Berlin's 1 June midnight is 22:00 UTC on 31 May: only the 00:30 order lies after it.
    assert dataset.reports["transactions"].rows_used == 2
    assert dataset.rejects["row"].tolist() == [3]


def test_a_future_row_with_another_problem_still_stops_the_run() -> None:
    tx = _orders()
    tx["amount"] = tx["amount"].astype(object)
    tx.loc[len(tx)] = ["C1", pd.Timestamp("2030-06-01"), "abc"]
    with pytest.raises(DataContractError, match="row 121, column 'amount': expected a number"):
        load_dataset(frames={"transactions": tx}, load_time=LOAD_TIME)


def test_ids_that_never_meet_stop_with_examples_from_both_tables() -> None:
    tx = _orders(prefix="")
    customers = pd.DataFrame({"customer_id": [f"C{i:03d}" for i in range(60)], "plan": "basic"})
    with pytest.raises(DataContractError) as caught:
        load_dataset(frames={"transactions": tx, "customers": customers})
    message = str(caught.value)
    assert "only 0 of 60 customer ids are shared" in message
    assert "'0'" in message and "'C000'" in message
    assert "min_id_overlap" in message


def test_ids_that_meet_load_and_the_guard_can_be_turned_off() -> None:
    tx = _orders()
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(100)], "plan": "basic"})
    assert load_dataset(frames={"transactions": tx, "customers": customers}).has("customers")
    other = customers.assign(customer_id=[f"X{i}" for i in range(100)])
    off = DataSettings(min_id_overlap=0)
    assert load_dataset(off, frames={"transactions": tx, "customers": other}).has("customers")


def test_a_cutoff_outside_the_data_is_refused_with_its_range() -> None:
    dataset = load_dataset(frames={"transactions": _orders()})
    dataset.check_cutoff(datetime(2024, 9, 15), max_days_after=31)
    with pytest.raises(SettingsError, match=r"2099-01-01 is [\d,]+ days after the data ends: "
                       r"the transactions run from 2024-01-01 to 2024-08-26"):  # fmt: skip
        dataset.check_cutoff(datetime(2099, 1, 1), max_days_after=31)
    with pytest.raises(SettingsError, match="1990-01-01 is not after the first transaction"):
        dataset.check_cutoff(datetime(1990, 1, 1), max_days_after=31)


def test_a_refused_cutoff_is_named_by_the_business_s_own_day() -> None:
    # Berlin's midnight of 1 January 1990 is 31 December 1989 in UTC: say the day the user wrote.
    dataset = load_dataset(
        DataSettings(timezone="Europe/Berlin"), frames={"transactions": _orders()}
    )
    with pytest.raises(SettingsError, match=r"^as of 1990-01-01 is not after"):
        dataset.check_cutoff(dataset.cutoff("1990-01-01"), max_days_after=31)
    with pytest.raises(SettingsError, match=r"^as of 2099-01-01 is "):
        dataset.check_cutoff(dataset.cutoff("2099-01-01"), max_days_after=31)


def test_the_business_zone_comes_from_the_transactions_source_when_not_set() -> None:
    data = DataSettings(transactions=SourceSettings(path=Path("x.csv"), timezone="Asia/Tokyo"))
    assert data.business_zone() == "Asia/Tokyo"
    assert DataSettings().business_zone() == "UTC"
    assert DataSettings(
        timezone="Europe/Berlin", transactions=data.transactions
    ).business_zone() == ("Europe/Berlin")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        DataSettings(timezone="Mars/Base")
