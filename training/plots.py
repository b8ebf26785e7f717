"""Evaluation plots of the test predictions: ROC/PR, gains and lift, reliability, spend deciles.

Every function takes :attr:`TrainResult.test_predictions` (labels, our predictions and the
baselines' columns prefixed ``rfm_`` / ``bgnbd_``), writes one PNG at ``path`` and returns the
path. Figures are drawn on the Agg canvas directly (no pyplot, no global backend) and saved
without a software stamp, so the same predictions give the same bytes.

Each model is judged on the rows it can score: a baseline that leaves a row NaN (BG/NBD needs a
purchase before the cutoff) simply drops that row from its own curve; the legend gives the count.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

from winback.common.figures import new_figure, save_figure
from winback.training.metrics import decile_table, gains_curve, reliability_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Display name of each model, in the order they are drawn; ``ours`` has no column prefix.
MODEL_NAMES: dict[str, str] = {"ours": "ours (LightGBM)", "rfm": "RFM rules", "bgnbd": "BG/NBD"}
_COLOURS = {"ours": "#1f5fa8", "rfm": "#d9822b", "bgnbd": "#3a9a5b"}
_RANDOM = {"color": "#888888", "linestyle": "--", "linewidth": 1.0}


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} needs columns {missing} in test_predictions; pass TrainResult.test_predictions"
        )


def _active_scores(test_predictions: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per model present: (active in horizon 0/1, predicted probability of being active).

    Rows without a churn label, or without that model's prediction, are left out.
    """
    _require(test_predictions, ["churned", "churn_probability"], "the active-in-horizon plots")
    labelled = test_predictions[test_predictions["churned"].notna()]
    if len(labelled) == 0:
        raise ValueError("test_predictions has no row with a churn label: nothing to plot")
    active = 1.0 - labelled["churned"].to_numpy(dtype="float64")
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for who in MODEL_NAMES:
        if who == "ours":
            score = 1.0 - labelled["churn_probability"].to_numpy(dtype="float64")
        elif f"{who}_p_active" in labelled.columns:
            score = labelled[f"{who}_p_active"].to_numpy(dtype="float64")
        else:
            continue
        keep = np.isfinite(score)
        if keep.any():
            out[who] = (active[keep], score[keep])
    return out


