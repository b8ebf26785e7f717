"""Session-wide fixtures: one small seeded synthetic world, shared read-only by the tests."""

from __future__ import annotations

import os

# No usage telemetry from MLflow in tests (nothing may reach the network); winback's shell sets
# the same default.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
# The suite runs in two worker processes (pytest-xdist); an OpenMP thread that busy-waits for
# work would take the core the other worker needs. Set before LightGBM loads its runtime, and
# inherited by the CLI subprocesses.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from datetime import datetime

import pytest

from winback.synthetic import SyntheticWorld, simulate


@pytest.fixture(scope="session")
def small_world() -> SyntheticWorld:
    """3,000 customers over two years; treat as read-only."""
    return simulate(3000, datetime(2023, 1, 1), datetime(2025, 1, 1), seed=11)
