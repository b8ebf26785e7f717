"""The win-back list from a real scoring: contract columns, budget, summary page."""

from __future__ import annotations

import base64
import io
import json
import re
from dataclasses import replace
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from winback.serving.lists import (
    build_list,
    effect_footing,
    summary_lines,
    write_list_summary,
)
from winback.serving.policy import LIST_COLUMNS
from winback.serving.settings import PolicySettings

AS_OF = datetime(2024, 11, 1)
PNG_URI = "data:image/png;base64,"


class _Page(HTMLParser):
    """What a reader sees: sections with their titles, images, links, key figures, text."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.titles: dict[str, str] = {}
        self.images: list[str] = []
        self.links: list[str] = []
        self.tags: list[str] = []
        self.text: dict[str, str] = {}
        self.reasons: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        self._open.append(tag)
        if tag == "section":
            self.sections.append(str(values.get("id")))
        if tag == "img":
            self.images.append(str(values.get("src")))
        for key in ("href", "src", "action"):
            if key in values and tag != "img":
                self.links.append(str(values[key]))
        if tag == "li" and self.sections and self.sections[-1] == "top":
            self.reasons.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag)]

    def handle_data(self, data: str) -> None:
        where = self.sections[-1] if self.sections else ""
        self.text[where] = self.text.get(where, "") + data
        if "h2" in self._open:
            self.titles[where] = self.titles.get(where, "") + data
        if "li" in self._open and where == "top":
            self.reasons[-1] += data


def _read(path: Path) -> tuple[str, _Page]:
    raw = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(raw)
    page.close()
    return raw, page


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
    # Under a budget customers are ranked by return: benefit per unit of offer cost.
    ratio = frame["expected_net_benefit"] / frame["offer_cost"]
    assert ratio.iloc[0] == ratio.max() and ratio.iloc[0] > ratio.iloc[-1]
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
    assert any(line == "most common reasons:" for line in lines)
    # Assumed effects only here; a list from learned ones says how they were learned.
    assert not any("learned by" in line for line in lines)
    noted = replace(winback_list, effect_note="R-learner on 9 contacts")
    assert "  learned by the R-learner on 9 contacts" in summary_lines(noted)


def test_the_summary_page_has_every_section_and_works_offline(winback_list, tmp_path) -> None:
    path = write_list_summary(winback_list, tmp_path / "summary.html")
    raw, page = _read(path)
    assert page.sections == ["summary", "budget", "reasons", "top", "excluded"]
    assert page.titles == {
        "summary": "Summary",
        "budget": "Budget curve",
        "reasons": "Most common reasons",
        "top": "Top of the list",
        "excluded": "Left out",
    }
    assert len(page.images) == 1
    for src in page.images:
        assert src.startswith(PNG_URI)
        image = base64.b64decode(src[len(PNG_URI) :], validate=True)
        assert image.startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(io.BytesIO(image)) as decoded:
            decoded.verify()
    assert page.links and all(link.startswith("#") for link in page.links)
    assert "http://" not in raw and "https://" not in raw
    assert "link" not in page.tags and "script" not in page.tags


def test_the_summary_page_shows_the_figures_and_each_reason_on_its_own(
    winback_list, tmp_path
) -> None:
    _, page = _read(write_list_summary(winback_list, tmp_path / "summary.html"))
    figures = winback_list.figures
    summary = page.text["summary"]
    assert f"{figures['customers']:,}" in summary
    assert f"{figures['control']:,} held out as control" in summary
    assert f"{figures['expected_net_benefit']:,.0f}" in summary
    shown = winback_list.frame.head(20)
    expected = [r["sentence"] for text in shown["reasons"] for r in json.loads(text)]
    assert page.reasons == expected
    assert str(shown["customer_id"].iloc[0]) in page.text["top"]


def test_markup_in_a_reason_is_shown_as_text(winback_list, tmp_path) -> None:
    frame = winback_list.frame.copy()
    hostile = [{"feature": "x", "sentence": "<img src=https://evil.example/x.png> & <b>"}]
    frame.loc[frame.index[0], "reasons"] = json.dumps(hostile)
    path = write_list_summary(replace(winback_list, frame=frame), tmp_path / "hostile.html")
    raw, page = _read(path)
    assert "&lt;img src=https://evil.example/x.png&gt; &amp; &lt;b&gt;" in raw
    assert len(page.images) == 1
    assert page.reasons[0] == hostile[0]["sentence"]


# --- money with its footing ---------------------------------------------------------------------

MONEY = re.compile(r"\d[\d,]*\.\d\d")


def test_every_expected_money_figure_says_what_it_rests_on(winback_list, tmp_path) -> None:
    """Expected money rests on the offers' effects: assumed, or learned without an interval."""
    assert effect_footing(winback_list) == "assumed offer effects"
    lines = summary_lines(winback_list)
    figures = winback_list.figures
    money = [line for line in lines if MONEY.search(line) and not line.startswith("budget ")]
    money_text = " ".join(money)
    for key in ("expected_margin_saved", "expected_net_benefit"):
        assert f"{figures[key]:,.2f} (assumed offer effects)" in money_text
    assert f"used {figures['budget_used']:,.2f} on offers (contact costs and expected " in (
        " ".join(lines)
    )
    offers = sorted(set(winback_list.frame["offer"]))
    learned = replace(winback_list, effect_sources=dict.fromkeys(offers, "uplift"))
    assert effect_footing(learned) == "learned offer effects, no interval"
    assert "(learned offer effects, no interval)" in " ".join(summary_lines(learned))
    mixed = replace(winback_list, effect_sources={offers[0]: "uplift"})
    assert effect_footing(mixed) == (
        f"assumed effects for {', '.join(offers[1:])}; learned for {offers[0]}, no interval"
    )
    _, page = _read(write_list_summary(winback_list, tmp_path / "summary.html"))
    summary = page.text["summary"]
    assert summary.count("(assumed offer effects)") >= 4  # two key figures, two table rows
    assert "expected net benefit (assumed offer effects)" in page.text["top"]
    assert "CLV (forecast, no interval)" in page.text["top"]
