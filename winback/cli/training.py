"""The training commands of ``winback``: train, runs and promote.

``train`` prints each step as it finishes, with its time (snapshots, every tuning trial, each
model, baselines, explanations, report, registration), from the callback the library reports to.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from winback.cli import console
from winback.cli.console import out
from winback.cli.options import ConfigOpt, DataOptions, JsonOpt, command

app = typer.Typer()


def _print_step(name: str, seconds: float, detail: str) -> None:
    out.print(console.done_line(name, seconds, detail))


@command(app, "train")
def train_cmd(
    data: DataOptions,
    as_of: Annotated[
        str | None, typer.Option(help="Train as if today were this date (a backtest).")
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(min=0, help="Optuna trials tuning the churn model on validation time."),
    ] = None,
) -> None:
    """Train churn, decline, orders and spend models; record, register and judge them.

    LightGBM models are fitted on the older cutoffs, early-stopped and calibrated on the
    validation cutoffs, and judged once on the latest cutoffs against the RFM and BG/NBD
    baselines on the same rows. The run (settings, data fingerprint, metrics, plots, SHAP
    explanations, model report) is recorded in MLflow and the model registered; it becomes the
    `champion` only if it beats the current one on the test period, else it stays a challenger.
    Each step is printed with its time as it finishes (`--quiet` hides them).
    """
    from dataclasses import replace

    from winback.cli.inputs import check_date
    from winback.cli.project import document, load, settings_for, tracking_settings
    from winback.settings import project_root
    from winback.training.pipeline import (
        POPULATION_WORDS,
        comparison_table,
        measured_populations,
    )
    from winback.training.pipeline import verdict as baseline_verdict
    from winback.training.run import train_and_register

    check_date(as_of, "--as-of")
    settings = settings_for(data)
    if trials is not None:
        settings = replace(
            settings, training=settings.training.model_copy(update={"trials": trials})
        )
    root = project_root(settings)
    tracking = tracking_settings(settings)
    dataset = load(settings, data, root)
    with out.status("Training: snapshots, models, baselines, explanations, report, registry"):
        run = train_and_register(
            dataset,
            replace(settings, tracking=tracking),
            root=root,
            as_of=as_of,
            settings_document=document(settings),
            on_step=_print_step,
        )
    out.print(run.result.split.describe())
    if run.result.split.by == "customers":
        out.print(f"split: {run.result.split.method()}")
    out.print(f"calibration: {run.result.calibration_method}")
    choices = run.result.choices
    if "spend_objective" in choices:
        out.print(f"spend objective: {choices['spend_objective']} (lowest deviance on validation)")
    if "month_levels" in choices:
        out.print(f"month levels: {choices['month_levels']}")
    if str(choices.get("bgnbd_baseline", "")).startswith("skipped"):
        # Training went on without it; say so where the comparison table is read.
        out.print(f"BG/NBD baseline {choices['bgnbd_baseline']}")
    if run.result.bundle.periods is not None:
        methods = run.result.bundle.periods.methods
        out.print("value per period: " + ", ".join(f"{k} {m}" for k, m in methods.items()))
    if run.result.tuning is not None:
        t = run.result.tuning
        out.print(
            f"tuning: {t.n_trials} trials complete ({t.n_pruned} pruned) in study "
            f"{t.study_name!r}; best validation log loss {t.best_value:.4f}"
        )
    metrics = run.result.metrics
    if "populations" in choices:
        out.print(f"populations: {choices['populations']}")
    for population in measured_populations(metrics):
        rows = metrics.get(f"{population}.test.rows" if population else "test.rows_compared")
        out.print(
            f"test period, {POPULATION_WORDS[population]} ({rows:,.0f} rows), the same rows "
            "for every model:"
        )
        table = comparison_table(metrics, population)
        out.print(table.to_string(float_format=lambda v: f"{v:.4f}"))
        for line in baseline_verdict(metrics, population):
            out.print(line)
    out.print(f"MLflow run {run.run_id} at {run.tracking_uri}")
    out.print(f"model report: {run.report}")
    verdict = "champion" if run.decision.promote else "challenger (not promoted)"
    out.print(f"registered {tracking.registered_model} version {run.version}: {verdict}")
    out.print(f"  {run.decision.reason}")


@command(app, "runs")
def runs_cmd(
    limit: Annotated[int, typer.Option(min=1, help="How many recent runs.")] = 10,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List recent MLflow runs with their key test metrics and registry aliases.

    Newest first: run id and name, start time, status, test ROC AUC, PR AUC, calibration error
    and spend error of each training run, the registered version and its aliases (`champion`,
    `challenger`). Reads the store named by `MLFLOW_TRACKING_URI`, else `mlruns/` beside the
    config. `--json` prints `{"runs": [...]}`, one object per run with the same columns.
    """
    from winback.cli.inputs import check_config
    from winback.cli.project import tracking_settings
    from winback.settings import load_settings, project_root
    from winback.training.tracking import recent_runs

    settings = load_settings(check_config(config))
    table = recent_runs(tracking_settings(settings), project_root(settings), limit=limit)
    if as_json:
        records = json.loads(table.to_json(orient="records", date_format="iso"))
        for record in records:
            record["aliases"] = [a for a in (record["aliases"] or "").split(",") if a]
        console.print_json({"runs": records})
        return
    if table.empty:
        out.print("no runs yet: train one with `winback train`")
        return
    out.print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


@command(app, "promote")
def promote_cmd(
    version: Annotated[int, typer.Option(min=1, help="Registered model version to promote.")],
    reason: Annotated[str, typer.Option(help="Why, in words: recorded with the promotion.")],
    config: ConfigOpt = None,
) -> None:
    """Make a model version the champion by hand; the reason is recorded.

    For when the automatic gate cannot decide (a new metric, a changed test period) or a
    rollback is needed. Who, when and why are kept as tags on the model version; `score`,
    `list` and `serve` use the champion from then on.
    """
    from winback.cli.inputs import check_config
    from winback.cli.project import tracking_settings
    from winback.settings import load_settings, project_root
    from winback.training.registry import promote
    from winback.training.tracking import configure

    settings = load_settings(check_config(config))
    tracking = tracking_settings(settings)
    configure(tracking, project_root(settings))
    promote(tracking.registered_model, version, reason)
    out.print(f"{tracking.registered_model} version {version} is now the champion")


__all__ = ["app"]
