"""The serving commands of ``winback``: score, list, evaluate, drift and serve.

Each imports the stages it calls inside its body (most of it through :mod:`winback.cli.scoring`),
so that listing commands stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from winback.cli.console import out, step, warning
from winback.cli.options import AsOfOpt, DataOptions, ModelOpt, Sources, TableOpt, command

app = typer.Typer()


@command(app, "score")
def score_cmd(
    out_target: Annotated[
        str, typer.Option("--out", help="Output .csv/.parquet file, or a database URL.")
    ],
    data: DataOptions,
    as_of: AsOfOpt = None,
    model: ModelOpt = None,
    table: TableOpt = None,
) -> None:
    """Score every customer: churn risk, value, segments and reasons, written atomically.

    One row per customer known before `--as-of`: churn and decline probabilities, expected
    orders and spend, value per period, CLV and value at risk, lifecycle, value and RFM segments,
    and the top reason codes in plain language, with the model name and version. Uses the
    registry's champion unless `--model` names another. Warns when today's customers have
    drifted from the training data. The same data, model and date give the same file.
    """
    from winback.cli.project import settings_for
    from winback.cli.scoring import out_target as target_and_table
    from winback.cli.scoring import scoring_run
    from winback.serving.output import write_output

    settings = settings_for(data)
    run = scoring_run(settings, data, out_target, model, as_of)
    scores = run.scores
    target, name = target_and_table(out_target, table, "winback_scores")
    where = write_output(scores, target, name)
    out.print(f"Wrote {len(scores):,} scores to {where}")
    at_risk = scores["churn_probability"] >= 0.5
    out.print(
        f"  mean churn probability {scores['churn_probability'].mean():.1%}; "
        f"{int(at_risk.sum()):,} customers at 50% or more; value at risk "
        f"{scores['value_at_risk'].sum():,.2f}"
    )


@command(app, "list")
def list_cmd(
    out_target: Annotated[
        str, typer.Option("--out", help="Output .csv/.parquet file, or a database URL.")
    ],
    data: DataOptions,
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
    offer: Annotated[
        list[str] | None,
        typer.Option(
            "--offer",
            metavar="<name>",
            help="An offer of the [policy] catalog the list may use (repeat it; default: all).",
        ),
    ] = None,
    control_share: Annotated[
        float | None,
        typer.Option(
            min=0, max=0.99, help="Share held out as control (default: [policy] control_share)."
        ),
    ] = None,
) -> None:
    """Rank who merits a retention or win-back offer within a budget; hold out a control group.

    For each customer and eligible offer in `[policy]`: expected net benefit = churn reduction
    × margin kept − contact cost − expected discount, with the churn reduction learned from the
    campaigns' control groups where they exist. Each customer gets their best offer, highest
    benefit first, until the budget is spent; customers sent an offer in the last
    `suppression_days` are left out; a random `control_share` of the list gets no offer.
    Writes the list and an HTML summary page for marketing. `--offer` and `--control-share`
    choose for this list only; with the same data, model and choices, `POST /list` and the
    page of `winback serve` give the same list.
    """
    from winback.cli.project import settings_for
    from winback.cli.scoring import out_target as target_and_table
    from winback.cli.scoring import scoring_run
    from winback.serving.lists import make_list, publish_list, summary_lines
    from winback.serving.output import is_database_url
    from winback.serving.policy import chosen_policy

    settings = settings_for(data)
    policy = chosen_policy(settings.policy, offers=offer, control_share=control_share)
    run = scoring_run(settings, data, out_target, model, as_of, explained=False, keep_features=True)
    dataset, served, cutoff = run.dataset, run.model, run.cutoff
    skipped: list[str] = []
    with step("Estimating offer effects and choosing offers"):
        winback_list = make_list(
            dataset,
            served,
            run.scores,
            run.features,
            cutoff,
            policy,
            budget=budget,
            lapsed_after_days=settings.segments.churned_after_days,
            on_skip=skipped.append,
            reasons=settings.scoring.reasons,
        )
    for reason in skipped:
        out.print(f"  offer effects assumed from the catalog: {reason}")
    target, name = target_and_table(out_target, table, "winback_list")
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


@command(app, "evaluate")
def evaluate_cmd(
    data: DataOptions,
    list_file: Annotated[
        Path | None, typer.Option("--list", help="A list written by `winback list`.")
    ] = None,
    campaign: Annotated[
        str | None,
        typer.Option(
            "--campaign",
            metavar="<day>",
            help="A past campaign with a random control group, named by its send day "
            "(YYYY-MM-DD, in the business's time zone).",
        ),
    ] = None,
    response_days: Annotated[
        int,
        typer.Option(
            min=1,
            help="With --campaign: days after the send in which an order counts as a response.",
        ),
    ] = 14,
    page: Annotated[
        Path | None,
        typer.Option(
            help="With --campaign: the HTML page (default: campaign_DAY.html in the "
            "current folder)."
        ),
    ] = None,
    model: ModelOpt = None,
) -> None:
    """After the horizon: realised effect of a list or a past campaign against its control group.

    With `--list`: run once a horizon has passed since the list's date, on data that includes
    it. Compares the churn of treated and control customers (lift with a 95% confidence
    interval), the margin saved, and predicted against realised churn; the figures are recorded
    as an MLflow run. With `--campaign DAY`: judges the contacts of that send day by their
    random control group, per offer and overall: incremental response (an order within
    `--response-days`), spend and margin per contact with 95% intervals, and, with the champion
    (or `--model`), the Qini curve and uplift by decile of its churn ranking as of the send day;
    prints the table, writes an HTML page, and records both as an MLflow run.
    """
    if (list_file is None) == (campaign is None):
        raise typer.BadParameter(
            "give exactly one of --list FILE or --campaign DAY", param_hint="--list/--campaign"
        )
    if campaign is not None:
        _evaluate_campaign(data, campaign, response_days, page, model)
        return
    import mlflow
    import pandas as pd

    from winback.cli.project import load, settings_for, tracking_settings
    from winback.common import WinbackError
    from winback.serving.evaluate import evaluate_list
    from winback.settings import project_root
    from winback.training.tracking import configure

    settings = settings_for(data)
    if list_file is None or not list_file.is_file():
        raise WinbackError(
            f"list file not found: {list_file}; pass a list written by `winback list --out`"
        )
    frame = pd.read_parquet(list_file) if list_file.suffix == ".parquet" else pd.read_csv(list_file)
    dataset = load(settings, data, None)
    result = evaluate_list(dataset, frame, settings.labels)
    for line in result.lines():
        out.print(line)
    configure(tracking_settings(settings), project_root(settings))
    with mlflow.start_run(run_name=f"evaluate list as of {result.day}") as run:
        mlflow.set_tags({"winback.kind": "list_evaluation", "list": str(list_file)})
        mlflow.log_metrics({f"list.{k}": float(v) for k, v in result.figures.items()})
    out.print(f"MLflow run {run.info.run_id}")


def _evaluate_campaign(
    data: DataOptions, name: str, response_days: int, page: Path | None, model: str | None
) -> None:
    """``evaluate --campaign``: the table, the model's ranking where there is a model, a run."""
    import mlflow

    from winback.cli.project import load, settings_for, tracking_settings
    from winback.cli.scoring import served_model
    from winback.common import WinbackError
    from winback.serving.campaign_eval import campaign_metrics, evaluate_campaign, rank_campaign
    from winback.serving.campaign_page import write_campaign_page
    from winback.serving.scoring import score
    from winback.settings import project_root
    from winback.training.tracking import configure

    settings = settings_for(data)
    dataset = load(settings, data, None)
    evaluation = evaluate_campaign(dataset, name, response_days)
    try:
        served = served_model(settings, model)
        with step(f"Scoring as of the send day {evaluation.name}"):
            scores, _ = score(dataset, served, evaluation.send_day, segments=settings.segments,
                              reasons=0, keep_features=False)  # fmt: skip
    except WinbackError as exc:
        if model is not None:
            raise
        out.print(f"no ranking: {exc}")
    else:
        note = (
            f"contacts ranked by model {served.name} version {served.version}'s churn "
            f"probability as of {evaluation.name} (the model has no offer-effect estimate)"
        )
        evaluation.ranking = rank_campaign(
            evaluation, scores.set_index("customer_id")["churn_probability"], note
        )
    for line in evaluation.lines():
        out.print(line)
    target = page or Path(f"campaign_{evaluation.name}.html")
    write_campaign_page(evaluation, target)
    out.print(f"Page: {target}")
    configure(tracking_settings(settings), project_root(settings))
    with mlflow.start_run(run_name=f"evaluate campaign {evaluation.name}") as run:
        mlflow.set_tags({"winback.kind": "campaign_evaluation", "campaign": evaluation.name,
                         "response_days": str(response_days)})  # fmt: skip
        mlflow.log_metrics({f"campaign.{k}": v for k, v in campaign_metrics(evaluation).items()})
        mlflow.log_artifact(str(target))
    out.print(f"MLflow run {run.info.run_id}")


