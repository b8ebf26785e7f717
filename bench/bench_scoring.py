"""Scoring every customer with reason codes against plain LightGBM predict + contributions.

    python bench/bench_scoring.py [--customers 1000000] [--train-customers 20000]
                                  [--chunk-rows 50000] [--threads 2] [--work DIR]

Setup, once (cached in --work; delete it to rebuild): the world to score (``simulate`` written
as Parquet, the same files bench_features.py uses), a model bundle trained with the default
``TrainingSettings`` on a separate small world (``--train-customers``, labels observed until
``AS_OF``), and, for the reference, the scored customers' model-input matrix (float64, category
columns as codes of the model's levels, missing as NaN). Training took 10 minutes here, once.

Then, each in a fresh child process (this script re-invoked with ``--child``, peak RSS of that
child read with os.wait4), LightGBM on the same threads in both (OMP_NUM_THREADS=--threads;
neither passes num_threads, as the library does not), both in chunks of ``--chunk-rows``:

- reference: the churn booster's ``predict`` and ``predict(pred_contrib=True)`` on that matrix,
  the unavoidable core of scoring with reason codes;
- ours: ``load_model`` and ``load_dataset`` (read and check the Parquet files), then
  ``serving.scoring.score``: features with the model's plan, segments, every model's predictions,
  top-3 reasons as sentences. Its parts are timed inside that one call by wrapping, in this child
  only, the functions ``score`` calls (the library is unchanged); what is left is "the rest".

Prints seconds, rows per second, the ratio to the reference, resident memory once the data is
loaded and the peak (and how much each part of ``score`` lifted that peak), and whether the two
give the same churn probabilities.

Latest numbers (2026-11-24; 2 threads on a 2-core AMD EPYC VM, load average ~2; lightgbm 4.7.0;
bundle from 20,000 customers: 133 inputs, churn 186 trees, 1,300 trees in 5 boosters).
1,000,000 customers (8.5M transactions, 34.3M events), 941,013 scored:

    reference: churn predict + pred_contrib    674 s   1,397 rows/s          peak 1.26 GiB
    score()                                    751 s   1,253 rows/s   1.11×  peak 3.61 GiB
      LightGBM pred_contrib inside it          610 s  (81%; 0.91× the reference's own)
      features: one DuckDB build 45 s (+0.38 GiB), chunks read 6 s; every model's predict
      44 s; sentences and JSON 30 s; segments 3 s
      apart from its pred_contrib              141 s                0.21×
    load_model + load_dataset                  8.7 s               (2.71 GiB once loaded)

So score() needs 0.9 GiB above the loaded data for 941,013 customers, most of it the scores
table it returns. Before features were built once in DuckDB and read in chunks (scoring held
every customer's feature row in pandas), 400,000 customers peaked at 3.33 GiB and the growth
pointed to ~7 GiB at a million; one DuckDB query per chunk instead (each scanning every
event) peaked at 5.00 GiB and spent 152 s on features. The same pred_contrib, timed in both
children of one run, varied from 0.76× to 1.37× of the reference's across runs on this shared
machine: read the ratio loosely, to about ±0.2.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from winback.features import (
    DataSettings,
    EngineSettings,
    LabelSettings,
    SourceSettings,
    build_features,
    build_snapshots,
    load_dataset,
)
from winback.features.chunks import FeatureChunks
from winback.serving.model import load_model
from winback.serving.scoring import score
from winback.synthetic import simulate, write_world
from winback.training.bundle import BUNDLE_FILE, ModelBundle
from winback.training.models import ChurnModel
from winback.training.pipeline import TrainingSettings, train_models

AS_OF = "2024-12-01"
START, END = "2023-01-01", "2025-01-01"
#: The contract tables scored from (the simulator's ground truth is not one of them).
TABLES = ("transactions", "events", "customers", "campaigns")


def _world(work: Path, customers: int) -> Path:
    """The Parquet world to score; the same files (and cache) as bench_features.py."""
    data = work / f"world-{customers}"
    if not (data / "transactions.parquet").exists():
        start = time.perf_counter()
        write_world(simulate(customers, START, END, seed=1), data, fmt="parquet")
        print(f"generated {customers:,} customers in {time.perf_counter() - start:.0f}s")
    return data


def _bundle(work: Path, customers: int, threads: int) -> Path:
    """A bundle trained with default settings on a separate world of ``customers``."""
    directory = work / f"scoring-model-{customers}"
    if not (directory / BUNDLE_FILE).exists():
        start = time.perf_counter()
        world = simulate(customers, START, END, seed=2)
        dataset = load_dataset(frames={t: getattr(world, t) for t in TABLES})
        labels = LabelSettings()
        snaps = build_snapshots(dataset, labels=labels, as_of=AS_OF)
        settings = TrainingSettings(n_jobs=threads, bgnbd_baseline=False)
        train_models(snaps, dataset, labels, settings).bundle.save(directory)
        seconds = time.perf_counter() - start
        print(f"trained a bundle on {customers:,} customers ({len(snaps.frame):,} rows) in "
              f"{seconds:.0f}s")  # fmt: skip
    return directory


def _plain_matrix(model: ChurnModel, inputs: pd.DataFrame) -> np.ndarray:
    """The model's columns as one float64 matrix: categories as codes of its levels, NaN missing."""
    matrix = np.empty((len(inputs), len(model.feature_names_)), dtype="float64")
    for j, name in enumerate(model.feature_names_):
        column = inputs[name]
        if name in model.categories_:
            text = column.astype("string").to_numpy(dtype=object, na_value=None)
            codes = pd.Index(model.categories_[name], dtype=object).get_indexer(text)
            matrix[:, j] = np.where(codes >= 0, codes, np.nan)
        else:
            matrix[:, j] = column.to_numpy(dtype="float64", na_value=np.nan)
    return matrix


