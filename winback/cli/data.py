"""The data commands of ``winback``: simulate, check, features, segments and snapshots.

Each imports the stages it calls inside its body, so that listing commands stays quick.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from winback.cli.console import out, step
from winback.cli.options import DataOptions, command

app = typer.Typer()


class FileFormat(StrEnum):
    """File format of the simulated tables."""

    parquet = "parquet"
    csv = "csv"


@command(app, "simulate")
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
    from winback.cli.inputs import check_date
    from winback.common import WinbackError
    from winback.common.timestamps import to_utc_naive
    from winback.synthetic import simulate, write_world

    first = to_utc_naive(check_date(start, "--start"))
    last = to_utc_naive(check_date(end, "--end"))
    if last <= first:
        raise WinbackError(f"--end {end} must be after --start {start}")
    with step(f"Simulating {customers:,} customers from {start} to {end}"):
        world = simulate(customers, first, last, seed=seed, campaign_programme=programme)  # type: ignore[arg-type]
    with step(f"Writing {fmt.value} files to {out_dir}"):
        paths = write_world(world, out_dir, fmt=fmt.value)
    for name, path in paths.items():
        out.print(f"  {name:<13} {len(getattr(world, name)):>12,} rows  {path}")


@command(app, "check")
def check_cmd(
    data: DataOptions,
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
    from winback.cli.project import load, settings_for

    dataset = load(settings_for(data), data, quarantine_dir)
    for key, value in dataset.fingerprint().items():
        out.print(f"  {key:<18} {value}")


@command(app, "features")
def features_cmd(
    data: DataOptions,
    as_of: Annotated[
        str | None, typer.Option(help="Cutoff: features use records strictly before it.")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Output file, .parquet or .csv.")
    ] = None,
    describe: Annotated[
        bool, typer.Option(help="Print the feature dictionary (name, meaning, window, unit).")
    ] = False,
) -> None:
    """Build point-in-time features as of a cutoff, one row per customer known before it.

    Every feature uses only records stamped strictly before `--as-of` (a date means its
    midnight in the business's time zone, `[data] timezone`), so the same command gives the
    same file tomorrow. `--describe` prints the dictionary instead: each feature's meaning,
    window and unit.
    """
    from winback.cli.inputs import check_config, check_date, check_output_file
    from winback.cli.project import load, settings_for
    from winback.common import WinbackError
    from winback.features import describe_features, load_dataset, plan_features, write_features
    from winback.settings import load_settings

    check_config(data.config)
    check_date(as_of, "--as-of")
    check_output_file(out_file)
    if describe:
        has_data = data.config is not None or data.transactions is not None
        settings = settings_for(data) if has_data else load_settings(None)
        plan = None
        if has_data:
            dataset = load_dataset(
                settings.data, on_bad_rows=data.on_bad_rows.value, engine=settings.engine
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
    settings = settings_for(data)
    dataset = load(settings, data, out_file.parent)
    dataset.check_cutoff(dataset.cutoff(as_of))
    with step(f"Building features as of {as_of}"):
        rows, plan = write_features(dataset, as_of, out_file, settings.features)
    out.print(f"Wrote {rows:,} customers × {len(plan.columns)} features to {out_file}")


@command(app, "segments")
def segments_cmd(
    as_of: Annotated[str, typer.Option(help="Cutoff: segments use records strictly before it.")],
    out_file: Annotated[Path, typer.Option("--out", help="Output file, .parquet or .csv.")],
    data: DataOptions,
) -> None:
    """Lifecycle stage, value segment and RFM scores per customer as of a cutoff.

    Lifecycle: prospect, new, growing, stable, declining or churned, from the rules in
    `[segments]`. Value segment: strategic, profit, potential or ordinary, from CRM margin
    (value) and order frequency and tenure (loyalty). RFM: recency, frequency and monetary
    quintile scores. Prints the count per stage and segment.
    """
    from winback.cli.inputs import check_date, check_output_file
    from winback.cli.project import load, settings_for
    from winback.common import write_frame
    from winback.features import build_features, build_segments

    check_date(as_of, "--as-of")
    check_output_file(out_file)
    settings = settings_for(data)
    dataset = load(settings, data, out_file.parent)
    dataset.check_cutoff(dataset.cutoff(as_of))
    with step(f"Segmenting customers as of {as_of}"):
        frame = build_features(dataset, as_of, settings.features)
        segments = build_segments(dataset, frame, settings.segments)
        write_frame(segments, out_file)
    out.print(f"Wrote {len(segments):,} customers to {out_file}")
    for column in ("lifecycle_stage", "value_segment"):
        counts = segments[column].value_counts()
        out.print(f"  {column}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


@command(app, "snapshots")
def snapshots_cmd(
    out_file: Annotated[Path, typer.Option("--out", help="Output file, .parquet or .csv.")],
    data: DataOptions,
    as_of: Annotated[
        str | None, typer.Option(help="Use only records before this date (a backtest).")
    ] = None,
) -> None:
    """Stack features and labels at every calendar cutoff: the training set.

    One row per customer and cutoff (`[snapshots] frequency`), features before the cutoff and
    labels (churned, declined, orders and spend per period) in the horizons after it. A cutoff
    is kept only when its first horizon closes by the end of the data (or `--as-of`). `train`
    builds the same set itself; this command writes it for notebooks and other tools.
    """
    from winback.cli.inputs import check_date, check_output_file
    from winback.cli.project import load, settings_for
    from winback.common import write_frame
    from winback.features import build_snapshots

    check_date(as_of, "--as-of")
    check_output_file(out_file)
    settings = settings_for(data)
    dataset = load(settings, data, out_file.parent)
    with step("Building snapshots"):
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


__all__ = ["app"]
