"""Helpers every layer may import: errors, time, atomic output, self-contained HTML and figures.

This package sits below the stages and imports none of them.
"""

from winback.common.errors import DataContractError, DataSourceError, SettingsError, WinbackError
from winback.common.output import (
    atomic_path,
    output_format,
    publish_together,
    write_frame,
    write_frame_as,
    write_query,
)
from winback.common.timestamps import to_utc_naive

__all__ = [
    "DataContractError",
    "DataSourceError",
    "SettingsError",
    "WinbackError",
    "atomic_path",
    "output_format",
    "publish_together",
    "to_utc_naive",
    "write_frame",
    "write_frame_as",
    "write_query",
]
