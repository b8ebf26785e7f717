"""``winback summary``: where everything is, how good the model is, and what to try next.

The last step of ``make demo`` and the first command to run in a project one has not seen for
a while. It reads only what the other commands wrote (the MLflow store, the score and list
files), never the data, so it takes a second.
"""

from __future__ import annotations

import math
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from mlflow.entities import Run

from winback.cli import ConfigOpt, _tracking_settings, app, out
from winback.cli_help import EXAMPLES
from winback.cli_inputs import check_config
from winback.common import WinbackError
from winback.settings import Settings, load_settings, project_root
from winback.training.pipeline import comparison_table
from winback.training.pipeline import verdict as baseline_verdict
from winback.training.tracking import TRAINING_TAG, TrainingRun, latest_training_run

#: Rows of the comparison shown, with which direction is better.
KEY_FIGURES = {
    "active roc_auc": "higher",
    "active pr_auc": "higher",
    "spend mae": "lower",
    "spend top_decile_share": "higher",
}


def _latest_training_run(settings: Settings) -> TrainingRun | None:
    return latest_training_run(_tracking_settings(settings), project_root(settings))


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    # abspath normalises ".." but, unlike resolve(), keeps a symlinked virtualenv where it is.
    absolute = Path(os.path.abspath(path))  # noqa: PTH100
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _read(path: Path | None, option: str, command: str) -> pd.DataFrame | None:
    if path is None:
        return None
    if not path.is_file():
        raise WinbackError(
            f"{option} {path}: file not found; pass the file `winback {command} --out` wrote, "
            f"or leave {option} out"
        )
    return pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)


def _print_data(settings: Settings) -> None:
    out.print("data")
    for table in ("transactions", "events", "customers", "campaigns"):
        source = getattr(settings.data, table)
        if source is None:
            continue
        # A URL may hold a password: show the scheme and the table or query only.
        where = (
            _shown(source.path)
            if source.path is not None
            else f"{str(source.url).split(':', 1)[0]} {source.table or 'query'}"
        )
        out.print(f"  {table:<14} {where}")


def _browse(uri: str, run: Run) -> str:
    if uri.startswith(("http://", "https://")):
        return (
            f"open {uri.rstrip('/')}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
        )
    # MLflow's own command sits beside ours in the virtualenv.
    mlflow = Path(sys.argv[0]).with_name("mlflow")
    command = shlex.quote(_shown(mlflow)) if mlflow.exists() else "mlflow"
    return f"{command} ui --backend-store-uri {shlex.quote(uri)}  (then http://127.0.0.1:5000)"


def _print_run(found: TrainingRun, settings: Settings) -> None:
    run, tags = found.run, found.run.data.tags
    out.print(f"MLflow run       {run.info.run_id} ({run.info.run_name})")
    out.print(f"  store          {found.uri}")
    out.print(f"  browse         {_browse(found.uri, run)}")
    name = settings.tracking.registered_model
    if found.version is not None:
        standing = ", ".join(found.aliases) or "no alias"
        out.print(f"  registered     {name} version {found.version} ({standing})")
    decision = tags.get(TRAINING_TAG, "")
    out.print(f"  promotion      {decision}: {tags.get('promotion.promotion_reason', '')}")
    if found.champion is not None and found.champion != found.version:
        out.print(f"  champion       {name} version {found.champion}: scores and lists use it")
    report = project_root(settings) / "mlruns" / "reports" / f"{run.info.run_id}.html"
    if report.exists():
        out.print(f"model report     {_shown(report)}")