@command(app, "drift")
def drift_cmd(
    data: DataOptions,
    as_of: AsOfOpt = None,
    model: ModelOpt = None,
) -> None:
    """Compare today's customers with the training data (PSI per feature and for the scores).

    Scores everyone as `score` does and compares each model input and prediction with the
    profile saved with the model: population stability index, `[drift] warn_psi` and
    `alert_psi` as thresholds. The report is recorded as an MLflow run. Retrain when major
    shifts appear.
    """
    import mlflow

    from winback.cli.project import settings_for, tracking_settings
    from winback.cli.scoring import drift, scoring_run
    from winback.common import WinbackError
    from winback.common.timestamps import local_day
    from winback.serving.drift import log_drift
    from winback.settings import project_root
    from winback.training.tracking import configure

    settings = settings_for(data)
    configure(tracking_settings(settings), project_root(settings))  # the report is an MLflow run
    scored = scoring_run(settings, data, None, model, as_of, explained=False)
    served, cutoff = scored.model, scored.cutoff
    report = drift(served, scored.scores, scored.features, settings)
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
    day = local_day(cutoff, scored.dataset.timezone)
    with mlflow.start_run(run_name=f"drift as of {day}") as run:
        mlflow.set_tags({"winback.kind": "drift", "model_version": served.version})
        log_drift(report, cutoff)
    out.print(f"MLflow run {run.info.run_id}")


