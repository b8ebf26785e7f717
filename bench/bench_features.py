"""Feature build against one hand-written DuckDB RFM query over the same Parquet files.

    python bench/bench_features.py [--customers 1000000] [--work DIR]

Generates a synthetic world once (cached in --work), then measures, in the same run:

1. whole commands (process start, read, write): ``winback features`` against a ``python -c``
   running the plain RFM query and writing its result, each in a fresh process;
2. in-process: load + validate + build + write against the same plain query;

each for transactions only and for transactions + events. Prints seconds, peak memory (RSS of the
child process for whole commands) and the ratio to the reference. Targets: within 5× of the
reference as whole commands and under 4 GiB; 3× is where we want to be.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from winback.features import (
    DataSettings,
    FeatureSettings,
    SourceSettings,
    feature_sql,
    load_dataset,
    plan_features,
    write_features,
)
from winback.features.builder import set_cutoffs
from winback.synthetic import simulate, write_world

AS_OF = "2024-12-01"
RFM = """
COPY (
    SELECT customer_id, max("timestamp") AS last_order, count(*) AS orders, sum(amount) AS spend
    FROM read_parquet('{tx}') WHERE "timestamp" < TIMESTAMP '{as_of}'
    GROUP BY customer_id
) TO '{out}' (FORMAT parquet)
"""


def _world(work: Path, customers: int) -> Path:
    data = work / f"world-{customers}"
    if not (data / "transactions.parquet").exists():
        start = time.perf_counter()
        world = simulate(customers, "2023-01-01", "2025-01-01", seed=1)
        write_world(world, data, fmt="parquet")
        print(f"generated {customers:,} customers in {time.perf_counter() - start:.0f}s")
    return data


def _rows(path: Path) -> int:
    return duckdb.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]


def _child(cmd: list[str]) -> tuple[float, float]:
    """Run a command in a fresh process; return (seconds, peak RSS of that child in GiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    # wait4 reports the rusage of this one child, not the maximum over all children so far.
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return seconds, usage.ru_maxrss / 1024**2


def _line(name: str, seconds: float, reference: float, memory: float | None = None) -> None:
    mem = f"  peak {memory:.2f} GiB" if memory is not None else ""
    print(f"  {name:<44} {seconds:7.2f}s  {seconds / reference:5.1f}× reference{mem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "winback-bench")
    args = parser.parse_args()
    data = _world(args.work, args.customers)
    tx, ev = data / "transactions.parquet", data / "events.parquet"
    print(f"transactions {_rows(tx):,} rows, events {_rows(ev):,} rows, as of {AS_OF}")
    out = args.work / "out"
    out.mkdir(exist_ok=True)
    winback = str(Path(sys.executable).with_name("winback"))
    query = RFM.format(tx=tx, as_of=AS_OF, out=out / "rfm.parquet")

    print("whole commands (fresh process: start, read, write)")
    ref, ref_mem = _child([sys.executable, "-c", f"import duckdb; duckdb.sql('''{query}''')"])
    _line("reference: plain RFM query (python -c duckdb)", ref, ref, ref_mem)
    for label, extra in (("transactions", []), ("transactions + events", ["--events", str(ev)])):
        cmd = [winback, "--quiet", "features", "--transactions", str(tx), *extra,
               "--as-of", AS_OF, "--out", str(out / "features.parquet")]  # fmt: skip
        seconds, mem = _child(cmd)
        _line(f"winback features: {label}", seconds, ref, mem)

    print("in-process (read, validate, build, write)")
    start = time.perf_counter()
    duckdb.connect().execute(query)
    ref = time.perf_counter() - start
    _line("reference: plain RFM query", ref, ref)
    for label, tables in (("transactions", {"transactions": tx}), ("+ events", {
        "transactions": tx, "events": ev})):  # fmt: skip
        data_settings = DataSettings.model_validate(
            {k: SourceSettings(path=p) for k, p in tables.items()}
        )
        start = time.perf_counter()
        dataset = load_dataset(data_settings)
        loaded = time.perf_counter() - start
        write_features(dataset, AS_OF, out / "features.parquet", FeatureSettings())
        total = time.perf_counter() - start
        _line(f"load + validate: {label}", loaded, ref)
        _line(f"load + validate + features + write: {label}", total, ref)
        dataset.con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak memory of this process: {peak:.2f} GiB")
    _spark_cost(tx, ev)


def _spark_cost(tx: Path, ev: Path) -> None:
    """What the Spark path costs: transpiling the one feature query (DuckDB runs it as is)."""
    import sqlglot  # noqa: PLC0415  the spark extra

    data_settings = DataSettings(
        transactions=SourceSettings(path=tx), events=SourceSettings(path=ev)
    )
    dataset = load_dataset(data_settings)
    set_cutoffs(dataset, [AS_OF])
    sql = feature_sql(dataset, plan_features(dataset, FeatureSettings()))
    start = time.perf_counter()
    sqlglot.transpile(sql, read="duckdb", write="spark")
    print(
        f"Spark path: transpiling the feature query ({len(sql):,} characters) to Spark SQL "
        f"takes {time.perf_counter() - start:.2f}s once; on DuckDB the same SQL runs unchanged."
    )


if __name__ == "__main__":
    main()
