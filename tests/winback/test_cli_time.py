"""Business time and records from the future, as a user meets them on the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from winback.cli import app


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _run(*args: str, cwd: Path) -> Result:
    """``winback ARGS`` in this process; ``cwd`` is the working directory already."""
    assert Path.cwd() == cwd.resolve()
    return CliRunner().invoke(app, list(args))


def _orders(path: Path, *, future: bool = False) -> None:
    days = pd.date_range("2024-01-01", periods=120, freq="2D").strftime("%Y-%m-%d").tolist()
    rows = [(f"C{i % 60}", day, 20.0) for i, day in enumerate(days)]
    if future:
        rows.append(("C1", "2030-06-01", 99.0))
    pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"]).to_csv(path, index=False)


def test_a_future_dated_row_is_set_aside_with_a_warning_and_the_counts_add_up(
    tmp_path: Path,
) -> None:
    _orders(tmp_path / "tx.csv", future=True)
    result = _run(
        "segments", "--transactions", "tx.csv", "--as-of", "2024-08-01", "--out", "seg.csv",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "read 121 = used 120 + quarantined 1" in result.stdout
    assert "warning: tx.csv: 1 transactions row stamped after" in result.stderr
    quarantined = pd.read_csv(tmp_path / "transactions.quarantine.csv")
    assert quarantined["check"].tolist() == ["after_load_time"]


def test_an_as_of_outside_the_data_is_an_error_naming_its_range_and_writes_nothing(
    tmp_path: Path,
) -> None:
    _orders(tmp_path / "tx.csv")
    (tmp_path / "f.csv").write_text("old output\n")
    for as_of, problem in (("2099-01-01", "days after the data ends"),
                           ("1990-01-01", "not after the first transaction")):  # fmt: skip
        result = _run(
            "features", "--transactions", "tx.csv", "--as-of", as_of, "--out", "f.csv",
            cwd=tmp_path,
        )  # fmt: skip
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
        assert problem in result.stderr
        assert "the transactions run from 2024-01-01 to 2024-08-26" in result.stderr
        assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
        assert (tmp_path / "f.csv").read_text() == "old output\n"


def test_as_of_is_the_business_midnight(tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "customer_id": ["a"] * 5,
            "timestamp": ["2024-07-01", "2024-08-01", "2024-09-01", "2024-09-30", "2024-10-01"],
            "amount": 10.0,
        }
    ).to_csv(tmp_path / "tx.csv", index=False)
    (tmp_path / "w.toml").write_text(
        '[data]\ntimezone = "Europe/Berlin"\n[data.transactions]\npath = "tx.csv"\n'
    )
    result = _run(
        "features", "--config", "w.toml", "--as-of", "2024-10-01", "--out", "f.csv", cwd=tmp_path
    )
    assert result.exit_code == 0, result.output
    row = pd.read_csv(tmp_path / "f.csv").iloc[0]
    assert row["orders_lifetime"] == 4
