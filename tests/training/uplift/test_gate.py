"""The evidence gate passes a real effect and refuses the same contacts with the treatment shuffled.

Learned on the earlier send days of a generated campaign and judged on the latest two, as
``fit_uplift`` does on campaign history.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.training.uplift.generated import campaign
from winback.training.uplift import LEARNERS, LearnerName
from winback.training.uplift.gate import Evidence, held_out_evidence


def _evidence(learner: LearnerName, shuffled: bool) -> Evidence:
    data, _ = campaign(shuffled=shuffled)
    days = data.contacts["as_of"]
    held = days.isin(sorted(days.unique())[-2:]).to_numpy()
    fitted = LEARNERS[learner].fit(data, ~held)
    estimate = fitted.effect(data.x[held].reset_index(drop=True), "discount")
    return held_out_evidence(data.contacts[held], estimate)


@pytest.mark.parametrize("learner", sorted(LEARNERS))
def test_a_real_effect_passes_the_gate(learner: LearnerName) -> None:
    evidence = _evidence(learner, shuffled=False)
    # Measured: lower bounds 0.0154 (r), 0.0120 (t), 0.0147 (x); shuffled -0.0085, -0.0019, -0.0039.
    assert evidence.passed
    assert evidence.qini_lower > 0.005
    assert evidence.contacts == evidence.evaluation.loc["all", "contacts"]
    assert set(evidence.evaluation.index) == {"discount", "all"}


@pytest.mark.parametrize("learner", sorted(LEARNERS))
def test_the_shuffled_treatment_is_refused_saying_why(learner: LearnerName) -> None:
    evidence = _evidence(learner, shuffled=True)
    assert not evidence.passed
    assert evidence.refusal().startswith(
        f"on the held-out send days ({evidence.contacts} contacts) the estimated effects did not "
        "rank customers better than chance (Qini "
    )
    assert f"95% lower bound {evidence.qini_lower:.4f})" in evidence.refusal()
    assert np.isfinite(evidence.qini_lower)
