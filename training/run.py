"""One training run end to end: snapshots, models, MLflow run, registry and the promotion gate.

``snapshots → train_models → log → register → judge against the champion on the same test rows
→ promote or not``. The champion is re-scored on this run's test rows (its own feature plan
rebuilt from the same data), so the two are compared on the same period, never on numbers from
different periods.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import mlflow
import pandas as pd

from winback.features import (
    Dataset,
    FeatureSettings,
    LabelSettings,
    SegmentSettings,
    SnapshotSettings,
    build_features,
    build_segments,
    build_snapshots,
)
from winback.training.bundle import ModelBundle
from winback.training.descriptions import describe_registration
from winback.training.explain import global_importance, importance_plot, shap_summary_plot
from winback.training.lineage import log_source, log_training_data
from winback.training.models import ModelFileError
from winback.training.pipeline import (
    TrainingSettings,
    TrainResult,
    comparison_table,
    evaluate,
    population_metrics,
    train_models,
)
from winback.training.progress import OnStep, step
from winback.training.registry import (
    PromotionDecision,
    PromotionRule,
    apply_promotion,
    champion_version,
    decide_promotion,
    load_champion,
    register,
)
from winback.training.report import write_report
from winback.training.splits import split_frame
from winback.training.tracking import (
    TrackingSettings,
    configure,
    log_bundle,
    log_fingerprint,
    log_frame,
    log_metrics_prefixed,
    log_settings,
)
from winback.training.tuning import default_storage


@dataclass
class TrainingRun:
    """What ``winback train`` reports: the result, where it is recorded, and the decision."""

    result: TrainResult
    run_id: str
    version: int
    decision: PromotionDecision
    tracking_uri: str
    #: The self-contained HTML model report (also logged to the run).
    report: Path


def champion_metrics(name: str, dataset: Dataset, test: pd.DataFrame) -> dict[str, float] | None:
    """The current champion's metrics on this run's test rows, or None without a champion.

    A champion this code cannot read (saved by an older winback) gives no metrics, so the gate
    cannot compare and leaves the choice to ``winback promote``.
    """
    if champion_version(name) is None:
        return None
    try:
        model = load_champion(name).unwrap_python_model()
    except ModelFileError:
        return {}
    bundle: ModelBundle = model.bundle
    keep = ["customer_id", "as_of", "churned", "orders_next", "spend_next"]
    labels = test[keep + (["population"] if "population" in test else [])]
    if set(bundle.feature_columns) <= set(test.columns):
        rows = test
    else:  # trained on other columns (other event types): rebuild its own features
        cutoffs = sorted(pd.to_datetime(test["as_of"]).dt.to_pydatetime())
        rows = build_features(dataset, cutoffs, plan=bundle.plan).merge(
            labels, on=["customer_id", "as_of"], how="inner"
        )
    rows = rows.reset_index(drop=True)
    predicted = bundle.predict(rows)
    ours = {"ours": predicted.assign(p_active=1 - predicted["churn_probability"])}
    metrics = evaluate(rows, ours)
    if "population" in rows and rows["population"].notna().all():
        metrics |= population_metrics(rows, ours)
    return metrics


def _gate(metrics: dict[str, float]) -> PromotionRule:
    """The default promotion rule: PR AUC among the active customers where populations exist.

    The retention question is the one a challenger must answer better; the whole base mixes in
    long-lapsed customers, who are easy to call.
    """
    retention = "retention.test.ours.active.pr_auc"
    return PromotionRule(metric=retention) if retention in metrics else PromotionRule()


def _log_explanations(result: TrainResult, frame: pd.DataFrame, rows: int = 2000) -> int:
    """SHAP summary and importance of the churn model on a seeded sample of the test rows.

    Returns the number of rows explained.
    """
    test = split_frame(frame, result.split)[2]
    sample = result.bundle.model_inputs(test.sample(n=min(rows, len(test)), random_state=0))
    importance = global_importance(result.bundle.churn, sample)
    log_frame(importance, "explain/churn_importance.csv")
    with tempfile.TemporaryDirectory() as tmp:
        shap_summary_plot(result.bundle.churn, sample, Path(tmp) / "churn_shap_summary.png")
        importance_plot(importance, Path(tmp) / "churn_importance.png")
        mlflow.log_artifacts(tmp, "explain")
    return len(sample)


class TrainingConfig(Protocol):
    """The training parts of a composite settings object (``winback.settings.Settings`` is one)."""

    @property
    def features(self) -> FeatureSettings: ...  # noqa: D102
    @property
    def labels(self) -> LabelSettings: ...  # noqa: D102
    @property
    def snapshots(self) -> SnapshotSettings: ...  # noqa: D102
    @property
    def segments(self) -> SegmentSettings: ...  # noqa: D102
    @property
    def training(self) -> TrainingSettings: ...  # noqa: D102
    @property
    def tracking(self) -> TrackingSettings: ...  # noqa: D102


def train_and_register(
    dataset: Dataset,
    settings: TrainingConfig,
    *,
    root: Path,
    rule: PromotionRule | None = None,
    as_of: date | datetime | str | None = None,
    settings_document: Mapping[str, Any] | None = None,
    on_step: OnStep | None = None,
) -> TrainingRun:
    """Train on snapshots before ``as_of``, record the run, register, and apply the gate.

    ``settings`` is one composite settings object; ``root`` is where the local MLflow store and
    the reports live; ``settings_document`` is the settings as recorded on the run.
    Each step (snapshots, tuning trials, models, baselines, explanations, report, registration)
    is reported to ``on_step`` as it finishes; the library itself prints nothing.
    """
    features, labels, tracking = settings.features, settings.labels, settings.tracking
    with step(on_step, "snapshots") as done:
        snaps = build_snapshots(
            dataset, features=features, labels=labels, snapshots=settings.snapshots, as_of=as_of
        )
        done.detail = (
            f"{len(snaps.frame):,} rows at {len(snaps.cutoffs)} cutoffs "
            f"{snaps.cutoffs[0]:%Y-%m-%d} … {snaps.cutoffs[-1]:%Y-%m-%d}"
        )
    # The store is opened only once the data is known to train: a refusal leaves no mlruns/.
    uri = configure(tracking, root)
    with mlflow.start_run(run_name=f"train as of {snaps.observed_until:%Y-%m-%d}") as run:
        log_settings(dict(settings_document or {}))
        fingerprint = dataset.fingerprint()
        log_fingerprint(fingerprint)
        log_source(root)
        log_training_data(dataset, snaps, fingerprint)
        storage = default_storage(root) if tracking.uri is None else None
        if storage is not None:
            (root / "mlruns").mkdir(parents=True, exist_ok=True)
        result = train_models(
            snaps, dataset, labels, settings.training, tuning_storage=storage, on_step=on_step
        )
        if result.tuning is not None:
            mlflow.log_params({f"tuned.{k}": v for k, v in result.tuning.best_params.items()})
            mlflow.log_metric("tuning.best_valid_log_loss", result.tuning.best_value)
            mlflow.log_metric("tuning.trials_complete", result.tuning.n_trials)
            mlflow.log_metric("tuning.trials_pruned", result.tuning.n_pruned)
            log_frame(result.tuning.history, "tuning/history.csv")
        split = result.split
        mlflow.set_tags(
            {
                "split.train": f"{split.train[0]:%Y-%m-%d}..{split.train[-1]:%Y-%m-%d}",
                "split.validation": ",".join(f"{c:%Y-%m-%d}" for c in split.validation),
                "split.test": ",".join(f"{c:%Y-%m-%d}" for c in split.test),
                "split.by": split.by,
                "calibration": result.calibration_method,
                **{f"choice.{k}": str(v) for k, v in result.choices.items() if isinstance(v, str)},
            }
        )
        log_metrics_prefixed(
            "", {k: v for k, v in result.choices.items() if isinstance(v, (int, float))}
        )
        log_metrics_prefixed("", result.metrics)
        log_frame(
            comparison_table(result.metrics).reset_index(names="figure"), "eval/comparison.csv"
        )
        dictionary = result.bundle.dictionary(features)
        log_frame(dictionary, "features/dictionary.csv")
        with step(on_step, "explanations") as done:
            explained = _log_explanations(result, snaps.frame)
            done.detail = f"SHAP summary and importance on {explained:,} test rows"
        test = split_frame(snaps.frame, result.split)[2]
        with step(on_step, "model report") as done:
            report = write_report(
                result,
                root / "mlruns" / "reports" / f"{run.info.run_id}.html",
                dictionary=dictionary,
                segments=build_segments(dataset, test, settings.segments),
                feature_rows=test.sample(n=min(2000, len(test)), random_state=0),
            )
            mlflow.log_artifact(str(report), "report")
            done.detail = str(report)
        with step(on_step, "registration") as done:
            info = log_bundle(result.bundle)
            version = register(info.model_uri, tracking.registered_model)
            # Both models judged on this run's test rows, each population on its own rows.
            test = test.assign(population=result.bundle.population(test))
            current = champion_metrics(tracking.registered_model, dataset, test)
            decision = decide_promotion(result.metrics, current, rule or _gate(result.metrics))
            apply_promotion(tracking.registered_model, version, decision)
            describe_registration(
                tracking.registered_model,
                version,
                run_id=run.info.run_id,
                run_name=run.info.run_name,
                result=result,
                decision=decision,
                observed_until=snaps.observed_until,
                data_digest=str(fingerprint["hash"]),
            )
            mlflow.set_tags({f"promotion.{k}": v for k, v in decision.tags().items()})
            standing = "champion" if decision.promote else "challenger"
            done.detail = f"{tracking.registered_model} version {version} ({standing})"
    return TrainingRun(result, run.info.run_id, version, decision, uri, report)


__all__ = ["TrainingConfig", "TrainingRun", "champion_metrics", "train_and_register"]
