"""The ``winback`` command: one Typer app, one thin command per stage.

Each command parses options, builds settings, calls one library function and prints a summary
whose counts add up. A :class:`WinbackError` becomes one clear line on stderr and exit code 1;
``--debug`` shows the traceback instead.

Exit codes: 0 success, 1 a problem with the data, settings or files (the message says what to
do), 2 a usage error (unknown option, missing argument).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from mlflow.exceptions import MlflowException
from rich.console import Console
from rich.text import Text

from winback import __version__
from winback.cli_help import EXAMPLES, ROOT_EPILOG
from winback.cli_inputs import (
    check_config,
    check_date,
    check_output_file,
    check_reachable,
)
from winback.common import WinbackError, write_frame
from winback.common.timestamps import to_utc_naive
from winback.features import (
    Dataset,
    build_features,
    build_segments,
    build_snapshots,
    describe_features,
    load_dataset,
    load_summary,
    plan_features,
    write_features,
    write_quarantine,
)
from winback.settings import Settings, load_settings, project_root
from winback.synthetic import simulate, write_world
from winback.training.pipeline import comparison_table
from winback.training.pipeline import verdict as baseline_verdict
from winback.training.registry import promote
from winback.training.run import train_and_register
from winback.training.tracking import TrackingSettings, configure, recent_runs

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
# soft_wrap: long paths and counts stay on one line when output goes to a file or a pipe.
# markup=False: paths and messages may hold brackets ([data.transactions]); styles use Text.
out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
_state = {"debug": False, "quiet": False}


class OnBadRows(StrEnum):
    """What to do with rows that break the data contract."""

    stop = "stop"
    quarantine = "quarantine"


class FileFormat(StrEnum):
    """File format of the simulated tables."""

    parquet = "parquet"
    csv = "csv"


ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="winback.toml with data sources and settings.")
]
TxOpt = Annotated[
    Path | None, typer.Option(help="Transactions file (CSV/Parquet); overrides the config.")
]
EvOpt = Annotated[Path | None, typer.Option(help="Engagement events file; overrides the config.")]
CuOpt = Annotated[Path | None, typer.Option(help="Customers file; overrides the config.")]
CaOpt = Annotated[Path | None, typer.Option(help="Campaigns (offer history) file.")]
BadOpt = Annotated[
    OnBadRows,
    typer.Option(
        help="stop: refuse bad rows with a message naming file, row and column. "
        "quarantine: leave them out and write them beside the output."
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"winback {__version__}")
        raise typer.Exit


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option(help="Show the full traceback of an error.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only warnings and errors.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Also show INFO logs on stderr: winback's, MLflow's (store, registry, model "
            "logging) and those of other libraries that log through Python's logging.",
        ),
    ] = False,
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
    relative to it.
    """
    if quiet and verbose:
        raise typer.BadParameter(
            "--quiet and --verbose contradict each other; choose one", param_hint="--quiet"
        )
    _state.update(debug=debug, quiet=quiet)
    out.quiet = quiet
    _configure_logging(quiet=quiet, verbose=verbose)


