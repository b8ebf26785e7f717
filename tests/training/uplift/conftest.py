"""Shared by the uplift tests: the small world as a dataset, and its campaign calendar."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from winback.features import Dataset, load_dataset
from winback.synthetic import SyntheticWorld

TABLES = ("transactions", "events", "customers", "campaigns")
END = datetime(2025, 1, 1)
HORIZON = 90


def world_dataset(world: SyntheticWorld, **replaced: pd.DataFrame) -> Dataset:
    """The world's four tables as a dataset, with any of them replaced."""
    return load_dataset(frames={t: replaced.get(t, getattr(world, t)) for t in TABLES})


@pytest.fixture(scope="module")
def small_dataset(small_world: SyntheticWorld) -> Dataset:
    return world_dataset(small_world)
