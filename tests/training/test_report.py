"""The HTML report: one offline page with every section, embedded plots and escaped text."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import Trained
from winback.features import FeatureSettings, build_segments
from winback.training.pipeline import HEADLINE
from winback.training.plots import decile_plot, gains_plot, reliability_plot, roc_pr_plot
from winback.training.report import SECTIONS, write_report

PNG = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    """What the tests look at: ids, image sources, links, table rows and text per section."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.srcs: list[str] = []
        self.hrefs: list[str] = []
        self.figures: list[str] = []
        self.headers: dict[str, list[str]] = {}
        self.text: dict[str, str] = {}
        self.tags: list[str] = []
        self._section = ""
        self._in_th = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if "id" in found:
            self.ids.add(found["id"])
        if tag == "section":
            self._section = found.get("id", "")
        if tag == "img":
            self.srcs.append(found.get("src", ""))
        if "href" in found:
            self.hrefs.append(found["href"])
        if tag == "tr" and self._section == "comparison" and "data-figure" in found:
            self.figures.append(found["data-figure"])
        self._in_th = tag == "th"

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self._in_th = False

    def handle_data(self, data: str) -> None:
        self.text[self._section] = self.text.get(self._section, "") + data
        if self._in_th:
            self.headers.setdefault(self._section, []).append(data)


def _parse(path: Path) -> tuple[str, _Page]:
    raw = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(raw)
    page.close()
    return raw, page


@pytest.fixture(scope="module")
def trained(small_trained: Trained):
    dataset, snaps, result = small_trained.dataset, small_trained.snapshots, small_trained.result
    test = snaps.frame[snaps.frame["as_of"].isin(result.test_predictions["as_of"].unique())]
    segments = build_segments(dataset, test)
    dictionary = result.bundle.dictionary(FeatureSettings())
    rows = test.sample(n=min(500, len(test)), random_state=0)
    return result, dictionary, segments, rows


@pytest.fixture(scope="module")
def report(trained, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    result, dictionary, segments, rows = trained
    path = tmp_path_factory.mktemp("report") / "out" / "report.html"
    assert (
        write_report(result, path, dictionary=dictionary, segments=segments, feature_rows=rows)
        == path
    )
    return path, dictionary


def test_every_section_is_there_and_the_page_is_offline(report) -> None:
    raw, page = _parse(report[0])
    assert set(SECTIONS) <= page.ids
    assert len(page.srcs) == 6  # four evaluation plots, SHAP summary, importance
    for src in page.srcs:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        assert base64.b64decode(src[len(prefix) :], validate=True).startswith(PNG)
    assert all(h.startswith("#") for h in page.hrefs)
    assert "http://" not in raw
    assert "https://" not in raw
    assert "<link" not in raw
    assert "script" not in page.tags


def test_comparison_has_a_row_per_headline_figure_and_a_column_per_model(report) -> None:
    _, page = _parse(report[0])
    # One table each for retention, win-back and every test row, in that order.
    assert page.figures == [f"{target} {name}" for target, name in HEADLINE] * 3
    headers = page.headers["comparison"]
    assert "ours (LightGBM)" in headers
    assert "RFM rules" in headers
    assert "BG/NBD" not in headers  # not trained here
    text = page.text["comparison"]
    assert text.index("Retention: customers active") < text.index("Win-back: lapsed customers")
    assert text.index("Win-back: lapsed customers") < text.index("Everyone who ordered before")
    # The headline leads with the retention population and says how many it holds.
    summary = page.text["summary"]
    assert summary.index("Retention, active customers (") < summary.index("Win-back, lapsed (")
    assert "for RFM rules" in summary
    assert "Populations (active: last order within 3×" in summary


def test_features_name_real_features_with_their_meaning(report, trained) -> None:
    _, page = _parse(report[0])
    result, dictionary, _, _ = trained
    text = page.text["features"]
    meanings = dictionary.set_index("name")["meaning"]
    listed = [f for f in result.bundle.feature_columns if f in text]
    assert len(listed) >= 10
    assert sum(str(meanings[f]) in text for f in listed) >= 10


def test_injected_markup_in_a_shown_meaning_is_escaped(trained, tmp_path: Path) -> None:
    result, dictionary, _, _ = trained
    top = pd.Series(result.bundle.churn.feature_importances_, result.bundle.churn.feature_names_)
    dictionary = dictionary.copy()
    dictionary.loc[dictionary["name"] == top.idxmax(), "meaning"] = "<script>x()</script> & <b>"
    raw, page = _parse(write_report(result, tmp_path / "r.html", dictionary=dictionary))
    assert "&lt;script&gt;x()&lt;/script&gt; &amp; &lt;b&gt;" in raw
    assert "<script>x()" not in raw
    assert "<script>x()</script> & <b>" in page.text["features"]


def test_segments_summarise_test_rows_by_stage_and_value(report, trained) -> None:
    _, page = _parse(report[0])
    _, _, segments, _ = trained
    text = page.text["segments"]
    for stage in segments["lifecycle_stage"].dropna().unique():
        assert str(stage) in text
    assert "actual churn rate" in page.headers["segments"]


def test_each_plot_writes_a_png(trained, tmp_path: Path) -> None:
    predictions = trained[0].test_predictions
    for plot in (roc_pr_plot, gains_plot, reliability_plot, decile_plot):
        path = plot(predictions, tmp_path / "plots" / f"{plot.__name__}.png")
        assert path.read_bytes().startswith(PNG)
    again = roc_pr_plot(predictions, tmp_path / "again.png")
    assert again.read_bytes() == (tmp_path / "plots" / "roc_pr_plot.png").read_bytes()


def test_plots_refuse_frames_without_predictions(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="churn_probability"):
        roc_pr_plot(pd.DataFrame({"churned": [0.0, 1.0]}), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_a_result_without_baselines_still_renders(trained, tmp_path: Path) -> None:
    result, dictionary, _, _ = trained
    metrics = {k: v for k, v in result.metrics.items() if ".rfm." not in k and "vs_" not in k}
    predictions = result.test_predictions.drop(
        columns=[c for c in result.test_predictions if c.startswith("rfm_")]
    )
    bare = type(result)(
        result.bundle,
        result.split,
        metrics,
        {},
        "none",
        None,
        predictions,
    )
    path = write_report(bare, tmp_path / "bare.html", dictionary=dictionary)
    _, page = _parse(path)
    assert page.headers["comparison"][-1] == "ours (LightGBM)"
    assert "RFM rules" not in page.headers["comparison"]
    assert "segments" not in page.ids
    assert {"summary", "comparison", "plots", "features", "metrics"} <= page.ids
    assert len(page.srcs) == 5  # no SHAP summary without feature rows
    assert [p.name for p in tmp_path.iterdir()] == ["bare.html"]  # no temporary left behind


def test_a_dictionary_without_meanings_is_refused(trained, tmp_path: Path) -> None:
    result = trained[0]
    with pytest.raises(ValueError, match="meaning"):
        write_report(result, tmp_path / "r.html", dictionary=pd.DataFrame({"name": ["a"]}))
    assert not (tmp_path / "r.html").exists()
