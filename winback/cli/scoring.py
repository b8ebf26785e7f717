"""The scoring run that ``score``, ``list`` and ``drift`` share: model, data, scores, drift.

Imported inside those commands: it loads pandas, MLflow and the serving stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from winback.cli.console import err, out, step
from winback.cli.inputs import check_date, check_output_target
from winback.cli.options import DataOptions
from winback.cli.project import load, tracking_settings
from winback.common.timestamps import local_day
from winback.features import Dataset
from winback.features.snapshots import data_end
from winback.serving.drift import DriftReport, drift_report
from winback.serving.model import ServedModel, load_model
from winback.serving.output import is_database_url
from winback.serving.scoring import score
from winback.settings import Settings, project_root
from winback.training.bundle import BUNDLE_FILE
from winback.training.tracking import configure


def served_model(settings: Settings, uri: str | None) -> ServedModel:
    """The model at ``uri`` (default: the settings' champion), from the store in force.

    A model folder (``--model path/to/bundle``) is read as it is: no MLflow store is opened, or
    created beside the config, for a model that is not in one.
    """
    if not (uri and (Path(uri) / BUNDLE_FILE).is_file()):
        configure(tracking_settings(settings), project_root(settings))
    with step("Loading the model"):
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
        day = local_day(cutoff, dataset.timezone)
        task = progress.add_task(f"Scoring as of {day}", total=None)

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
    out.print(f"✓ Scored {len(scores):,} customers as of {day}")
    report = drift(model, scores, features, settings)
    if report is not None and report.status != "ok":
        err.print(
            f"warning: {report.counts['alert']} inputs or outputs shifted strongly and "
            f"{report.counts['warn']} moderately since training; see `winback drift`"
        )
    return scores, features


def drift(
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
class ScoringRun:
    """What one scoring run read and produced."""

    dataset: Dataset
    model: ServedModel
    cutoff: datetime
    scores: pd.DataFrame
    features: pd.DataFrame


def scoring_run(
    settings: Settings,
    options: DataOptions,
    target: str | None,
    model: str | None,
    as_of: str | None,
    *,
    explained: bool = True,
    keep_features: bool = False,
) -> ScoringRun:
    """Load the model, the data (quarantine beside a file output), and score everyone.

    ``explained=False`` skips the reasons (most of the scoring time on a large base): a list
    explains only its own customers, drift needs none. Only a list needs every customer's
    features (``keep_features``); otherwise the run holds a sample of them, for drift.
    """
    check_date(as_of, "--as-of")
    if target is not None:
        check_output_target(target)
    # The model first: "no model yet" should not wait for the data to be read and checked.
    served = served_model(settings, model)
    beside = Path(target).parent if target and not is_database_url(target) else None
    dataset = load(settings, options, beside)
    cutoff = _as_of(dataset, as_of)
    reasons = settings.scoring.reasons if explained else 0
    scores, features = _scores(dataset, served, cutoff, settings, reasons, keep_features)
    return ScoringRun(dataset, served, cutoff, scores, features)


def out_target(target: str, table: str | None, default_table: str) -> tuple[str, str | None]:
    """``target`` and the table to replace in it (None unless it is a database URL)."""
    return target, (table or default_table) if is_database_url(target) else None


__all__ = ["ScoringRun", "drift", "out_target", "scoring_run", "served_model"]
