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

import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from winback import __version__
from winback.cli import console, data, serving, summary, training
from winback.cli.help import ROOT_EPILOG
from winback.cli.options import DebugOpt, QuietOpt, VerboseOpt, set_output

try:  # Typer vendors Click since 0.2x; its errors are that copy's, not the click package's
    from typer._click import exceptions as clicks
except ImportError:  # pragma: no cover (older Typer)
    from click import exceptions as clicks  # type: ignore[no-redef]


class _Root(TyperGroup):
    """The root command: usage errors (exit 2) are one ``error:`` line, like every other error.

    Typer would draw them in a box of several lines, unlike the rest of the CLI's errors.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; a Click error becomes one ``error:`` line and its exit code."""
        given = (args, prog_name, complete_var)
        if not standalone_mode:
            return super().main(*given, False, windows_expand_args, **extra)
        try:
            # Not standalone: Click errors are raised here, and an Exit comes back as its code.
            code = super().main(*given, False, windows_expand_args, **extra)
        except clicks.NoArgsIsHelpError as exc:
            sys.exit(exc.exit_code)  # the help is printed already
        except clicks.UsageError as exc:
            console.error(console.usage_line(exc.format_message(), *self._usage(exc, args)))
            sys.exit(exc.exit_code)
        except clicks.ClickException as exc:
            console.error(" ".join(exc.format_message().split()))
            sys.exit(exc.exit_code)
        except typer.Abort:
            console.error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def _usage(self, exc: Any, args: Sequence[str] | None) -> tuple[str | None, str]:
        """The usage line of the command that failed, and the command that prints its help."""
        ctx = exc.ctx
        if ctx is not None:
            return ctx.get_usage(), f"{ctx.command_path} {ctx.help_option_names[0]}"
        # Some parse errors (an option without its value) come without their command.
        given = sys.argv[1:] if args is None else args
        name = next((a for a in given if a in self.commands), None)
        return None, " ".join(p for p in ("winback", name, "-h") if p)


app = typer.Typer(
    cls=_Root,
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