def _boosters(bundle: ModelBundle) -> list[lgb.Booster]:
    models = [bundle.churn, bundle.decline, bundle.orders, bundle.spend]
    if bundle.periods is not None:
        models += list(bundle.periods.models.values())
    return [b for m in models if m is not None for b in m.boosters_.values()]


def _sources(world: Path) -> DataSettings:
    return DataSettings.model_validate(
        {t: SourceSettings(path=world / f"{t}.parquet") for t in TABLES}
    )


def _rss_gib() -> float:
    return psutil.Process().memory_info().rss / 1024**3


def _child_prepare(args: argparse.Namespace) -> dict[str, Any]:
    world = _world(args.work, args.customers)
    model_dir = _bundle(args.work, args.train_customers, args.threads)
    bundle = ModelBundle.load(model_dir)
    dataset = load_dataset(_sources(world), engine=EngineSettings(threads=args.threads))
    rows = {t: dataset.con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}
    inputs_file = model_dir / f"inputs-{args.customers}.npy"
    if not inputs_file.exists():
        features = build_features(dataset, AS_OF, plan=bundle.plan)
        np.save(inputs_file, _plain_matrix(bundle.churn, bundle.model_inputs(features)))
        features[["customer_id"]].to_parquet(model_dir / f"ids-{args.customers}.parquet")
    matrix = np.load(inputs_file, mmap_mode="r")
    return {
        "rows": rows,
        "shape": list(matrix.shape),
        "categorical": len(bundle.churn.categories_),
        "churn_trees": bundle.churn.booster_.num_trees(),
        "boosters": len(_boosters(bundle)),
        "trees": sum(b.num_trees() for b in _boosters(bundle)),
        "calibrated": bundle.calibrator is not None,
    }


def _child_reference(args: argparse.Namespace) -> dict[str, Any]:
    model_dir = args.work / f"scoring-model-{args.train_customers}"
    matrix = np.load(model_dir / f"inputs-{args.customers}.npy")
    bundle = ModelBundle.load(model_dir)
    booster = bundle.churn.booster_
    loaded = _rss_gib()
    proba = np.empty(len(matrix))
    predict = contrib = 0.0
    for start in range(0, len(matrix), args.chunk_rows):
        rows = matrix[start : start + args.chunk_rows]
        began = time.perf_counter()
        proba[start : start + len(rows)] = booster.predict(rows)
        predicted = time.perf_counter()
        booster.predict(rows, pred_contrib=True)
        contrib += time.perf_counter() - predicted
        predict += predicted - began
    if bundle.calibrator is not None:
        proba = bundle.calibrator.predict(proba)
    np.save(args.work / "plain_churn_probability.npy", proba)
    return {"loaded": loaded, "predict": predict, "contrib": contrib, "rows": len(matrix)}


