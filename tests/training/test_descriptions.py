"""The words on a registered version: run, data, figures beside the baselines, the decision."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.training.test_tracking import tiny_bundle
from winback.training.bundle import ModelBundle
from winback.training.descriptions import model_description, version_description
from winback.training.registry import PromotionRule, decide_promotion
from winback.training.splits import TimeSplit

SPLIT = TimeSplit(
    train=(datetime(2023, 5, 1), datetime(2023, 6, 1), datetime(2023, 7, 1)),
    validation=(datetime(2023, 10, 1),),
    test=(datetime(2024, 1, 1),),
    label_days=90,
)
METRICS = {
    "test.ours.active.roc_auc": 0.8123,
    "test.rfm.active.roc_auc": 0.7011,
    "test.ours.active.pr_auc": 0.5555,
    "test.rfm.active.pr_auc": 0.4,
    "vs_rfm.active.roc_auc": 0.1112,
    "vs_rfm.active.pr_auc": 0.1555,
}


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    return tiny_bundle(seed=2)


def describe(bundle: ModelBundle, champion: dict[str, float] | None, **changes: object) -> str:
    arguments: dict[str, object] = {
        "run_id": "0123abcd",
        "run_name": "train as of 2024-04-01",
        "bundle": bundle,
        "split": SPLIT,
        "metrics": METRICS,
        "decision": decide_promotion(METRICS, champion, PromotionRule()),
        "observed_until": datetime(2024, 4, 1),
        "data_digest": "f0b83ba0ce4c65a1",
    } | changes
    return version_description(**arguments)  # type: ignore[arg-type]


def test_a_promoted_version_says_its_run_data_figures_and_decision(bundle: ModelBundle) -> None:
    text = describe(bundle, None)
    assert text.startswith("Trained by MLflow run `0123abcd` (train as of 2024-04-01).")
    assert (
        "**Data**: records before 2024-04-01 (data digest `f0b83ba0ce4c65a1`); horizon 90 days; "
        "cutoffs for training 2023-05-01 … 2023-07-01 (3), validation 2023-10-01, "
        "test 2024-01-01; split in time: validation and test are later cutoffs whose label "
        "windows do not overlap the earlier splits'."
    ) in text
    assert "| figure | ours | rfm |\n|---|---:|---:|" in text
    assert "| active roc_auc | 0.8123 | 0.7011 |" in text
    assert "| active brier | – | – |" in text  # not measured: a dash, not "nan"
    assert "- vs rfm: better on 2 of 2 headline figures" in text
    assert text.endswith(
        "**Promotion gate at training**: promoted to champion (no champion yet; candidate "
        "test.ours.active.pr_auc = 0.5555)."
    )


def test_a_version_that_loses_to_the_champion_says_so(bundle: ModelBundle) -> None:
    text = describe(bundle, {"test.ours.active.pr_auc": 0.6})
    assert "**Promotion gate at training**: not promoted (candidate" in text
    assert "vs champion 0.6" in text


def test_without_figures_or_a_digest_the_description_leaves_them_out(bundle: ModelBundle) -> None:
    text = describe(
        bundle,
        None,
        metrics={"test.ours.active.pr_auc": 0.5},
        data_digest=None,
        run_name=None,
    )
    assert text.startswith("Trained by MLflow run `0123abcd`.")
    assert "digest" not in text
    assert "**Test figures**" not in text and "vs rfm" not in text
    assert "\n\n\n" not in text


def test_the_registered_model_says_what_it_predicts_and_how_it_is_judged() -> None:
    text = model_description()
    for words in ("churn_probability", "expected_spend", "CLV", "LightGBM", "baselines"):
        assert words in text
    assert "`champion`" in text