def _print_outputs(
    scores: tuple[Path, pd.DataFrame] | None, winback_list: tuple[Path, pd.DataFrame] | None
) -> str | None:
    """Print the score and list files; return the scores' as-of date (for the next commands)."""
    as_of = None
    if scores is not None:
        path, frame = scores
        as_of = str(pd.to_datetime(frame["as_of"].iloc[0]).date()) if len(frame) else None
        model = (
            f", model {frame['model_name'].iloc[0]} version {frame['model_version'].iloc[0]}"
            if len(frame)
            else ""
        )
        out.print(f"scores           {_shown(path)}: {len(frame):,} customers as of {as_of}{model}")
    if winback_list is not None:
        path, frame = winback_list
        control = frame["control"].astype(bool)
        out.print(
            f"win-back list    {_shown(path)}: {len(frame):,} customers "
            f"({int((~control).sum()):,} offers, {int(control.sum()):,} control); offer cost "
            f"{frame.loc[~control, 'offer_cost'].sum():,.2f}, expected net benefit "
            f"{frame.loc[~control, 'expected_net_benefit'].sum():,.2f}"
        )
        page = path.with_suffix(".summary.html")
        if page.exists():
            out.print(f"  summary page   {_shown(page)}")
    return as_of


def _print_figures(run: Run) -> None:
    metrics = run.data.metrics
    table = comparison_table(metrics)
    rows = [r for r in KEY_FIGURES if r in table.index]
    if not rows:
        return
    test = run.data.tags.get("split.test", "")
    out.print()
    out.print(f"The model against the baselines (test cutoffs {test}, the same rows for each):")
    shown = table.loc[rows]
    shown.index = [f"{r} ({KEY_FIGURES[r]} is better)" for r in rows]
    out.print(
        shown.to_string(
            float_format=lambda v: "n/a" if not math.isfinite(v) else f"{v:.4f}", na_rep="n/a"
        )
    )
    for line in baseline_verdict(metrics):
        out.print(line)


def _program() -> str:
    """How to call winback again: ``winback`` when that is on PATH, else the path that ran."""
    ran = Path(sys.argv[0])
    on_path = shutil.which("winback")
    if ran.name != "winback" or (on_path is not None and Path(on_path).samefile(ran)):
        return "winback"
    return shlex.quote(_shown(ran))


def _print_next(config: Path | None, as_of: str | None) -> None:
    conf = f" --config {shlex.quote(str(config))}" if config is not None else ""
    drift_at = f" --as-of {as_of}" if as_of else ""
    winback = _program()
    out.print()
    out.print("Next, try:")
    out.print(f"  {winback} runs{conf}")
    out.print("      every training run, its test figures and which version is champion")
    out.print(f"  {winback} drift{conf}{drift_at}")
    out.print("      have today's customers moved away from the training data?")
    out.print(f"  WINBACK_API_TOKEN=$(openssl rand -hex 32) {winback} serve{conf}")
    out.print("      scores, reasons and lists over HTTP; docs at http://127.0.0.1:8000/docs")


@app.command("summary", epilog=EXAMPLES["summary"])
def summary_cmd(
    config: ConfigOpt = None,
    scores: Annotated[
        Path | None, typer.Option(help="A score file written by `winback score --out`.")
    ] = None,
    winback_list: Annotated[
        Path | None, typer.Option("--list", help="A list written by `winback list --out`.")
    ] = None,
) -> None:
    """Where the data, MLflow run, model report, scores and list are; how the model compares.

    Reads the newest finished training run from the MLflow store (`MLFLOW_TRACKING_URI`, else
    `mlruns/` beside the config): its id, how to open it in the MLflow UI, its registry version
    and the promotion decision, the model report, and its key test figures against the RFM and
    BG/NBD baselines. With `--scores` and `--list`, also what those files hold. Ends with three
    commands to try next. Reads no data, so it is quick.
    """
    settings = load_settings(check_config(config))
    # Read first: a wrong path fails before anything is printed.
    score_frame = _read(scores, "--scores", "score")
    list_frame = _read(winback_list, "--list", "list")
    _print_data(settings)
    found = _latest_training_run(settings)
    if found is None:
        out.print("MLflow run       none yet: train a model with `winback train`")
    else:
        _print_run(found, settings)
    as_of = _print_outputs(
        None if scores is None or score_frame is None else (scores, score_frame),
        None if winback_list is None or list_frame is None else (winback_list, list_frame),
    )
    if found is not None:
        _print_figures(found.run)
    _print_next(config, as_of)


__all__: list[str] = []
