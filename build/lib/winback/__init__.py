"""winback: the shell (CLI and settings) that composes the features, training and serving stages.

Nothing imports this package; it imports the stages below it.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# Set before MLflow is imported: winback reaches no network at run time (no usage telemetry),
# and a batch job's log has no progress bars from artifact downloads. Users may override both.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

try:
    __version__ = version("winback")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
