"""The serving commands of ``winback``: score, list, evaluate, drift and serve.

Registered on the app of :mod:`winback.cli`, whose options, data loading and messages they share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import mlflow
import pandas as pd
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from winback.cli import (
    BadOpt,
    CaOpt,
    ConfigOpt,
    CuOpt,
    EvOpt,
    OnBadRows,
    TxOpt,
    _load,
    _settings,
    _step,
    _tracking_settings,
    app,
    err,
    out,
)
from winback.cli_help import EXAMPLES
from winback.cli_inputs import check_date, check_output_target
from winback.common import WinbackError
from winback.features import Dataset, load_dataset
from winback.features.snapshots import data_end
from winback.serving.drift import DriftReport, drift_report, log_drift
from winback.serving.evaluate import evaluate_list
from winback.serving.lists import make_list, publish_list, summary_lines
from winback.serving.model import ServedModel, load_model
from winback.serving.output import is_database_url, write_output
from winback.serving.scoring import score
from winback.settings import Settings, project_root
from winback.training.tracking import configure

AsOfOpt = Annotated[
    str | None,
    typer.Option(help="Score as of this date: features use records strictly before it "
                 "(default: the day after the last transaction)."),
]  # fmt: skip
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Model URI: models:/winback@champion (default), models:/winback/3, runs:/…, "
        "or a bundle directory.",
    ),
]
TableOpt = Annotated[
    str | None, typer.Option(help="Table to replace when --out is a database URL.")
]


def _model(settings: Settings, uri: str | None) -> ServedModel:
    configure(_tracking_settings(settings), project_root(settings))
    with _step("Loading the model"):
        model = load_model(uri or settings.scoring.model_uri)
    out.print(f"model {model.name} version {model.version} ({model.uri})")
    return model


def _as_of(dataset: Dataset, as_of: str | None) -> datetime:
    return dataset.cutoff(as_of) if as_of else data_end(dataset)


def _scores(
    dataset: Dataset,
    model: ServedModel,
    cutoff: datetime,
    settings: Settings,
    reasons: int,
    keep_features: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=out, transient=True, disable=out.quiet) as progress:
        task = progress.add_task(f"Scoring as of {cutoff:%Y-%m-%d}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        scores, features = score(
            dataset,
            model,
            cutoff,
            segments=settings.segments,
            reasons=reasons,
            chunk_rows=settings.scoring.chunk_rows,
            progress=advance,
            keep_features=keep_features,
        )
    out.print(f"✓ Scored {len(scores):,} customers as of {cutoff:%Y-%m-%d}")
    report = _drift(model, scores, features, settings)
    if report is not None and report.status != "ok":
        err.print(
            f"warning: {report.counts['alert']} inputs or outputs shifted strongly and "
            f"{report.counts['warn']} moderately since training; see `winback drift`"
        )
    return scores, features


def _drift(
    model: ServedModel, scores: pd.DataFrame, features: pd.DataFrame, settings: Settings
) -> DriftReport | None:
    """The scoring against the training profile the model carries (None without one).

    ``features`` may be a sample of the scored customers (see ``score(keep_features=False)``):
    the scores compared are those of the same customers.
    """
    bundle = model.bundle
    if bundle.reference is None or scores.empty:
        return None
    predicted = scores.set_index("customer_id")[bundle.prediction_columns]
    current = pd.concat(
        [
            bundle.model_inputs(features).reset_index(drop=True),
            predicted.loc[features["customer_id"]].reset_index(drop=True),
        ],
        axis=1,
    )
    return drift_report(bundle.reference, current, settings.drift)


@dataclass
class _ScoringRun:
    dataset: Dataset
    model: ServedModel
    cutoff: datetime
    scores: pd.DataFrame
    features: pd.DataFrame


def _scoring_run(
    settings: Settings,
    on_bad_rows: OnBadRows,
    out_target: str | None,
    model: str | None,
    as_of: str | None,
    *,
    explained: bool = True,
    keep_features: bool = False,
) -> _ScoringRun:
    """Load the model, the data (quarantine beside a file output), and score everyone.

    ``explained=False`` skips the reasons (most of the scoring time on a large base): a list
    explains only its own customers, drift needs none. Only a list needs every customer's
    features (``keep_features``); otherwise the run holds a sample of them, for drift.
    """
    check_date(as_of, "--as-of")
    if out_target is not None:
        check_output_target(out_target)
    # The model first: "no model yet" should not wait for the data to be read and checked.
    served = _model(settings, model)
    beside = Path(out_target).parent if out_target and not is_database_url(out_target) else None
    dataset = _load(settings, on_bad_rows, beside)
    cutoff = _as_of(dataset, as_of)
    reasons = settings.scoring.reasons if explained else 0
    scores, features = _scores(dataset, served, cutoff, settings, reasons, keep_features)
    return _ScoringRun(dataset, served, cutoff, scores, features)


def _out_target(target: str, table: str | None, default_table: str) -> tuple[str, str | None]:
    return target, (table or default_table) if is_database_url(target) else None


@app.command("score", epilog=EXAMPLES["score"])
def score_cmd(
    out_target: Annotated[
        str, typer.Option("--out", help="Output .csv/.parquet file, or a database URL.")
    ],
    as_of: AsOfOpt = None,
    model: ModelOpt = None,
    table: TableOpt = None,
    config: ConfigOpt = None,
    transactions: TxOpt = None,
    events: EvOpt = None,
    customers: CuOpt = None,
    campaigns: CaOpt = None,
    on_bad_rows: BadOpt = OnBadRows.stop,
) -> None:
    """Score every customer: churn risk, value, segments and reasons, written atomically.

    One row per customer known before `--as-of`: churn and decline probabilities, expected
    orders and spend, value per period, CLV and value at risk, lifecycle, value and RFM segments,
    and the top reason codes in plain language, with the model name and version. Uses the
    registry's champion unless `--model` names another. Warns when today's customers have
    drifted from the training data. The same data, model and date give the same file.
    """
    settings = _settings(config, transactions, events, customers, campaigns)
    run = _scoring_run(settings, on_bad_rows, out_target, model, as_of)
    scores = run.scores
    target, name = _out_target(out_target, table, "winback_scores")
    where = write_output(scores, target, name)
    out.print(f"Wrote {len(scores):,} scores to {where}")
    at_risk = scores["churn_probability"] >= 0.5
    out.print(
        f"  mean churn probability {scores['churn_probability'].mean():.1%}; "
        f"{int(at_risk.sum()):,} customers at 50% or more; value at risk "
        f"{scores['value_at_risk'].sum():,.2f}"
    )


@app.command("list", epilog=EXAMPLES["list"])
def list_cmd(
    out_target: Annotated[
        str, typer.Option("--out", help="Output .csv/.parquet file, or a database URL.")
    ],
    budget: Annotated[
        float | None,
        typer.Option(min=0, help="Money for offers (contact cost + expected discounts)."),
    ] = None,
    as_of: AsOfOpt = None,
    summary: Annotated[
        Path | None,
        typer.Option(help="HTML summary page (default: beside --out, same name, .summary.html)."),
    ] = None,
    model: ModelOpt = None,
    table: TableOpt = None,
    config: ConfigOpt = None,
    transactions: TxOpt = None,
    events: EvOpt = None,
    customers: CuOpt = None,
    campaigns: CaOpt = None,
    on_bad_rows: BadOpt = OnBadRows.stop,
) -> None:
    """Rank who merits a retention or win-back offer within a budget; hold out a control group.

    For each customer and eligible offer in `[policy]`: expected net benefit = churn reduction
    × margin kept − contact cost − expected discount, with the churn reduction learned from the
    campaigns' control groups where they exist. Each customer gets their best offer, highest
    benefit first, until the budget is spent; customers sent an offer in the last
    `suppression_days` are left out; a random `control_share` of the list gets no offer.
    Writes the list and an HTML summary page for marketing.
    """
    settings = _settings(config, transactions, events, customers, campaigns)
    run = _scoring_run(
        settings, on_bad_rows, out_target, model, as_of, explained=False, keep_features=True
    )
    dataset, served, cutoff = run.dataset, run.model, run.cutoff
    skipped: list[str] = []
    with _step("Estimating offer effects and choosing offers"):
        winback_list = make_list(
            dataset,
            served,
            run.scores,
            run.features,
            cutoff,
            settings.policy,
            budget=budget,
            lapsed_after_days=settings.segments.churned_after_days,
            on_skip=skipped.append,
            reasons=settings.scoring.reasons,
        )
    for reason in skipped:
        out.print(f"  offer effects assumed from the catalog: {reason}")
    target, name = _out_target(out_target, table, "winback_list")
    page = summary or (
        Path(out_target).with_suffix(".summary.html")
        if not is_database_url(out_target)
        else Path(f"winback_list_{cutoff:%Y%m%d}.summary.html")
    )
    # The list and its page are published together: a failed or killed run leaves the old pair.
    where = publish_list(winback_list, target, page, table=name)
    for line in summary_lines(winback_list):
        out.print(line)
    out.print(f"Wrote {len(winback_list.frame):,} rows to {where}")
    out.print(f"Summary page: {page}")


@app.command("evaluate", epilog=EXAMPLES["evaluate"])
def evaluate_cmd(
    list_file: Annotated[Path, typer.Option("--list", help="A list written by `winback list`.")],
    config: ConfigOpt = None,
    transactions: TxOpt = None,
    events: EvOpt = None,
    customers: CuOpt = None,
    campaigns: CaOpt = None,
    on_bad_rows: BadOpt = OnBadRows.stop,
) -> None:
    """After the horizon: realised lift of treated vs control, margin saved, calibration.

    Run once a horizon has passed since the list's date, on data that includes it. Compares
    the churn of treated and control customers (lift with a 95% confidence interval), the margin
    saved, and predicted against realised churn; the figures are recorded as an MLflow run.
    """
    settings = _settings(config, transactions, events, customers, campaigns)
    if not list_file.is_file():
        raise WinbackError(
            f"list file not found: {list_file}; pass a list written by `winback list --out`"
        )
    frame = pd.read_parquet(list_file) if list_file.suffix == ".parquet" else pd.read_csv(list_file)
    dataset = _load(settings, on_bad_rows, None)
    result = evaluate_list(dataset, frame, settings.labels)
    for line in result.lines():
        out.print(line)
    configure(_tracking_settings(settings), project_root(settings))
    with mlflow.start_run(run_name=f"evaluate list as of {result.as_of:%Y-%m-%d}") as run:
        mlflow.set_tags({"winback.kind": "list_evaluation", "list": str(list_file)})
        mlflow.log_metrics({f"list.{k}": float(v) for k, v in result.figures.items()})
    out.print(f"MLflow run {run.info.run_id}")


@app.command("drift", epilog=EXAMPLES["drift"])
def drift_cmd(
    as_of: AsOfOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    transactions: TxOpt = None,
    events: EvOpt = None,
    customers: CuOpt = None,
    campaigns: CaOpt = None,
    on_bad_rows: BadOpt = OnBadRows.stop,
) -> None:
    """Compare today's customers with the training data (PSI per feature and for the scores).

    Scores everyone as `score` does and compares each model input and prediction with the
    profile saved with the model: population stability index, `[drift] warn_psi` and
    `alert_psi` as thresholds. The report is recorded as an MLflow run. Retrain when major
    shifts appear.
    """
    settings = _settings(config, transactions, events, customers, campaigns)
    scored = _scoring_run(settings, on_bad_rows, None, model, as_of, explained=False)
    served, cutoff = scored.model, scored.cutoff
    report = _drift(served, scored.scores, scored.features, settings)
    if report is None:
        raise WinbackError(
            f"nothing to compare: model {served.name} version {served.version} carries no "
            "training profile (retrain it with this version of winback), or no customers"
        )
    counts = report.counts
    out.print(
        f"PSI of {len(report.table)} inputs and outputs against training: "
        f"{counts['ok']} stable, {counts['warn']} moderate shift, {counts['alert']} major shift"
    )
    for line in report.warnings():
        out.print(f"  {line}")
    with mlflow.start_run(run_name=f"drift as of {cutoff:%Y-%m-%d}") as run:
        mlflow.set_tags({"winback.kind": "drift", "model_version": served.version})
        log_drift(report, cutoff)
    out.print(f"MLflow run {run.info.run_id}")


@app.command("serve", epilog=EXAMPLES["serve"])
def serve_cmd(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    transactions: TxOpt = None,
    events: EvOpt = None,
    customers: CuOpt = None,
    campaigns: CaOpt = None,
) -> None:
    """Serve scores, reasons and win-back lists over HTTP (OpenAPI docs at /docs).

    Endpoints: `GET /health`, `GET /model`, and with a bearer token (`WINBACK_API_TOKEN`)
    `POST /scores`, `/score-features`, `/list` and `/reload` (reloads the model, e.g. a new
    champion). The data is read from the config's sources when the server starts.
    """
    import uvicorn  # noqa: PLC0415 (only this command needs the server)

    from winback.serving.api import configured_token, create_app  # noqa: PLC0415

    settings = _settings(config, transactions, events, customers, campaigns)
    configure(_tracking_settings(settings), project_root(settings))
    if configured_token() is None:
        err.print(
            "warning: WINBACK_API_TOKEN is not set: customer endpoints will refuse every request. "
            "Set it, e.g. export WINBACK_API_TOKEN=$(openssl rand -hex 32)"
        )
    application = create_app(
        lambda: load_dataset(settings.data, engine=settings.engine),
        model_uri=model or settings.scoring.model_uri,
        settings=settings,
    )
    uvicorn.run(application, host=host or settings.api.host, port=port or settings.api.port)


__all__: list[str] = []
