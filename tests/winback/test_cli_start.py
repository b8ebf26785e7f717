"""``winback --help`` starts without the heavy libraries: they load inside the command that runs.

Checked on the installed script in a new process with ``python -X importtime``, which lists
every module the process imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.winback.conftest import WINBACK

#: Libraries only commands that do the work may load (each costs from 0.1 to several seconds).
HEAVY = {
    "mlflow", "sklearn", "lightgbm", "shap", "optuna", "pymc", "pymc_marketing", "pyspark",
    "fastapi", "uvicorn", "pandas", "duckdb", "numpy", "scipy", "matplotlib", "sqlalchemy",
    "pyarrow",
}  # fmt: skip


def imported(*argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime ARGV`` and return it with the top-level modules it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return done, names


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["score", "-h"]])
def test_help_loads_none_of_the_heavy_libraries(args: list[str]) -> None:
    done, names = imported(WINBACK, *args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Usage: winback" in done.stdout
    assert "typer" in names and "winback" in names
    assert names & HEAVY == set()


def test_the_check_sees_a_heavy_import() -> None:
    done, names = imported("-c", "import winback.features")
    assert done.returncode == 0, done.stderr[-2000:]
    assert {"pandas", "duckdb"} <= names & HEAVY


def test_lightgbm_threads_wait_passively_unless_the_user_says_otherwise() -> None:
    """OMP_WAIT_POLICY is set before a stage loads LightGBM (its OpenMP runtime reads it once)."""
    probe = (
        "import os, sys; import winback.training.models; "
        "print(os.environ.get('OMP_WAIT_POLICY'), 'lightgbm' in sys.modules)"
    )
    for given, expected in ((None, "PASSIVE True"), ("ACTIVE", "ACTIVE True")):
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        if given is not None:
            env["OMP_WAIT_POLICY"] = given
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == expected


#: What modelling and tracking bring in: commands that only read data have no use for them.
MODELLING = {"mlflow", "sklearn", "lightgbm", "shap", "optuna", "pymc", "matplotlib", "scipy"}


def test_reading_commands_load_no_modelling_library(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,timestamp,amount\nO1,C1,2024-01-02,10.0\n")
    done, names = imported(WINBACK, "check", "--transactions", str(orders))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "read 1 = used 1" in done.stdout
    assert {"pandas", "duckdb"} <= names
    assert names & MODELLING == set()