def _configure_logging(*, quiet: bool, verbose: bool) -> None:
    """Libraries log to stderr: INFO with --verbose, WARNING by default, ERROR with --quiet."""
    level = logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    if verbose:
        logging.basicConfig(
            level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        # Shown again: the chatter main() hides from everybody else.
        warnings.filterwarnings("default", message="PyTensor could not link to a BLAS")
    logging.getLogger().setLevel(level)
    # MLflow has its own handler and level; the others inherit the root's.
    logging.getLogger("mlflow").setLevel(level)
    if not verbose:
        # MLflow opens its SQLite store through Alembic, which reports every check at INFO.
        logging.getLogger("alembic").setLevel(max(level, logging.WARNING))


@contextmanager
def _step(text: str) -> Iterator[None]:
    start = time.perf_counter()
    with out.status(text):
        yield
    elapsed = Text(f" ({time.perf_counter() - start:.1f}s)", style="dim")
    out.print(Text("✓ ", style="green") + Text(text) + elapsed)


def _settings(
    config: Path | None,
    transactions: Path | None = None,
    events: Path | None = None,
    customers: Path | None = None,
    campaigns: Path | None = None,
) -> Settings:
    overrides = {
        name: path
        for name, path in (
            ("transactions", transactions),
            ("events", events),
            ("customers", customers),
            ("campaigns", campaigns),
        )
        if path is not None
    }
    settings = load_settings(check_config(config), overrides)
    if settings.data.transactions is None:
        where = f"{config} has no [data.transactions] section" if config else "no --config"
        raise WinbackError(
            f"no transactions to read ({where}): pass --transactions PATH, or --config "
            "winback.toml with a [data.transactions] section naming the file or table"
        )
    return settings


def _load(settings: Settings, on_bad_rows: OnBadRows, beside: Path | None) -> Dataset:
    with _step("Reading and checking the data"):
        dataset = load_dataset(
            settings.data,
            on_bad_rows=on_bad_rows.value,
            engine=settings.engine,
            load_time=_now(),
        )
    # Written every run: it also removes a stale quarantine file once its rows have been fixed.
    written = write_quarantine(dataset, beside) if beside is not None else None
    out.print(load_summary(dataset, written))
    for note in dataset.notes:
        err.print(Text("warning: ", style="yellow") + Text(note))
    return dataset


def _now() -> datetime:
    """The load time: records stamped after it cannot have happened yet."""
    return datetime.now(UTC).replace(tzinfo=None)


@app.command("simulate", epilog=EXAMPLES["simulate"])
def simulate_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the tables.")],
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 5000,
    start: Annotated[str, typer.Option(help="First day of the history (YYYY-MM-DD).")] = (
        "2023-01-01"
    ),
    end: Annotated[str, typer.Option(help="Day after the last day (YYYY-MM-DD).")] = "2025-01-01",
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 0,
    fmt: Annotated[FileFormat, typer.Option("--format", help="File format.")] = (
        FileFormat.parquet
    ),
    programme: Annotated[
        str,
        typer.Option(
            "--campaign-programme",
            help="Whom campaigns contact: 'targeted' (mostly the riskiest) or 'everyone' "
            "(a randomised test across the base, about five times the contacts).",
        ),
    ] = "targeted",
) -> None:
    """Write a synthetic customer world: transactions, events, customers, campaigns and truth.

    Customers are born, buy, engage, receive offers (some held out as control) and churn
    according to a seeded model; the ground truth (who churned, what they were worth) is written
    beside the tables. The same seed gives the same files; existing files are replaced.
    """
    first = to_utc_naive(check_date(start, "--start"))
    last = to_utc_naive(check_date(end, "--end"))
    if last <= first:
        raise WinbackError(f"--end {end} must be after --start {start}")
    with _step(f"Simulating {customers:,} customers from {start} to {end}"):
        world = simulate(customers, first, last, seed=seed, campaign_programme=programme)  # type: ignore[arg-type]
    with _step(f"Writing {fmt.value} files to {out_dir}"):
        paths = write_world(world, out_dir, fmt=fmt.value)
    for name, path in paths.items():
        out.print(f"  {name:<13} {len(getattr(world, name)):>12,} rows  {path}")


@app.command("check", epilog=EXAMPLES["check"])
def check_cmd(
    config: ConfigOpt = None,
    transactions: TxOpt = None,
    events: EvOpt = None,
    customers: CuOpt = None,
    campaigns: CaOpt = None,
    on_bad_rows: BadOpt = OnBadRows.stop,
    quarantine_dir: Annotated[
        Path, typer.Option(help="Where quarantined rows are written.")
    ] = Path(),
) -> None:
    """Read the data, check it against the contract, and report what would be used.

    Every table is read as its `[data.TABLE]` section of the config says (file or database, column
    names mapped to ours), and every row is checked: types, required values, dates, money
    ranges, orders split across customers. Prints read = used + quarantined per table and the
    data fingerprint recorded with each model. With `--on-bad-rows stop` (the default) the
    first problems stop the run with their file, row and column.
    """
    settings = _settings(config, transactions, events, customers, campaigns)
    dataset = _load(settings, on_bad_rows, quarantine_dir)
    for key, value in dataset.fingerprint().items():
        out.print(f"  {key:<18} {value}")


