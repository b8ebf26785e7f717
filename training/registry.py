"""The model registry: register, decide promotion by a rule, move the aliases.

Every trained model is registered as a new version with the alias ``challenger``. It becomes
``champion`` only when :func:`decide_promotion` says it beats the current champion on the
rule's metric, measured on the same test period (the caller scores both models on it), or when
a person forces it with :func:`promote`. Every decision is written on the model version as
``promotion_*`` tags, so the registry says why each champion is champion. When a version becomes
champion it loses the ``challenger`` alias, which always names a version still to be decided.

Functions act on the registry MLflow is configured with (:func:`training.tracking.configure`).
"""

from __future__ import annotations

import getpass
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode
from mlflow.tracking import MlflowClient

from winback.common.errors import WinbackError
from winback.training.tracking import PyFuncModel, load_logged_model

CHAMPION = "champion"
CHALLENGER = "challenger"
_NOT_FOUND = ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)


class ModelNotFoundError(WinbackError, LookupError):
    """The registry has no such model version, or no champion yet."""


class PromotionError(WinbackError, ValueError):
    """A promotion cannot be decided as asked: the metric is missing, or no reason was given."""


@dataclass(frozen=True, kw_only=True)
class PromotionRule:
    """When a challenger replaces the champion: it beats it on ``metric`` by ``min_improvement``.

    A tie never promotes: the improvement must be above zero and at least ``min_improvement``.
    """

    metric: str = "test.ours.active.pr_auc"
    higher_is_better: bool = True
    min_improvement: float = 0.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.min_improvement) or self.min_improvement < 0:
            raise ValueError(
                f"min_improvement must be a finite number >= 0, got {self.min_improvement}"
            )


@dataclass(frozen=True, kw_only=True)
class PromotionDecision:
    """Whether a candidate becomes champion, the numbers compared, and why, in words."""

    promote: bool
    metric: str
    candidate: float
    champion: float | None
    reason: str

    def tags(self) -> dict[str, str]:
        """The decision as model version tags."""
        return {
            "promotion_decision": "promoted" if self.promote else "not promoted",
            "promotion_reason": self.reason,
            "promotion_metric": self.metric,
            "promotion_candidate_value": repr(self.candidate),
            "promotion_champion_value": "" if self.champion is None else repr(self.champion),
        }


def decide_promotion(
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    rule: PromotionRule,
) -> PromotionDecision:
    """Promote when there is no champion, else when the candidate beats it by the rule.

    ``candidate`` and ``champion`` are the two models' metrics on the same test period.
    A candidate without a finite value of the metric is never promoted; neither is one facing
    a champion whose value is missing or undefined (the two cannot be compared: promote by hand).
    """
    metric = rule.metric
    if metric not in candidate:
        raise PromotionError(
            f"the candidate's metrics have no {metric!r} (it has {sorted(candidate)}); "
            "evaluate it on the test period first, or set the promotion metric in settings"
        )
    value = float(candidate[metric])
    if not math.isfinite(value):
        return PromotionDecision(
            promote=False,
            metric=metric,
            candidate=value,
            champion=None if champion is None else champion.get(metric),
            reason=f"candidate {metric} is undefined ({value}); not promoted",
        )
    if champion is None:
        return PromotionDecision(
            promote=True,
            metric=metric,
            candidate=value,
            champion=None,
            reason=f"no champion yet; candidate {metric} = {value:.6g}",
        )
    best = float(champion.get(metric, math.nan))
    if not math.isfinite(best):
        return PromotionDecision(
            promote=False,
            metric=metric,
            candidate=value,
            champion=best,
            reason=(
                f"champion has no finite {metric} to compare with (candidate {value:.6g}); "
                "not promoted — promote by hand if the candidate should replace it"
            ),
        )
    improvement = value - best if rule.higher_is_better else best - value
    direction = "higher" if rule.higher_is_better else "lower"
    promote = improvement > 0 and improvement >= rule.min_improvement
    verdict = "promoted" if promote else "not promoted"
    need = f" (needs ≥ {rule.min_improvement:.6g})" if rule.min_improvement > 0 else ""
    return PromotionDecision(
        promote=promote,
        metric=metric,
        candidate=value,
        champion=best,
        reason=(
            f"candidate {metric} = {value:.6g} vs champion {best:.6g} ({direction} is better): "
            f"improvement {improvement:+.6g}{need}; {verdict}"
        ),
    )


def _client() -> MlflowClient:
    return MlflowClient()


def register(model_uri: str, name: str) -> int:
    """Register ``model_uri`` (``ModelInfo.model_uri``) as a new version of ``name``.

    The new version gets the alias ``challenger``; returns its number.
    """
    registered = mlflow.register_model(model_uri, name)
    version = int(registered.version)
    _client().set_registered_model_alias(name, CHALLENGER, str(version))
    return version


