"""MLflow tracking: where runs go, and what each run records.

The default store is local: an SQLite database at ``<root>/mlruns/mlflow.db`` with artifacts
under ``<root>/mlruns/artifacts``, both absolute, so runs land in the same place whatever the
working directory. A tracking URI passed in (the shell reads ``MLFLOW_TRACKING_URI``) points the
same code at a team server, whose experiments keep the artifact location the server assigns
(another SQLite file keeps its artifacts beside it, as the default store does).

A run records its settings (flattened parameters, plus the whole document as JSON), the data
fingerprint, metrics named ``<split>.<model>.<metric>`` (``test.churn.roc_auc``), frames as CSV
and the :class:`~training.bundle.ModelBundle` as a pyfunc model with its signature and a
synthetic input example. The model is the bundle's JSON directory plus a code file importing
:class:`WinbackPyfunc` from the installed ``winback`` package (never from a source checkout), so
it loads wherever ``winback`` is installed, as its requirements say; :func:`load_logged_model`
names what to do about a model this installation cannot import. Where the run's code and data
came from is recorded by :mod:`training.lineage`.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo
from mlflow.tracking import MlflowClient

from winback.training.bundle import ModelBundle
from winback.training.models import ModelFileError
from winback.training.settings import TrackingSettings
from winback.training.store_lock import check_store_file, sqlite_file, store_lock
from winback.training.store_schema import seed_new_store

# MLflow 3.17 infers schemas for its own agent types when mlflow.pyfunc is first imported and
# warns about their ``Any`` fields. It means to silence that warning, but under warnings-as-errors
# (our pytest setting, ``python -W error``) it escapes and the import fails. Nothing of ours.
_MLFLOW_IMPORT_NOISE = r".*Any type hint is inferred as AnyType"
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=_MLFLOW_IMPORT_NOISE, category=UserWarning)
    from mlflow.pyfunc import PyFuncModel, PythonModel, PythonModelContext

#: Subdirectory of the project root that holds the local store.
STORE_DIR = "mlruns"
#: Name of the bundle directory inside the pyfunc model's artifacts.
BUNDLE_ARTIFACT = "bundle"
#: Metrics shown by :func:`recent_runs` when a run has them, in this order.
KEY_METRICS = (
    "test.ours.active.roc_auc",
    "test.ours.active.pr_auc",
    "test.ours.churn.ece",
    "test.ours.spend.mae",
    "test.ours.spend.aggregate_error",
    "vs_bgnbd.active.roc_auc",
)
#: Installed distributions pinned in the logged model's requirements (mlflow is added by MLflow):
#: winback, whose code runs the model, and the libraries loading and predicting import from it.
#: The model's numbers depend on their versions, so MLflow warns when a loader's differ.
MODEL_REQUIREMENTS = (
    "winback",
    "lightgbm",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "duckdb",
    "pyarrow",
    "pydantic",
)
#: The folders a winback older than the ``winback.<stage>`` layout imported by their bare names.
_OLD_STAGE_MODULES = frozenset({"common", "synthetic", "features", "training", "serving"})
#: MLflow's limits on one parameter (mlflow.utils.validation).
_MAX_PARAM_KEY = 250
_MAX_PARAM_VALUE = 6000
_BAD_KEY_CHARS = re.compile(r"[^\w.\- /]")
#: Run tag listing metrics that were not logged because they are undefined.
SKIPPED_METRICS_TAG = "winback.skipped_metrics"


def _store(root: Path) -> Path:
    return root.resolve() / STORE_DIR


def resolve_tracking_uri(root: Path, uri: str | None) -> str:
    """``uri`` when given, else the local store ``sqlite:///<root>/mlruns/mlflow.db`` (absolute)."""
    if uri:
        return uri
    return f"sqlite:///{(_store(root) / 'mlflow.db').as_posix()}"


def _sqlite_artifact_location(uri: str) -> str | None:
    """``artifacts/`` beside an SQLite store's file, as a ``file://`` URI; None for other stores.

    Left to itself MLflow gives a new experiment of an SQLite store the artifact location
    ``./mlruns``, resolved against whatever the working directory is at the time.
    """
    prefix = "sqlite:///"
    database = uri[len(prefix) :].split("?", 1)[0] if uri.startswith(prefix) else ""
    if not database or database == ":memory:":
        return None
    return (Path(database).resolve().parent / "artifacts").as_uri()