#: Parts of ``score`` timed by wrapping what it calls: (label, owner path, attribute, depth).
#: ``bundle`` and ``churn`` are the served model's objects, ``FeatureChunks`` the class; the rest
#: are modules.
PARTS = (
    ("checks (inputs, column types)", "winback.serving.scoring", "check_inputs", 0),
    ("checks (inputs, column types)", "winback.serving.scoring", "check_types", 0),
    ("features: one DuckDB build (model's plan)", "FeatureChunks", "__init__", 0),
    ("features: chunks read into pandas", "FeatureChunks", "_read", 0),
    ("build_segments", "winback.serving.scoring", "build_segments", 0),
    ("reason_reference (percentiles)", "winback.serving.scoring", "reason_reference", 0),
    ("bundle.predict (every model)", "bundle", "predict", 0),
    ("reason_codes", "winback.serving.scoring", "reason_codes", 0),
    ("top_contributions (SHAP + top 3)", "winback.serving.reasons", "top_contributions", 1),
    ("ChurnModel.contributions", "churn", "contributions", 2),
    ("LightGBM pred_contrib (encoded)", "churn", "_contrib", 3),
    ("reasons_json", "winback.serving.scoring", "reasons_json", 0),
)


def _high_water_gib() -> float:
    """The process's peak RSS so far (ru_maxrss: KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _wrap(owner: Any, attribute: str, label: str, parts: dict[str, list[float]]) -> None:
    """Make ``owner.attribute`` add its seconds and how far it raised the peak RSS to a part."""
    inner: Callable[..., Any] = getattr(owner, attribute)  # fails loudly if renamed

    def timed(*args: Any, **kwargs: Any) -> Any:
        peak, start = _high_water_gib(), time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            part = parts.setdefault(label, [0.0, 0.0])
            part[0] += time.perf_counter() - start
            part[1] += _high_water_gib() - peak

    setattr(owner, attribute, timed)


def _child_ours(args: argparse.Namespace) -> dict[str, Any]:
    model_dir = args.work / f"scoring-model-{args.train_customers}"
    began = time.perf_counter()
    model = load_model(str(model_dir))
    dataset = load_dataset(
        _sources(args.work / f"world-{args.customers}"),
        engine=EngineSettings(threads=args.threads),
    )
    load = time.perf_counter() - began
    loaded = _rss_gib()
    parts: dict[str, list[float]] = {}
    objects = {"bundle": model.bundle, "churn": model.bundle.churn, "FeatureChunks": FeatureChunks}
    for label, owner, attribute, _ in PARTS:
        _wrap(objects.get(owner) or sys.modules[owner], attribute, label, parts)
    began = time.perf_counter()
    # As `winback score` does: features are not kept, only the reference sample.
    scores, _ = score(dataset, model, AS_OF, chunk_rows=args.chunk_rows, keep_features=False)
    total = time.perf_counter() - began
    ids = pd.read_parquet(model_dir / f"ids-{args.customers}.parquet")["customer_id"]
    plain = args.work / "plain_churn_probability.npy"
    same_rows = len(ids) == len(scores) and bool((ids.to_numpy() == scores["customer_id"]).all())
    diff = None
    if plain.exists() and same_rows:
        diff = float(np.abs(scores["churn_probability"].to_numpy() - np.load(plain)).max())
    return {"load": load, "loaded": loaded, "score": total, "parts": parts, "rows": len(scores),
            "max_diff": diff, "reasons_chars": int(scores["reasons"].str.len().sum())}  # fmt: skip


def _run_child(which: str, argv: list[str], threads: int) -> tuple[dict[str, Any], float]:
    """This script as ``--child which`` in a fresh process: its result and its peak RSS (GiB)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--child", which]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    output = proc.stdout.read()
    # wait4 reports the rusage of this one child, not the maximum over all children so far.
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    lines = output.strip().splitlines()
    for line in lines[:-1]:  # what setup printed (generated, trained)
        print(line)
    return json.loads(lines[-1]), usage.ru_maxrss / 1024**2


