"""Where ``winback`` writes: results on stdout, problems on stderr, library logs with -v.

One :class:`Output` holds the flags a user gave (before or after the command name); the consoles
and Python's logging follow it. Imports nothing heavy: ``winback --help`` loads this module.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

# soft_wrap: long paths and counts stay on one line when output goes to a file or a pipe.
# markup=False: paths and messages may hold brackets ([data.transactions]); styles use Text.
out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)

#: Loggers of libraries that talk at INFO (or warn about their own internals) during a normal
#: run; silenced below ERROR unless --verbose. winback's own loggers keep WARNING.
CHATTY_LOGGERS = (
    "mlflow", "alembic", "optuna", "lightgbm", "pymc", "pymc_marketing", "pytensor", "arviz",
    "matplotlib", "shap", "urllib3", "httpx", "numba", "sqlalchemy", "uvicorn",
)  # fmt: skip


@dataclass
class Output:
    """The output flags of this invocation (the root's and the command's, combined)."""

    quiet: bool = False
    verbose: bool = False
    debug: bool = False


state = Output()


def configure(*, quiet: bool, verbose: bool, debug: bool) -> None:
    """Apply the flags: stdout silenced by --quiet, library logs shown by --verbose."""
    state.quiet, state.verbose, state.debug = quiet, verbose, debug
    out.quiet = quiet
    # MLflow sets its logger's level from this variable when it is imported, which happens
    # later, inside the command that needs it.
    os.environ["MLFLOW_LOGGING_LEVEL"] = "INFO" if verbose else "ERROR"
    level = logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    if verbose:
        logging.basicConfig(
            level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    logging.getLogger().setLevel(level)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(level if verbose else logging.ERROR)
    # A pip-installed PyTensor finds no BLAS; only element-wise maths is done, so it is noise.
    if verbose:
        warnings.filterwarnings("default", message="PyTensor could not link to a BLAS")
    else:
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    quiet_mlflow()


def quiet_mlflow() -> None:
    """Silence MLflow's own stream (``Successfully registered model…``) unless --verbose.

    MLflow prints those lines with ``print`` to a stream of its own, not through logging, so
    levels do not reach them. A no-op until a command has imported MLflow; commands call it again
    once they have.
    """
    streams = sys.modules.get("mlflow.utils.logging_utils")
    if streams is not None:
        streams.MLFLOW_LOGGING_STREAM.enabled = state.verbose
        logging.getLogger("mlflow").setLevel(logging.INFO if state.verbose else logging.ERROR)


@contextmanager
def step(text: str) -> Iterator[None]:
    """A spinner while the block runs, then ``✓ text (1.2s)``."""
    start = time.perf_counter()
    with out.status(text):
        yield
    out.print(done_line(text, time.perf_counter() - start))


def done_line(text: str, seconds: float, detail: str = "") -> Text:
    """``✓ text (1.2s)  detail``: how each finished step is printed."""
    line = Text("✓ ", style="green") + Text(text) + Text(f" ({seconds:.1f}s)", style="dim")
    return line + Text(f"  {detail}") if detail else line


def print_json(document: object) -> None:
    """One JSON document on stdout, for scripts (printed even with --quiet)."""
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    sys.stdout.flush()


def one_line(exc: Exception) -> str | None:
    """The one-line message for an error the user can fix, or None for a bug (a traceback)."""
    # Looked up, not imported: an error of a module that was never loaded cannot have happened.
    errors = sys.modules.get("winback.common.errors")
    if errors is not None and isinstance(exc, errors.WinbackError):
        return str(exc)
    mlflow_errors = sys.modules.get("mlflow.exceptions")
    if mlflow_errors is not None and isinstance(exc, mlflow_errors.MlflowException):
        # A store we could reach but that refused (bad URI scheme, server error, permissions).
        message = " ".join(exc.message.split())
        return (
            f"MLflow store: {message} Check MLFLOW_TRACKING_URI or [tracking] uri in the "
            "config; rerun with --debug for the traceback"
        )
    return None


def usage_line(message: str, usage: str | None, help_command: str | None) -> str:
    """A usage error as one line: what is wrong, then the usage and where help is.

    ``message`` is Click's (``No such option: --bogus``), ``usage`` its usage line
    (``Usage: winback features [OPTIONS]``), ``help_command`` the command that prints help.
    """
    said = " ".join(message.split())
    said = said[:1].lower() + said[1:]
    hint = " ".join(usage.split()) if usage else ""
    if help_command:
        hint += f" ({help_command} for help)" if hint else f"{help_command} for help"
    if not hint:
        return said
    return f"{said} {hint}" if said.endswith((".", "?", "!")) else f"{said}. {hint}"


def error(message: str) -> None:
    """One ``error: …`` line on stderr; messages may quote [data.transactions], never markup."""
    err.print(Text("error: ", style="bold red") + Text(message))


def warning(message: str) -> None:
    """One ``warning: …`` line on stderr."""
    err.print(Text("warning: ", style="yellow") + Text(message))


__all__ = [
    "CHATTY_LOGGERS",
    "Output",
    "configure",
    "done_line",
    "err",
    "error",
    "one_line",
    "out",
    "print_json",
    "quiet_mlflow",
    "state",
    "step",
    "usage_line",
    "warning",
]
