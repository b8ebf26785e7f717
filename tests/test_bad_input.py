"""The bad-input corpus: one small valid world, and each case breaks one thing in a copy of it.

Every case runs the real ``winback`` app in process and holds the house rule for bad input: exit
code 1 (2 for a command line that does not parse), one line naming the file (and row and column
where there is one) and the problem, no traceback, and nothing lost: a pre-existing output file
is byte-identical afterwards and no new file (output, temporary, quarantine, store) appeared
anywhere in the world.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from winback.cli import app
from winback.common.errors import DataContractError, DataSourceError
from winback.features import Dataset, Snapshots, build_snapshots, load_dataset
from winback.features.settings import DataSettings, LabelSettings, SnapshotSettings, SourceSettings
from winback.serving.lists import WinbackList, publish_list
from winback.serving.settings import PolicySettings
from winback.settings import load_settings
from winback.training.pipeline import _baselines, train_models
from winback.training.settings import TrainingSettings

#: 60 customers, two orders each: enough ids for the id-overlap check (50 on each side).
N = 60
CONFIG = """\
[data.transactions]
path = "tx.csv"

[data.events]
path = "ev.csv"

[data.customers]
path = "cu.csv"

[data.campaigns]
path = "ca.csv"
"""
#: The output every case must leave as it was.
OLD_OUTPUT = "customer_id,feature\nC01,1.0\n"
CHECK = ("check", "--config", "winback.toml")
FEATURES = ("features", "--config", "winback.toml", "--as-of", "2024-06-01", "--out", "out.csv")


def _world(root: Path) -> None:
    ids = [f"C{i:02d}" for i in range(1, N + 1)]
    tx = ["order_id,customer_id,timestamp,amount"]
    for i, c in enumerate(ids):
        tx.append(f"O{i}a,{c},2024-01-{i % 28 + 1:02d},{10 + i}.50")
        tx.append(f"O{i}b,{c},2024-03-{i % 28 + 1:02d} 12:30:00,{5 + i}.25")
    (root / "tx.csv").write_text("\n".join(tx) + "\n")
    (root / "ev.csv").write_text(
        "customer_id,timestamp,event_type,value\n"
        + "".join(f"{c},2024-02-0{k + 1},visit,1\n" for k, c in enumerate(ids[:5]))
    )
    (root / "cu.csv").write_text(
        "customer_id,signup_date,country\n"
        + "".join(f"{c},2023-12-01,{'DE' if k % 2 else 'FR'}\n" for k, c in enumerate(ids))
    )
    (root / "ca.csv").write_text(
        "customer_id,timestamp,offer,treated,cost\n"
        + "".join(f"{c},2024-02-15,discount_10,{k % 2 == 0},1.5\n" for k, c in enumerate(ids[:6]))
    )
    (root / "winback.toml").write_text(CONFIG)
    (root / "out.csv").write_text(OLD_OUTPUT)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The valid world, written once; cases break copies of it."""
    root = tmp_path_factory.mktemp("world")
    _world(root)
    return root


# --- breaking one thing ---------------------------------------------------------------------


def edit(name: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        text = (root / name).read_text()
        assert old in text, f"{old!r} not in {name}"
        (root / name).write_text(text.replace(old, new, count))

    return apply


def append(name: str, text: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        with (root / name).open("a") as handle:
            handle.write(text)

    return apply


def write(name: str, data: str | bytes) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)

    return apply


def config(text: str) -> Callable[[Path], None]:
    """Add ``text`` to the config file (new sections, or keys of the last section)."""
    return append("winback.toml", text)


def source(table: str, text: str) -> Callable[[Path], None]:
    """Add keys to ``[data.<table>]``."""
    return edit("winback.toml", f'[data.{table}]\npath = "', f'[data.{table}]\n{text}path = "')


def remove(name: str) -> Callable[[Path], None]:
    return lambda root: (root / name).unlink()


def directory(name: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / name).unlink(missing_ok=True)
        (root / name).mkdir()

    return apply


def compressed(name: str, opener: Callable[..., object], damage: Callable[[bytes], bytes]):
    """Write tx.csv compressed under ``name``, damaged, and point the config at it."""

    def apply(root: Path) -> None:
        with opener(root / "whole", "wb") as handle:  # type: ignore[operator]
            handle.write((root / "tx.csv").read_bytes())
        whole = (root / "whole").read_bytes()
        (root / "whole").unlink()
        (root / name).write_bytes(damage(whole))
        edit("winback.toml", 'path = "tx.csv"', f'path = "{name}"')(root)

    return apply


def flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 16]) + data[middle + 16 :]


