"""The measurement behind ``[training] population_borrow``, on CDNOW's calibration period only.

    python bench/real/population_borrow.py 0 0.25 1

Trains the natural configuration (13-week horizon, 3 periods) on the calibration purchases and
prints the run's own test figures (held-out customers at the last cutoff) per value; the holdout
is never read. Results: docs/2026-12-05-populations-and-short-histories.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cdnow  # noqa: E402

from winback.features import (  # noqa: E402
    LabelSettings,
    SnapshotSettings,
    build_snapshots,
    load_dataset,
)
from winback.training.pipeline import TrainingSettings, train_models  # noqa: E402

CACHE = HERE.parents[1] / ".cache" / "bench-real"
FIGURES = [
    f"{population}test.ours.active.{name}"
    for population in ("", "retention.", "winback.")
    for name in ("roc_auc", "pr_auc")
]


def main(values: list[str]) -> None:
    """Train once per value of ``population_borrow`` and print the test figures."""
    days, _ = cdnow.load(CACHE)
    calibration, _ = cdnow.split(days)
    dataset = load_dataset(frames={"transactions": calibration})
    labels = LabelSettings(horizon_days=91, periods=3)
    snaps = build_snapshots(
        dataset, labels=labels, snapshots=SnapshotSettings(), as_of=cdnow.CALIBRATION_END
    )
    for value in values:
        settings = TrainingSettings(n_jobs=1, bgnbd_baseline=False, population_borrow=float(value))
        metrics = train_models(snaps, dataset, labels, settings).metrics
        print(value, {k: round(metrics[k], 4) for k in FIGURES}, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["0", "0.25", "1"])