def _line(name: str, seconds: float, reference: float, rows: int, extra: str = "") -> None:
    print(
        f"  {name:<46} {seconds:8.2f}s  {rows / seconds:9,.0f} rows/s  "
        f"{seconds / reference:5.2f}× reference{extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--train-customers", type=int, default=20_000)
    parser.add_argument("--chunk-rows", type=int, default=50_000, help="score()'s default")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "winback-bench")
    parser.add_argument("--child", choices=["prepare", "reference", "ours"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child = {"prepare": _child_prepare, "reference": _child_reference, "ours": _child_ours}
        print(json.dumps(child[args.child](args)))
        return

    argv = [f"--customers={args.customers}", f"--train-customers={args.train_customers}",
            f"--chunk-rows={args.chunk_rows}", f"--threads={args.threads}",
            f"--work={args.work}"]  # fmt: skip
    setup, _ = _run_child("prepare", argv, args.threads)
    (args.work / "plain_churn_probability.npy").unlink(missing_ok=True)
    plain, plain_peak = _run_child("reference", argv, args.threads)
    ours, ours_peak = _run_child("ours", argv, args.threads)

    rows, width = setup["shape"]
    tables = ", ".join(f"{t} {n:,}" for t, n in setup["rows"].items())
    print(f"{args.customers:,} customers ({tables} rows), {rows:,} scored as of {AS_OF}")
    print(
        f"model from {args.train_customers:,} customers: {width} inputs "
        f"({setup['categorical']} categorical), churn {setup['churn_trees']} trees, "
        f"{setup['boosters']} boosters with {setup['trees']} trees in all"
        f"{', calibrated' if setup['calibrated'] else ''}"
    )
    print(
        f"{args.threads} threads, chunks of {args.chunk_rows:,} rows, lightgbm {lgb.__version__}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    reference = plain["predict"] + plain["contrib"]
    print("reference: churn booster on the float64 input matrix")
    for name, seconds in (
        ("booster.predict", plain["predict"]),
        ("booster.predict(pred_contrib=True)", plain["contrib"]),
    ):
        print(f"  {name:<46} {seconds:8.2f}s  {rows / seconds:9,.0f} rows/s")
    _line("reference: predict + contributions", reference, reference, rows,
          f"  data loaded {plain['loaded']:.2f} GiB, peak {plain_peak:.2f} GiB")  # fmt: skip
    print("ours: serving.scoring.score (parts timed inside the same call; peak raised: by how")
    print("much the part lifted the process's peak RSS, where the memory goes)")
    parts = ours["parts"]
    for label in dict.fromkeys(label for label, *_ in PARTS):
        if label not in parts:
            continue
        seconds, raised = parts[label]
        name = "  " * next(depth for name, *_, depth in PARTS if name == label) + label
        print(f"  {name:<46} {seconds:8.2f}s  {seconds / ours['score']:6.1%} of score"
              f"{f'  peak raised {raised:+.2f} GiB' if raised >= 0.005 else ''}")  # fmt: skip
    outer = {label for label, _, _, depth in PARTS if depth == 0}
    rest = ours["score"] - sum(parts[label][0] for label in outer if label in parts)
    name = "the rest (dictionary, joins, merge, columns)"
    print(f"  {name:<46} {rest:8.2f}s  {rest / ours['score']:6.1%} of score")
    memory = f"  data loaded {ours['loaded']:.2f} GiB, peak {ours_peak:.2f} GiB"
    _line("score()", ours["score"], reference, ours["rows"], memory)
    _line("load_model + load_dataset (Parquet, checks)", ours["load"], reference, ours["rows"])
    _line("load + score()", ours["load"] + ours["score"], reference, ours["rows"])
    core = parts.get("LightGBM pred_contrib (encoded)", [0.0])[0]
    _line("score() apart from its pred_contrib", ours["score"] - core, reference, ours["rows"])
    print(
        f"the same pred_contrib took {core / plain['contrib']:.2f}× as long inside score() as in "
        "the reference (away from 1: the machine's noise, which the ratio above carries too)"
    )
    diff = ours["max_diff"]
    same = "n/a (rows differ)" if diff is None else f"{diff:.2e}"
    print(f"max |P(churn) score() − reference (calibrated)| over all rows: {same}")
    print(f"reasons column: {ours['reasons_chars'] / ours['rows']:.0f} characters of JSON a row")


if __name__ == "__main__":
    main()