def roc_pr_plot(test_predictions: pd.DataFrame, path: Path) -> Path:
    """ROC and precision-recall curves for "ordered in the horizon", ours against each baseline.

    Left: ROC with the chance diagonal; right: precision-recall with the base rate as the
    chance line. Legends give each model's AUC / average precision and row count.
    """
    scores = _active_scores(test_predictions)
    figure = new_figure(11.0, 4.8)
    roc_axes, pr_axes = figure.subplots(1, 2)
    base_rate = np.nan
    for who, (y, p) in scores.items():
        two_classes = 0 < y.sum() < len(y)
        if not two_classes:
            continue
        fpr, tpr, _ = roc_curve(y, p)
        precision, recall, _ = precision_recall_curve(y, p)
        label = MODEL_NAMES[who]
        colour = _COLOURS[who]
        roc_axes.plot(
            fpr, tpr, color=colour, label=f"{label}: AUC {auc(fpr, tpr):.3f} ({len(y):,} rows)"
        )
        pr_axes.plot(
            recall,
            precision,
            color=colour,
            drawstyle="steps-post",
            label=f"{label}: AP {average_precision_score(y, p):.3f}",
        )
        if who == "ours":
            base_rate = float(y.mean())
    roc_axes.plot([0, 1], [0, 1], label="random", **_RANDOM)
    roc_axes.set(
        xlabel="false positive rate (churners predicted active)",
        ylabel="true positive rate (active customers found)",
        title="ROC: ordering again in the horizon",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    if np.isfinite(base_rate):
        pr_axes.axhline(base_rate, label=f"random (base rate {base_rate:.1%})", **_RANDOM)
    pr_axes.set(
        xlabel="recall (share of active customers found)",
        ylabel="precision (share predicted active who were)",
        title="Precision-recall: ordering again in the horizon",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    for axes in (roc_axes, pr_axes):
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right" if axes is roc_axes else "lower left", fontsize=8)
    return save_figure(figure, path)


def gains_plot(test_predictions: pd.DataFrame, path: Path) -> Path:
    """Cumulative gains and lift for finding churners, ours against each baseline.

    Customers are ranked by predicted churn (for a baseline: 1 − its probability of ordering).
    Left: share of all churners found in the top x % targeted, with the random diagonal; right:
    lift (churn rate in the top x % / overall churn rate), random = 1.
    """
    scores = _active_scores(test_predictions)
    figure = new_figure(11.0, 4.8)
    gains_axes, lift_axes = figure.subplots(1, 2)
    for who, (active, p_active) in scores.items():
        churned, score = 1.0 - active, 1.0 - p_active
        if churned.sum() == 0:
            continue
        curve = gains_curve(churned, score)
        targeted = curve["share_targeted"].to_numpy()
        captured = curve["share_captured"].to_numpy()
        style = {"color": _COLOURS[who], "label": MODEL_NAMES[who]}
        gains_axes.plot(100 * targeted, 100 * captured, **style)
        shown = targeted >= 0.01
        lift_axes.plot(100 * targeted[shown], captured[shown] / targeted[shown], **style)
    gains_axes.plot([0, 100], [0, 100], label="random", **_RANDOM)
    gains_axes.set(
        xlabel="customers targeted, highest predicted churn first (%)",
        ylabel="churners found (% of all churners)",
        title="Cumulative gains: finding churners",
        xlim=(0, 100),
        ylim=(0, 101),
    )
    lift_axes.axhline(1.0, label="random", **_RANDOM)
    lift_axes.set(
        xlabel="customers targeted, highest predicted churn first (%)",
        ylabel="lift (churn rate targeted / overall)",
        title="Lift: churn rate among those targeted",
        xlim=(0, 100),
    )
    lift_axes.set_ylim(bottom=0)
    for axes in (gains_axes, lift_axes):
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", fontsize=8)
    return save_figure(figure, path)


def reliability_plot(test_predictions: pd.DataFrame, path: Path, n_bins: int = 10) -> Path:
    """Calibration diagram of our churn probability: observed churn rate per equal-count bin.

    Top: observed rate against mean predicted probability per bin, with the diagonal of perfect
    calibration; bottom: customers per bin. Bins come from :func:`reliability_table`.
    """
    _require(test_predictions, ["churned", "churn_probability"], "the reliability plot")
    labelled = test_predictions[test_predictions["churned"].notna()]
    if len(labelled) == 0:
        raise ValueError("test_predictions has no row with a churn label: nothing to plot")
    table = reliability_table(labelled["churned"], labelled["churn_probability"], n_bins)
    gap = (table["observed_rate"] - table["mean_predicted"]).abs()
    ece = float((gap * table["count"]).sum() / table["count"].sum())
    figure = new_figure(6.5, 6.5)
    top, bottom = figure.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], label="perfectly calibrated", **_RANDOM)
    top.plot(
        table["mean_predicted"],
        table["observed_rate"],
        marker="o",
        color=_COLOURS["ours"],
        label=f"ours: ECE {ece:.3f}",
    )
    top.set(
        ylabel="observed churn rate",
        title=f"Reliability of the churn probability ({len(labelled):,} test rows)",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    top.grid(alpha=0.3)
    top.legend(loc="upper left", fontsize=8)
    _count_bars(bottom, table)
    return save_figure(figure, path)


def _count_bars(axes: Axes, table: pd.DataFrame) -> None:
    x = table["mean_predicted"].to_numpy(dtype="float64")
    width = 0.8 * float(np.min(np.diff(x))) if len(x) > 1 else 0.05
    axes.bar(x, table["count"], width=min(max(width, 0.005), 0.08), color=_COLOURS["ours"])
    axes.set(xlabel="mean predicted churn probability in the bin", ylabel="customers")
    axes.grid(axis="y", alpha=0.3)


def decile_plot(test_predictions: pd.DataFrame, path: Path) -> Path:
    """Predicted against actual mean spend per decile of our predicted spend (1 = highest).

    Actual spend is net (refunds make it negative for a few customers); bars give means per
    customer in the decile, and the title the share of all spend in the top decile.
    """
    _require(test_predictions, ["spend_next", "expected_spend"], "the decile plot")
    rows = test_predictions[
        test_predictions["spend_next"].notna() & test_predictions["expected_spend"].notna()
    ]
    if len(rows) < 10:
        raise ValueError(f"the decile plot needs at least 10 rows with spend, got {len(rows)}")
    table = decile_table(rows["spend_next"], rows["expected_spend"])
    figure = new_figure(8.0, 4.6)
    axes = figure.subplots()
    x = table["decile"].to_numpy()
    axes.bar(x - 0.2, table["mean_predicted"], width=0.4, color=_COLOURS["ours"], label="predicted")
    axes.bar(x + 0.2, table["mean_actual"], width=0.4, color="#9a9a9a", label="actual")
    axes.set_xticks(x)
    share = float(table["share_of_actual"].iloc[0])
    title = "Spend by decile of predicted spend"
    if np.isfinite(share):
        title += f": top decile holds {share:.0%} of actual spend"
    axes.set(
        xlabel="decile of predicted spend (1 = highest predicted)",
        ylabel="mean spend per customer in the horizon",
        title=title,
    )
    axes.axhline(0.0, color="#444444", linewidth=0.8)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=8)
    return save_figure(figure, path)


__all__ = [
    "MODEL_NAMES",
    "decile_plot",
    "gains_plot",
    "reliability_plot",
    "roc_pr_plot",
]