def configure(settings: TrackingSettings, root: Path) -> str:
    """Point MLflow's tracking and registry at the store and make sure the experiment exists.

    An experiment created in an SQLite store (the local default ``<root>/mlruns/mlflow.db``,
    or a ``sqlite:`` URI passed in) keeps its artifacts in ``artifacts/`` beside the database
    file, as an absolute ``file://`` URI; MLflow would otherwise put them under the working
    directory. A server assigns its own. Sets the active experiment; returns the tracking URI.
    """
    uri = resolve_tracking_uri(root, settings.uri)
    # One process at a time creates an SQLite store's schema and experiment (store_lock); a new
    # one starts from the cached empty schema (store_schema).
    with store_lock(uri):
        database = sqlite_file(uri)
        if database is not None:
            seed_new_store(database)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        if client.get_experiment_by_name(settings.experiment) is None:
            client.create_experiment(
                settings.experiment, artifact_location=_sqlite_artifact_location(uri)
            )
        mlflow.set_experiment(settings.experiment)
    return uri


class WinbackPyfunc(PythonModel):
    """The pyfunc face of a :class:`ModelBundle`: features in, the four predictions out."""

    def __init__(self) -> None:
        self.bundle: ModelBundle | None = None

    def load_context(self, context: PythonModelContext) -> None:
        """Load the bundle from the model's ``bundle`` artifact directory."""
        self.bundle = ModelBundle.load(Path(context.artifacts[BUNDLE_ARTIFACT]))

    # The pandas annotation keeps MLflow from warning about a predict without type hints; MLflow
    # infers nothing from it (the signature comes from the input example).
    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """``churn_probability, decline_probability, expected_orders, expected_spend`` per row."""
        if self.bundle is None:
            self.load_context(context)
        bundle = self.bundle
        if bundle is None:  # pragma: no cover - load_context always sets it
            raise RuntimeError("WinbackPyfunc.predict called before load_context")
        return bundle.predict(model_input)


#: The model's code file: MLflow runs it to get the model (models from code, no pickle). Every
#: model logged since winback's stages became ``winback.<stage>`` imports WinbackPyfunc from
#: ``winback.training.tracking``: keep it importable there.
_MODEL_CODE = '''"""winback's pyfunc model: the bundle in the model's artifacts, run by winback."""

import mlflow

from winback.training.tracking import WinbackPyfunc

mlflow.models.set_model(WinbackPyfunc())
'''


def _pip_requirements() -> list[str]:
    """Pins of the installed packages the model needs; read locally, never resolved online."""
    pins = []
    for name in MODEL_REQUIREMENTS:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def _plain_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with an object-dtype column index.

    pandas 3 gives string labels a ``str`` index, which MLflow 3.17 compares with a ``range``
    when it saves an input example, a comparison pandas deprecates with a warning.
    """
    out = frame.copy()
    out.columns = pd.Index([str(c) for c in frame.columns], dtype=object)
    return out


def log_bundle(bundle: ModelBundle, *, name: str = "model") -> ModelInfo:
    """Log ``bundle`` to the active run as a pyfunc model with signature and input example.

    The model is logged as code (:data:`_MODEL_CODE`, which imports :class:`WinbackPyfunc`)
    rather than pickled: MLflow 3 refuses to unpickle models by default. Its requirements are
    pinned from the installed packages without inference, so nothing is imported or downloaded
    at log time. Returns MLflow's ``ModelInfo``; its ``model_uri`` is what
    :func:`training.registry.register` takes.
    """
    example = _plain_columns(bundle.input_example())
    signature = infer_signature(example, _plain_columns(bundle.predict(example)))
    with tempfile.TemporaryDirectory(prefix="winback-model-") as tmp:
        directory = bundle.save(Path(tmp) / BUNDLE_ARTIFACT)
        code = Path(tmp) / "winback_model.py"
        code.write_text(_MODEL_CODE, encoding="utf-8")
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(code),
            artifacts={BUNDLE_ARTIFACT: str(directory)},
            signature=signature,
            input_example=example,
            pip_requirements=_pip_requirements(),
        )


def _missing_module(exc: BaseException) -> str | None:
    """The module whose absence caused ``exc`` (MLflow wraps the ImportError), or None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ModuleNotFoundError) and seen.name:
            return seen.name
        seen = seen.__cause__ or seen.__context__
    return None