@command(app, "serve")
def serve_cmd(
    data: Sources,
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    model: ModelOpt = None,
) -> None:
    """Serve scores, reasons and win-back lists over HTTP, and a page for marketing at /.

    Endpoints: `GET /health`, `GET /model`, and with a bearer token (`WINBACK_API_TOKEN`)
    `POST /scores`, `/score-features`, `/list` and `/reload` (reloads the model, e.g. a new
    champion); OpenAPI docs at /docs. The page at / signs in with the same token, previews a
    list for a budget and offers, downloads it, and records lists marked as sent under
    `[api] sent_lists_dir`. The data is read from the config's sources when the server starts.
    """
    import uvicorn

    from winback.cli.project import settings_for, tracking_settings
    from winback.features import load_dataset
    from winback.serving.api import configured_token, create_app
    from winback.settings import project_root
    from winback.training.tracking import configure

    settings = settings_for(data)
    configure(tracking_settings(settings), project_root(settings))
    if configured_token() is None:
        warning(
            "WINBACK_API_TOKEN is not set: customer endpoints will refuse every request. "
            "Set it, e.g. export WINBACK_API_TOKEN=$(openssl rand -hex 32)"
        )
    sent = settings.api.sent_lists_dir
    application = create_app(
        lambda: load_dataset(settings.data, engine=settings.engine),
        model_uri=model or settings.scoring.model_uri,
        settings=settings,
        sent_lists=project_root(settings) / sent if sent else None,
    )
    # httptools parses HTTP in C: with uvicorn's pure-Python h11 the event loop spent the start
    # of a burst parsing while /health waited (bench/bench_api_load.py).
    uvicorn.run(
        application,
        host=host or settings.api.host,
        port=port or settings.api.port,
        http="httptools",
    )


__all__ = ["app"]
