"""winback: the shell (CLI and settings) that composes the features, training and serving stages.

Nothing imports this package; it imports the stages below it.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# Set before MLflow is imported: winback reaches no network at run time (no usage telemetry),
# and a batch job's log has no progress bars from artifact downloads. Users may override both.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# LightGBM's OpenMP threads sleep while they wait for work instead of spinning. Read once, when
# LightGBM loads its OpenMP runtime, so it is set here, before any stage imports LightGBM: beside
# other CPU-bound work (another train, a test worker) spinning threads took the cores that work
# needed, and fits ran several times slower (docs/2026-12-05-training-speed.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("winback")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
