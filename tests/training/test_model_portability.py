"""A logged model loads wherever winback is installed, and an older one is refused in words."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from importlib.metadata import version
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
from winback.serving.model import ModelLoadError, load_model
from winback.training.bundle import ModelBundle
from winback.training.models import ModelFileError
from winback.training.registry import (
    PromotionRule,
    apply_promotion,
    decide_promotion,
    load_champion,
    register,
)
from winback.training.tracking import (
    MODEL_REQUIREMENTS,
    TrackingSettings,
    configure,
    load_logged_model,
    log_bundle,
)

pytestmark = pytest.mark.filterwarnings(MLFLOW_SQLALCHEMY_NOISE)

REPO = Path(__file__).resolve().parents[2]
#: The code file of every model logged before the stages installed as winback.<stage>.
OLD_MODEL_CODE = '''"""winback's pyfunc model, as logged before winback 0.1's one namespace."""

import mlflow

from training.tracking import WinbackPyfunc

mlflow.models.set_model(WinbackPyfunc())
'''
#: Run in a fresh interpreter: load the model, predict the rows, say where its class came from.
LOAD_ELSEWHERE = """
import importlib.util, sys
from pathlib import Path

repo = Path(sys.argv[4])
assert all(Path(p or ".").resolve() != repo for p in sys.path), sys.path
for bare in ("training", "features", "serving", "common"):
    assert importlib.util.find_spec(bare) is None, bare

import mlflow.pyfunc
import pandas as pd

model = mlflow.pyfunc.load_model(sys.argv[1])
model.predict(pd.read_parquet(sys.argv[2])).to_parquet(sys.argv[3])
print(type(model.unwrap_python_model()).__module__)
"""


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("portability-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_store: Path):
    isolate_mlflow(monkeypatch)
    seed_store(empty_store, tmp_path)
    configure(TrackingSettings(), tmp_path)
    yield
    end_runs()


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    return tiny_bundle(seed=7)


def logged(bundle: ModelBundle) -> str:
    with mlflow.start_run():
        return log_bundle(bundle).model_uri


@pytest.fixture
def installed_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Import as an installed winback does: the checkout (pytest puts it first) off sys.path.

    Otherwise the bare folder ``training`` beside pyproject.toml would stand in for an old
    winback's package and the old model would load by accident.
    """
    on_path = [p for p in sys.path if Path(p or ".").resolve() != REPO]
    monkeypatch.setattr(sys, "path", on_path)
    monkeypatch.chdir(tmp_path)
    for bare in ("training", "features", "serving", "common"):
        assert bare not in sys.modules, bare
        assert importlib.util.find_spec(bare) is None, bare


def make_old(store: Path) -> None:
    """Rewrite the one logged model's code as a winback older than winback.<stage> wrote it."""
    (code,) = (store / "mlruns" / "artifacts").rglob("winback_model.py")
    code.write_text(OLD_MODEL_CODE, encoding="utf-8")


def test_requirements_pin_winback_and_the_libraries_it_runs_the_model_with(
    tmp_path: Path, bundle: ModelBundle
) -> None:
    uri = logged(bundle)
    model_dir = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "m")))
    pins = (model_dir / "requirements.txt").read_text().split()
    expected = {f"{name}=={version(name)}" for name in ("mlflow", *MODEL_REQUIREMENTS)}
    assert set(pins) == expected
    assert f"winback=={version('winback')}" in pins


def test_the_model_loads_in_a_fresh_process_away_from_the_checkout(
    tmp_path: Path, bundle: ModelBundle
) -> None:
    uri = logged(bundle)
    model_dir = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "model"))
    rows = scoring_frame(rows=30)
    rows.to_parquet(tmp_path / "rows.parquet")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # -I: no script directory or working directory on sys.path, no PYTHON* variables, no user
    # site; the environment's site-packages (where winback is installed) stays.
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            LOAD_ELSEWHERE,
            model_dir,
            str(tmp_path / "rows.parquet"),
            str(tmp_path / "predicted.parquet"),
            str(REPO),
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "winback.training.tracking"
    # MLflow compares the requirements with the environment and logs any mismatch.
    assert " WARNING " not in done.stderr, done.stderr
    assert "mismatch" not in done.stderr, done.stderr
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "predicted.parquet").reset_index(drop=True),
        bundle.predict(rows).reset_index(drop=True),
    )


@pytest.mark.usefixtures("installed_only")
def test_a_model_from_before_the_winback_namespace_says_to_retrain(
    tmp_path: Path, bundle: ModelBundle
) -> None:
    uri = logged(bundle)
    make_old(tmp_path)
    with pytest.raises(ModelFileError) as caught:
        load_logged_model(uri)
    message = str(caught.value)
    assert message.startswith(f"model {uri} was saved by an older winback")
    assert "'training'" in message and "winback.training" in message
    assert "Retrain with `winback train`" in message
    with pytest.raises(ModelLoadError, match="Retrain with `winback train`") as served:
        load_model(uri)
    assert str(served.value) == message


@pytest.mark.usefixtures("installed_only")
def test_an_old_champion_is_refused_with_the_same_words(
    tmp_path: Path, bundle: ModelBundle
) -> None:
    uri = logged(bundle)
    version_ = register(uri, "winback")
    apply_promotion(
        "winback", version_, decide_promotion({"m": 0.5}, None, PromotionRule(metric="m"))
    )
    make_old(tmp_path)
    with pytest.raises(ModelFileError, match=r"models:/winback@champion was saved by an older"):
        load_champion("winback")


def test_a_model_whose_library_is_missing_names_it(tmp_path: Path, bundle: ModelBundle) -> None:
    uri = logged(bundle)
    (code,) = (tmp_path / "mlruns" / "artifacts").rglob("winback_model.py")
    code.write_text("import winback_plugin_not_installed\n" + OLD_MODEL_CODE, encoding="utf-8")
    with pytest.raises(ModelFileError, match="'winback_plugin_not_installed', which is not"):
        load_logged_model(uri)


def test_a_bundle_written_by_another_version_says_to_retrain(
    tmp_path: Path, bundle: ModelBundle
) -> None:
    uri = logged(bundle)
    (document,) = (tmp_path / "mlruns" / "artifacts").rglob("bundle.json")
    document.write_text(document.read_text().replace('"version": 2', '"version": 1', 1))
    with pytest.raises(ModelFileError, match=r"bundle version 1, .*Retrain with `winback train`"):
        load_logged_model(uri)