def load_logged_model(uri: str) -> PyFuncModel:
    """``mlflow.pyfunc.load_model(uri)``, refusing in plain words a model it cannot read.

    A model logged by a winback older than the ``winback.<stage>`` layout runs code that imports
    ``training.tracking``, which an installed winback no longer has; one whose bundle another
    winback version wrote cannot be read either: both raise :class:`ModelFileError` saying to
    retrain. A model needing a library that is not installed names it and where its
    requirements are listed. Each message starts with ``model <uri>``; other failures are
    MLflow's own.
    """
    try:
        return mlflow.pyfunc.load_model(uri)
    except ModelFileError as exc:
        raise ModelFileError(f"model {uri}: {exc}") from exc
    except MlflowException as exc:
        missing = _missing_module(exc)
        if missing is None:
            raise
        if missing.split(".")[0] in _OLD_STAGE_MODULES:
            raise ModelFileError(
                f"model {uri} was saved by an older winback: its code imports {missing!r}, "
                f"which winback now installs as 'winback.{missing}'. Retrain with `winback "
                "train` (or load it with the winback version that saved it)"
            ) from exc
        raise ModelFileError(
            f"model {uri} needs the Python module {missing!r}, which is not installed here. "
            f"Install the model's requirements: mlflow.pyfunc.get_model_dependencies({uri!r}) "
            "lists them"
        ) from exc


def _param_key(key: str) -> str:
    return _BAD_KEY_CHARS.sub("_", key)[:_MAX_PARAM_KEY]


def _param_value(value: Any) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        text = json.dumps([_plain(v) for v in value])
    else:
        text = str(_plain(value))
    if len(text) > _MAX_PARAM_VALUE:
        text = text[: _MAX_PARAM_VALUE - 1] + "…"
    return text


def _plain(value: Any) -> Any:
    """JSON-friendly form of a settings value (paths and dates as text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return str(value)


def _flatten(settings: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{name}.")
        else:
            yield name, value


def flatten_settings(settings: Mapping[str, Any]) -> dict[str, str]:
    """Nested settings as MLflow parameters: dotted keys, text values within MLflow's limits."""
    return {_param_key(k): _param_value(v) for k, v in _flatten(settings)}


def log_settings(settings: Mapping[str, Any]) -> None:
    """Log settings as flattened parameters and the whole document as ``settings.json``.

    Values longer than MLflow's 6,000-character parameter limit are cut (and end with "…");
    ``settings.json`` keeps them whole.
    """
    mlflow.log_params(flatten_settings(settings))
    mlflow.log_dict(_plain(settings), "settings.json")


def log_fingerprint(fingerprint: Mapping[str, Any]) -> None:
    """Log the data fingerprint as ``data.*`` parameters and ``data_fingerprint.json``."""
    mlflow.log_params({f"data.{k}": v for k, v in flatten_settings(fingerprint).items()})
    mlflow.log_dict(_plain(fingerprint), "data_fingerprint.json")


def log_frame(frame: pd.DataFrame, artifact_file: str) -> None:
    """Log ``frame`` to the active run as CSV at ``artifact_file`` (e.g. ``eval/lift.csv``)."""
    with tempfile.TemporaryDirectory(prefix="winback-frame-") as tmp:
        path = Path(tmp) / Path(artifact_file).name
        frame.to_csv(path, index=False)
        directory = Path(artifact_file).parent.as_posix()
        mlflow.log_artifact(str(path), artifact_path=None if directory == "." else directory)


def log_metrics_prefixed(prefix: str, metrics: Mapping[str, float]) -> list[str]:
    """Log ``metrics`` as ``<prefix>.<name>``; return the names skipped as undefined.

    MLflow would store NaN (and clip infinities), but an undefined metric (ROC AUC of a period
    with one class) must not be compared as a number: it is left out, and its name joins the
    comma-separated run tag ``winback.skipped_metrics`` so the run says why it is missing.
    """
    logged: dict[str, float] = {}
    skipped: list[str] = []
    for name, value in metrics.items():
        key = _param_key(f"{prefix}.{name}" if prefix else name)
        if math.isfinite(float(value)):
            logged[key] = float(value)
        else:
            skipped.append(key)
    if logged:
        mlflow.log_metrics(logged)
    if skipped:
        run = mlflow.active_run() or mlflow.start_run()
        tags = MlflowClient().get_run(run.info.run_id).data.tags
        names = {*tags.get(SKIPPED_METRICS_TAG, "").split(","), *skipped} - {""}
        mlflow.set_tag(SKIPPED_METRICS_TAG, ",".join(sorted(names)))
    return skipped


def _versions_by_run(client: MlflowClient, name: str) -> dict[str, tuple[int, str]]:
    """Registered version and aliases of each run's model (the newest version per run)."""
    try:
        versions = client.search_model_versions(f"name = '{name}'")
        aliases = client.get_registered_model(name).aliases
    except mlflow.exceptions.MlflowException:  # nothing registered under that name yet
        return {}
    # search_model_versions leaves ModelVersion.aliases empty on some stores; the registered
    # model always carries them.
    by_version: dict[int, list[str]] = {}
    for alias, number in aliases.items():
        by_version.setdefault(int(number), []).append(alias)
    out: dict[str, tuple[int, str]] = {}
    for mv in versions:
        number = int(mv.version)
        if mv.run_id and (mv.run_id not in out or out[mv.run_id][0] < number):
            out[mv.run_id] = (number, ",".join(sorted(by_version.get(number, []))))
    return out


