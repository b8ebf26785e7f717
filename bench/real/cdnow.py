"""The CDNOW purchase log, fetched at run time from the ``lifetimes`` wheel on PyPI.

CDNOW (Fader & Hardie) is the field's standard benchmark for customer-base models: every purchase
of the 23,570 customers whose first purchase at the CD retailer CDNOW fell in the first quarter of
1997, up to the end of June 1998. The ``lifetimes`` wheel ships it as
``lifetimes/datasets/CDNOW_master.txt`` (whitespace-separated: ``customer_id date number_of_cds
dollar_value``, dates as YYYYMMDD). We download the wheel with pip into a git-ignored cache, read
the file out of the zip, and never commit the data.

Rows are collapsed to one *purchase day* per customer (amounts and quantities summed), the unit
BG/NBD and Pareto/NBD count and the one every model here is judged on: winback would otherwise
count two rows of one day as two orders.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

WHEEL_PACKAGE = "lifetimes"
WHEEL_VERSION = "0.11.3"
MEMBER = "lifetimes/datasets/CDNOW_master.txt"
#: The classic setting: 39 weeks of calibration, then 39 weeks of holdout.
CALIBRATION_START = pd.Timestamp("1997-01-01")
CALIBRATION_END = pd.Timestamp("1997-10-01")  # exclusive: the cutoff (as_of)
HOLDOUT_END = pd.Timestamp("1998-07-01")  # exclusive: 273 days = 39 weeks after the cutoff
COHORT_END = pd.Timestamp("1997-04-01")  # first purchase before this: the 1997-Q1 cohort


@dataclass(frozen=True)
class Source:
    """Where the log came from: the wheel, its SHA-256 and the member read."""

    wheel: Path
    sha256: str
    member: str

    def describe(self) -> str:
        """One line for the printed report."""
        return f"{self.member} from {self.wheel.name} (PyPI, sha256 {self.sha256[:12]}…)"


def fetch_wheel(cache: Path) -> Path:
    """The ``lifetimes`` wheel in ``cache``, downloaded by pip from the index if absent."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(f"[Ll]ifetimes-{WHEEL_VERSION}-*.whl"))
    if found:
        return found[0]
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        f"{WHEEL_PACKAGE}=={WHEEL_VERSION}", "-d", str(cache),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = sorted(cache.glob(f"[Ll]ifetimes-{WHEEL_VERSION}-*.whl"))
    if done.returncode != 0 or not found:
        raise RuntimeError(
            f"could not download {WHEEL_PACKAGE}=={WHEEL_VERSION} with pip "
            f"(exit {done.returncode}): {done.stderr.strip()[-500:]}"
        )
    return found[0]


def parse_master(text: str) -> pd.DataFrame:
    """The master file as the data contract: one row per customer and purchase day.

    Columns ``customer_id`` (the file's zero-padded id, as text), ``timestamp`` (the day's
    midnight), ``amount`` (dollars) and ``quantity`` (CDs), sorted by customer and day.
    """
    raw = pd.read_csv(
        io.StringIO(text), sep=r"\s+", dtype={"customer_id": str, "date": str}, engine="python"
    )
    expected = ["customer_id", "date", "number_of_cds", "dollar_value"]
    if list(raw.columns) != expected:
        raise ValueError(f"{MEMBER}: expected columns {expected}, found {list(raw.columns)}")
    raw["timestamp"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    days = (
        raw.groupby(["customer_id", "timestamp"], sort=True)
        .agg(amount=("dollar_value", "sum"), quantity=("number_of_cds", "sum"))
        .reset_index()
    )
    days["amount"] = days["amount"].astype(float).round(2)
    days["quantity"] = days["quantity"].astype(int)
    return days


def load(cache: Path) -> tuple[pd.DataFrame, Source]:
    """The 1997-Q1 cohort's purchase days from the wheel (fetched into ``cache`` if needed)."""
    wheel = fetch_wheel(cache)
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(MEMBER).decode("ascii")
    days = parse_master(text)
    first = days.groupby("customer_id")["timestamp"].transform("min")
    cohort = days[(first >= CALIBRATION_START) & (first < COHORT_END)]
    return cohort.reset_index(drop=True), Source(wheel, sha, MEMBER)


def split(days: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Calibration rows (before the cutoff) and holdout rows (the 39 weeks after it)."""
    calibration = days[days["timestamp"] < CALIBRATION_END]
    holdout = days[(days["timestamp"] >= CALIBRATION_END) & (days["timestamp"] < HOLDOUT_END)]
    return calibration.reset_index(drop=True), holdout.reset_index(drop=True)


def holdout_truth(customers: pd.Index, holdout: pd.DataFrame) -> pd.DataFrame:
    """Per customer of the cohort: active (a purchase in the holdout), spend, transactions."""
    per = holdout.groupby("customer_id").agg(
        spend=("amount", "sum"), transactions=("timestamp", "size")
    )
    truth = per.reindex(customers, fill_value=0)
    truth["spend"] = truth["spend"].astype(float)
    truth["transactions"] = truth["transactions"].astype(float)
    truth["active"] = (truth["transactions"] > 0).astype(float)
    return truth


__all__ = [
    "CALIBRATION_END",
    "HOLDOUT_END",
    "Source",
    "fetch_wheel",
    "holdout_truth",
    "load",
    "parse_master",
    "split",
]
