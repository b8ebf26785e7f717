"""Shared by the serving tests: the session's small trained model and one scoring of it."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import TABLES, Trained
from winback.serving.model import load_model
from winback.serving.scoring import score

__all__ = ["AS_OF", "SCORED_AT", "TABLES"]

AS_OF = "2024-11-01"
SCORED_AT = datetime(2024, 11, 2, 6, 0)


@pytest.fixture(scope="session")
def dataset(small_dataset):
    return small_dataset


@pytest.fixture(scope="session")
def model(small_trained: Trained, tmp_path_factory):
    """The session's model, as served: saved, then loaded the way ``winback score`` loads it."""
    bundle = small_trained.result.bundle
    return load_model(str(bundle.save(tmp_path_factory.mktemp("model") / "bundle")))


@pytest.fixture(scope="session")
def scored(dataset, model):
    return score(dataset, model, AS_OF, scored_at=SCORED_AT, chunk_rows=700)
