"""Training cost: ChurnModel against plain LightGBM, threads under load, the demo's train step.

    python bench/bench_training.py [--rows 1000000] [--rounds 300] [--threads 2] [--work DIR]
    python bench/bench_training.py --study threads [--rows 60000 --valid-rows 20000]
    python bench/bench_training.py --study demo [--trials 10] [--n-jobs 0]
    python bench/bench_training.py --study btyd

Every study prints wall and CPU (user + sys) seconds and the load average before and after: on
a shared machine a wall-clock figure alone says little.

``--study threads``: ``ChurnModel.fit`` for ``--rounds`` rounds on the synthetic table below, in
fresh processes, with 1 and 2 LightGBM threads, with ``OMP_WAIT_POLICY`` unset and ``PASSIVE``,
alone and as two copies side by side (two ``train`` runs on one machine).

``--study demo``: ``winback train --trials N`` on the demo's world (``winback simulate
--customers 10000 --start 2023-01-01 --end 2025-01-01 --seed 7``, built once in ``--work``), run
through ``train_and_register`` in a fresh process; prints each reported step with its wall and
CPU time, and the whole run's.

``--study btyd``: on the demo's BTYD summary (as of 2024-10-01), ``BgNbdBaseline.fit`` (SciPy)
against pymc-marketing's ``BetaGeoModel`` + ``GammaGammaModel`` MAP fits, in the same process:
seconds, the ratio, and the largest relative difference of the seven parameters.

The default study:

Builds a synthetic snapshot table once (cached in --work): ``--rows`` training rows and
``--valid-rows`` validation rows of 130 float feature columns with the shapes of our feature
table (counts, skewed amounts, recencies, ratios, missing values for customers without events),
the cutoff's calendar month (1–12), 4 text categorical columns (some missing) and a churn label
with real signal (a non-linear function of the latent customer state, a season, plus noise).
Synthetic numpy, not winback.synthetic: it is built in seconds and has the same width and
column types.

Then, each in a fresh child process (this script re-invoked with ``--child plain|ours``, peak RSS
of that child read with os.wait4), with the same hyperparameters, threads and a fixed number of
rounds (early stopping cannot trigger: its patience exceeds the rounds), both evaluating the
validation set every round:

- plain: ``lightgbm.Dataset`` from one float64 numpy matrix (categories as codes of the sorted
  levels, ``categorical_feature`` set) and ``lightgbm.train``, the month in its own interaction
  constraint;
- ours: ``ChurnModel.fit`` on the DataFrame with text columns (encoding included), configured as
  training configures it: the month an additive feature whose level is refit afterwards;

plus predicting and explaining ``--predict-rows`` validation rows: ``booster.predict`` (and
``pred_contrib=True``) on the numpy matrix against ``ChurnModel.predict_proba`` and
``contributions`` on the DataFrame. Prints seconds, the ratio ours / plain, the resident memory
once the data is loaded and the peak, whether the two boosters predict the same, and how far
the refit month levels move P(churn).

Measured (2 cores, lightgbm 4.7.0, defaults: 1,000,000 + 200,000 rows, 300 rounds, 2 threads):
plain 79.2 s, ours 84.2 s (1.06×), the same trees; peak over the loaded data 0.75 GiB plain,
3.01 GiB ours (the encoded frame, then LightGBM's float copy of it; the same without the
month-level refit, checked at 300,000 rows); the refit levels move P(churn) by at most 0.009.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from winback.training.models import ChurnModel

N_FLOAT = 130
LATENT = 8
#: Text categorical columns and their levels (the model sorts levels; the codes below do too).
CATEGORIES = {
    "country": sorted(f"C{i:02d}" for i in range(20)),
    "channel": sorted(["web", "app", "store", "phone", "partner"]),
    "segment": sorted(["new", "regular", "vip", "lapsed", "wholesale", "staff", "trial", "b2b"]),
    "top_category": sorted(f"cat_{i:02d}" for i in range(50)),
}
KINDS = ("orders", "spend", "days_since", "share", "trend")
MONTH = "as_of_month"
#: Columns of the matrix: the floats, the month, the categorical codes.
WIDTH = N_FLOAT + 1 + len(CATEGORIES)


def _float_names() -> list[str]:
    # Column j has the shape of kind j % 5 (see _generate); from column 60 on, event features.
    return [f"{'event_' if j >= 60 else ''}{KINDS[j % 5]}_{j:03d}" for j in range(N_FLOAT)]


def _generate(rows: int, seed: int) -> dict[str, np.ndarray]:
    """Float features, categorical codes (-1 missing) and a 0/1 churn label for ``rows`` rows."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, LATENT))
    weights = rng.standard_normal((LATENT, N_FLOAT)) / np.sqrt(LATENT)
    floats = np.empty((rows, N_FLOAT), dtype="float64")
    for j in range(N_FLOAT):
        base = z @ weights[:, j] + 0.6 * rng.standard_normal(rows)
        kind = j % 5
        if kind == 0:  # counts
            column = rng.poisson(np.exp(0.5 * base)).astype("float64")
        elif kind == 1:  # skewed amounts, zero for about a third of customers
            column = np.where(base > -0.45, np.exp(1.2 * base + 3.0), 0.0)
        elif kind == 2:  # recency in days
            column = np.minimum(np.floor(np.exp(3.5 - 0.8 * base)), 730.0)
        elif kind == 3:  # shares in [0, 1]
            column = 1.0 / (1.0 + np.exp(-base))
        else:  # trends, rounded like ratios of counts
            column = np.round(base, 2)
        if j >= 60:  # event features: missing for customers without events
            column[rng.random(rows) < 0.15] = np.nan
        floats[:, j] = column
    codes = {}
    effects = np.zeros(rows)
    for name, levels in CATEGORIES.items():
        popularity = rng.dirichlet(np.ones(len(levels)))
        drawn = rng.choice(len(levels), size=rows, p=popularity)
        effects += rng.normal(0.0, 0.4, len(levels))[drawn]
        drawn[rng.random(rows) < 0.02] = -1
        codes[name] = drawn.astype("int16")
    month = rng.integers(1, 13, rows)
    # Churn: non-linear in the latent state (threshold, interaction), plus level effects and a
    # season (fewer leave in the fourth quarter).
    logit = (
        -0.3 * np.cos(2 * np.pi * (month - 11) / 12)
        - 1.2
        + 0.9 * z[:, 0]
        - 0.7 * np.tanh(2.0 * z[:, 1])
        + 0.5 * z[:, 2] * z[:, 3]
        + 0.8 * (z[:, 4] > 1.0)
        + effects
    )
    label = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype("float64")
    return {
        "floats": floats,
        "month": month.astype("float64"),
        "label": label,
        **{f"code_{k}": v for k, v in codes.items()},
    }


