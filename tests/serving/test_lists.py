"""The win-back list from a real scoring: contract columns, budget, summary page."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import pickle
import re
from dataclasses import replace
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from tests.faults import date_back, kill_at, kill_when
from winback.common import DataSourceError
from winback.common.output import recover
from winback.serving.lists import (
    build_list,
    effect_footing,
    publish_list,
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
    # Three key figures and three table rows: budget used, margin saved, net benefit.
    assert summary.count("assumed offer effects") == 6
    assert "expected net benefit (assumed offer effects)" in page.text["top"]
    assert "CLV (forecast, no interval)" in page.text["top"]


# --- list and summary published together --------------------------------------------------------

PUBLISH_LIST = """
import pickle
from pathlib import Path
from winback.serving.lists import publish_list

wl = pickle.loads(Path(sys.argv[1]).read_bytes())
publish_list(wl, sys.argv[2], Path(sys.argv[3]), on_step=step)
"""


def _described(list_file: Path, summary: Path) -> str:
    """The list's SHA-256; fails unless the summary page names this very list."""
    raw = summary.read_text(encoding="utf-8")
    named = re.search(r'<meta name="winback-list" content="([^"]+)">', raw)
    digest = re.search(r'<meta name="winback-list-sha256" content="([0-9a-f]{64})">', raw)
    assert named and digest, "the page names no list"
    actual = hashlib.sha256(list_file.read_bytes()).hexdigest()
    assert (named[1], digest[1]) == (list_file.name, actual), "the page describes another list"
    assert f"Describes the list {list_file.name} (SHA-256 {actual[:12]}…)" in raw
    return actual


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".publish-" in p.name)


@pytest.fixture
def published(winback_list, tmp_path) -> tuple[Path, Path, Path, str]:
    """An old list and page in place, the new list pickled for a child: paths and old hash."""
    out, page = tmp_path / "out" / "winback_list.csv", tmp_path / "out" / "list.summary.html"
    old = replace(winback_list, frame=winback_list.frame.head(5))
    publish_list(old, str(out), page)
    new = tmp_path / "new.pickle"
    new.write_bytes(pickle.dumps(winback_list))
    return out, page, new, _described(out, page)


# Killed before any rename, between the two renames, and after both.
@pytest.mark.parametrize("step", ["written", "renamed winback_list.csv", "published"])
def test_list_killed_at_any_point_leaves_a_whole_set_old_or_new(published, step) -> None:
    out, page, new, old = published
    kill_at(PUBLISH_LIST, [str(new), str(out), str(page)], step)
    if step == "written":
        assert _described(out, page) == old  # untouched without any recovery
    if step == "published":
        assert _described(out, page) != old
    date_back(out.parent)
    recover([out, page])  # what the next `winback list` does first
    digest = _described(out, page)
    assert (digest == old) == (step == "written")
    assert _leftovers(out.parent) == []
    if digest != old:
        assert len(pd.read_csv(out)) > 5


def test_list_killed_while_writing_leaves_the_old_set(published) -> None:
    out, page, new, old = published
    tmp = out.parent / f".{out.name}.tmp-"
    kill_when(PUBLISH_LIST, [str(new), str(out), str(page)], _Glob(tmp))
    assert _described(out, page) == old
    date_back(out.parent)
    recover([out, page])
    assert _described(out, page) == old and _leftovers(out.parent) == []


class _Glob:
    """Exists once a file whose path starts with ``prefix`` does."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix

    def exists(self) -> bool:
        return any(self.prefix.parent.glob(self.prefix.name + "*"))

    def __str__(self) -> str:
        return f"{self.prefix}*"


def test_an_unwritable_summary_path_replaces_nothing(published, winback_list, tmp_path) -> None:
    out, page, _, old = published
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the summary's folder should be")
    with pytest.raises(DataSourceError, match=r"cannot write .*not-a-folder/s\.html"):
        publish_list(winback_list, str(out), blocker / "s.html")
    assert _described(out, page) == old
    assert _leftovers(out.parent) == []


def test_a_list_in_a_database_table_is_named_by_its_page(winback_list, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    page = tmp_path / "list.summary.html"
    where = publish_list(winback_list, url, page, table="winback_list")
    assert where.endswith("table winback_list")
    raw = page.read_text(encoding="utf-8")
    assert f'<meta name="winback-list" content="{where}">' in raw
    assert "winback-list-sha256" not in raw
