"""The models find the signal the synthetic world holds, and engagement trends add to RFM.

These are one-seed checks on the session's small model. The study behind them (the full pipeline
at its measured settings, with and without engagement, over several seeds) is
``bench/bench_signal.py``, run by ``make bench``.
"""

from __future__ import annotations

import pandas as pd

from tests.conftest import FAST, LABELS, Trained
from winback.training.metrics import classification_metrics
from winback.training.models import ChurnModel
from winback.training.pipeline import _data, _params
from winback.training.splits import split_frame


def test_churn_model_comes_close_to_what_the_ground_truth_makes_achievable(
    small_trained: Trained, small_world
) -> None:
    result = small_trained.result
    test = result.test_predictions
    test = test[test["churned"].notna()].reset_index(drop=True)
    cutoff = pd.Timestamp(result.split.test[0], tz="UTC")
    oracle = classification_metrics(
        test["churned"].to_numpy(),
        small_world.no_order_probability(test["customer_id"], cutoff, LABELS.horizon_days),
    )["roc_auc"]
    ours = classification_metrics(test["churned"].to_numpy(), test["churn_probability"])
    # Measured at the bench's settings (300 trees at learning rate 0.05, bench/bench_signal.py):
    # ours 0.93 against 0.96 for the latent-state reference.
    assert oracle > 0.9
    assert ours["roc_auc"] >= oracle - 0.07


def _churn_auc(trained: Trained, columns: list[str]) -> float:
    """Test ROC AUC of a churn model fitted on ``columns`` of the shared split's rows."""
    train, valid, test = split_frame(trained.snapshots.frame, trained.result.split)
    model = ChurnModel(**_params(FAST, columns)).fit(
        *_data(train, "churned", columns), eval_set=_data(valid, "churned", columns)
    )
    rows = test[test["churned"].notna()]
    return classification_metrics(rows["churned"].to_numpy(), model.predict(rows[columns]))[
        "roc_auc"
    ]


def test_removing_engagement_features_costs_auc(small_trained: Trained) -> None:
    """The churn model alone, with and without the events' features, on the same split.

    The whole pipeline (BG/NBD inputs, calibration) is ablated in bench/bench_signal.py:
    measured 0.929 with engagement, 0.902 without, on this seed.
    """
    plan = small_trained.snapshots.plan
    engagement = {f.name for f in plan.features if f.source == "events"}
    assert engagement
    columns = list(plan.columns)
    without = [c for c in columns if c not in engagement]
    assert len(without) < len(columns)
    # Measured on seeds 11, 1 and 2: drops of 0.031, 0.020 and 0.021.
    assert _churn_auc(small_trained, columns) - _churn_auc(small_trained, without) > 0.01
