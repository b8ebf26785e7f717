"""The win-back list from a real scoring: contract columns, budget, summary page."""

from __future__ import annotations

import json
from datetime import datetime
from html.parser import HTMLParser

import pandas as pd
import pytest

from serving.lists import build_list, summary_lines, write_list_summary
from serving.policy import LIST_COLUMNS
from serving.settings import PolicySettings

AS_OF = datetime(2024, 11, 1)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.sections.append(str(values.get("id")))
        if tag == "img":
            self.images.append(str(values.get("src")))


@pytest.fixture(scope="module")
def winback_list(dataset, scored):
    scores, features = scored
    return build_list(
        dataset, scores, features, AS_OF, PolicySettings(seed=5), budget=150.0,
        lapsed_after_days=180,
    )  # fmt: skip


def test_the_list_follows_the_contract_and_the_budget(winback_list, scored) -> None:
    frame = winback_list.frame
    assert tuple(frame.columns) == LIST_COLUMNS
    assert frame["rank"].tolist() == list(range(1, len(frame) + 1))
    assert frame["customer_id"].is_unique and len(frame) > 0
    assert set(frame["action"]) <= {"retain", "win_back"}
    assert frame.loc[~frame["control"], "offer_cost"].sum() <= 150.0
    assert (frame["expected_net_benefit"] > 0).all()
    assert frame["expected_net_benefit"].is_monotonic_decreasing
    # The reasons are the scoring's, and readable on their own.
    scores = scored[0].set_index("customer_id")
    first = frame.iloc[0]
    assert first["reasons"] == scores.loc[first["customer_id"], "reasons"]
    sentences = [r["sentence"] for r in json.loads(first["reasons"])]
    assert first["reason_text"] == "; ".join(sentences)
    assert (frame["as_of"] == pd.Timestamp(AS_OF)).all()


def test_the_summary_counts_add_up(winback_list) -> None:
    figures = winback_list.figures
    assert figures["treated"] + figures["control"] == figures["customers"]
    assert sum(figures["by_action_offer"].values()) == figures["customers"]
    lines = summary_lines(winback_list)
    assert lines[0].startswith("win-back list as of 2024-11-01")
    assert any("expected margin saved" in line for line in lines)


def test_the_summary_page_is_self_contained(winback_list, tmp_path) -> None:
    path = write_list_summary(winback_list, tmp_path / "summary.html")
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    assert page.sections == ["summary", "budget", "reasons", "top", "excluded"]
    assert len(page.images) == 1 and page.images[0].startswith("data:image/png;base64,")
    assert "http://" not in path.read_text() and "https://" not in path.read_text()
