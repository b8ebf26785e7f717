"""Fitting at a cutoff: the time rule, the registry of learners, and no model (saying why)."""

from __future__ import annotations

from datetime import datetime
from typing import get_args

import numpy as np
import pandas as pd
import pytest

from tests.training.uplift.conftest import END, HORIZON, TABLES, world_dataset
from winback.features import build_features, load_dataset
from winback.synthetic import SyntheticWorld
from winback.training.uplift import LEARNERS, LearnerName, UpliftError, UpliftModel, fit_uplift

CUT = datetime(2024, 8, 15)


def _before(world: SyntheticWorld, moment: datetime) -> dict[str, pd.DataFrame]:
    """The world's records stamped before ``moment``: the data as it stood then."""
    stamp = pd.Timestamp(moment, tz="UTC")
    frames = {t: getattr(world, t) for t in ("transactions", "events", "campaigns")}
    frames = {t: f[f["timestamp"] < stamp] for t, f in frames.items()}
    customers = world.customers
    frames["customers"] = customers[customers["signup_date"] < stamp]
    return frames


def test_the_model_at_a_cutoff_ignores_every_record_from_the_cutoff_on(small_world) -> None:
    """Fitted on all data or on the data before CUT, the model at CUT is the same model."""
    fits = []
    for frames in ({t: getattr(small_world, t) for t in TABLES}, _before(small_world, CUT)):
        model = fit_uplift(
            load_dataset(frames=frames), CUT, HORIZON, min_control=20, require_evidence=False
        )
        assert isinstance(model, UpliftModel)
        fits.append(model)
    full, past = fits
    # Campaigns of 2024-04-30 and 2024-07-30 were sent before CUT, but their outcome is unknown.
    assert full.last_send_day == datetime(2024, 1, 30)
    features = build_features(load_dataset(frames=_before(small_world, CUT)), CUT)
    for offer in full.offers:
        np.testing.assert_array_equal(full.effect(features, offer), past.effect(features, offer))
    pd.testing.assert_frame_equal(full.evaluation, past.evaluation)


def test_every_learner_the_settings_name_is_registered() -> None:
    assert sorted(LEARNERS) == sorted(get_args(LearnerName))


def test_an_unknown_learner_is_refused_by_name(small_world) -> None:
    with pytest.raises(UpliftError, match="learner must be one of"):
        fit_uplift(world_dataset(small_world), END, HORIZON, learner="z")  # type: ignore[arg-type]


# --- no model, and why ----------------------------------------------------------------------------


def _reason(frames: dict[str, pd.DataFrame]) -> str:
    reasons: list[str] = []
    model = fit_uplift(load_dataset(frames=frames), END, HORIZON, on_skip=reasons.append)
    assert model is None
    assert len(reasons) == 1
    return reasons[0]


def test_no_campaigns_table_means_no_model(small_world) -> None:
    frames = {t: getattr(small_world, t) for t in ("transactions", "events", "customers")}
    assert "no campaigns table" in _reason(frames)


def test_campaigns_without_a_control_group_mean_no_model(small_world) -> None:
    frames = {t: getattr(small_world, t) for t in TABLES}
    frames["campaigns"] = small_world.campaigns.assign(treated=True)
    assert "no control contacts" in _reason(frames)
    frames["campaigns"] = small_world.campaigns.drop(columns="treated")
    assert "no 'treated' column" in _reason(frames)


def test_too_few_contacts_mean_no_model(small_world) -> None:
    reason = _reason({t: getattr(small_world, t) for t in TABLES})
    assert "too few contacts" in reason
    assert "at least 300 control contacts" in reason
