"""The model bundle: every model a scoring run needs, with the feature plan they were trained on.

One directory of JSON files (no pickle): ``bundle.json`` (plan, horizon, calibration, what
produced each output) and one file per LightGBM model. Scoring rebuilds features with the stored
plan, so the columns always match the models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features import FeaturePlan
from training.calibration import Calibrator
from training.models import ChurnModel, CountModel, ModelFileError, SpendModel

BUNDLE_FILE = "bundle.json"
BUNDLE_VERSION = 1
#: Output columns of :meth:`ModelBundle.predict`, in order.
PREDICTIONS = ("churn_probability", "decline_probability", "expected_orders", "expected_spend")


@dataclass
class ModelBundle:
    """Churn, decline, orders and spend models over one feature plan."""

    plan: FeaturePlan
    horizon_days: int
    churn: ChurnModel
    orders: CountModel
    spend: SpendModel
    decline: ChurnModel | None = None
    calibrator: Calibrator | None = None

    @property
    def feature_columns(self) -> list[str]:
        """The models' input columns, in order."""
        return self.plan.columns

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Calibrated churn and decline probabilities, expected orders and spend, per row."""
        x = features[self.feature_columns]
        churn = self.churn.predict_proba(x)
        if self.calibrator is not None:
            churn = self.calibrator.predict(churn)
        decline = (
            self.decline.predict_proba(x) if self.decline is not None else np.full(len(x), np.nan)
        )
        return pd.DataFrame(
            {
                "churn_probability": churn,
                "decline_probability": decline,
                "expected_orders": self.orders.predict(x),
                "expected_spend": self.spend.predict(x),
            },
            index=features.index,
        )

    def input_example(self, rows: int = 3) -> pd.DataFrame:
        """Synthetic input rows (never customer data): zeros, and the first known category."""
        example: dict[str, object] = {}
        for column in self.feature_columns:
            levels = self.churn.categories_.get(column)
            if levels:
                example[column] = pd.Series([levels[0]] * rows, dtype="str")
            else:
                example[column] = np.linspace(0.0, 30.0, rows)
        return pd.DataFrame(example)

    def save(self, directory: Path) -> Path:
        """Write the bundle into ``directory`` (created if needed); return it."""
        directory.mkdir(parents=True, exist_ok=True)
        models = {"churn": self.churn, "orders": self.orders, "spend": self.spend}
        if self.decline is not None:
            models["decline"] = self.decline
        for name, model in models.items():
            model.save(directory / f"{name}.json")
        document = {
            "version": BUNDLE_VERSION,
            "plan": self.plan.to_dict(),
            "horizon_days": self.horizon_days,
            "models": sorted(models),
            "calibrator": self.calibrator.to_dict() if self.calibrator is not None else None,
        }
        (directory / BUNDLE_FILE).write_text(json.dumps(document, indent=1), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: Path) -> ModelBundle:
        """Read a bundle written by :meth:`save`."""
        try:
            document = json.loads((directory / BUNDLE_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"{directory}: not a winback model bundle ({exc})") from exc
        if document.get("version") != BUNDLE_VERSION:
            raise ModelFileError(
                f"{directory}: bundle version {document.get('version')!r}; this code reads "
                f"version {BUNDLE_VERSION}"
            )
        calibrator = document["calibrator"]
        return cls(
            plan=FeaturePlan.from_dict(document["plan"]),
            horizon_days=int(document["horizon_days"]),
            churn=ChurnModel.load(directory / "churn.json"),
            orders=CountModel.load(directory / "orders.json"),
            spend=SpendModel.load(directory / "spend.json"),
            decline=(
                ChurnModel.load(directory / "decline.json")
                if "decline" in document["models"]
                else None
            ),
            calibrator=Calibrator.from_dict(calibrator) if calibrator is not None else None,
        )


__all__ = ["BUNDLE_FILE", "PREDICTIONS", "ModelBundle"]
