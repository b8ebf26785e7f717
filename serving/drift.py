"""Drift: how far a scoring snapshot has moved from the data the model was trained on.

``drift_report`` compares a frame of model inputs (and, when present, the model's outputs) with
the :class:`~training.reference.ReferenceProfile` stored in the model bundle, column by column
(PSI), and grades each column against :class:`~serving.settings.DriftSettings`: ``ok`` below
``warn_psi``, ``warn`` from ``warn_psi`` up to ``alert_psi``, ``alert`` above ``alert_psi``.
``log_drift`` records the result in the active MLflow run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import mlflow
import numpy as np
import pandas as pd

from winback.common.timestamps import to_utc_naive
from winback.serving.settings import DriftSettings
from winback.training.reference import PSI_COLUMNS, ReferenceProfile
from winback.training.tracking import log_frame, log_metrics_prefixed

Status = Literal["ok", "warn", "alert"]
#: Statuses from harmless to serious.
STATUSES: tuple[Status, ...] = ("ok", "warn", "alert")
#: Columns of :attr:`DriftReport.table`, in order.
REPORT_COLUMNS = (*PSI_COLUMNS, "status")
_READING = {"ok": "stable", "warn": "moderate shift", "alert": "major shift"}


def status_of(psi: float, settings: DriftSettings) -> Status:
    """``alert`` when ``psi > alert_psi``, ``warn`` when ``psi >= warn_psi``, else ``ok``."""
    if psi > settings.alert_psi:
        return "alert"
    if psi >= settings.warn_psi:
        return "warn"
    return "ok"


@dataclass(frozen=True, eq=False)
class DriftReport:
    """PSI and status per column, the most shifted first, and how many rows were compared."""

    #: Columns :data:`REPORT_COLUMNS`, sorted by ``psi`` descending (ties by column name).
    table: pd.DataFrame
    settings: DriftSettings
    #: Rows of the current frame, and of the training data the reference was fitted on.
    rows: int
    reference_rows: int

    @property
    def counts(self) -> dict[str, int]:
        """Columns per status: ``{"ok": …, "warn": …, "alert": …}`` (they add up to all columns)."""
        counts = self.table["status"].value_counts()
        return {s: int(counts.get(s, 0)) for s in STATUSES}

    @property
    def status(self) -> Status:
        """The worst status of any column (``ok`` when nothing moved)."""
        counts = self.counts
        return next((s for s in reversed(STATUSES) if counts[s]), "ok")

    @property
    def max_psi(self) -> float:
        """The largest PSI of any column (0 when no column was compared)."""
        return float(self.table["psi"].max()) if len(self.table) else 0.0

    def worst(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` most shifted columns, whatever their status."""
        return self.table.head(n)

    def summary(self, n: int = 5) -> dict[str, Any]:
        """Plain numbers for a log line or JSON: rows, counts per status, the worst columns."""
        return {
            "status": self.status,
            "rows": self.rows,
            "reference_rows": self.reference_rows,
            "columns": len(self.table),
            **self.counts,
            "max_psi": self.max_psi,
            "warn_psi": self.settings.warn_psi,
            "alert_psi": self.settings.alert_psi,
            "worst": {str(r.feature): float(r.psi) for r in self.worst(n).itertuples(index=False)},
        }

    def warnings(self) -> list[str]:
        """One line per column at ``warn`` or ``alert``, most shifted first.

        E.g. ``days_since_last_order: PSI 0.31 (major shift); most moved: > 120, 10.0% → 31.5%``.
        """
        lines = []
        for r in self.table.itertuples(index=False):
            if r.status == "ok":
                continue
            what = f"{r.feature} (model output)" if r.role == "output" else r.feature
            lines.append(
                f"{what}: PSI {r.psi:.2f} ({_READING[str(r.status)]}); most moved: {r.bin}, "
                f"{r.reference_share:.1%} → {r.current_share:.1%}"
            )
        return lines


def drift_report(
    profile: ReferenceProfile,
    current: pd.DataFrame,
    settings: DriftSettings,
    columns: Sequence[str] | None = None,
) -> DriftReport:
    """Compare ``current`` with the training ``profile``: PSI and status per column.

    ``current`` must hold every profiled column (or every one of ``columns``, when given: e.g.
    the inputs only, before the model has scored). Raises
    :class:`~training.reference.ProfileError` naming missing columns, a text column where the
    model saw numbers, or an empty frame.
    """
    table = profile.psi(current, columns)
    table["status"] = pd.Series(
        [status_of(p, settings) for p in table["psi"]], index=table.index, dtype="str"
    )
    order = np.lexsort((table["feature"].to_numpy(dtype=str), -table["psi"].to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    return DriftReport(
        table=table[list(REPORT_COLUMNS)],
        settings=settings,
        rows=len(current),
        reference_rows=profile.rows,
    )


def log_drift(report: DriftReport, as_of: date | datetime | str) -> str:
    """Record ``report`` in the active MLflow run; return the artifact path of its table.

    Metrics: ``drift.psi.<column>`` per column, ``drift.columns.<status>`` (counts),
    ``drift.max_psi`` and ``drift.rows``. The table goes to ``drift/psi_<as_of>.csv`` and
    :meth:`DriftReport.summary` to ``drift/summary_<as_of>.json``; the tag ``winback.drift.as_of``
    holds the cutoff. Raises ``RuntimeError`` when no run is active.
    """
    if mlflow.active_run() is None:
        raise RuntimeError("log_drift needs an active MLflow run (start one with mlflow.start_run)")
    moment = to_utc_naive(as_of)
    midnight = moment.time() == datetime.min.time()
    stamp = moment.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H%M%S")
    psi = zip(report.table["feature"], report.table["psi"], strict=True)
    log_metrics_prefixed("drift.psi", {str(f): float(p) for f, p in psi})
    log_metrics_prefixed(
        "drift",
        {
            **{f"columns.{s}": float(n) for s, n in report.counts.items()},
            "max_psi": report.max_psi,
            "rows": float(report.rows),
        },
    )
    mlflow.set_tag("winback.drift.as_of", moment.isoformat())
    artifact = f"drift/psi_{stamp}.csv"
    log_frame(report.table, artifact)
    summary = {"as_of": moment.isoformat(), **report.summary()}
    mlflow.log_dict(summary, f"drift/summary_{stamp}.json")
    return artifact


__all__ = [
    "REPORT_COLUMNS",
    "STATUSES",
    "DriftReport",
    "Status",
    "drift_report",
    "log_drift",
    "status_of",
]
