"""Options shared by several commands, declared once, and the decorator that registers a command.

A command asks for the data options with one parameter, ``data: DataOptions`` (config file, the
four table overrides and ``--on-bad-rows``) or ``data: Sources`` (without ``--on-bad-rows``);
:func:`command` expands it into the options on the command line and packs them back into one
object for the body. Every command also takes ``--quiet``, ``--verbose`` and ``--debug`` after
its name, as the root does before it. The pattern is MLflow's ``mlflow/utils/cli_args.py``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from winback.cli import console
from winback.cli.help import EXAMPLES

#: Help panels: the command's own options first, then where the data comes from, then output.
DATA_PANEL = "Data"
OUTPUT_PANEL = "Output"


class OnBadRows(StrEnum):
    """What to do with rows that break the data contract."""

    stop = "stop"
    quarantine = "quarantine"


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="winback.toml with data sources and settings.",
        rich_help_panel=DATA_PANEL,
    ),
]  # fmt: skip
TxOpt = Annotated[
    Path | None,
    typer.Option(help="Transactions file (CSV/Parquet); overrides the config.",
                 rich_help_panel=DATA_PANEL),
]  # fmt: skip
EvOpt = Annotated[
    Path | None,
    typer.Option(help="Engagement events file; overrides the config.", rich_help_panel=DATA_PANEL),
]
CuOpt = Annotated[
    Path | None,
    typer.Option(help="Customers file; overrides the config.", rich_help_panel=DATA_PANEL),
]
CaOpt = Annotated[
    Path | None,
    typer.Option(help="Campaigns (offer history) file.", rich_help_panel=DATA_PANEL),
]
BadOpt = Annotated[
    OnBadRows,
    typer.Option(
        help="stop: refuse bad rows with a message naming file, row and column. "
        "quarantine: leave them out and write them beside the output.",
        rich_help_panel=DATA_PANEL,
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(help="Score as of this date: features use records strictly before it "
                 "(default: the day after the last transaction)."),
]  # fmt: skip
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Model URI: models:/winback@champion (default), models:/winback/3, runs:/…, "
        "or a bundle directory.",
    ),
]
TableOpt = Annotated[
    str | None, typer.Option(help="Table to replace when --out is a database URL.")
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON document on stdout instead of text, for scripts.",
        rich_help_panel=OUTPUT_PANEL,
    ),
]  # fmt: skip
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print only warnings and errors.",
                 rich_help_panel=OUTPUT_PANEL),
]  # fmt: skip
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v",
        help="Also show INFO logs on stderr: winback's, MLflow's (store, registry, model "
        "logging) and those of other libraries that log through Python's logging.",
        rich_help_panel=OUTPUT_PANEL,
    ),
]  # fmt: skip
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug", help="Show the full traceback of an error.", rich_help_panel=OUTPUT_PANEL
    ),
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sources:
    """Where a command's data comes from: a config file and files overriding its tables."""

    config: ConfigOpt = None
    transactions: TxOpt = None
    events: EvOpt = None
    customers: CuOpt = None
    campaigns: CaOpt = None

    @property
    def tables(self) -> dict[str, Path]:
        """The tables named on the command line, which override the config's."""
        names = ("transactions", "events", "customers", "campaigns")
        return {n: p for n in names if (p := getattr(self, n)) is not None}


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataOptions(Sources):
    """:class:`Sources`, and what to do with rows that break the contract."""

    on_bad_rows: BadOpt = OnBadRows.stop


def set_output(*, quiet: bool, verbose: bool, debug: bool) -> None:
    """Apply output flags; a contradiction is a usage error (exit 2)."""
    if quiet and verbose:
        raise typer.BadParameter(
            "--quiet and --verbose contradict each other; choose one", param_hint="--quiet"
        )
    console.configure(quiet=quiet, verbose=verbose, debug=debug)


_FLAGS = (
    inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=QuietOpt),
    inspect.Parameter(
        "verbose", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=VerboseOpt
    ),
    inspect.Parameter("debug", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=DebugOpt),
)
_FLAG_NAMES = tuple(p.name for p in _FLAGS)
_GROUPS = (DataOptions, Sources)
F = TypeVar("F", bound=Callable[..., None])


def _expanded(parameter: inspect.Parameter) -> list[inspect.Parameter]:
    """``parameter`` as the command-line options it stands for."""
    group = parameter.annotation
    if group not in _GROUPS:
        return [parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)]
    hints = typing.get_type_hints(group, include_extras=True)
    return [
        inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name]
        )
        for f in dataclasses.fields(group)
    ]


def command(app: typer.Typer, name: str) -> Callable[[F], F]:
    """Register ``func`` as ``winback NAME``, with its examples, data options and output flags.

    A WinbackError or MlflowException becomes one ``error:`` line and exit code 1 (a traceback
    with ``--debug``), in the installed command and under Typer's test runner alike.
    """

    def register(func: F) -> F:
        own = inspect.signature(func, eval_str=True).parameters.values()
        groups = {p.name: p.annotation for p in own if p.annotation in _GROUPS}
        exposed = [q for p in own for q in _expanded(p)] + list(_FLAGS)

        @functools.wraps(func)
        def run(**kwargs: Any) -> None:
            # Before or after the command name, a flag counts.
            flags = {flag: kwargs.pop(flag) or getattr(console.state, flag) for flag in _FLAG_NAMES}
            set_output(**flags)
            for group_name, group in groups.items():
                fields = [f.name for f in dataclasses.fields(group)]
                kwargs[group_name] = group(**{f: kwargs.pop(f) for f in fields})
            try:
                func(**kwargs)
            except Exception as exc:
                message = console.one_line(exc)
                if message is None or console.state.debug:
                    raise
                console.error(message)
                raise typer.Exit(1) from None

        # Typer reads the options from the signature and its annotations.
        run.__signature__ = inspect.Signature(exposed)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in exposed}
        app.command(name, epilog=EXAMPLES.get(name))(run)
        return func

    return register


__all__ = [
    "AsOfOpt",
    "BadOpt",
    "CaOpt",
    "ConfigOpt",
    "CuOpt",
    "DataOptions",
    "DebugOpt",
    "EvOpt",
    "JsonOpt",
    "ModelOpt",
    "OnBadRows",
    "QuietOpt",
    "Sources",
    "TableOpt",
    "TxOpt",
    "VerboseOpt",
    "command",
    "set_output",
]
