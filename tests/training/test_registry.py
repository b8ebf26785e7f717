"""The registry: promotion decisions as a pure rule, and aliases moved in a real store."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.training.test_tracking import (
    MLFLOW_SQLALCHEMY_NOISE,
    end_runs,
    isolate_mlflow,
    scoring_frame,
    seed_store,
    tiny_bundle,
)
from winback.training.bundle import ModelBundle
from winback.training.registry import (
    CHALLENGER,
    CHAMPION,
    ModelNotFoundError,
    PromotionDecision,
    PromotionError,
    PromotionRule,
    apply_promotion,
    champion_version,
    decide_promotion,
    describe_model,
    describe_version,
    load_champion,
    promote,
    register,
)
from winback.training.tracking import TrackingSettings, configure, log_bundle

pytestmark = pytest.mark.filterwarnings(MLFLOW_SQLALCHEMY_NOISE)

NAME = "winback"
METRIC = "test.ours.active.pr_auc"


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("registry-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(autouse=True)
def _isolated_mlflow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    isolate_mlflow(monkeypatch)
    yield
    end_runs()


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    return tiny_bundle(seed=3)


@pytest.fixture
def model_uri(tmp_path: Path, empty_store: Path, bundle: ModelBundle) -> str:
    """A store in tmp_path holding one logged (not yet registered) model."""
    seed_store(empty_store, tmp_path)
    configure(TrackingSettings(), tmp_path)
    with mlflow.start_run():
        return log_bundle(bundle).model_uri


def aliases() -> dict[str, int]:
    return {a: int(v) for a, v in MlflowClient().get_registered_model(NAME).aliases.items()}


def version_tags(version: int) -> dict[str, str]:
    return MlflowClient().get_model_version(NAME, str(version)).tags


# --- the rule ----------------------------------------------------------------------------------


def test_no_champion_promotes() -> None:
    decision = decide_promotion({METRIC: 0.3}, None, PromotionRule())
    assert decision.promote
    assert decision.champion is None
    assert decision.candidate == 0.3
    assert "no champion" in decision.reason


@pytest.mark.parametrize(
    ("candidate", "champion", "promoted"),
    [(0.42, 0.40, True), (0.38, 0.40, False), (0.40, 0.40, False)],
    ids=["better", "worse", "tie"],
)
def test_higher_is_better(candidate: float, champion: float, promoted: bool) -> None:
    decision = decide_promotion({METRIC: candidate}, {METRIC: champion}, PromotionRule())
    assert decision.promote is promoted
    assert (decision.candidate, decision.champion) == (candidate, champion)
    assert f"{candidate:.6g}" in decision.reason
    assert f"{champion:.6g}" in decision.reason
    assert decision.reason.endswith("not promoted") is not promoted


@pytest.mark.parametrize(
    ("candidate", "champion", "promoted"),
    [(9.0, 10.0, True), (11.0, 10.0, False), (10.0, 10.0, False)],
    ids=["lower", "higher", "tie"],
)
def test_lower_is_better(candidate: float, champion: float, promoted: bool) -> None:
    rule = PromotionRule(metric="test.spend.mae", higher_is_better=False)
    decision = decide_promotion({"test.spend.mae": candidate}, {"test.spend.mae": champion}, rule)
    assert decision.promote is promoted
    assert "lower is better" in decision.reason


def test_min_improvement_is_a_minimum() -> None:
    rule = PromotionRule(min_improvement=0.25)
    assert decide_promotion({METRIC: 0.75}, {METRIC: 0.5}, rule).promote
    small = decide_promotion({METRIC: 0.7}, {METRIC: 0.5}, rule)
    assert not small.promote
    assert "needs ≥ 0.25" in small.reason


def test_an_undefined_candidate_is_never_promoted() -> None:
    assert not decide_promotion({METRIC: math.nan}, None, PromotionRule()).promote
    assert not decide_promotion({METRIC: math.nan}, {METRIC: 0.1}, PromotionRule()).promote


def test_a_champion_without_the_metric_is_not_replaced_automatically() -> None:
    decision = decide_promotion({METRIC: 0.9}, {"test.ours.active.roc_auc": 0.7}, PromotionRule())
    assert not decision.promote
    assert "promote by hand" in decision.reason


def test_a_candidate_without_the_metric_is_an_error() -> None:
    with pytest.raises(PromotionError, match=r"test\.ours\.active\.pr_auc"):
        decide_promotion({"test.ours.active.roc_auc": 0.7}, None, PromotionRule())


@pytest.mark.parametrize("value", [-0.1, math.nan, math.inf])
def test_min_improvement_must_be_a_finite_non_negative_number(value: float) -> None:
    with pytest.raises(ValueError, match="min_improvement"):
        PromotionRule(min_improvement=value)


# --- the registry ------------------------------------------------------------------------------


def test_register_adds_versions_as_challenger(model_uri: str) -> None:
    assert register(model_uri, NAME) == 1
    assert register(model_uri, NAME) == 2
    assert aliases() == {CHALLENGER: 2}
    assert champion_version(NAME) is None


def test_champion_version_of_an_unknown_model_is_none(model_uri: str) -> None:
    assert champion_version("never-registered") is None


def test_worse_challenger_stays_challenger_and_better_one_becomes_champion(
    model_uri: str,
) -> None:
    rule = PromotionRule()
    first = register(model_uri, NAME)
    apply_promotion(NAME, first, decide_promotion({METRIC: 0.40}, None, rule))
    assert aliases() == {CHAMPION: first}

    worse = register(model_uri, NAME)
    apply_promotion(NAME, worse, decide_promotion({METRIC: 0.35}, {METRIC: 0.40}, rule))
    assert aliases() == {CHAMPION: first, CHALLENGER: worse}
    tags = version_tags(worse)
    assert tags["promotion_decision"] == "not promoted"
    assert (tags["promotion_candidate_value"], tags["promotion_champion_value"]) == (
        "0.35",
        "0.4",
    )
    assert tags["promotion_forced"] == "false"

    better = register(model_uri, NAME)
    apply_promotion(NAME, better, decide_promotion({METRIC: 0.45}, {METRIC: 0.40}, rule))
    assert aliases() == {CHAMPION: better}
    assert champion_version(NAME) == better
    tags = version_tags(better)
    assert tags["promotion_decision"] == "promoted"
    assert tags["promotion_previous_champion"] == str(first)
    assert tags["promotion_metric"] == METRIC
    assert "0.45" in tags["promotion_reason"]
    assert "promotion_decided_at" in tags


def test_champion_reloads_with_the_bundles_predictions(model_uri: str, bundle: ModelBundle) -> None:
    version = register(model_uri, NAME)
    apply_promotion(NAME, version, decide_promotion({METRIC: 0.5}, None, PromotionRule()))
    frame = scoring_frame(rows=40)
    expected = bundle.predict(frame)
    for model in (load_champion(NAME), mlflow.pyfunc.load_model(f"models:/{NAME}@{CHAMPION}")):
        predicted = model.predict(frame)
        assert isinstance(predicted, pd.DataFrame)
        pd.testing.assert_frame_equal(predicted.reset_index(drop=True), expected)


def test_load_champion_without_one_says_what_to_do(model_uri: str) -> None:
    register(model_uri, NAME)
    with pytest.raises(ModelNotFoundError, match="winback promote"):
        load_champion(NAME)


def test_forced_promotion_records_who_when_and_why(model_uri: str) -> None:
    first = register(model_uri, NAME)
    apply_promotion(NAME, first, decide_promotion({METRIC: 0.5}, None, PromotionRule()))
    second = register(model_uri, NAME)
    promote(NAME, second, "  rollback: v1 mis-scored the March cohort ", by="ana")
    assert aliases() == {CHAMPION: second}
    tags = version_tags(second)
    assert tags["promotion_forced"] == "true"
    assert tags["promotion_reason"] == "rollback: v1 mis-scored the March cohort"
    assert tags["promotion_by"] == "ana"
    assert tags["promotion_previous_champion"] == str(first)
    assert tags["promotion_decided_at"]


def test_forced_promotion_defaults_to_the_os_user(model_uri: str) -> None:
    version = register(model_uri, NAME)
    promote(NAME, version, "first model")
    assert version_tags(version)["promotion_by"]


def test_forced_promotion_needs_a_reason_and_a_real_version(model_uri: str) -> None:
    version = register(model_uri, NAME)
    with pytest.raises(PromotionError, match="reason"):
        promote(NAME, version, "   ")
    with pytest.raises(ModelNotFoundError, match="no version 7"):
        promote(NAME, 7, "typo")
    assert champion_version(NAME) is None


def test_apply_promotion_to_a_missing_version_is_refused(model_uri: str) -> None:
    register(model_uri, NAME)
    decision = PromotionDecision(
        promote=True, metric=METRIC, candidate=1.0, champion=None, reason=""
    )
    with pytest.raises(ModelNotFoundError):
        apply_promotion(NAME, 9, decision)
    assert champion_version(NAME) is None


# --- descriptions ------------------------------------------------------------------------------


def test_the_registered_model_is_described_once_and_a_written_description_is_kept(
    model_uri: str,
) -> None:
    register(model_uri, NAME)
    assert describe_model(NAME, "Churn models.")
    assert MlflowClient().get_registered_model(NAME).description == "Churn models."
    MlflowClient().update_registered_model(NAME, description="Ana's notes: used by CRM.")
    assert not describe_model(NAME, "Churn models, again.")
    assert MlflowClient().get_registered_model(NAME).description == "Ana's notes: used by CRM."
    assert describe_model(NAME, "Churn models, v2.", replace=True)
    assert MlflowClient().get_registered_model(NAME).description == "Churn models, v2."


def test_each_version_gets_its_own_description(model_uri: str) -> None:
    first, second = register(model_uri, NAME), register(model_uri, NAME)
    describe_version(NAME, first, "First: ROC AUC 0.71.")
    describe_version(NAME, second, "Second: ROC AUC 0.74.\n\n" + "x" * 6000)
    client = MlflowClient()
    assert client.get_model_version(NAME, str(first)).description == "First: ROC AUC 0.71."
    long = client.get_model_version(NAME, str(second)).description
    assert long.startswith("Second: ROC AUC 0.74.")
    assert len(long) == 5000
    assert long.endswith("…")


def test_describing_what_is_not_registered_is_refused(model_uri: str) -> None:
    with pytest.raises(ModelNotFoundError, match="no registered model 'nothing'"):
        describe_model("nothing", "text")
    register(model_uri, NAME)
    with pytest.raises(ModelNotFoundError, match="no version 4"):
        describe_version(NAME, 4, "text")
