"""The reference profile: bins and levels of the training data, PSI against it, JSON round trip."""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from winback.features import build_features, load_dataset
from winback.synthetic import SyntheticWorld
from winback.training.reference import (
    MISSING,
    OTHER,
    PSI_COLUMNS,
    SHARE_FLOOR,
    ColumnProfile,
    ProfileError,
    ReferenceProfile,
    population_stability_index,
)

KEYS = ("customer_id", "as_of")


@pytest.fixture(scope="module")
def snapshot(small_world: SyntheticWorld) -> pd.DataFrame:
    """Real feature rows of the small world at one cutoff."""
    frames = {
        "transactions": small_world.transactions,
        "events": small_world.events,
        "customers": small_world.customers,
        "campaigns": small_world.campaigns,
    }
    return build_features(load_dataset(frames=frames), datetime(2024, 3, 1))


@pytest.fixture(scope="module")
def profile(snapshot: pd.DataFrame) -> ReferenceProfile:
    return ReferenceProfile.fit(snapshot, [c for c in snapshot.columns if c not in KEYS])


def normal_frame(rows: int = 4000, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1.0, rows)})


def naive_bin(column: ColumnProfile, value: object) -> int:
    """The bin of one value, by reading the bins' definition literally (the slow oracle)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return len(column.shares) - 1
    if column.kind == "categorical":
        text = str(value)
        return column.levels.index(text) if text in column.levels else len(column.levels)
    for i, edge in enumerate(column.edges):
        if value <= edge:  # type: ignore[operator]
            return i
    return len(column.edges)


# --- PSI itself --------------------------------------------------------------------------------


def test_psi_is_zero_for_equal_shares_symmetric_and_finite_for_an_empty_bin() -> None:
    assert population_stability_index([0.5, 0.5], [0.5, 0.5]) == 0.0
    a, b = [0.2, 0.3, 0.5], [0.4, 0.4, 0.2]
    assert population_stability_index(a, b) == pytest.approx(population_stability_index(b, a))
    by_hand = sum((c - r) * math.log(c / r) for r, c in zip(a, b, strict=True))
    assert population_stability_index(a, b) == pytest.approx(by_hand)
    empty = population_stability_index([1.0, 0.0], [0.9, 0.1])
    assert math.isfinite(empty)
    assert empty == pytest.approx(
        (0.9 - 1.0) * math.log(0.9) + (0.1 - SHARE_FLOOR) * math.log(0.1 / SHARE_FLOOR)
    )


# --- fitting -----------------------------------------------------------------------------------


def test_every_column_is_profiled_in_order_with_shares_summing_to_one(
    snapshot: pd.DataFrame, profile: ReferenceProfile
) -> None:
    assert profile.names == [c for c in snapshot.columns if c not in KEYS]
    assert profile.rows == len(snapshot)
    for column in profile.columns:
        assert math.fsum(column.shares) == pytest.approx(1.0)
        assert len(column.shares) == len(column.bin_labels)
        assert list(column.edges) == sorted(set(column.edges))
    kinds = {c.name: c.kind for c in profile.columns}
    assert kinds["attr_country"] == "categorical"
    assert kinds["days_since_last_order"] == "numeric"


def test_continuous_values_get_ten_bins_of_a_tenth_each() -> None:
    column = ReferenceProfile.fit(normal_frame(), ["x"]).columns[0]
    assert len(column.edges) == 9
    assert column.shares[:-1] == pytest.approx([0.1] * 10)
    assert column.shares[-1] == 0.0  # nothing missing


def test_ties_merge_edges_so_a_mostly_zero_column_keeps_its_zeros_in_one_bin() -> None:
    values = np.r_[np.zeros(700), np.arange(1.0, 301.0)]
    column = ReferenceProfile.fit(pd.DataFrame({"refunds": values}), ["refunds"]).columns[0]
    assert column.edges == (0.0, 100.0, 200.0)  # seven deciles at 0 merged into one edge
    assert column.shares == pytest.approx((0.7, 0.1, 0.1, 0.1, 0.0))
    assert column.bin_labels[0] == "<= 0"


def test_a_constant_and_an_all_missing_column_are_profiled() -> None:
    frame = pd.DataFrame({"c": [3.0] * 10, "m": [np.nan] * 10})
    constant, missing = ReferenceProfile.fit(frame, ["c", "m"]).columns
    assert constant.edges == (3.0,)
    assert constant.shares == (1.0, 0.0, 0.0)
    assert missing.edges == ()
    assert missing.shares == (0.0, 1.0)
    assert missing.bin_labels == ["any value", MISSING]


def test_text_keeps_the_most_frequent_levels_ties_by_name_the_rest_as_other() -> None:
    plan = pd.Series(["b"] * 3 + ["a"] * 3 + ["c"] * 2 + ["d"] + [None], dtype="str")
    column = ReferenceProfile.fit(pd.DataFrame({"plan": plan}), ["plan"], max_levels=2).columns[0]
    assert column.levels == ("a", "b")
    assert column.shares == pytest.approx((0.3, 0.3, 0.3, 0.1))
    assert column.bin_labels == ["a", "b", OTHER, MISSING]


def test_unused_categories_of_a_pandas_categorical_are_not_levels() -> None:
    plan = pd.Series(pd.Categorical(["a", "b", "a"], categories=["a", "b", "never"]))
    column = ReferenceProfile.fit(pd.DataFrame({"plan": plan}), ["plan"]).columns[0]
    assert column.levels == ("a", "b")


def test_booleans_are_levels_and_outputs_are_marked() -> None:
    frame = pd.DataFrame({"flag": [True, False, True, True], "score": [0.1, 0.2, 0.3, 0.4]})
    profile = ReferenceProfile.fit(frame, ["flag"], outputs=["score"])
    flag, score = profile.columns
    assert (flag.kind, flag.role, flag.levels) == ("categorical", "input", ("True", "False"))
    assert (score.kind, score.role) == ("numeric", "output")
    assert profile.psi(frame)["role"].tolist() == ["input", "output"]


def test_fitting_is_deterministic_and_ignores_row_order(snapshot: pd.DataFrame) -> None:
    columns = [c for c in snapshot.columns if c not in KEYS]
    first = ReferenceProfile.fit(snapshot, columns)
    shuffled = snapshot.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert ReferenceProfile.fit(shuffled, columns) == first
    assert ReferenceProfile.fit(snapshot, columns) == first


def test_bins_match_the_literal_definition_row_by_row(
    snapshot: pd.DataFrame, profile: ReferenceProfile
) -> None:
    current = snapshot.sample(n=300, random_state=1)
    for column in profile.columns:
        expected = np.zeros(len(column.shares), dtype=np.int64)
        for value in current[column.name].tolist():
            expected[naive_bin(column, value)] += 1
        np.testing.assert_array_equal(column.counts(current[column.name]), expected, column.name)


def test_fit_refuses_missing_columns_empty_frames_overlaps_and_one_bin() -> None:
    frame = normal_frame(10)
    with pytest.raises(ProfileError, match=r"lacks column\(s\) \['y'\]"):
        ReferenceProfile.fit(frame, ["x", "y"])
    with pytest.raises(ProfileError, match="no rows"):
        ReferenceProfile.fit(frame.iloc[:0], ["x"])
    with pytest.raises(ProfileError, match="both as inputs and as outputs"):
        ReferenceProfile.fit(frame, ["x"], outputs=["x"])
    with pytest.raises(ProfileError, match="at least 2"):
        ReferenceProfile.fit(frame, ["x"], bins=1)


# --- PSI against the profile -------------------------------------------------------------------


def test_a_frame_against_its_own_profile_has_zero_psi(
    snapshot: pd.DataFrame, profile: ReferenceProfile
) -> None:
    table = profile.psi(snapshot)
    assert list(table.columns) == list(PSI_COLUMNS)
    assert table["feature"].tolist() == profile.names
    assert (table["psi"] == 0.0).all()


def test_a_random_half_of_the_rows_stays_stable(
    snapshot: pd.DataFrame, profile: ReferenceProfile
) -> None:
    half = snapshot.sample(frac=0.5, random_state=0)
    assert profile.psi(half)["psi"].max() < 0.1


def test_a_shift_by_one_standard_deviation_is_a_major_shift() -> None:
    profile = ReferenceProfile.fit(normal_frame(), ["x"])
    same = profile.psi(normal_frame(seed=1))["psi"].iloc[0]
    shifted = profile.psi(normal_frame(shift=1.0, seed=1)).iloc[0]
    assert same < 0.02
    assert shifted["psi"] > 0.25
    assert shifted["bin"].startswith(">")  # the top bin gained most
    assert shifted["current_share"] > shifted["reference_share"]


def test_values_beyond_the_training_range_land_in_the_end_bins() -> None:
    profile = ReferenceProfile.fit(pd.DataFrame({"x": np.arange(100.0)}), ["x"])
    counts = profile.columns[0].counts(pd.Series([-1e9, 1e9, np.inf, -np.inf]))
    assert counts[0] == 2
    assert counts[-2] == 2
    assert counts.sum() == 4


def test_a_level_shift_in_text_is_detected_and_unseen_levels_count_as_other() -> None:
    rng = np.random.default_rng(0)
    before = pd.DataFrame({"plan": pd.Series(rng.choice(["free", "pro"], 2000), dtype="str")})
    profile = ReferenceProfile.fit(before, ["plan"])
    assert profile.psi(before)["psi"].iloc[0] == 0.0
    after = pd.DataFrame(
        {"plan": pd.Series(rng.choice(["free", "pro"], 2000, p=[0.8, 0.2]), dtype="str")}
    )
    assert profile.psi(after)["psi"].iloc[0] > 0.25
    new_level = pd.DataFrame({"plan": pd.Series(["free", "pro", "team", "team"], dtype="str")})
    row = profile.psi(new_level).iloc[0]
    assert row["bin"] == OTHER
    assert row["current_share"] == 0.5


def test_a_change_in_the_share_of_missing_values_is_detected() -> None:
    frame = normal_frame()
    profile = ReferenceProfile.fit(frame, ["x"])
    holes = frame.copy()
    holes.loc[holes.sample(frac=0.3, random_state=0).index, "x"] = np.nan
    row = profile.psi(holes).iloc[0]
    assert row["psi"] > 0.25
    assert row["bin"] == MISSING
    assert row["current_share"] == pytest.approx(0.3)


def test_psi_takes_nullable_dtypes_and_a_subset_of_columns() -> None:
    frame = pd.DataFrame({"n": [1, 2, 3, 4], "x": [0.1, 0.2, 0.3, 0.4]})
    profile = ReferenceProfile.fit(frame, ["n", "x"])
    nullable = pd.DataFrame({"n": pd.array([1, 2, 3, 4], dtype="Int64")})
    table = profile.psi(nullable, columns=["n"])
    assert table["feature"].tolist() == ["n"]
    assert table["psi"].iloc[0] == 0.0


def test_psi_refuses_missing_columns_text_for_numbers_unknown_columns_and_no_rows(
    profile: ReferenceProfile, snapshot: pd.DataFrame
) -> None:
    with pytest.raises(ProfileError, match="days_since_last_order"):
        profile.psi(snapshot.drop(columns="days_since_last_order"))
    text = snapshot.assign(orders_30d=snapshot["orders_30d"].astype(str))
    with pytest.raises(ProfileError, match=r"column 'orders_30d': the reference is numeric"):
        profile.psi(text)
    with pytest.raises(ProfileError, match="not in the reference profile"):
        profile.psi(snapshot, columns=["nope"])
    with pytest.raises(ProfileError, match="no rows"):
        profile.psi(snapshot.iloc[:0])


# --- the document ------------------------------------------------------------------------------


def test_the_document_is_plain_json_and_round_trips_exactly(
    snapshot: pd.DataFrame, profile: ReferenceProfile
) -> None:
    document = profile.to_dict()
    text = json.dumps(document, allow_nan=False)
    again = ReferenceProfile.from_dict(json.loads(text))
    assert again == profile
    assert again.to_dict() == document
    pd.testing.assert_frame_equal(again.psi(snapshot), profile.psi(snapshot))


def test_a_foreign_or_broken_document_is_refused(profile: ReferenceProfile) -> None:
    document = profile.to_dict()
    with pytest.raises(ProfileError, match="version 99"):
        ReferenceProfile.from_dict({**document, "version": 99})
    with pytest.raises(ProfileError, match="not a reference profile"):
        ReferenceProfile.from_dict({"version": document["version"], "bins": 10})
    first = dict(document["columns"][0], shares=[1.0])
    with pytest.raises(ProfileError, match="1 shares, expected"):
        ReferenceProfile.from_dict({**document, "columns": [first]})