def both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        for step in steps:
            step(root)

    return apply


def duckdb_file(name: str, sql: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        with duckdb.connect(str(root / name)) as con:
            con.execute(sql)

    return apply


def sqlite_file(name: str, sql: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        with sqlite3.connect(root / name) as con:
            con.execute(sql)
        con.close()

    return apply


def nothing(root: Path) -> None:
    """The world as it is: the break is in the command line."""


@dataclass(frozen=True)
class Case:
    id: str
    breaks: Callable[[Path], None]
    args: tuple[str, ...]
    #: What the one line must say (a regex searched in it).
    says: str
    code: int = 1


def case(id: str, breaks: Callable[[Path], None], says: str, args: tuple[str, ...] = CHECK) -> Case:
    return Case(id, breaks, args, says)


def usage(id: str, args: tuple[str, ...], says: str) -> Case:
    """A command line that does not parse: exit 2, and the usage at the end of the line."""
    return Case(id, nothing, args, says, code=2)


ROW = r"tx\.csv row {row}, column '{column}': "
TX_ROW = "O9a,C10,2024-01-10,19.50"


def bad_value(id: str, value: str, column: str, says: str) -> Case:
    """Row 20 of tx.csv with ``value`` in ``column``."""
    row = dict(
        zip(["order_id", "customer_id", "timestamp", "amount"], TX_ROW.split(","), strict=True)
    )
    row[column] = value
    return case(
        id,
        edit("tx.csv", TX_ROW, ",".join(row.values())),
        ROW.format(row=20, column=column)
        + ".*"
        + says
        + r".* Fix the rows or rerun with --on-bad-rows",
        FEATURES,
    )


CASES = [
    # 1. compressed files that are not what their name says
    case(
        "gzip truncated",
        compressed("tx.csv.gz", gzip.open, lambda b: b[: len(b) // 2]),
        r"tx\.csv\.gz is not a valid gzip file \(Compressed file ended",
    ),
    case(
        "gzip not compressed",
        both(
            write("tx.csv.gz", "customer_id,timestamp,amount\n"),
            edit("winback.toml", "tx.csv", "tx.csv.gz"),
        ),
        r"^transactions: /\S+/tx\.csv\.gz is not a valid gzip file \(Not a gzipped file",
    ),
    case(
        "gzip damaged",
        compressed("tx.csv.gz", gzip.open, flip_middle),
        r"tx\.csv\.gz is not a valid gzip file .*Compress it again",
    ),
    case(
        "bzip2 damaged",
        compressed("tx.csv.bz2", bz2.open, flip_middle),
        r"tx\.csv\.bz2 is not a valid bzip2 file",
    ),
    case(
        "xz damaged",
        compressed("tx.csv.xz", lzma.open, flip_middle),
        r"tx\.csv\.xz is not a valid xz file",
    ),
    # 2. a config file that is not UTF-8
    case(
        "config latin-1 comment",
        write("winback.toml", CONFIG.encode() + "# café\n".encode("latin-1")),
        r"winback\.toml line 12, column 6: byte 0xe9 is not UTF-8; save the file as UTF-8",
    ),
    case(
        "config latin-1 path",
        write("winback.toml", CONFIG.replace("tx.csv", "tx_é.csv").encode("latin-1")),
        r"winback\.toml line 2, column 12: byte 0xe9 is not UTF-8",
    ),
    case("config is not TOML", config("[data\n"), r"winback\.toml: not valid TOML"),
    case(
        "config is binary",
        write("winback.toml", b"\x00\x01\xff\xfe"),
        r"winback\.toml line 1, column 3: byte 0xff",
    ),
    # 3. an MLflow store that cannot be written
    case(
        "store folder is a file",
        write("mlruns", "not a folder"),
        r"MLflow store .*/mlruns is not writable: a file stands where its folder should be",
        ("promote", "--version", "1", "--reason", "r", "--config", "winback.toml"),
    ),
    case(
        "store database is a folder",
        write("mlruns/mlflow.db/x", ""),
        r"MLflow store .*/mlruns/mlflow\.db is not writable: it is a directory",
        ("runs", "--config", "winback.toml"),
    ),
    case(
        "store database is a folder at promote",
        write("mlruns/mlflow.db/x", ""),
        r"MLflow store .*/mlruns/mlflow\.db is not writable",
        ("promote", "--version", "1", "--reason", "r", "--config", "winback.toml"),
    ),
    # 6. a file written with another separator
    case(
        "semicolon separated",
        lambda r: (r / "tx.csv").write_text((r / "tx.csv").read_text().replace(",", ";")),
        r"""^tx\.csv: the file looks ';'-separated: .*Set delimiter = ";" in """
        r"\[data\.transactions\]\.$",
    ),
    case(
        "tab separated",
        lambda r: (r / "tx.csv").write_text((r / "tx.csv").read_text().replace(",", "\t")),
        r"""^tx\.csv: the file looks '\\t'-separated: .*Set delimiter = "\\t" in """
        r"\[data\.transactions\]",
    ),
    case(
        "pipe separated events",
        lambda r: (r / "ev.csv").write_text((r / "ev.csv").read_text().replace(",", "|")),
        r"""^ev\.csv: the file looks '\|'-separated: .*delimiter = "\|" in \[data\.events\]""",
    ),
    case(
        "comma file read with semicolons",
        source("transactions", 'delimiter = ";"\n'),
        r"""^tx\.csv: the file looks ','-separated: read with delimiter ';'""",
    ),
    # 7. relative database files are the config file's neighbours
    case(
        "sqlite url file missing",
        edit("winback.toml", 'path = "tx.csv"', 'url = "sqlite:///shop.db"\ntable = "orders"'),
        r"^transactions: SQLite file not found: /\S+/shop\.db\. Check \[data\.transactions\] url",
    ),
    case(
        "duckdb url file missing",
        edit("winback.toml", 'path = "tx.csv"', 'url = "duckdb:///shop.duckdb"\ntable = "orders"'),
        r"^transactions: DuckDB file not found: /\S+/shop\.duckdb\. "
        r"Check \[data\.transactions\] url",
    ),
    case(
        "duckdb table missing",
        both(
            duckdb_file("shop.duckdb", "CREATE TABLE sales (x INT)"),
            edit(
                "winback.toml", 'path = "tx.csv"', 'url = "duckdb:///shop.duckdb"\ntable = "orders"'
            ),
        ),
        r"^transactions: cannot read 'orders' from DuckDB file /\S+/shop\.duckdb: ",
    ),
    case(
        "sqlite table missing",
        both(
            sqlite_file("shop.db", "CREATE TABLE sales (x INT)"),
            edit("winback.toml", 'path = "tx.csv"', 'url = "sqlite:///shop.db"\ntable = "orders"'),
        ),
        r"^transactions: cannot read 'orders' from sqlite:////\S+/shop\.db: .*no such table",
    ),
    case(
        "unknown database driver",
        edit("winback.toml", 'path = "tx.csv"', 'url = "nosuchdb://h/db"\ntable = "orders"'),
        r"^transactions: cannot use the database URL in \[data\.transactions\] url",
    ),
    # 8. decimal commas
    bad_value(
        "decimal comma without the setting",
        '"19,5"',
        "amount",
        r"expected a number, got '19,5'; use '\.' as the decimal point, e\.g\. 19\.5, or set "
        r'decimal = "," in \[data\.transactions\]',
    ),
    case(
        "thousands dot with decimal comma",
        both(
            source("transactions", 'delimiter = ";"\ndecimal = ","\n'),
            lambda r: (r / "tx.csv").write_text(
                (r / "tx.csv").read_text().replace(",", ";").replace(".", ",")
            ),
            edit("tx.csv", "O9a;C10;2024-01-10;19,50", "O9a;C10;2024-01-10;1.019,50"),
        ),
        ROW.format(row=20, column="amount")
        + r"expected a number, got '1\.019,50'; write it without "
        r"thousands separators, e\.g\. 1019,50\. Fix the rows",
        FEATURES,
    ),
    case(
        "decimal setting unknown",
        source("transactions", 'decimal = ";"\n'),
        r"""winback\.toml: \[data\.transactions\] decimal = ';': Input should be '\.' or ','""",
    ),
    # values the contract refuses
    bad_value("amount not a number", "abc", "amount", "expected a number, got 'abc'"),
    bad_value("amount NaN", "nan", "amount", "expected a finite number, got 'nan'"),
    bad_value("amount infinite", "inf", "amount", "expected a finite number, got 'inf'"),
    bad_value("amount too large", "1e13", "amount", "expected an amount of money below"),
    bad_value(
        "amount with thousands", '"1,019.50"', "amount", "write it without thousands separators"
    ),
    bad_value("amount empty", "", "amount", "amount is required but empty"),
    bad_value("customer empty", "", "customer_id", "customer_id is required but empty"),
    bad_value(
        "timestamp unreadable",
        "10/01/2024",
        "timestamp",
        "could not read '10/01/2024' as a date-time",
    ),
    bad_value(
        "timestamp not a date", "2024-02-30", "timestamp", "the date 2024-02-30 does not exist"
    ),
    bad_value(
        "timestamp year out of range",
        "1850-01-01",
        "timestamp",
        "implausible date '1850-01-01': year 1850 is outside 1900–2200",
    ),
    bad_value("timestamp empty", "", "timestamp", "timestamp is required but empty"),
    case(
        "order under two customers",
        edit("tx.csv", "O9a,C10", "O8a,C10"),
        r"tx\.csv row 20, column 'order_id': order_id 'O8a' already belongs to customer 'C09'",
        FEATURES,
    ),
    case(
        "duplicate order line",
        append("tx.csv", "O0a,C01,2024-01-01,10.50\n"),
        r"tx\.csv row 122: duplicate row of row 2\. Fix the rows",
        FEATURES,
    ),
    case(
        "too many fields",
        edit("tx.csv", TX_ROW, TX_ROW + ",oops"),
        r"tx\.csv row 20: expected 4 fields, found 5 \(extra: 'oops'\)",
        FEATURES,
    ),
    case(
        "repeated header",
        edit("tx.csv", TX_ROW, "order_id,customer_id,timestamp,amount"),
        r"tx\.csv row 20: the row repeats the header line",
        FEATURES,
    ),
    case("blank row", edit("tx.csv", TX_ROW, ","), r"tx\.csv row 20: the row is blank", FEATURES),
    case(
        "bytes not utf-8",
        lambda r: (r / "tx.csv").write_bytes(
            (r / "tx.csv").read_bytes().replace(b"O9a,C10", b"O9a,C\xe910")
        ),
        r"tx\.csv row 20, column 'customer_id': .*0xe9.*encoding = \"latin-1\"",
        FEATURES,
    ),
    case(
        "duplicate customer",
        append("cu.csv", "C01,2023-12-01,DE\n"),
        r"cu\.csv row 62, column 'customer_id': customer_id 'C01' already appears in row 2",
        FEATURES,
    ),
    case(
        "signup date unreadable",
        edit("cu.csv", "C05,2023-12-01", "C05,yesterday"),
        r"cu\.csv row 6, column 'signup_date': could not read 'yesterday'",
        FEATURES,
    ),
    case(
        "treated not a boolean",
        edit("ca.csv", "discount_10,True", "discount_10,maybe"),
        r"ca\.csv row 2, column 'treated': expected true or false .*got 'maybe'",
        FEATURES,
    ),
    case(
        "event type empty",
        edit("ev.csv", "visit", ""),
        r"ev\.csv row 2, column 'event_type': event_type is required but empty",
        FEATURES,
    ),
    case(
        "every row from the future",
        lambda r: (r / "tx.csv").write_text((r / "tx.csv").read_text().replace("2024-", "2150-")),
        r"tx\.csv: none of its 120 rows passed the checks.* stamped '2150-01-01', "
        r"after the data's load time",
    ),
    # columns and files
    case(
        "missing column",
        edit(
            "tx.csv",
            "order_id,customer_id,timestamp,amount",
            "order_id,customer_id,timestamp,total",
        ),
        r"^tx\.csv: missing required column 'amount'\. "
        r""".*\[data\.transactions\] amount = "total"\.$""",
    ),
    case(
        "mapped column absent",
        source("transactions", 'amount = "net"\n'),
        r"^tx\.csv: column 'net' \(configured for amount\) is not in the file",
    ),
    case(
        "events missing a column",
        edit("ev.csv", "event_type", "action"),
        r"""^ev\.csv: missing required column 'event_type'.*event_type = "action"\.$""",
    ),
    case(
        "attribute absent",
        source("customers", 'attributes = ["plan"]\n'),
        r"^cu\.csv: attribute column 'plan' \(listed in attributes\) is not in the file",
    ),
    case(
        "attribute is a contract column",
        source("customers", 'attributes = ["signup_date"]\n'),
        r"\[data\.customers\] attributes may not include contract columns \['signup_date'\]",
    ),
    case(
        "empty file", write("tx.csv", ""), r"^tx\.csv is empty: it has no header line and no rows"
    ),
    case(
        "header only",
        write("tx.csv", "order_id,customer_id,timestamp,amount\n"),
        r"^tx\.csv has no rows: it has a header line but no data",
    ),
    case("missing file", remove("tx.csv"), r"^transactions: file not found: /\S+/tx\.csv\. Check"),
    case("missing events file", remove("ev.csv"), r"^events: file not found: /\S+/ev\.csv"),
    case(
        "directory instead of file",
        directory("tx.csv"),
        r"^transactions: /\S+/tx\.csv is a directory",
    ),
    case(
        "unknown input extension",
        both(write("tx.xlsx", "x"), edit("winback.toml", "tx.csv", "tx.xlsx")),
        r"^transactions: cannot tell the format of /\S+/tx\.xlsx: use a \.csv",
    ),
    case(
        "parquet that is not parquet",
        both(
            write("tx.parquet", "order_id,customer_id\n"),
            edit("winback.toml", "tx.csv", "tx.parquet"),
        ),
        r"^transactions: cannot read Parquet file /\S+/tx\.parquet: ",
    ),
    case(
        "parquet named csv",
        lambda r: pd.read_csv(r / "tx.csv").to_parquet(r / "tx.csv"),
        r"^transactions: /\S+/tx\.csv is a Parquet file, not a CSV file: name it \.parquet\.$",
    ),
    case(
        "gzip named csv",
        lambda r: (r / "tx.csv").write_bytes(gzip.compress((r / "tx.csv").read_bytes())),
        r"^transactions: /\S+/tx\.csv is gzip-compressed, not a CSV file: name it \.csv\.gz\.$",
    ),
    case(
        "excel named csv",
        write("tx.csv", b"PK\x03\x04\x14\x00\x06\x00rest of a workbook"),
        r"^transactions: /\S+/tx\.csv is a zip archive or an Excel workbook, not a CSV file",
    ),
    case(
        "complete_until not a date",
        edit(
            "winback.toml",
            "[data.transactions]",
            "[data]\ncomplete_until = 'yesterday'\n\n[data.transactions]",
        ),
        r"^winback\.toml: \[data\] complete_until = 'yesterday': .*cannot read 'yesterday' as a "
        r"date; use YYYY-MM-DD$",
    ),
    case(
        "quarantine folder is a file",
        write("blocker", "a file"),
        r"^cannot write quarantine files to blocker/q: Not a directory; choose a folder",
        (
            "check",
            "--config",
            "winback.toml",
            "--on-bad-rows",
            "quarantine",
            "--quarantine-dir",
            "blocker/q",
        ),
    ),
    case(
        "--transactions missing",
        nothing,
        r"^transactions: file not found: nope\.csv",
        ("check", "--transactions", "nope.csv"),
    ),
    case(
        "ids that never meet",
        lambda r: (r / "cu.csv").write_text(
            (r / "cu.csv").read_text().replace(",C", ",").replace("\nC", "\n")
        ),
        r"^cu\.csv: only 0 of 60 customer ids are shared between transactions",
    ),
    # the config file
    case(
        "config missing",
        nothing,
        r"^config file nope\.toml not found",
        ("check", "--config", "nope.toml"),
    ),
    case(
        "config is a directory",
        directory("conf.toml"),
        r"^config file conf\.toml is a directory",
        ("check", "--config", "conf.toml"),
    ),
    case(
        "unknown section",
        config("[trainig]\ntrials = 3\n"),
        r"^winback\.toml: unknown section \[trainig\]",
    ),
    case(
        "unknown table",
        config("[data.orders]\npath = 'x.csv'\n"),
        r"^winback\.toml: unknown table \[data\.orders\]",
    ),
    case(
        "unknown data key",
        edit(
            "winback.toml", "[data.transactions]", "[data]\ntimezon = 'UTC'\n\n[data.transactions]"
        ),
        r"^winback\.toml: \[data\] unknown key 'timezon'",
    ),
    case(
        "unknown source key",
        source("transactions", "sep = ';'\n"),
        r"^winback\.toml: \[data\.transactions\] unknown key 'sep'\. Column mappings are",
    ),
    case(
        "column name not text",
        source("transactions", "amount = 3\n"),
        r"^winback\.toml: \[data\.transactions\] amount = 3: a column name must be a string",
    ),
    case(
        "wrong type",
        config("[labels]\nhorizon_days = 'ninety'\n"),
        r"^winback\.toml: \[labels\] horizon_days = 'ninety': Input should be a valid integer",
    ),
    case(
        "out of range",
        config("[labels]\nhorizon_days = 0\n"),
        r"^winback\.toml: \[labels\] horizon_days = 0: Input should be greater",
    ),
    case(
        "windows not increasing",
        config("[features]\nwindows_days = [90, 30]\n"),
        r"^winback\.toml: \[features\] windows_days = \[90, 30\]: .*strictly increasing",
    ),
    case(
        "memory limit unreadable",
        config("[engine]\nmemory_limit = 'lots'\n"),
        r"^winback\.toml: \[engine\] memory_limit = 'lots': .*expected a size such as '3GB'",
    ),
    case(
        "unknown zone",
        source("transactions", "timezone = 'Mars/Olympus'\n"),
        r"^winback\.toml: \[data\.transactions\] timezone = 'Mars/Olympus'",
    ),
    case(
        "path and url",
        source("transactions", "url = 'duckdb:///x.db'\n"),
        r"^winback\.toml: \[data\.transactions\] .*give exactly one of 'path' or 'url'",
    ),
    case(
        "id overlap above one",
        edit(
            "winback.toml",
            "[data.transactions]",
            "[data]\nmin_id_overlap = 2\n\n[data.transactions]",
        ),
        r"^winback\.toml: \[data\] min_id_overlap = 2: Input should be less than or equal to 1",
    ),
    case(
        "bad timestamp format",
        source("transactions", "timestamp_format = '%Q'\n"),
        r"\[data\.transactions\] timestamp_format '%Q' is not a valid strptime format",
    ),
    case(
        "unknown encoding",
        source("transactions", "encoding = 'klingon'\n"),
        r"^transactions: unknown encoding 'klingon' in \[data\.transactions\]",
    ),
    case(
        "no transactions section",
        write("winback.toml", '[data.events]\npath = "ev.csv"\n'),
        r"^no transactions to read \(winback\.toml has no \[data\.transactions\] section\)",
    ),
    # the command line
    case(
        "as-of not a date",
        nothing,
        r"^--as-of '2024-13-45' is not a date: write it as YYYY-MM-DD",
        ("features", "--config", "winback.toml", "--as-of", "2024-13-45", "--out", "out.csv"),
    ),
    case(
        "as-of before the data",
        nothing,
        r"^as of 2020-01-01 is not after the first transaction: "
        r"the transactions run from 2024-01-01",
        ("features", "--config", "winback.toml", "--as-of", "2020-01-01", "--out", "out.csv"),
    ),
    case(
        "features without as-of",
        nothing,
        r"^features needs --as-of DATE and --out FILE",
        ("features", "--config", "winback.toml", "--out", "out.csv"),
    ),
    case(
        "output extension unknown",
        nothing,
        r"^--out out\.xlsx: unknown file type '\.xlsx'",
        ("features", "--config", "winback.toml", "--as-of", "2024-06-01", "--out", "out.xlsx"),
    ),
    case(
        "output folder is a file",
        write("blocker", "a file"),
        r"^cannot write quarantine files to blocker: File exists; choose a folder you can write",
        (
            "features",
            "--config",
            "winback.toml",
            "--as-of",
            "2024-06-01",
            "--out",
            "blocker/out.csv",
        ),
    ),
    case(
        "output is a directory",
        directory("features.csv"),
        r"^cannot write features\.csv: it is a directory; name a file",
        ("features", "--config", "winback.toml", "--as-of", "2024-03-15", "--out", "features.csv"),
    ),
    case(
        "as-of long after the data",
        nothing,
        r"^as of 2025-06-01 is \d+ days after the data ends: the transactions run from 2024-01-01",
        ("features", "--config", "winback.toml", "--as-of", "2025-06-01", "--out", "out.csv"),
    ),
    case(
        "segments output extension unknown",
        nothing,
        r"^--out seg\.txt: unknown file type '\.txt'",
        ("segments", "--config", "winback.toml", "--as-of", "2024-06-01", "--out", "seg.txt"),
    ),
    case(
        "snapshots without enough history",
        nothing,
        r"^the data runs from 2024-01-01 to 2024-03-29: too short for 90 days of history",
        ("snapshots", "--config", "winback.toml", "--out", "out.csv"),
    ),
    case(
        # Refused before the MLflow store is opened: no empty mlruns/ is left behind.
        "train without enough history",
        nothing,
        r"^the data runs from 2024-01-01 to 2024-03-29: too short for 90 days of history",
        ("train", "--config", "winback.toml"),
    ),
    case(
        "evaluate an unknown campaign",
        nothing,
        r"^unknown campaign '2024-02-16': campaigns are named by their send day \(YYYY-MM-DD, "
        r"in the business's time zone\); the data's are 2024-02-15$",
        ("evaluate", "--config", "winback.toml", "--campaign", "2024-02-16"),
    ),
    case(
        "evaluate a campaign without control",
        append("ca.csv", "C07,2024-03-01,discount_10,True,1.5\n"),
        r"^campaign 2024-03-01 has no control group: all 1 contacts were sent an offer",
        ("evaluate", "--config", "winback.toml", "--campaign", "2024-03-01"),
    ),
    case(
        "evaluate a campaign before its window closed",
        nothing,
        r"^campaign 2024-02-15: its 60-day response window runs to 2024-04-15 00:00 UTC but "
        r"the data ends on 2024-03-29",
        (
            "evaluate",
            "--config",
            "winback.toml",
            "--campaign",
            "2024-02-15",
            "--response-days",
            "60",
        ),
    ),
    usage(
        "evaluate neither a list nor a campaign",
        ("evaluate", "--config", "winback.toml"),
        r"^invalid value for --list/--campaign: give exactly one of --list FILE or --campaign "
        r"DAY\. Usage: winback evaluate \[OPTIONS\]",
    ),
    usage(
        "evaluate both a list and a campaign",
        ("evaluate", "--config", "winback.toml", "--list", "out.csv", "--campaign", "2024-02-15"),
        r"^invalid value for --list/--campaign: give exactly one of --list FILE or --campaign",
    ),
    usage(
        "unknown option",
        ("features", "--config", "winback.toml", "--as-off", "2024-06-01"),
        r"^no such option: --as-off \(Possible options: --as-of\)\. "
        r"Usage: winback features \[OPTIONS\] "
        r"\(winback features -h for help\)$",
    ),
    usage(
        "option without its value",
        ("features", "--config", "winback.toml", "--as-of"),
        r"^option '--as-of' requires an argument\. winback features -h for help$",
    ),
    usage(
        "value not among the choices",
        ("check", "--config", "winback.toml", "--on-bad-rows", "skip"),
        r"^invalid value for '--on-bad-rows': .*'skip' is not one of 'stop', 'quarantine'\. "
        r"Usage: winback check \[OPTIONS\] \(winback check -h for help\)$",
    ),
    usage(
        "unknown command",
        ("featurs", "--config", "winback.toml"),
        r"^no such command 'featurs'\. Did you mean 'features'\? "
        r"Usage: winback \[OPTIONS\] COMMAND \[ARGS\]\.\.\. "
        r"\(winback -h for help\)$",
    ),
    usage(
        "unexpected argument",
        ("check", "winback.toml"),
        r"^got unexpected extra argument\(s\) \(winback\.toml\)\. Usage: winback check ",
    ),
]


def _files(root: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``root`` with its bytes (None for folders)."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_loses_nothing(
    bad: Case, world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "w"
    shutil.copytree(world, root)
    bad.breaks(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    before = _files(root)
    result = CliRunner().invoke(app, list(bad.args))
    assert result.exit_code == bad.code, (result.stdout, result.stderr, result.exception)
    # A handled error ends in SystemExit; an escaping exception would be a traceback.
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    *before_error, last = result.stderr.strip().splitlines()
    # The message is the last line; only warnings about the data may come before it.
    assert last.startswith("error: "), result.stderr
    assert all(line.startswith("warning") for line in before_error), result.stderr
    message = last.removeprefix("error: ")
    assert re.search(bad.says, message), message
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert _files(root) == before
    assert (root / "out.csv").read_text() == OLD_OUTPUT


def test_the_corpus_is_large_and_every_case_is_distinct() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


# --- the twins: the same inputs, set right, are read -------------------------------------


def test_decimal_commas_and_semicolons_read_with_the_settings(world: Path, tmp_path: Path) -> None:
    root = tmp_path / "w"
    shutil.copytree(world, root)
    (root / "tx.csv").write_text(
        "customer_id;timestamp;amount\nC01;2024-01-05;50,0\nC02;2024-01-06;-12,5\n"
    )
    (root / "winback.toml").write_text(
        '[data.transactions]\npath = "tx.csv"\ndelimiter = ";"\ndecimal = ","\n'
    )
    dataset = load_dataset(_data(root))
    amounts = dataset.con.sql("SELECT amount FROM transactions ORDER BY customer_id").fetchall()
    assert amounts == [(50.0,), (-12.5,)]


def _data(root: Path) -> DataSettings:
    return load_settings(root / "winback.toml").data


def test_relative_database_urls_are_read_from_the_config_folder(
    world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "w"
    shutil.copytree(world, root)
    frame = pd.read_csv(root / "tx.csv")
    with duckdb.connect(str(root / "shop.duckdb")) as con:
        con.execute("CREATE TABLE orders AS SELECT * FROM frame")
    with sqlite3.connect(root / "shop.db") as db:
        frame.to_sql("orders", db, index=False)
    db.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for url in ("duckdb:///shop.duckdb", "sqlite:///shop.db"):
        (root / "winback.toml").write_text(
            f'[data.transactions]\nurl = "{url}"\ntable = "orders"\n'
        )
        dataset = load_dataset(_data(root))
        assert dataset.reports["transactions"].rows_used == 2 * N, url
    assert list(elsewhere.iterdir()) == []


# --- 5. the list's summary page at a path that cannot be written -------------------------


def test_an_unwritable_summary_page_is_one_line_and_replaces_nothing(tmp_path: Path) -> None:
    out = tmp_path / "winback_list.csv"
    out.write_text("old list\n")
    (tmp_path / "blocker").write_text("a file where the page's folder should be")
    before = _files(tmp_path)
    empty = WinbackList(
        as_of=datetime(2024, 6, 1), frame=pd.DataFrame(), curve=pd.DataFrame(), budget=None,
        excluded={}, effect_sources={}, settings=PolicySettings(),
    )  # fmt: skip
    with pytest.raises(DataSourceError) as info:
        publish_list(empty, str(out), tmp_path / "blocker" / "list.summary.html")
    assert re.fullmatch(r"cannot write \S+/blocker/list\.summary\.html: .*", str(info.value))
    assert _files(tmp_path) == before


# --- 9. a history the BG/NBD baseline cannot be fitted on ---------------------------------

LABELS = LabelSettings(horizon_days=30)


@pytest.fixture(scope="module")
def bought_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, Snapshots]:
    """A year in which every customer bought exactly once, and its monthly snapshots."""
    path = tmp_path_factory.mktemp("once") / "once.csv"
    days = pd.date_range("2023-01-01", periods=N, freq="6D")
    pd.DataFrame(
        {"customer_id": [f"C{i}" for i in range(N)], "timestamp": days, "amount": 20.0}
    ).to_csv(path, index=False)
    dataset = load_dataset(DataSettings(transactions=SourceSettings(path=path)))
    snaps = build_snapshots(dataset, labels=LABELS, snapshots=SnapshotSettings(min_history_days=30))
    return dataset, snaps


def test_a_baseline_that_cannot_be_fitted_is_skipped_with_the_reason(
    bought_once: tuple[Dataset, Snapshots],
) -> None:
    # Gamma-Gamma has no repeat purchase to learn spend per order from.
    dataset, snaps = bought_once
    frame = snaps.frame
    choices: dict[str, object] = {}
    assert set(_baselines(dataset, frame, frame, LABELS, True, choices)) == {"rfm"}
    assert re.fullmatch(r"skipped: BgNbdBaseline\.fit: .*found 0", str(choices["bgnbd_baseline"]))
    # Its twin: without the baseline asked for, nothing is skipped and nothing is said.
    quiet: dict[str, object] = {}
    assert set(_baselines(dataset, frame, frame, LABELS, False, quiet)) == {"rfm"}
    assert quiet == {}


def test_a_history_where_nobody_orders_again_is_refused_in_one_line(
    bought_once: tuple[Dataset, Snapshots],
) -> None:
    # LightGBM would stop with "[poisson]: sum of labels is zero" and a traceback.
    dataset, snaps = bought_once
    with pytest.raises(DataContractError) as info:
        train_models(snaps, dataset, LABELS, TrainingSettings(trials=0))
    message = str(info.value)
    assert "\n" not in message
    assert re.match(r"once\.csv: no customer ordered again within 30 days of any of the \d+ "
                    r"training cutoffs", message)  # fmt: skip
