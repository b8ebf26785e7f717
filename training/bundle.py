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

from winback.features import FeaturePlan, FeatureSettings, describe_features
from winback.features.populations import RULE_INPUTS, PopulationRule
from winback.training.btyd import BTYD_COLUMNS, BTYD_DESCRIPTIONS, BtydFeatures
from winback.training.calibration import Calibrator
from winback.training.models import ChurnModel, CountModel, ModelFileError, SpendModel
from winback.training.periods import PeriodModels, value_columns
from winback.training.populations import RoutedChurn
from winback.training.reference import ReferenceProfile

BUNDLE_FILE = "bundle.json"
BUNDLE_VERSION = 2
#: The first output columns of :meth:`ModelBundle.predict`; period values and CLV follow.
PREDICTIONS = ("churn_probability", "decline_probability", "expected_orders", "expected_spend")


@dataclass
class ModelBundle:
    """Churn, decline, orders and spend models over one feature plan.

    ``churn`` and ``calibrator`` are the retention population's (everyone's when there is no
    ``winback_churn``); :attr:`churn_by_population` routes each row to its population's model.
    """

    plan: FeaturePlan
    horizon_days: int
    churn: ChurnModel
    orders: CountModel
    spend: SpendModel
    decline: ChurnModel | None = None
    calibrator: Calibrator | None = None
    #: BG/NBD + Gamma-Gamma numbers whose outputs are model inputs (None: not used).
    btyd: BtydFeatures | None = None
    #: Value per future period and CLV (None: not forecast).
    periods: PeriodModels | None = None
    #: The training distribution of the inputs and outputs, for drift checks at scoring time.
    reference: ReferenceProfile | None = None
    #: The lapsed (win-back) population's churn model and its calibrator (None: one model).
    winback_churn: ChurnModel | None = None
    winback_calibrator: Calibrator | None = None
    #: Which population a row is in (None: populations unknown, e.g. no purchase features).
    populations: PopulationRule | None = None

    @property
    def churn_by_population(self) -> RoutedChurn:
        """P(churn) and SHAP values per row from its population's churn model."""
        return RoutedChurn(
            self.churn, self.winback_churn, self.populations, self.calibrator,
            self.winback_calibrator,
        )  # fmt: skip

    def population(self, features: pd.DataFrame) -> np.ndarray:
        """``retention``, ``winback`` or ``no_orders`` per feature row (None without a rule)."""
        if self.populations is None or any(c not in features for c in RULE_INPUTS):
            return np.full(len(features), None, dtype=object)
        return self.populations.assign(features)

    @property
    def feature_columns(self) -> list[str]:
        """The columns a caller supplies: the feature plan's, in order."""
        return self.plan.columns

    @property
    def model_columns(self) -> list[str]:
        """The LightGBM models' input columns: the features and the BG/NBD inputs made from them."""
        return self.plan.columns + (list(BTYD_COLUMNS) if self.btyd is not None else [])

    @property
    def prediction_columns(self) -> list[str]:
        """Output columns of :meth:`predict`, in order."""
        values = [*value_columns(self.periods.periods), "clv"] if self.periods else []
        return [*PREDICTIONS, *values]

    def dictionary(self, settings: FeatureSettings) -> pd.DataFrame:
        """The feature dictionary of every model input, the BG/NBD inputs included."""
        frame = describe_features(settings, self.plan)
        if self.btyd is None:
            return frame
        extra = pd.DataFrame(
            {
                "name": list(BTYD_DESCRIPTIONS),
                "meaning": list(BTYD_DESCRIPTIONS.values()),
                "window_days": pd.array([None] * len(BTYD_DESCRIPTIONS), dtype="Int64"),
                "unit": ["probability", "orders", "currency"],
                "family": "btyd",
                "source": "transactions",
                "risk_when": "low",  # few expected orders, little spend, unlikely alive
            }
        )
        return pd.concat([frame, extra[frame.columns]], ignore_index=True)

    def model_inputs(self, features: pd.DataFrame) -> pd.DataFrame:
        """The models' input frame for feature rows (BG/NBD inputs added when used)."""
        x = features[self.feature_columns]
        if self.btyd is None:
            return x
        return pd.concat([x, self.btyd.transform(x)], axis=1)

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Churn (calibrated) and decline probabilities, orders, spend, period values, CLV."""
        x = self.model_inputs(features)
        churn = self.churn_by_population.predict_proba(x)
        decline = (
            self.decline.predict_proba(x) if self.decline is not None else np.full(len(x), np.nan)
        )
        out = pd.DataFrame(
            {
                "churn_probability": churn,
                "decline_probability": decline,
                "expected_orders": self.orders.predict(x),
                "expected_spend": self.spend.predict(x),
            },
            index=features.index,
        )
        if self.periods is None:
            return out
        return pd.concat([out, self.periods.predict(x, churn, self.btyd)], axis=1)

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
        if self.winback_churn is not None:
            models["churn_winback"] = self.winback_churn
        for name, model in models.items():
            model.save(directory / f"{name}.json")
        document = {
            "version": BUNDLE_VERSION,
            "plan": self.plan.to_dict(),
            "horizon_days": self.horizon_days,
            "models": sorted(models),
            "calibrator": self.calibrator.to_dict() if self.calibrator is not None else None,
            "btyd": self.btyd.to_dict() if self.btyd is not None else None,
            "periods": self.periods.save(directory) if self.periods is not None else None,
            "reference": self.reference.to_dict() if self.reference is not None else None,
            "winback_calibrator": (
                self.winback_calibrator.to_dict() if self.winback_calibrator is not None else None
            ),
            "populations": self.populations.to_dict() if self.populations is not None else None,
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
                f"{directory}: bundle version {document.get('version')!r}, written by another "
                f"winback; this one reads version {BUNDLE_VERSION}. Retrain with `winback train` "
                "(or score with the winback version that saved it)"
            )
        calibrator, btyd, periods = document["calibrator"], document["btyd"], document["periods"]
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
            btyd=BtydFeatures.from_dict(btyd) if btyd is not None else None,
            periods=PeriodModels.load(directory, periods) if periods is not None else None,
            reference=(
                ReferenceProfile.from_dict(document["reference"])
                if document.get("reference") is not None
                else None
            ),
            # Bundles saved before populations have none of these: one churn model for everyone.
            winback_churn=(
                ChurnModel.load(directory / "churn_winback.json")
                if "churn_winback" in document["models"]
                else None
            ),
            winback_calibrator=(
                Calibrator.from_dict(document["winback_calibrator"])
                if document.get("winback_calibrator") is not None
                else None
            ),
            populations=(
                PopulationRule.from_dict(document["populations"])
                if document.get("populations") is not None
                else None
            ),
        )


__all__ = ["BUNDLE_FILE", "PREDICTIONS", "ModelBundle"]
