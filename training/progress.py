"""Progress of a long training run, reported step by step to whoever called it.

The library never prints: a caller that wants to show progress passes an :class:`OnStep`
callable, and each finished step (snapshots, a tuning trial, a model, the baselines, the
explanations, the report, the registration) calls it once with its name, the seconds it took
and a short detail. ``winback train`` renders the calls as lines; notebooks usually pass none.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol


class OnStep(Protocol):
    """Called once per finished step: ``on_step("churn model", 4.2, "312 trees")``."""

    def __call__(self, name: str, seconds: float, detail: str) -> None:
        """Report step ``name``: it took ``seconds`` and produced ``detail``."""


@dataclass
class Step:
    """A step being timed; the block sets ``detail`` once it knows what the step produced."""

    name: str
    detail: str = ""


@contextmanager
def step(on_step: OnStep | None, name: str) -> Iterator[Step]:
    """Time the block and report it to ``on_step`` when it finishes (not when it raises)."""
    current = Step(name)
    start = time.perf_counter()
    yield current
    if on_step is not None:
        on_step(current.name, time.perf_counter() - start, current.detail)


__all__ = ["OnStep", "Step", "step"]
