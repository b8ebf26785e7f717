"""The TOML config: defaults, mappings, relative paths, overrides, and errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from winback.common import SettingsError
from winback.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "winback.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_annotated_example_in_the_repo_loads() -> None:
    settings = load_settings(ROOT / "winback.toml")
    assert settings.labels.horizon_days == 90
    assert settings.features.windows_days == (30, 90, 180, 365)
    assert settings.data.transactions is not None
    assert settings.data.transactions.path == ROOT / "demo-output/data/transactions.parquet"


def test_column_mapping_and_relative_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[data.transactions]\npath = "data/orders.csv"\ntimestamp = "order_date"\n'
        'customer_id = "cust"\ntimezone = "Europe/Berlin"\n[labels]\nhorizon_days = 30\n',
    )
    settings = load_settings(path)
    tx = settings.data.transactions
    assert tx is not None
    assert tx.path == tmp_path / "data/orders.csv"
    assert tx.source_column("timestamp") == "order_date"
    assert tx.source_column("amount") == "amount"
    assert tx.timezone == "Europe/Berlin"
    assert settings.labels.horizon_days == 30


def test_command_line_paths_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[data.transactions]\nurl = "duckdb:///x.db"\ntable = "orders"\n')
    settings = load_settings(path, {"transactions": Path("/data/tx.parquet")})
    assert settings.data.transactions is not None
    assert settings.data.transactions.path == Path("/data/tx.parquet")
    assert settings.data.transactions.url is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[labels]\nhorizon_days = -5\n", r"\[labels\] horizon_days = -5"),
        ("[features]\nwindows_days = [90, 30]\n", r"windows_days.*strictly increasing"),
        ("[labels]\nhorizon = 90\n", r"\[labels\] horizon.*[Ee]xtra"),
        ("[lables]\n", r"unknown section \[lables\]"),
        ("[data.orders]\npath = 'x.csv'\n", r"unknown table \[data.orders\]"),
        ("[data.transactions]\npath = 'x.csv'\nammount = 'a'\n", r"unknown key 'ammount'"),
        ("[data.transactions]\npath = 'x.csv'\ntimezone = 'Mars/Base'\n", r"Mars/Base"),
        ("[data.transactions]\nurl = 'duckdb:///x.db'\n", r"needs exactly one of 'table'"),
        ("[snapshots]\nfrequency = 'daily'\n", r"frequency = 'daily'"),
        ("not toml [", r"not valid TOML"),
        ("[engine]\nmemory_limit = 'lots'\n", r"\[engine\] memory_limit = 'lots'"),
    ],
)
def test_bad_settings_name_the_key_and_the_value(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(write(tmp_path, text))


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")
