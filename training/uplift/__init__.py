"""Per-customer offer effect (uplift), learned from campaign history with a random control group.

Where the ``campaigns`` table records who was sent an offer (``treated``) and a random control
who was not, the policy prices each customer's offer with an estimated effect instead of an
assumed one (docs/design.md, "Deciding who merits an offer"). :func:`fit_uplift` learns it from the
contacts whose outcome is known (:mod:`contacts`), with one of the learners (:mod:`r_learner`,
the default; :mod:`x_learner`, :mod:`t_learner`), and returns a model only if its estimates
rank held-out contacts better than chance (:mod:`gate`, judged by :mod:`metrics`). The
measurements behind these choices are in docs/2026-12-05-uplift-learners.md; the statistical
studies that back them run in ``bench/bench_uplift.py``.
"""

from winback.training.uplift.base import LearnerName, UpliftError
from winback.training.uplift.contacts import uplift_contacts
from winback.training.uplift.fit import LEARNERS, fit_uplift
from winback.training.uplift.metrics import (
    auuc,
    evaluate_uplift,
    qini_coefficient,
    qini_curve,
    qini_lower_bound,
    targeting_comparison,
)
from winback.training.uplift.model import UpliftModel

__all__ = [
    "LEARNERS",
    "LearnerName",
    "UpliftError",
    "UpliftModel",
    "auuc",
    "evaluate_uplift",
    "fit_uplift",
    "qini_coefficient",
    "qini_curve",
    "qini_lower_bound",
    "targeting_comparison",
    "uplift_contacts",
]