@app.command("features", epilog=EXAMPLES["features"])
def features_cmd(
    as_of: Annotated[
        str | None, typer.Option(help="Cutoff: features use records strictly before it.")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Output file, .parquet or .csv.")
    ] = None,
    describe: Annotated[
        bool, typer.Option(help="Print the feature dictionary (name, meaning, window, unit).")
    ] = False,
    config: ConfigOpt = None,
    transactions: TxOpt = None,
    events: EvOpt = None,
    customers: CuOpt = None,
    campaigns: CaOpt = None,
    on_bad_rows: BadOpt = OnBadRows.stop,
) -> None:
    """Build point-in-time features as of a cutoff, one row per customer known before it.

    Every feature uses only records stamped strictly before `--as-of` (a date means its
    midnight in the business's time zone, `[data] timezone`), so the same command gives the
    same file tomorrow. `--describe` prints the dictionary instead: each feature's meaning,
    window and unit.
    """
    check_config(config)
    check_date(as_of, "--as-of")
    check_output_file(out_file)
    if describe:
        has_data = config is not None or transactions is not None
        settings = (
            _settings(config, transactions, events, customers, campaigns)
            if has_data
            else (load_settings(None))
        )
        plan = None
        if has_data:
            dataset = load_dataset(
                settings.data, on_bad_rows=on_bad_rows.value, engine=settings.engine
            )
            until = dataset.cutoff(as_of) if as_of else None
            plan = plan_features(dataset, settings.features, until=until)
        print(describe_features(settings.features, plan).to_string(index=False))
        return
    if as_of is None or out_file is None:
        raise WinbackError(
            "features needs --as-of DATE and --out FILE (or --describe); "
            "e.g. --as-of 2024-10-01 --out features.parquet"
        )
    settings = _settings(config, transactions, events, customers, campaigns)
    dataset = _load(settings, on_bad_rows, out_file.parent)
    dataset.check_cutoff(dataset.cutoff(as_of))
    with _step(f"Building features as of {as_of}"):
        rows, plan = write_features(dataset, as_of, out_file, settings.features)
    out.print(f"Wrote {rows:,} customers × {len(plan.columns)} features to {out_file}")


