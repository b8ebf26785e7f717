"""The project a command works on: its settings, its data and its MLflow store.

Imported inside the commands that need it, never at start: it loads the stages (pandas, DuckDB,
MLflow), which ``winback --help`` has no use for.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from winback.cli import console
from winback.cli.inputs import check_config, check_reachable
from winback.cli.options import DataOptions, Sources
from winback.common import WinbackError
from winback.features import Dataset, load_dataset, load_summary, write_quarantine
from winback.settings import Settings, load_settings
from winback.training.settings import TrackingSettings


def settings_for(sources: Sources) -> Settings:
    """The settings of the config, with the tables named on the command line instead of its own."""
    settings = load_settings(check_config(sources.config), sources.tables)
    if settings.data.transactions is None:
        config = sources.config
        where = f"{config} has no [data.transactions] section" if config else "no --config"
        raise WinbackError(
            f"no transactions to read ({where}): pass --transactions PATH, or --config "
            "winback.toml with a [data.transactions] section naming the file or table"
        )
    return settings


def load(settings: Settings, options: DataOptions, beside: Path | None) -> Dataset:
    """Read and check the data; print read = used + quarantined; quarantine beside ``beside``."""
    with console.step("Reading and checking the data"):
        dataset = load_dataset(
            settings.data,
            on_bad_rows=options.on_bad_rows.value,
            engine=settings.engine,
            load_time=now(),
        )
    # Written every run: it also removes a stale quarantine file once its rows have been fixed.
    written = write_quarantine(dataset, beside) if beside is not None else None
    console.out.print(load_summary(dataset, written))
    for note in dataset.notes:
        console.warning(note)
    return dataset


def now() -> datetime:
    """The load time: records stamped after it cannot have happened yet."""
    return datetime.now(UTC).replace(tzinfo=None)


def tracking_settings(settings: Settings) -> TrackingSettings:
    """The tracking settings in force, with a server that is down refused at once."""
    # MLflow is loaded by now: its own stream follows --verbose too.
    console.quiet_mlflow()
    # The shell, not the library, reads the environment: MLFLOW_TRACKING_URI wins over the file.
    from_env = os.environ.get("MLFLOW_TRACKING_URI")
    uri = from_env or settings.tracking.uri
    if uri:
        where = "MLFLOW_TRACKING_URI" if from_env else f"[tracking] uri in {settings.source}"
        check_reachable(uri, where)
    return settings.tracking.model_copy(update={"uri": uri})


def document(settings: Settings) -> dict[str, object]:
    """Every setting of the run as plain data, for the MLflow run's parameters."""
    parts: dict[str, object] = {
        name: getattr(settings, name).model_dump(mode="json")
        for name in ("features", "labels", "segments", "snapshots", "training", "engine")
    }
    parts["data"] = settings.data.model_dump(mode="json", exclude_none=True)
    return parts


__all__ = ["document", "load", "now", "settings_for", "tracking_settings"]
