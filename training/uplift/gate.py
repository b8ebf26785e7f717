"""The evidence gate: learned effects reach a list only if they ranked held-out contacts well.

Noise sold as effects is worse than an assumed effect: ranked by a noisy estimate times margin, a
list favours the most valuable customers at random, and sleeping dogs (whom an offer pushes
away) sit among them. So a model passes only if the pooled Qini coefficient of its estimates on
the held-out send days is above zero at 95% confidence (bootstrap over those contacts). The gate
errs towards the assumed effects; how often it refused useful models, and passed harmful ones,
is recorded in docs/2026-12-05-uplift-learners.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from winback.training.uplift.base import Array
from winback.training.uplift.metrics import evaluate_uplift, qini_lower_bound


@dataclass(frozen=True)
class Evidence:
    """What the held-out contacts say of a learner's estimates.

    ``evaluation`` is :func:`evaluate_uplift` per offer and pooled (row ``all``); ``qini_lower``
    the 95% lower bound of the pooled Qini coefficient; ``contacts`` how many were held out.
    """

    evaluation: pd.DataFrame
    qini_lower: float
    contacts: int

    @property
    def passed(self) -> bool:
        """Whether the estimates ranked customers better than chance, at 95% confidence."""
        return self.qini_lower > 0

    def refusal(self) -> str:
        """Why the estimates were refused, in a sentence."""
        return (
            f"on the held-out send days ({self.contacts} contacts) the estimated effects did not "
            f"rank customers better than chance (Qini {self.evaluation.loc['all', 'qini']:.4f}, "
            f"95% lower bound {self.qini_lower:.4f})"
        )


def held_out_evidence(held_out: pd.DataFrame, estimate: Array, seed: int = 0) -> Evidence:
    """Judge ``estimate`` (one per row) on ``held_out`` contacts (lost, treated, offer)."""
    evaluation = evaluate_uplift(held_out["lost"], held_out["treated"], held_out["offer"], estimate)
    lower = qini_lower_bound(held_out["lost"], held_out["treated"], estimate, seed=seed)
    return Evidence(evaluation, lower, len(held_out))


__all__ = ["Evidence", "held_out_evidence"]
