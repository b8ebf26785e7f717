"""Run winback as a user would: data files, a ``winback.toml`` beside them, then the CLI.

Each configuration gets a directory of its own (under the benchmark's git-ignored cache) holding
``data/`` (only records before the cutoff: the holdout is never written), ``winback.toml`` and,
because ``[tracking]`` is left unset and ``MLFLOW_TRACKING_URI`` is removed from the children's
environment, its own MLflow store ``mlruns/`` beside the config. The repo's ``mlruns/`` is never
touched. ``winback train --config … --as-of D`` then ``winback score --config … --as-of D``.

How the 39-week figures are read from winback's scores (``to_holdout``):

- score for "active in the holdout": ``1 − churn_probability`` (churn = no order in the first
  horizon after the cutoff, calibrated);
- spend over the holdout: the sum of ``value_period_1..K`` (CRM margin per horizon-long period;
  the benchmark's data have no cost and no campaigns, so margin = spend), times
  ``holdout_days / (K × horizon_days)`` when the K periods do not cover the holdout exactly
  (13 weeks × 3 do; 30 days × 9 cover 270 of 273 days);
- transactions over the holdout: ``expected_orders`` covers one horizon only, so it is scaled by
  the customer's holdout spend over their horizon spend (``expected_spend``): orders are taken to
  fall off over the periods as the value does. Where the horizon spend is under a cent, by
  ``holdout_days / horizon_days`` instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Config:
    """One winback configuration: a name for the table and the TOML sections that differ."""

    name: str
    label: str
    sections: dict[str, dict[str, Any]]

    @property
    def horizon_days(self) -> int:
        """``[labels] horizon_days`` (winback's default when unset)."""
        return int(self.sections.get("labels", {}).get("horizon_days", 90))

    @property
    def periods(self) -> int:
        """``[labels] periods`` (winback's default when unset)."""
        return int(self.sections.get("labels", {}).get("periods", 3))


@dataclass
class Outcome:
    """What the CLI did: the scores (None when refused), the refusal line, timings, logs."""

    config: Config
    scores: pd.DataFrame | None
    refusal: str | None
    seconds: dict[str, float] = field(default_factory=dict)
    log: str = ""


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def write_config(work: Path, tables: dict[str, pd.DataFrame], config: Config) -> Path:
    """Write the tables as Parquet under ``work/data`` and a ``winback.toml`` naming them."""
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    lines = [f"# {config.label}: written by bench/real (the data hold no holdout rows)."]
    for table, frame in tables.items():
        frame.to_parquet(data / f"{table}.parquet", index=False)
        lines += [f"[data.{table}]", f'path = "data/{table}.parquet"', ""]
    for section, values in config.sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
        lines.append("")
    path = work / "winback.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _winback() -> str:
    beside = Path(sys.executable).with_name("winback")
    return str(beside) if beside.exists() else "winback"


def _run(args: list[str], work: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    start = time.perf_counter()
    done = subprocess.run(
        [_winback(), *args], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    return done, time.perf_counter() - start


def _error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or [f"exit code {done.returncode}"])[-1]


def train_and_score(
    work: Path, tables: dict[str, pd.DataFrame], config: Config, as_of: str
) -> Outcome:
    """``winback train`` then ``winback score`` as of ``as_of``; a refusal stops after train."""
    path = write_config(work, tables, config)
    outcome = Outcome(config, None, None)
    train, outcome.seconds["train"] = _run(["train", "--config", path.name, "--as-of", as_of], work)
    outcome.log = train.stdout + train.stderr
    if train.returncode != 0:
        outcome.refusal = _error_line(train)
        return outcome
    scores_path = work / "scores.parquet"
    score, outcome.seconds["score"] = _run(
        ["score", "--config", path.name, "--as-of", as_of, "--out", scores_path.name], work
    )
    outcome.log += score.stdout + score.stderr
    if score.returncode != 0:
        outcome.refusal = "score: " + _error_line(score)
        return outcome
    outcome.scores = pd.read_parquet(scores_path)
    return outcome


def to_holdout(scores: pd.DataFrame, config: Config, holdout_days: int) -> pd.DataFrame:
    """winback's scores as holdout predictions (see the module docstring for the definitions)."""
    values = scores[[f"value_period_{k}" for k in range(1, config.periods + 1)]]
    covered = config.periods * config.horizon_days
    spend = values.sum(axis=1).to_numpy() * holdout_days / covered
    horizon_spend = scores["expected_spend"].to_numpy()
    ratio = np.where(
        horizon_spend >= 0.01,
        spend / np.maximum(horizon_spend, 0.01),
        holdout_days / config.horizon_days,
    )
    return pd.DataFrame(
        {
            "p_active": 1.0 - scores["churn_probability"].to_numpy(),
            "spend": spend,
            "transactions": scores["expected_orders"].to_numpy() * ratio,
        },
        index=pd.Index(scores["customer_id"], name="customer_id"),
    )


__all__ = ["Config", "Outcome", "to_holdout", "train_and_score", "write_config"]
