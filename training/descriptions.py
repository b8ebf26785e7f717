"""What the registry says in words: the registered model's description and each version's.

The registered model's description says what the models predict, for whom, and how they are
trained and judged; a version's says which run made it, on which data, its headline test figures
beside the baselines' on the same rows, and the promotion gate's decision. The MLflow UI shows
both as Markdown, so a reader of the registry needs no other page to know what a version is.
"""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd

from winback.training.bundle import ModelBundle
from winback.training.pipeline import TrainResult, comparison_table, verdict
from winback.training.registry import PromotionDecision, describe_model, describe_version
from winback.training.splits import TimeSplit

MODEL_DESCRIPTION = """\
Churn and customer-value models from **winback**, for retention and win-back offers.

Each version scores customers as of a cutoff date T and predicts, per customer:

- `churn_probability`: no order in [T, T + horizon), for customers with an order before T; \
calibrated on later, held-out time, since offers are priced with it;
- `decline_probability`: spend in the horizon falls well below the horizon before T;
- `expected_orders` and `expected_spend` in the horizon; value per later period and CLV.

Trained with LightGBM on point-in-time features of customer snapshots at many cutoffs, split by \
time: training cutoffs, then validation (early stopping, calibration), then a test period. On the \
test rows each version is compared with simple baselines (RFM rules; BG/NBD + Gamma-Gamma where \
fitted) and with the current champion; it takes the `champion` alias only when it beats the \
champion on the promotion metric. Each version's description gives its run, data, figures and \
that decision.
"""


def model_description() -> str:
    """The registered model's description (Markdown)."""
    return MODEL_DESCRIPTION


def _dates(cutoffs: tuple[datetime, ...]) -> str:
    if not cutoffs:
        return "none"
    if len(cutoffs) == 1:
        return f"{cutoffs[0]:%Y-%m-%d}"
    return f"{cutoffs[0]:%Y-%m-%d} … {cutoffs[-1]:%Y-%m-%d} ({len(cutoffs)})"


def _number(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "–"


def _table(figures: pd.DataFrame) -> list[str]:
    """The comparison table as Markdown rows (figure, then one column per model)."""
    if figures.empty:
        return []
    lines = [
        "| figure | " + " | ".join(figures.columns) + " |",
        "|---|" + "---:|" * len(figures.columns),
    ]
    for figure, row in figures.iterrows():
        lines.append(f"| {figure} | " + " | ".join(_number(float(v)) for v in row) + " |")
    return lines


def version_description(
    *,
    run_id: str,
    run_name: str | None,
    bundle: ModelBundle,
    split: TimeSplit,
    metrics: dict[str, float],
    decision: PromotionDecision,
    observed_until: datetime,
    data_digest: str | None = None,
) -> str:
    """A version's description (Markdown): run, data, test figures vs baselines, decision."""
    run = f"`{run_id}`" + (f" ({run_name})" if run_name else "")
    digest = f" (data digest `{data_digest}`)" if data_digest else ""
    outcome = "promoted to champion" if decision.promote else "not promoted"
    reason = decision.reason.removesuffix("; not promoted").removesuffix("; promoted")
    table = _table(comparison_table(metrics))
    blocks = [
        [f"Trained by MLflow run {run}."],
        [
            f"**Data**: records before {observed_until:%Y-%m-%d}{digest}; horizon "
            f"{bundle.horizon_days} days; cutoffs for training {_dates(split.train)}, "
            f"validation {_dates(split.validation)}, test {_dates(split.test)}; "
            f"{split.method()}."
        ],
        ["**Test figures**, every model on the same test rows:"] if table else [],
        table,
        [f"- {line}" for line in verdict(metrics)],
        [f"**Promotion gate at training**: {outcome} ({reason})."],
    ]
    return "\n\n".join("\n".join(block) for block in blocks if block)


def describe_registration(
    name: str,
    version: int,
    *,
    run_id: str,
    run_name: str | None,
    result: TrainResult,
    decision: PromotionDecision,
    observed_until: datetime,
    data_digest: str | None = None,
) -> None:
    """Describe the registered model (unless someone already has) and this version of it."""
    describe_model(name, model_description())
    describe_version(
        name,
        version,
        version_description(
            run_id=run_id,
            run_name=run_name,
            bundle=result.bundle,
            split=result.split,
            metrics=result.metrics,
            decision=decision,
            observed_until=observed_until,
            data_digest=data_digest,
        ),
    )


__all__ = [
    "MODEL_DESCRIPTION",
    "describe_registration",
    "model_description",
    "version_description",
]
