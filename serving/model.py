"""Load the model a scoring run uses, and know which model it is (name, version, source)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from winback.common import WinbackError
from winback.training.bundle import BUNDLE_FILE, ModelBundle
from winback.training.models import ModelFileError
from winback.training.tracking import load_logged_model

_REGISTRY_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")


class ModelLoadError(WinbackError):
    """The model to score with cannot be found or read."""


@dataclass(frozen=True)
class ServedModel:
    """A model bundle and where it came from, as recorded in every output row."""

    bundle: ModelBundle
    name: str
    version: str
    uri: str
    #: When the model was registered (a registry version) or saved (a bundle folder); None for
    #: other URIs.
    created_at: datetime | None = None


def load_model(uri: str) -> ServedModel:
    """The bundle behind ``uri``: ``models:/name@alias``, ``models:/name/3``, ``runs:/…`` or a path.

    A path may be a bundle directory (``bundle.json``) or a logged MLflow model directory.
    """
    path = Path(uri)
    if path.is_dir() and (path / BUNDLE_FILE).exists():
        saved = datetime.fromtimestamp((path / BUNDLE_FILE).stat().st_mtime, UTC)
        return ServedModel(_read(path), name=path.name, version="local", uri=uri, created_at=saved)
    name, version, created = _registry_identity(uri)
    try:
        model = load_logged_model(uri)
    except ModelFileError as exc:  # its message names the model and what to do
        raise ModelLoadError(str(exc)) from exc
    except (MlflowException, OSError) as exc:
        raise ModelLoadError(
            f"cannot load model {uri!r} from {mlflow.get_tracking_uri()}: {_first_line(exc)}. "
            "Train one with `winback train`, list them with `winback runs`, or pass --model"
        ) from exc
    bundle = getattr(model.unwrap_python_model(), "bundle", None)
    if not isinstance(bundle, ModelBundle):
        raise ModelLoadError(f"model {uri!r} is not a winback model (no model bundle inside)")
    return ServedModel(bundle, name=name, version=version, uri=uri, created_at=created)


def _read(path: Path) -> ModelBundle:
    try:
        return ModelBundle.load(path)
    except ModelFileError as exc:
        raise ModelLoadError(str(exc)) from exc


def _registry_identity(uri: str) -> tuple[str, str, datetime | None]:
    """Name, version and registration time of a registry URI (alias resolved); else (uri, "")."""
    match = _REGISTRY_URI.match(uri)
    if match is None:
        return uri, "", None
    name = match["name"]
    client = MlflowClient()
    try:
        if match["version"]:
            found = client.get_model_version(name, match["version"])
        else:
            found = client.get_model_version_by_alias(name, match["alias"])
    except MlflowException as exc:
        if match["version"]:  # loading it says what is wrong, as before
            return name, match["version"], None
        raise ModelLoadError(
            f"no model {name!r} with alias {match['alias']!r} in the registry at "
            f"{mlflow.get_registry_uri()}: {_first_line(exc)}. Train one with `winback train` "
            "or choose one with `winback promote`"
        ) from exc
    stamp = found.creation_timestamp
    created = datetime.fromtimestamp(stamp / 1000, UTC) if stamp else None
    return name, str(found.version), created


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


__all__ = ["ModelLoadError", "ServedModel", "load_model"]
