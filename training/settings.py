"""Settings of the training stage: ``[training]`` and ``[tracking]`` in ``winback.toml``.

Plain pydantic models in a module of their own, so reading a config imports no ML library.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainingSettings(BaseModel):
    """How models are trained and judged; defaults suit data of unknown size."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: ``time``: validation and test are later cutoffs; ``customers``: held-out customers at
    #: the same cutoffs (training.splits); ``auto``: time where the history allows it.
    split: Literal["auto", "time", "customers"] = "auto"
    validation_cutoffs: int = Field(default=2, ge=1)
    test_cutoffs: int = Field(default=1, ge=1)
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    num_leaves: int = Field(default=31, ge=2)
    min_child_samples: int = Field(default=50, ge=1)
    n_estimators: int = Field(default=2000, ge=1)
    early_stopping_rounds: int = Field(default=100, ge=1)
    #: ``auto`` fits every objective and keeps the lowest Tweedie deviance on validation.
    spend_objective: Literal["auto", "tweedie", "two_part", "orders_x_value"] = "auto"
    calibration: Literal["auto", "isotonic", "platt", "none"] = "auto"
    bgnbd_baseline: bool = True
    #: Weight of the other population's rows in each population's churn model (0: its own rows
    #: only; 1: every row counts once, and early stopping, tuning and calibration are its own).
    #: 1 by measurement on CDNOW's calibration period (docs/2026-12-05-populations-…).
    population_borrow: float = Field(default=1.0, ge=0.0, le=1.0)
    #: Give the models BG/NBD's P(alive), expected orders and spend as inputs
    #: (fitted on the last training cutoff), and extrapolate unlearnable periods with its decay.
    btyd_features: bool = True
    #: Refit each calendar month's level on the training rows after boosting (training.levels).
    #: Off keeps the trees' own, part-learned level, e.g. when a training month held a one-off.
    month_levels: bool = True
    #: Annual rate discounting each period's value into CLV.
    discount_rate: float = Field(default=0.10, ge=0.0, le=1.0)
    #: Training cutoffs a period's value model needs to be learned directly, not extrapolated.
    min_period_train_cutoffs: int = Field(default=3, ge=1)
    #: Optuna trials tuning the churn model on validation time; 0 keeps the settings above.
    trials: int = Field(default=0, ge=0)
    seed: int = 0
    #: LightGBM threads; 0 = every core.
    n_jobs: int = Field(default=0, ge=0)


class TrackingSettings(BaseModel):
    """Where runs and models are recorded (``[tracking]`` in ``winback.toml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Tracking (and registry) URI; ``None`` means the local store under ``<root>/mlruns``.
    uri: str | None = Field(default=None, min_length=1)
    #: Experiment the runs are recorded in.
    experiment: str = Field(default="winback", min_length=1)
    #: Registered model name the trained bundles are registered under.
    registered_model: str = Field(default="winback", min_length=1)


__all__ = ["TrackingSettings", "TrainingSettings"]
