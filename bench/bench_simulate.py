"""Benchmark: simulate a synthetic world and write it as Parquet.

    python bench/bench_simulate.py --customers 1000000

Prints wall time (simulate, write, total), rows per table, peak resident memory, and the ratio
against a reference measured in the same run on the same machine: generating the same total
number of rows of random numbers with numpy and writing them as one Parquet file with pyarrow.
The ratio says how many "plain Parquet dumps" the simulator costs, which travels between machines
better than seconds do.

Measured (2026-11-23, when the simulator was written; moved here from the docstring of
``synthetic/world.py``): a million customers over two years (about 8.5 million transactions,
34 million events, 0.6 million campaign rows) simulated in about 30 s and 4.5 GB and wrote as
Parquet in about 8 s on a 2-core machine. The README's "Performance" section gives about 50 s
for the same size (which of the two timings it counts is not recorded); the simulator has grown
since (campaign programmes, response classes), so rerun this for today's figure.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from winback.synthetic import simulate, write_world


def _peak_rss_gb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e9


def _reference_seconds(n_rows: int, out_dir: Path, seed: int) -> float:
    """Time to draw ``n_rows`` × (2 int64 + 2 float64) random columns and write one Parquet file."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    table = pa.table(
        {
            "id": rng.integers(0, 1_000_000, n_rows),
            "timestamp": rng.integers(0, 63_000_000, n_rows),
            "x": rng.random(n_rows),
            "y": rng.standard_normal(n_rows),
        }
    )
    pq.write_table(table, out_dir / "reference.parquet")
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 1, 1))
    parser.add_argument("--days", type=int, default=731, help="length of the period")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    end = args.start + timedelta(days=args.days)

    with tempfile.TemporaryDirectory(prefix="bench_simulate_") as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        world = simulate(args.customers, args.start, end, seed=args.seed)
        t1 = time.perf_counter()
        paths = write_world(world, out / "world", "parquet")
        t2 = time.perf_counter()
        rows = {name: len(getattr(world, name)) for name in paths}
        sizes = {name: path.stat().st_size for name, path in paths.items()}
        del world
        reference = _reference_seconds(sum(rows.values()), out, args.seed)

    total = t2 - t0
    print(f"customers        {args.customers:,} over {args.start} .. {end} (seed {args.seed})")
    for name, n in rows.items():
        print(f"  {name:<14} {n:>12,} rows  {sizes[name] / 1e6:>9.1f} MB")
    print(f"simulate         {t1 - t0:8.1f} s")
    print(f"write parquet    {t2 - t1:8.1f} s")
    print(f"total            {total:8.1f} s")
    print(f"peak RSS         {_peak_rss_gb():8.2f} GB")
    print(f"reference        {reference:8.1f} s  ({sum(rows.values()):,} random rows to Parquet)")
    print(f"ratio vs reference {total / reference:6.1f}")


if __name__ == "__main__":
    main()
