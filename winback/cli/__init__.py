"""The ``winback`` command: a root app and the command modules it registers.

Each command parses options, builds settings, calls one library function and prints a summary
whose counts add up. The command modules (:mod:`~winback.cli.data`, :mod:`~winback.cli.training`,
:mod:`~winback.cli.serving`, :mod:`~winback.cli.summary`) never import this one; they share
:mod:`~winback.cli.options` and :mod:`~winback.cli.console`. Heavy libraries (pandas, MLflow,
LightGBM…) are imported inside the command that runs, so ``winback --help`` starts at once.

Exit codes: 0 success, 1 a problem with the data, settings, files, model or MLflow store (one
line on stderr says what to do; ``--debug`` shows the traceback instead), 2 a usage error.
"""

from __future__ import annotations

from typing import Annotated

import typer

from winback import __version__
from winback.cli import console, data, serving, summary, training
from winback.cli.help import ROOT_EPILOG
from winback.cli.options import DebugOpt, QuietOpt, VerboseOpt, set_output

app = typer.Typer(
    name="winback",
    epilog=ROOT_EPILOG,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Help is Markdown: `code`, **bold** and fenced examples; brackets such as [data.events]
    # stay literal (Rich markup would swallow them).
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
# The commands, in the order of a project's life; each module registers its own.
for module in (data, training, serving, summary):
    app.add_typer(module.app)


def _version(value: bool) -> None:
    if value:
        console.out.print(f"winback {__version__}")
        raise typer.Exit


@app.callback()
def _main(
    debug: DebugOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Churn prediction and win-back: features, models, scores, offer lists and an API.

    winback predicts which customers are slipping away, what they are worth, and which of them
    merit a retention or win-back offer, and says why. Each command is one stage: `simulate` or
    bring your data, `check` it against the contract, build `features`, `segments` and
    `snapshots`, `train` and compare models, then `score`, `list` who merits an offer within a
    budget, and later `evaluate` the list and watch `drift`; `winback summary` says where
    everything is. Settings come from one `winback.toml` (`--config`); paths in it are
    relative to it. `--quiet`, `--verbose` and `--debug` go before or after the command name.
    """
    set_output(quiet=quiet, verbose=verbose, debug=debug)


def main() -> None:
    """Entry point of the ``winback`` script."""
    app()


__all__ = ["app", "main"]