def _aliases(client: MlflowClient, name: str) -> dict[str, str]:
    """Alias → version of registered model ``name``; empty when it is not registered."""
    try:
        return dict(client.get_registered_model(name).aliases)
    except MlflowException as exc:
        if exc.error_code == _NOT_FOUND:
            return {}
        raise


def champion_version(name: str) -> int | None:
    """The version of ``name`` that holds the ``champion`` alias, or ``None``."""
    version = _aliases(_client(), name).get(CHAMPION)
    return None if version is None else int(version)


def _check_version(client: MlflowClient, name: str, version: int) -> None:
    try:
        client.get_model_version(name, str(version))
    except MlflowException as exc:
        if exc.error_code != _NOT_FOUND:
            raise
        raise ModelNotFoundError(
            f"model {name!r} has no version {version} in the registry at "
            f"{mlflow.get_registry_uri()}; `winback runs` lists the registered versions"
        ) from exc


def _crown(client: MlflowClient, name: str, version: int, tags: dict[str, str]) -> None:
    """Record ``tags`` on the version; make it champion and drop its challenger alias."""
    previous = champion_version(name)
    tags = {**tags, "promotion_previous_champion": "" if previous is None else str(previous)}
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)
    client.set_registered_model_alias(name, CHAMPION, str(version))
    challenger = _aliases(client, name).get(CHALLENGER)
    if challenger is not None and int(challenger) == version:
        client.delete_registered_model_alias(name, CHALLENGER)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def apply_promotion(name: str, version: int, decision: PromotionDecision) -> None:
    """Record ``decision`` as tags on the version, and move ``champion`` to it if it promotes."""
    client = _client()
    _check_version(client, name, version)
    tags = {**decision.tags(), "promotion_decided_at": _now(), "promotion_forced": "false"}
    if decision.promote:
        _crown(client, name, version, tags)
    else:
        for key, value in tags.items():
            client.set_model_version_tag(name, str(version), key, value)


def promote(name: str, version: int, reason: str, *, by: str | None = None) -> None:
    """Force ``version`` to champion, recording who, when and why as version tags.

    ``by`` defaults to the operating-system user running the command.
    """
    if not reason.strip():
        raise PromotionError("a forced promotion needs a reason, e.g. --reason 'rollback after …'")
    client = _client()
    _check_version(client, name, version)
    tags = {
        "promotion_decision": "promoted",
        "promotion_forced": "true",
        "promotion_reason": reason.strip(),
        "promotion_by": by or _user(),
        "promotion_decided_at": _now(),
    }
    _crown(client, name, version, tags)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "unknown"


def load_champion(name: str) -> PyFuncModel:
    """The champion of ``name`` as a pyfunc model (``models:/<name>@champion``).

    A champion this winback cannot read (saved by an older one) raises ``ModelFileError``
    saying so (see :func:`training.tracking.load_logged_model`).
    """
    if champion_version(name) is None:
        raise ModelNotFoundError(
            f"model {name!r} has no champion in the registry at {mlflow.get_registry_uri()}; "
            "train one with `winback train`, or choose one with `winback promote`"
        )
    return load_logged_model(f"models:/{name}@{CHAMPION}")


#: MLflow's SQL stores hold at most this many characters of a description.
_MAX_DESCRIPTION = 5000


def _fit(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 1] + "…"


def describe_model(name: str, text: str, *, replace: bool = False) -> bool:
    """Set the registered model's description, unless it has one and ``replace`` is False.

    A description someone wrote in the MLflow UI is kept; returns whether ``text`` was set.
    """
    client = _client()
    try:
        current = client.get_registered_model(name).description
    except MlflowException as exc:
        if exc.error_code != _NOT_FOUND:
            raise
        raise ModelNotFoundError(
            f"no registered model {name!r} in the registry at {mlflow.get_registry_uri()}"
        ) from exc
    if current and current.strip() and not replace:
        return False
    client.update_registered_model(name, description=_fit(text))
    return True


def describe_version(name: str, version: int, text: str) -> None:
    """Set the description of ``version`` of ``name`` (Markdown, as the MLflow UI shows it)."""
    client = _client()
    _check_version(client, name, version)
    client.update_model_version(name, str(version), description=_fit(text))


__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "ModelNotFoundError",
    "PromotionDecision",
    "PromotionError",
    "PromotionRule",
    "apply_promotion",
    "champion_version",
    "decide_promotion",
    "describe_model",
    "describe_version",
    "load_champion",
    "promote",
    "register",
]
