"""Figures drawn on the Agg canvas directly and saved without a software stamp.

No pyplot and no global backend, so plotting is safe in servers and threads; the same data gives
the same PNG bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new_figure(width: float, height: float, dpi: int = 100) -> Figure:
    """A figure drawn by the Agg canvas directly: no pyplot, no global backend, no window."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 (slow; only to plot)
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as a PNG at ``path`` (parents created); the same data, the same bytes."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # No software or date stamp: the same data gives the same bytes.
    figure.savefig(target, format="png", metadata={"Software": None})
    return target


__all__ = ["new_figure", "save_figure"]