@app.command("segments", epilog=EXAMPLES["segments"])
def segments_cmd(
    as_of: Annotated[str, typer.Option(help="Cutoff: segments use records strictly before it.")],
    out_file: Annotated[Path, typer.Option("--out", help="Output file, .parquet or .csv.")],
    config: ConfigOpt = None,
    transactions: TxOpt = None,
    events: EvOpt = None,
    customers: CuOpt = None,
    campaigns: CaOpt = None,
    on_bad_rows: BadOpt = OnBadRows.stop,
) -> None:
    """Lifecycle stage, value segment and RFM scores per customer as of a cutoff.

    Lifecycle: prospect, new, growing, stable, declining or churned, from the rules in
    `[segments]`. Value segment: strategic, profit, potential or ordinary, from CRM margin
    (value) and order frequency and tenure (loyalty). RFM: recency, frequency and monetary
    quintile scores. Prints the count per stage and segment.
    """
    check_date(as_of, "--as-of")
    check_output_file(out_file)
    settings = _settings(config, transactions, events, customers, campaigns)
    dataset = _load(settings, on_bad_rows, out_file.parent)
    dataset.check_cutoff(dataset.cutoff(as_of))
    with _step(f"Segmenting customers as of {as_of}"):
        frame = build_features(dataset, as_of, settings.features)
        segments = build_segments(dataset, frame, settings.segments)
        write_frame(segments, out_file)
    out.print(f"Wrote {len(segments):,} customers to {out_file}")
    for column in ("lifecycle_stage", "value_segment"):
        counts = segments[column].value_counts()
        out.print(f"  {column}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


@app.command("snapshots", epilog=EXAMPLES["snapshots"])
def snapshots_cmd(
    out_file: Annotated[Path, typer.Option("--out", help="Output file, .parquet or .csv.")],
    as_of: Annotated[
        str | None, typer.Option(help="Use only records before this date (a backtest).")
    ] = None,
    config: ConfigOpt = None,
    transactions: TxOpt = None,
    events: EvOpt = None,
    customers: CuOpt = None,
    campaigns: CaOpt = None,
    on_bad_rows: BadOpt = OnBadRows.stop,
) -> None:
    """Stack features and labels at every calendar cutoff: the training set.

    One row per customer and cutoff (`[snapshots] frequency`), features before the cutoff and
    labels (churned, declined, orders and spend per period) in the horizons after it. A cutoff
    is kept only when its first horizon closes by the end of the data (or `--as-of`). `train`
    builds the same set itself; this command writes it for notebooks and other tools.
    """
    check_date(as_of, "--as-of")
    check_output_file(out_file)
    settings = _settings(config, transactions, events, customers, campaigns)
    dataset = _load(settings, on_bad_rows, out_file.parent)
    with _step("Building snapshots"):
        snaps = build_snapshots(
            dataset,
            features=settings.features,
            labels=settings.labels,
            snapshots=settings.snapshots,
            as_of=as_of,
        )
        write_frame(snaps.frame, out_file)
    out.print(
        f"Wrote {len(snaps.frame):,} rows ({len(snaps.cutoffs)} cutoffs "
        f"{snaps.cutoffs[0]:%Y-%m-%d} … {snaps.cutoffs[-1]:%Y-%m-%d}, labels observed until "
        f"{snaps.observed_until:%Y-%m-%d}) to {out_file}"
    )


def _tracking_settings(settings: Settings) -> TrackingSettings:
    """The tracking settings in force, with a server that is down refused at once."""
    # The shell, not the library, reads the environment: MLFLOW_TRACKING_URI wins over the file.
    from_env = os.environ.get("MLFLOW_TRACKING_URI")
    uri = from_env or settings.tracking.uri
    if uri:
        where = "MLFLOW_TRACKING_URI" if from_env else f"[tracking] uri in {settings.source}"
        check_reachable(uri, where)
    return settings.tracking.model_copy(update={"uri": uri})


@app.command("train", epilog=EXAMPLES["train"])
def train_cmd(
    as_of: Annotated[
        str | None, typer.Option(help="Train as if today were this date (a backtest).")
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(min=0, help="Optuna trials tuning the churn model on validation time."),
    ] = None,
    config: ConfigOpt = None,
    transactions: TxOpt = None,
    events: EvOpt = None,
    customers: CuOpt = None,
    campaigns: CaOpt = None,
    on_bad_rows: BadOpt = OnBadRows.stop,
) -> None:
    """Train churn, decline, orders and spend models; record, register and judge them.

    LightGBM models are fitted on the older cutoffs, early-stopped and calibrated on the
    validation cutoffs, and judged once on the latest cutoffs against the RFM and BG/NBD
    baselines on the same rows. The run (settings, data fingerprint, metrics, plots, SHAP
    explanations, model report) is recorded in MLflow and the model registered; it becomes the
    `champion` only if it beats the current one on the test period, else it stays a challenger.
    """
    check_date(as_of, "--as-of")
    settings = _settings(config, transactions, events, customers, campaigns)
    if trials is not None:
        settings = replace(
            settings, training=settings.training.model_copy(update={"trials": trials})
        )
    root = project_root(settings)
    tracking = _tracking_settings(settings)
    dataset = _load(settings, on_bad_rows, root)
    with _step("Building snapshots, training, evaluating and registering"):
        run = train_and_register(
            dataset,
            replace(settings, tracking=tracking),
            root=root,
            as_of=as_of,
            settings_document=_document(settings),
        )
    out.print(run.result.split.describe())
    out.print(f"calibration: {run.result.calibration_method}")
    choices = run.result.choices
    if "spend_objective" in choices:
        out.print(f"spend objective: {choices['spend_objective']} (lowest deviance on validation)")
    if "month_levels" in choices:
        out.print(f"month levels: {choices['month_levels']}")
    if run.result.bundle.periods is not None:
        methods = run.result.bundle.periods.methods
        out.print("value per period: " + ", ".join(f"{k} {m}" for k, m in methods.items()))
    if run.result.tuning is not None:
        t = run.result.tuning
        out.print(
            f"tuning: {t.n_trials} trials complete ({t.n_pruned} pruned) in study "
            f"{t.study_name!r}; best validation log loss {t.best_value:.4f}"
        )
    table = comparison_table(run.result.metrics)
    out.print("test period, same rows for every model:")
    out.print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    for line in baseline_verdict(run.result.metrics):
        out.print(line)
    out.print(f"MLflow run {run.run_id} at {run.tracking_uri}")
    out.print(f"model report: {run.report}")
    verdict = "champion" if run.decision.promote else "challenger (not promoted)"
    out.print(f"registered {tracking.registered_model} version {run.version}: {verdict}")
    out.print(f"  {run.decision.reason}")


@app.command("runs", epilog=EXAMPLES["runs"])
def runs_cmd(
    limit: Annotated[int, typer.Option(min=1, help="How many recent runs.")] = 10,
    config: ConfigOpt = None,
) -> None:
    """List recent MLflow runs with their key test metrics and registry aliases.

    Newest first: run id and name, start time, status, test ROC AUC, PR AUC, calibration error
    and spend error of each training run, the registered version and its aliases (`champion`,
    `challenger`). Reads the store named by `MLFLOW_TRACKING_URI`, else `mlruns/` beside the
    config.
    """
    settings = load_settings(check_config(config))
    table = recent_runs(_tracking_settings(settings), project_root(settings), limit=limit)
    if table.empty:
        out.print("no runs yet: train one with `winback train`")
        return
    out.print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


@app.command("promote", epilog=EXAMPLES["promote"])
def promote_cmd(
    version: Annotated[int, typer.Option(min=1, help="Registered model version to promote.")],
    reason: Annotated[str, typer.Option(help="Why, in words: recorded with the promotion.")],
    config: ConfigOpt = None,
) -> None:
    """Make a model version the champion by hand; the reason is recorded.

    For when the automatic gate cannot decide (a new metric, a changed test period) or a
    rollback is needed. Who, when and why are kept as tags on the model version; `score`,
    `list` and `serve` use the champion from then on.
    """
    settings = load_settings(check_config(config))
    tracking = _tracking_settings(settings)
    configure(tracking, project_root(settings))
    promote(tracking.registered_model, version, reason)
    out.print(f"{tracking.registered_model} version {version} is now the champion")


def _document(settings: Settings) -> dict[str, object]:
    """Every setting of the run as plain data, for the MLflow run's parameters."""
    parts: dict[str, object] = {
        name: getattr(settings, name).model_dump(mode="json")
        for name in ("features", "labels", "segments", "snapshots", "training", "engine")
    }
    parts["data"] = settings.data.model_dump(mode="json", exclude_none=True)
    return parts


def main() -> None:
    """Entry point: run the app and turn a WinbackError into one clear line."""
    # A command prints its own summary: third-party chatter goes only to --verbose users.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    try:
        app()
    except WinbackError as exc:
        if _state["debug"]:
            raise
        # Messages quote config sections like [data.transactions]: never read them as markup.
        err.print(Text("error: ", style="bold red") + Text(str(exc)))
        sys.exit(1)
    except MlflowException as exc:
        if _state["debug"]:
            raise
        # A store we could reach but that refused (bad URI scheme, server error, permissions).
        message = " ".join(exc.message.split())
        err.print(
            Text("error: ", style="bold red")
            + Text(
                f"MLflow store: {message} Check MLFLOW_TRACKING_URI or [tracking] uri in the "
                "config; rerun with --debug for the traceback"
            )
        )
        sys.exit(1)


# The serving commands (score, list, evaluate, drift, serve) and `summary` live in their own
# modules and register themselves on ``app``; imported last because they use the helpers above.
from winback import cli_serving, cli_summary  # noqa: E402, F401

__all__ = ["app", "main"]