def _data_dir(work: Path, rows: int, valid_rows: int) -> Path:
    directory = work / f"training-v2-{rows}-{valid_rows}"
    if not (directory / "done").exists():
        directory.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        # One population, split: the validation rows come from the same customers' world.
        for key, values in _generate(rows + valid_rows, seed=1).items():
            np.save(directory / f"train_{key}.npy", values[:rows])
            np.save(directory / f"valid_{key}.npy", values[rows:])
        (directory / "done").touch()
        print(f"generated {rows:,} + {valid_rows:,} rows in {time.perf_counter() - start:.0f}s")
    return directory


def _numpy_matrix(directory: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    """One float64 matrix: the float features, the month, the category codes (NaN: missing)."""
    floats = np.load(directory / f"{part}_floats.npy")
    matrix = np.empty((len(floats), WIDTH), dtype="float64")
    matrix[:, :N_FLOAT] = floats
    del floats
    matrix[:, N_FLOAT] = np.load(directory / f"{part}_month.npy")
    for i, name in enumerate(CATEGORIES):
        codes = np.load(directory / f"{part}_code_{name}.npy").astype("float64")
        codes[codes < 0] = np.nan
        matrix[:, N_FLOAT + 1 + i] = codes
    return matrix, np.load(directory / f"{part}_label.npy")


def _frame(directory: Path, part: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature table as we hold it: float columns and text columns (missing as NA)."""
    columns: dict[str, Any] = dict(
        zip(_float_names(), np.load(directory / f"{part}_floats.npy").T, strict=True)
    )
    columns[MONTH] = np.load(directory / f"{part}_month.npy")
    for name, levels in CATEGORIES.items():
        codes = np.load(directory / f"{part}_code_{name}.npy")
        text = np.array([*levels, None], dtype=object)[codes]  # code -1 picks None
        columns[name] = pd.array(text, dtype="str")
    return pd.DataFrame(columns), np.load(directory / f"{part}_label.npy")


def _hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_child_samples": 50,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "seed": 0,
        "n_jobs": args.threads,
    }


def _best_of(repeats: int, call: Any) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def _rss_gib() -> float:
    return psutil.Process().memory_info().rss / 1024**3


def _child_plain(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    x, y = _numpy_matrix(directory, "train")
    x_valid, y_valid = _numpy_matrix(directory, "valid")
    loaded = _rss_gib()
    hyper = _hyperparameters(args)
    params = {
        "objective": "binary",
        **{k: v for k, v in hyper.items() if k not in ("min_child_samples", "n_jobs")},
        "min_data_in_leaf": hyper["min_child_samples"],
        "num_threads": args.threads,
        "deterministic": True,
        "force_col_wise": True,
        "verbosity": -1,
        # As ChurnModel derives it from additive_features: the month alone in its branches.
        "interaction_constraints": [[N_FLOAT], [i for i in range(WIDTH) if i != N_FLOAT]],
    }
    names = [*_float_names(), MONTH, *CATEGORIES]
    categorical = list(range(N_FLOAT + 1, WIDTH))
    start = time.perf_counter()
    train = lgb.Dataset(x, y, feature_name=names, categorical_feature=categorical)
    valid = lgb.Dataset(x_valid, y_valid, reference=train)
    booster = lgb.train(
        params,
        train,
        num_boost_round=args.rounds,
        valid_sets=[valid],
        valid_names=["eval"],
        callbacks=[lgb.early_stopping(args.rounds + 1, verbose=False)],
    )
    fit = time.perf_counter() - start
    rows = x_valid[: args.predict_rows]
    proba = booster.predict(rows)
    np.save(directory / "plain_proba.npy", proba)
    return {
        "loaded": loaded,
        "fit": fit,
        "trees": booster.num_trees(),
        "predict": _best_of(args.repeats, lambda: booster.predict(rows)),
        "contrib": _best_of(1, lambda: booster.predict(rows, pred_contrib=True)),
    }


def _child_ours(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    frame, y = _frame(directory, "train")
    frame_valid, y_valid = _frame(directory, "valid")
    loaded = _rss_gib()
    model = ChurnModel(
        **_hyperparameters(args),
        n_estimators=args.rounds,
        early_stopping_rounds=args.rounds + 1,
        additive_features=(MONTH,),
        level_features=(MONTH,),
    )
    start = time.perf_counter()
    model.fit(frame, y, eval_set=(frame_valid, y_valid))
    fit = time.perf_counter() - start
    rows = frame_valid.iloc[: args.predict_rows]
    proba = model.predict_proba(rows)
    # The boosters alone, before the refit month levels, are what plain lightgbm.train trains.
    trees = model.booster_.predict(model._encode(rows))
    plain = directory / "plain_proba.npy"
    diff = float(np.abs(trees - np.load(plain)).max()) if plain.exists() else None
    return {
        "loaded": loaded,
        "fit": fit,
        "trees": model.booster_.num_trees(),
        "predict": _best_of(args.repeats, lambda: model.predict_proba(rows)),
        "contrib": _best_of(1, lambda: model.contributions(rows)),
        "max_diff": diff,
        "level_shift": float(np.abs(proba - trees).max()),
    }


def _cpu() -> float:
    """User + system CPU seconds of this process (all its threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _child_fit(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    """One ChurnModel fit for --rounds rounds with --threads threads: wall and CPU seconds."""
    frame, y = _frame(directory, "train")
    frame_valid, y_valid = _frame(directory, "valid")
    model = ChurnModel(
        **_hyperparameters(args),
        n_estimators=args.rounds,
        early_stopping_rounds=args.rounds + 1,
        additive_features=(MONTH,),
        level_features=(MONTH,),
    )
    cpu, start = _cpu(), time.perf_counter()
    model.fit(frame, y, eval_set=(frame_valid, y_valid))
    return {"wall": time.perf_counter() - start, "cpu": _cpu() - cpu}


def _spawn(argv: list[str], which: str, wait_policy: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if wait_policy is not None:
        env["OMP_WAIT_POLICY"] = wait_policy
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--child", which]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)


def _collect(proc: subprocess.Popen[str]) -> dict[str, Any]:
    output, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"failed: {proc.args!r}")
    return dict(json.loads(output.strip().splitlines()[-1]))


def _study_threads(args: argparse.Namespace) -> None:
    """1 vs 2 threads, wait policy unset vs PASSIVE, alone and two side by side."""
    _data_dir(args.work, args.rows, args.valid_rows)
    print(
        f"ChurnModel.fit, {args.rows:,} + {args.valid_rows:,} rows, {WIDTH} columns, "
        f"{args.rounds} rounds, lightgbm {lgb.__version__}, {os.cpu_count()} cores"
    )
    header = f"{'threads':>7} {'OMP_WAIT_POLICY':>15} {'copies':>6}  wall s (each)"
    print(f"{header}      CPU s (each)   load before → after")
    for threads in (1, 2):
        argv = [f"--rows={args.rows}", f"--valid-rows={args.valid_rows}",
                f"--rounds={args.rounds}", f"--threads={threads}",
                f"--work={args.work}"]  # fmt: skip
        for policy in (None, "PASSIVE"):
            for copies in (1, 2):
                before = _load()
                procs = [_spawn(argv, "fit", policy) for _ in range(copies)]
                results = [_collect(p) for p in procs]
                walls = " ".join(f"{r['wall']:6.1f}" for r in results)
                cpus = " ".join(f"{r['cpu']:6.1f}" for r in results)
                print(
                    f"{threads:>7} {policy or 'unset':>15} {copies:>6}  {walls:<17} {cpus:<14} "
                    f"{before} → {_load()}",
                    flush=True,
                )


def _demo_world(work: Path) -> Path:
    """The demo's data and config in ``work/demo`` (simulated once); returns the config path."""
    root = work / "demo"
    config = root / "winback.toml"
    if not (root / "done").exists():
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(__file__).resolve().parents[1] / "winback.toml", config)
        subprocess.run(
            [str(Path(sys.executable).parent / "winback"), "simulate", "--customers", "10000",
             "--start", "2023-01-01", "--end", "2025-01-01", "--seed", "7",
             "--out", str(root / "demo-output" / "data")],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        (root / "done").touch()
    shutil.rmtree(root / "mlruns", ignore_errors=True)  # every run starts from an empty store
    return config


def _child_demo(args: argparse.Namespace) -> dict[str, Any]:
    """``winback train --trials N`` on the demo world, in process: each step's wall and CPU."""
    from dataclasses import replace  # noqa: PLC0415
    from functools import partial  # noqa: PLC0415

    from winback.features import load_dataset  # noqa: PLC0415
    from winback.settings import load_settings  # noqa: PLC0415
    from winback.training import pipeline, tuning  # noqa: PLC0415
    from winback.training.run import train_and_register  # noqa: PLC0415

    if args.tune_rate == "searched":  # the search space before the trials' rate was fixed
        pipeline.tune_churn = partial(tuning.tune_churn, learning_rate=None)

    config = args.work / "demo" / "winback.toml"
    settings = load_settings(config)
    update: dict[str, Any] = {"trials": args.trials} | (
        {"n_jobs": args.n_jobs} if args.n_jobs >= 0 else {}
    )
    if args.learning_rate is not None:
        update["learning_rate"] = args.learning_rate
    settings = replace(settings, training=settings.training.model_copy(update=update))
    steps: list[tuple[str, float, float, str]] = []
    cpu_mark = [_cpu()]

    def on_step(name: str, seconds: float, detail: str) -> None:
        now = _cpu()
        steps.append((name, seconds, now - cpu_mark[0], detail))
        cpu_mark[0] = now

    cpu, start = _cpu(), time.perf_counter()
    dataset = load_dataset(settings.data, engine=settings.engine)
    steps.append(("reading the data", time.perf_counter() - start, _cpu() - cpu, ""))
    cpu_mark[0] = _cpu()
    run = train_and_register(dataset, settings, root=config.parent, on_step=on_step)
    figures = {
        k: v
        for k, v in run.result.metrics.items()
        if k.startswith(("test.ours.", "test.bgnbd.", "period_"))
        and not any(w in k for w in ("capture_at", "lift_at", "base_rate", "mean_"))
    }
    if run.result.tuning is not None:
        figures["tuning.best_valid_log_loss"] = run.result.tuning.best_value
    rounds = run.result.bundle.churn.best_iterations_
    return {
        "steps": steps,
        "wall": time.perf_counter() - start,
        "cpu": _cpu() - cpu,
        "figures": figures,
        "churn": {
            "rounds": rounds,
            "params": run.result.tuning.best_params if run.result.tuning else {},
        },
    }


def _study_demo(args: argparse.Namespace) -> None:
    config = _demo_world(args.work)
    before = _load()
    argv = [f"--work={args.work}", f"--trials={args.trials}", f"--n-jobs={args.n_jobs}",
            f"--tune-rate={args.tune_rate}",
            *([f"--learning-rate={args.learning_rate}"] if args.learning_rate else [])]  # fmt: skip
    proc = _spawn(argv, "demo", os.environ.get("OMP_WAIT_POLICY"))
    result = _collect(proc)
    print(
        f"winback train --trials {args.trials} on the demo world ({config.parent}); trials' "
        f"learning rate {args.tune_rate}, models' {args.learning_rate or 'from the settings'}; "
        f"OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY')}"
    )
    print(f"  {'step':<28} {'wall s':>7} {'CPU s':>7}  detail")
    tuning = [0.0, 0.0]
    for name, wall, cpu, detail in result["steps"]:
        if name.startswith("tuning trial"):
            tuning[0] += wall
            tuning[1] += cpu
        print(f"  {name:<28} {wall:7.1f} {cpu:7.1f}  {detail[:70]}")
    accounted = sum(s[1] for s in result["steps"])
    print(f"  {'(all tuning trials)':<28} {tuning[0]:7.1f} {tuning[1]:7.1f}")
    print(f"  {'(between steps)':<28} {result['wall'] - accounted:7.1f}")
    print(f"  {'total':<28} {result['wall']:7.1f} {result['cpu']:7.1f}  load {before} → {_load()}")
    print(f"  churn model: {result['churn']}")
    for name, value in sorted(result["figures"].items()):
        print(f"  {name:<40} {value:.4f}")


def _study_btyd(args: argparse.Namespace) -> None:
    """Our BG/NBD + Gamma-Gamma fit against pymc-marketing's MAP fits on the same summary."""
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel  # noqa: PLC0415

    from winback.training.baselines import BgNbdBaseline, rfm_summary  # noqa: PLC0415

    config = _demo_world(args.work)
    tx = pd.read_parquet(config.parent / "demo-output" / "data" / "transactions.parquet")
    summary = rfm_summary(tx, "2024-10-01")
    before = _load()
    cpu, start = _cpu(), time.perf_counter()
    ours = BgNbdBaseline().fit(summary)
    ours_wall, ours_cpu = time.perf_counter() - start, _cpu() - cpu
    data = summary.assign(customer_id=np.arange(len(summary)))
    repeat = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
    cpu, start = _cpu(), time.perf_counter()
    bgnbd = BetaGeoModel()
    bgnbd.fit(data[["customer_id", "frequency", "recency", "T"]], method="map", progressbar=False)
    gamma_gamma = GammaGammaModel()
    gamma_gamma.fit(
        repeat[["customer_id", "frequency", "monetary_value"]], method="map", progressbar=False
    )
    theirs_wall, theirs_cpu = time.perf_counter() - start, _cpu() - cpu
    theirs = {k: float(bgnbd.fit_result[k].mean()) for k in ("r", "alpha", "a", "b")} | {
        k: float(gamma_gamma.fit_result[k].mean()) for k in ("p", "q", "v")
    }
    worst = max(abs(ours.params_[k] / v - 1) for k, v in theirs.items())
    print(
        f"BG/NBD + Gamma-Gamma on the demo's summary as of 2024-10-01, {len(summary):,} customers"
    )
    print(f"  ours (SciPy)             wall {ours_wall:6.2f}s  CPU {ours_cpu:6.2f}s")
    print(f"  pymc-marketing MAP       wall {theirs_wall:6.2f}s  CPU {theirs_cpu:6.2f}s  "
          f"({theirs_wall / ours_wall:.0f}× ours)")  # fmt: skip
    print(f"  largest relative parameter difference {worst:.1e}; load {before} → {_load()}")
    print("  " + ", ".join(f"{k} {ours.params_[k]:.4g}/{theirs[k]:.4g}" for k in theirs))


def _run_child(which: str, argv: list[str]) -> tuple[dict[str, Any], float]:
    """This script as ``--child which`` in a fresh process: its result and its peak RSS (GiB)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--child", which]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    # wait4 reports the rusage of this one child, not the maximum over all children so far.
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return json.loads(output.strip().splitlines()[-1]), usage.ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--valid-rows", type=int, default=200_000)
    parser.add_argument("--predict-rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3, help="best of, for the predict timing")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "winback-bench")
    parser.add_argument("--study", choices=["lightgbm", "threads", "demo", "btyd"],
                        default="lightgbm")  # fmt: skip
    parser.add_argument("--trials", type=int, default=10, help="demo study: tuning trials")
    parser.add_argument("--n-jobs", type=int, default=-1,
                        help="demo study: [training] n_jobs (default: the settings')")  # fmt: skip
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="demo study: [training] learning_rate")  # fmt: skip
    parser.add_argument("--tune-rate", choices=["fixed", "searched"], default="fixed",
                        help="demo study: trials at the fixed rate or searching it")  # fmt: skip
    parser.add_argument("--child", choices=["plain", "ours", "fit", "demo"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "demo":
        print(json.dumps(_child_demo(args)))
        return
    if args.study != "lightgbm":
        {"threads": _study_threads, "demo": _study_demo, "btyd": _study_btyd}[args.study](args)
        return
    directory = _data_dir(args.work, args.rows, args.valid_rows)
    if args.child:
        child = {"plain": _child_plain, "ours": _child_ours, "fit": _child_fit}[args.child]
        print(json.dumps(child(args, directory)))
        return

    argv = [f"--rows={args.rows}", f"--valid-rows={args.valid_rows}",
            f"--predict-rows={args.predict_rows}", f"--rounds={args.rounds}",
            f"--threads={args.threads}", f"--repeats={args.repeats}",
            f"--work={args.work}"]  # fmt: skip
    (directory / "plain_proba.npy").unlink(missing_ok=True)
    plain, plain_peak = _run_child("plain", argv)
    ours, ours_peak = _run_child("ours", argv)
    print(
        f"{args.rows:,} training rows + {args.valid_rows:,} validation rows, {WIDTH} columns "
        f"({N_FLOAT} float, the month, {len(CATEGORIES)} text categorical), {args.rounds} rounds, "
        f"{args.threads} threads, lightgbm {lgb.__version__}"
    )
    print("training (Dataset construction + all rounds, validation scored every round)")
    for name, result, peak in (
        ("plain lightgbm.train (numpy float64)", plain, plain_peak),
        ("ChurnModel.fit (DataFrame, text columns)", ours, ours_peak),
    ):
        print(
            f"  {name:<42} {result['fit']:7.2f}s  {result['fit'] / plain['fit']:5.2f}× plain  "
            f"{result['trees']} trees  data loaded {result['loaded']:.2f} GiB, "
            f"peak {peak:.2f} GiB (+{peak - result['loaded']:.2f})"
        )
    print(
        f"scoring {min(args.predict_rows, args.valid_rows):,} rows "
        f"(predict best of {args.repeats}, contributions once)"
    )
    for name, key, ours_name in (
        ("booster.predict", "predict", "ChurnModel.predict_proba"),
        ("booster.predict(pred_contrib=True)", "contrib", "ChurnModel.contributions"),
    ):
        print(f"  {'plain ' + name:<42} {plain[key]:7.2f}s")
        print(f"  {ours_name:<42} {ours[key]:7.2f}s  {ours[key] / plain[key]:5.2f}× plain")
    diff = ours["max_diff"]
    same = "n/a" if diff is None else f"{diff:.2e}"
    print(f"max |P(churn) ours − plain| on the scored rows, boosters alone: {same}")
    print(f"max |P(churn) change| from the refit month levels: {ours['level_shift']:.3f}")


if __name__ == "__main__":
    main()
