"""``winback summary``: where everything is, how good the model is, and what to try next.

The last step of ``make demo`` and the first command to run in a project one has not seen for
a while. It reads only what the other commands wrote (the MLflow store, the score and list
files), never the data, so it takes a second. The facts are gathered once into one document,
printed as text or, with ``--json``, as JSON: the two cannot disagree.
"""

from __future__ import annotations

import math
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from winback.cli import console
from winback.cli.console import out
from winback.cli.options import ConfigOpt, JsonOpt, command

if TYPE_CHECKING:
    import pandas as pd

    from winback.settings import Settings
    from winback.training.tracking import TrainingRun

app = typer.Typer()

#: Rows of the comparison shown, with which direction is better.
KEY_FIGURES = {
    "active roc_auc": "higher",
    "active pr_auc": "higher",
    "spend mae": "lower",
    "spend top_decile_share": "higher",
}


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    # abspath normalises ".." but, unlike resolve(), keeps a symlinked virtualenv where it is.
    absolute = Path(os.path.abspath(path))  # noqa: PTH100
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _read(path: Path | None, option: str, command_name: str) -> pd.DataFrame | None:
    import pandas as pd

    from winback.common import WinbackError

    if path is None:
        return None
    if not path.is_file():
        raise WinbackError(
            f"{option} {path}: file not found; pass the file `winback {command_name} --out` "
            f"wrote, or leave {option} out"
        )
    return pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)


def _data(settings: Settings) -> dict[str, str]:
    found = {}
    for table in ("transactions", "events", "customers", "campaigns"):
        source = getattr(settings.data, table)
        if source is None:
            continue
        # A URL may hold a password: show the scheme and the table or query only.
        found[table] = (
            _shown(source.path)
            if source.path is not None
            else f"{str(source.url).split(':', 1)[0]} {source.table or 'query'}"
        )
    return found


def _browse(uri: str, experiment_id: str, run_id: str) -> str:
    if uri.startswith(("http://", "https://")):
        return f"open {uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    # MLflow's own command sits beside ours in the virtualenv.
    mlflow = Path(sys.argv[0]).with_name("mlflow")
    program = shlex.quote(_shown(mlflow)) if mlflow.exists() else "mlflow"
    return f"{program} ui --backend-store-uri {shlex.quote(uri)}  (then http://127.0.0.1:5000)"


def _run(found: TrainingRun, settings: Settings) -> dict[str, Any]:
    from winback.settings import project_root
    from winback.training.tracking import TRAINING_TAG

    run, tags = found.run, found.run.data.tags
    report = project_root(settings) / "mlruns" / "reports" / f"{run.info.run_id}.html"
    return {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "store": found.uri,
        "browse": _browse(found.uri, run.info.experiment_id, run.info.run_id),
        "registered_model": settings.tracking.registered_model,
        "version": found.version,
        "aliases": list(found.aliases),
        "champion": found.champion,
        "promotion": {
            "decision": tags.get(TRAINING_TAG, ""),
            "reason": tags.get("promotion.promotion_reason", ""),
        },
        "report": _shown(report) if report.exists() else None,
    }


def _scores(path: Path, frame: pd.DataFrame) -> dict[str, Any]:
    import pandas as pd

    first = frame.iloc[0] if len(frame) else None
    return {
        "path": _shown(path),
        "customers": len(frame),
        "as_of": None if first is None else str(pd.to_datetime(first["as_of"]).date()),
        "model_name": None if first is None else str(first["model_name"]),
        "model_version": None if first is None else int(first["model_version"]),
    }


def _list(path: Path, frame: pd.DataFrame) -> dict[str, Any]:
    control = frame["control"].astype(bool)
    page = path.with_suffix(".summary.html")
    return {
        "path": _shown(path),
        "customers": len(frame),
        "offers": int((~control).sum()),
        "control": int(control.sum()),
        "offer_cost": round(float(frame.loc[~control, "offer_cost"].sum()), 2),
        "expected_net_benefit": round(float(frame.loc[~control, "expected_net_benefit"].sum()), 2),
        "summary_page": _shown(page) if page.exists() else None,
    }


def _figures(found: TrainingRun) -> dict[str, Any] | None:
    """Key test figures per population (retention, win-back, then every test row)."""
    from winback.training.pipeline import POPULATION_WORDS, measured_populations

    metrics = found.run.data.metrics
    populations = []
    for population in measured_populations(metrics):
        figures = _population_figures(metrics, population)
        if figures is None:
            continue
        rows = metrics.get(f"{population}.test.rows" if population else "test.rows_compared")
        populations.append(
            {
                "population": population or "all",
                "measured_on": POPULATION_WORDS[population],
                "rows": None if rows is None else int(rows),
                **figures,
            }
        )
    if not populations:
        return None
    return {"test_cutoffs": found.run.data.tags.get("split.test", ""), "populations": populations}


def _population_figures(metrics: dict[str, float], population: str | None) -> dict[str, Any] | None:
    from winback.training.pipeline import comparison_table
    from winback.training.pipeline import verdict as baseline_verdict

    table = comparison_table(metrics, population)
    rows = [r for r in KEY_FIGURES if r in table.index and len(table.columns)]
    if not rows:
        return None
    return {
        "figures": {
            row: {
                "better": KEY_FIGURES[row],
                **{
                    who: (None if not math.isfinite(v) else float(v))
                    for who, v in table.loc[row].items()
                },
            }
            for row in rows
        },
        "verdict": baseline_verdict(metrics, population),
    }