def open_experiment(settings: TrackingSettings, root: Path) -> tuple[MlflowClient, str] | None:
    """A client on the store and the experiment's id, or None when neither exists yet.

    Never creates anything: a local store that is not there stays absent. Leaves MLflow's
    global state (tracking URI, active experiment) alone.
    """
    if settings.uri is None and not (_store(root) / "mlflow.db").exists():
        return None  # no local store yet; opening one would create it
    uri = resolve_tracking_uri(root, settings.uri)
    check_store_file(uri)  # MLflow would retry a database that is a folder for minutes
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(settings.experiment)
    return None if experiment is None else (client, experiment.experiment_id)


def recent_runs(settings: TrackingSettings, root: Path, limit: int = 10) -> pd.DataFrame:
    """The newest runs first: id, name, start time (UTC), status, key metrics, registered version.

    Metric columns are the :data:`KEY_METRICS` some listed run has; ``version`` and ``aliases``
    are empty for runs whose model was not registered under ``settings.registered_model``.
    Reads the store without changing MLflow's global state.
    """
    base = ["run_id", "run_name", "start_time", "status"]
    empty = pd.DataFrame(columns=[*base, "version", "aliases"])
    opened = open_experiment(settings, root)
    if opened is None:
        return empty
    client, experiment_id = opened
    runs = client.search_runs(
        [experiment_id], order_by=["attributes.start_time DESC"], max_results=limit
    )
    versions = _versions_by_run(client, settings.registered_model)
    metrics = [m for m in KEY_METRICS if any(m in r.data.metrics for r in runs)]
    rows = []
    for run in runs:
        version_, aliases = versions.get(run.info.run_id, (None, ""))
        rows.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "start_time": pd.Timestamp(run.info.start_time, unit="ms", tz="UTC"),
                "status": run.info.status,
                **{m: run.data.metrics.get(m, math.nan) for m in metrics},
                "version": version_,
                "aliases": aliases,
            }
        )
    frame = pd.DataFrame(rows, columns=[*base, *metrics, "version", "aliases"])
    frame["version"] = frame["version"].astype("Int64")
    return frame


#: Set on every finished ``winback train`` run (by the promotion gate), and only on those.
TRAINING_TAG = "promotion.promotion_decision"


@dataclass(frozen=True)
class TrainingRun:
    """A finished ``winback train`` run, where its store is, and its standing in the registry."""

    run: Run
    #: The tracking URI of the store holding the run.
    uri: str
    version: int | None
    #: The registered version's aliases (``champion``, ``challenger``).
    aliases: list[str]
    #: The version the ``champion`` alias points at, if any.
    champion: int | None


def latest_training_run(tracking: TrackingSettings, root: Path) -> TrainingRun | None:
    """The newest finished training run in the store, with its registry standing (or None)."""
    opened = open_experiment(tracking, root)
    if opened is None:
        return None
    client, experiment_id = opened
    uri = resolve_tracking_uri(root, tracking.uri)
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{TRAINING_TAG}` LIKE '%'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        return None
    run = runs[0]
    name = tracking.registered_model
    try:
        found = client.search_model_versions(f"name = '{name}' and run_id = '{run.info.run_id}'")
        aliases = client.get_registered_model(name).aliases
    except MlflowException:  # the model was never registered under this name
        return TrainingRun(run, uri, None, [], None)
    version = max((int(v.version) for v in found), default=None)
    champion = aliases.get("champion")
    return TrainingRun(
        run,
        uri,
        version,
        sorted(a for a, v in aliases.items() if version is not None and int(v) == version),
        None if champion is None else int(champion),
    )


__all__ = [
    "BUNDLE_ARTIFACT",
    "KEY_METRICS",
    "MODEL_REQUIREMENTS",
    "SKIPPED_METRICS_TAG",
    "TRAINING_TAG",
    "TrackingSettings",
    "TrainingRun",
    "WinbackPyfunc",
    "configure",
    "flatten_settings",
    "latest_training_run",
    "load_logged_model",
    "log_bundle",
    "log_fingerprint",
    "log_frame",
    "log_metrics_prefixed",
    "log_settings",
    "open_experiment",
    "recent_runs",
    "resolve_tracking_uri",
]
