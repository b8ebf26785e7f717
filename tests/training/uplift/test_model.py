"""The fitted model: effects for the rows scoring builds, and refusals by name."""

from __future__ import annotations

import pytest

from tests.training.uplift.conftest import END, HORIZON
from winback.features import Dataset, build_features
from winback.training.models import ColumnMismatchError
from winback.training.uplift import UpliftError, fit_uplift


def test_the_model_refuses_an_unknown_offer_and_missing_features(small_dataset: Dataset) -> None:
    model = fit_uplift(small_dataset, END, HORIZON, min_control=20, require_evidence=False)
    assert model is not None
    features = build_features(small_dataset, END)
    assert model.effect(features, model.offers[0]).shape == (len(features),)
    with pytest.raises(UpliftError, match="knows"):
        model.effect(features, "free_car")
    with pytest.raises(ColumnMismatchError, match="days_since_last_order"):
        model.effect(features.drop(columns="days_since_last_order"), model.offers[0])
