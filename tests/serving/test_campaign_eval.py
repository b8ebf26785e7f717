"""Judging a past campaign: its intervals cover a known effect, its refusals say why.

The coverage test is the small version of ``bench/bench_campaign_coverage.py`` (campaigns built
with a known true effect); the rest runs on the small synthetic world's campaigns.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from winback.features import Dataset, load_dataset
from winback.serving.campaign_eval import (
    CampaignError,
    campaign_metrics,
    campaign_names,
    evaluate_campaign,
    rank_campaign,
)
from winback.serving.campaign_page import write_campaign_page
from winback.serving.effect_intervals import newcombe_interval, welch_interval, wilson_interval

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import bench_campaign_coverage as bench


def test_newcombe_interval_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II, example (a): 56/70 − 48/80.
    low, high = newcombe_interval(56, 70, 48, 80)
    assert low == pytest.approx(0.0524, abs=1e-4) and high == pytest.approx(0.3339, abs=1e-4)
    # Wilson stays inside [0, 1] and is not empty at 0 successes, where Wald's is 0 wide.
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 10)[1] > 0.2


def test_welch_interval_needs_two_in_each_group() -> None:
    assert np.isnan(welch_interval([1.0], [1.0, 2.0])[0])
    low, high = welch_interval([1.0, 2.0, 3.0], [0.0, 1.0, 2.0])
    assert low < 1.0 < high


def test_the_response_interval_covers_a_known_effect_and_a_narrow_one_would_not() -> None:
    # 10 campaigns of 400 contacts (about 16 control responders each): small counts.
    honest = bench.coverage(range(10), 400)
    assert honest.covered["response"] >= 8, honest
    # The same estimates with intervals a third as wide miss the truth far more often.
    narrow = bench.coverage(range(10), 400, shrink=1 / 3)
    assert narrow.covered["response"] < 8, narrow


@pytest.fixture(scope="module")
def campaign_day(small_dataset: Dataset) -> str:
    names = campaign_names(small_dataset)
    return str(names[names["control"] > 0]["name"].iloc[2])


def test_a_campaign_is_judged_per_offer_and_overall(small_dataset: Dataset, campaign_day: str):
    judged = evaluate_campaign(small_dataset, campaign_day)
    table, contacts = judged.table, judged.contacts
    assert contacts["customer_id"].is_unique
    offers = table.drop(index="all")
    # The offers' treated contacts add up to all treated; every interval holds its estimate.
    assert offers["treated"].sum() == table.loc["all", "treated"] == contacts["treated"].sum()
    assert table.loc["all", "control"] == (~contacts["treated"]).sum()
    for key in ("incremental_response", "incremental_spend", "incremental_margin"):
        assert (table[f"{key}_ci_low"] <= table[key]).all()
        assert (table[key] <= table[f"{key}_ci_high"]).all()
    assert table.loc["all", "offer_cost"] == pytest.approx(contacts["cost"].sum())
    metrics = campaign_metrics(judged)
    assert metrics["all.treated"] == table.loc["all", "treated"] and "ranking.qini" not in metrics
    lines = judged.lines()
    assert lines[0].startswith(f"campaign {campaign_day}: ") and "in total:" in lines[-1]


def test_a_ranking_that_knows_the_responders_beats_a_random_one(
    small_dataset: Dataset, campaign_day: str, tmp_path: Path
) -> None:
    judged = evaluate_campaign(small_dataset, campaign_day)
    contacts = judged.contacts
    ids = contacts["customer_id"]
    # Treated responders first, control responders last: the ranking an oracle of uplift gives.
    oracle = pd.Series(
        contacts["responded"].to_numpy() * np.where(contacts["treated"], 1, -1), index=ids
    )
    noise = pd.Series(np.random.default_rng(0).random(len(ids)), index=ids)
    good = rank_campaign(judged, oracle.iloc[:-5], "oracle")
    assert good.unscored == 5 and good.qini > rank_campaign(judged, noise, "random").qini
    assert good.deciles["decile"].iloc[0] == 1 and good.deciles["treated"].sum() > 0
    judged.ranking = good
    page = write_campaign_page(judged, tmp_path / "campaign.html").read_text()
    assert "Qini" in page and "data:image/png;base64," in page and campaign_day in page
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_unknown_names_list_the_known_campaigns(small_dataset: Dataset) -> None:
    with pytest.raises(CampaignError, match=r"unknown campaign 'spring'.* are 2023-05-02, "):
        evaluate_campaign(small_dataset, "spring")


def test_a_campaign_without_control_or_with_an_open_window_is_refused() -> None:
    tables = bench.campaign_tables(0, 100)
    everyone = tables | {"campaigns": tables["campaigns"].assign(treated=True)}
    with pytest.raises(CampaignError, match=r"campaign 2024-05-14 has no control group: all 100"):
        evaluate_campaign(load_dataset(frames=everyone), "2024-05-14")
    open_window = load_dataset(frames=tables)
    with pytest.raises(CampaignError, match=r"its 60-day response window runs to 2024-07-13"):
        evaluate_campaign(open_window, "2024-05-14", response_days=60)