def _program() -> str:
    """How to call winback again: ``winback`` when that is on PATH, else the path that ran."""
    ran = Path(sys.argv[0])
    on_path = shutil.which("winback")
    if ran.name != "winback" or (on_path is not None and Path(on_path).samefile(ran)):
        return "winback"
    return shlex.quote(_shown(ran))


def _next(config: Path | None, as_of: str | None) -> list[dict[str, str]]:
    conf = f" --config {shlex.quote(str(config))}" if config is not None else ""
    drift_at = f" --as-of {as_of}" if as_of else ""
    winback = _program()
    return [
        {
            "command": f"{winback} runs{conf}",
            "why": "every training run, its test figures and which version is champion",
        },
        {
            "command": f"{winback} drift{conf}{drift_at}",
            "why": "have today's customers moved away from the training data?",
        },
        {
            "command": f"WINBACK_API_TOKEN=$(openssl rand -hex 32) {winback} serve{conf}",
            "why": "scores, reasons and lists over HTTP; docs at http://127.0.0.1:8000/docs",
        },
    ]


def _print_text(facts: dict[str, Any]) -> None:
    out.print("data")
    for table, where in facts["data"].items():
        out.print(f"  {table:<14} {where}")
    run = facts["run"]
    if run is None:
        out.print("MLflow run       none yet: train a model with `winback train`")
    else:
        name = run["registered_model"]
        out.print(f"MLflow run       {run['run_id']} ({run['run_name']})")
        out.print(f"  store          {run['store']}")
        out.print(f"  browse         {run['browse']}")
        if run["version"] is not None:
            standing = ", ".join(run["aliases"]) or "no alias"
            out.print(f"  registered     {name} version {run['version']} ({standing})")
        promotion = run["promotion"]
        out.print(f"  promotion      {promotion['decision']}: {promotion['reason']}")
        if run["champion"] is not None and run["champion"] != run["version"]:
            out.print(f"  champion       {name} version {run['champion']}: scores and lists use it")
        if run["report"] is not None:
            out.print(f"model report     {run['report']}")
    scores = facts["scores"]
    if scores is not None:
        model = (
            f", model {scores['model_name']} version {scores['model_version']}"
            if scores["customers"]
            else ""
        )
        out.print(
            f"scores           {scores['path']}: {scores['customers']:,} customers as of "
            f"{scores['as_of']}{model}"
        )
    listed = facts["list"]
    if listed is not None:
        out.print(
            f"win-back list    {listed['path']}: {listed['customers']:,} customers "
            f"({listed['offers']:,} offers, {listed['control']:,} control); offer cost "
            f"{listed['offer_cost']:,.2f}, expected net benefit "
            f"{listed['expected_net_benefit']:,.2f}"
        )
        if listed["summary_page"] is not None:
            out.print(f"  summary page   {listed['summary_page']}")
    figures = facts["figures"]
    if figures is not None:
        _print_figures(figures)
    out.print()
    out.print("Next, try:")
    for step in facts["next"]:
        out.print(f"  {step['command']}")
        out.print(f"      {step['why']}")


def _print_figures(figures: dict[str, Any]) -> None:
    import pandas as pd

    for part in figures["populations"]:
        out.print()
        rows = "" if part["rows"] is None else f", {part['rows']:,} rows"
        out.print(
            f"The model against the baselines, {part['measured_on']} (test cutoffs "
            f"{figures['test_cutoffs']}{rows}, the same rows for each):"
        )
        table = pd.DataFrame(
            {
                f"{row} ({values['better']} is better)": {
                    k: math.nan if v is None else v for k, v in values.items() if k != "better"
                }
                for row, values in part["figures"].items()
            }
        ).T
        out.print(
            table.to_string(
                float_format=lambda v: "n/a" if not math.isfinite(v) else f"{v:.4f}",
                na_rep="n/a",
            )
        )
        for line in part["verdict"]:
            out.print(line)


@command(app, "summary")
def summary_cmd(
    config: ConfigOpt = None,
    scores: Annotated[
        Path | None, typer.Option(help="A score file written by `winback score --out`.")
    ] = None,
    winback_list: Annotated[
        Path | None, typer.Option("--list", help="A list written by `winback list --out`.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Where the data, MLflow run, model report, scores and list are; how the model compares.

    Reads the newest finished training run from the MLflow store (`MLFLOW_TRACKING_URI`, else
    `mlruns/` beside the config): its id, how to open it in the MLflow UI, its registry version
    and the promotion decision, the model report, and its key test figures against the RFM and
    BG/NBD baselines. With `--scores` and `--list`, also what those files hold. Ends with three
    commands to try next. Reads no data, so it is quick. `--json` prints the same facts as one
    JSON document.
    """
    from winback.cli.inputs import check_config
    from winback.cli.project import tracking_settings
    from winback.settings import load_settings, project_root
    from winback.training.tracking import latest_training_run

    settings = load_settings(check_config(config))
    # Read first: a wrong path fails before anything is printed.
    score_frame = _read(scores, "--scores", "score")
    list_frame = _read(winback_list, "--list", "list")
    found = latest_training_run(tracking_settings(settings), project_root(settings))
    score_facts = None if scores is None or score_frame is None else _scores(scores, score_frame)
    facts = {
        "data": _data(settings),
        "run": None if found is None else _run(found, settings),
        "scores": score_facts,
        "list": (
            None if winback_list is None or list_frame is None else _list(winback_list, list_frame)
        ),
        "figures": None if found is None else _figures(found),
        "next": _next(config, None if score_facts is None else score_facts["as_of"]),
    }
    if as_json:
        console.print_json(facts)
    else:
        _print_text(facts)


__all__ = ["app"]
