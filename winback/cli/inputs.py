"""Checks of what a user typed, made before any slow work: dates, output names, files, stores.

Each failure is a :class:`WinbackError` whose one line says what is wrong, where (the option or
the setting) and what to do, so a typo costs a second, not a data load or a training run.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from winback.common import WinbackError
from winback.common.output import FORMATS, output_format
from winback.common.timestamps import to_utc_naive
from winback.serving.output import is_database_url

#: Seconds to wait for an MLflow server to accept a connection before calling it unreachable.
CONNECT_TIMEOUT = 5.0


def check_date(value: str | None, option: str) -> str | None:
    """``value`` unchanged if it reads as a date; otherwise an error naming ``option``."""
    if value is None:
        return None
    try:
        to_utc_naive(value)
    except (WinbackError, ValueError) as exc:
        raise WinbackError(
            f"{option} {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2024-10-01"
        ) from exc
    return value


def check_output_file(path: Path | None, option: str = "--out") -> Path | None:
    """``path`` unchanged if its extension names a format we write; otherwise an error."""
    if path is None:
        return None
    try:
        output_format(path)
    except WinbackError as exc:
        names = " or ".join(FORMATS)
        raise WinbackError(
            f"{option} {path}: unknown file type {path.suffix or '(no extension)'!r}; "
            f"end the name in {names}, e.g. {path.with_suffix('.parquet').name}"
        ) from exc
    return path


def check_output_target(target: str, option: str = "--out") -> str:
    """A file name with a known extension, or a database URL (checked when written)."""
    if not is_database_url(target):
        try:
            check_output_file(Path(target), option)
        except WinbackError as exc:
            raise WinbackError(f"{exc}, or give a database URL with --table NAME") from exc
    return target


def check_config(path: Path | None) -> Path | None:
    """``path`` unchanged if it is a file; otherwise an error saying where we looked."""
    if path is not None and not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "not found"
        raise WinbackError(
            f"config file {path} {what} (looked from {Path.cwd()}). Pass the path of your "
            "winback.toml with --config, or name the data with --transactions PATH"
        )
    return path


def check_reachable(uri: str, where: str) -> None:
    """Refuse at once an MLflow server that does not accept connections.

    MLflow itself retries a refused connection with backoff for minutes before it fails with a
    traceback; one quick connect turns that into a line the user can act on. Only ``http(s)``
    stores are probed: files and databases fail fast on their own.
    """
    parts = urlsplit(uri)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    # The URI may carry a password: name only scheme, host and port.
    shown = f"{parts.scheme}://{parts.hostname}:{port}"
    try:
        with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise WinbackError(
            f"MLflow tracking server {shown} (from {where}) is unreachable: {reason}. Start the "
            f"server or fix {where}; unset it to use the local store mlruns/"
        ) from exc


__all__ = [
    "CONNECT_TIMEOUT",
    "check_config",
    "check_date",
    "check_output_file",
    "check_output_target",
    "check_reachable",
]
