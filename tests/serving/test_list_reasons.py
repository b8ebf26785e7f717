"""A list explains its own customers: a scoring without reasons is enough, and nothing changes."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pandas as pd

from winback.features import FeatureSettings
from winback.serving.lists import make_list, summary_lines, write_list_summary
from winback.serving.reasons import reason_reference
from winback.serving.scoring import score
from winback.serving.settings import PolicySettings

from .conftest import AS_OF, SCORED_AT


def test_listed_customers_get_the_reasons_a_full_scoring_gives_them(dataset, model, scored):
    full_scores, features = scored
    bare_scores, bare_features = score(dataset, model, AS_OF, scored_at=SCORED_AT, reasons=0)
    assert (bare_scores["reasons"] == "[]").all()

    def listed(scores, feats):
        return make_list(
            dataset, model, scores, feats, datetime(2024, 11, 1), PolicySettings(seed=5),
            budget=150.0, lapsed_after_days=180,
        ).frame  # fmt: skip

    from_full, from_bare = listed(full_scores, features), listed(bare_scores, bare_features)
    assert len(from_bare) > 10
    assert from_bare.equals(from_full)
    expected = full_scores.set_index("customer_id")["reasons"]
    assert (
        from_bare["reasons"].to_numpy() == expected.loc[from_bare["customer_id"]].to_numpy()
    ).all()
    assert from_bare["reason_text"].str.len().gt(0).all()


# A column name in marketer-facing text: snake_case (btyd_expected_orders, as_of_month,
# events_30d) or a model's technical name.
INTERNAL = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|BG/NBD|btyd")


def test_no_listed_reason_points_the_safe_way_or_shows_an_internal_name(
    dataset, model, scored, tmp_path
):
    """The acceptance test of issue #17, over the list built from the tests' demo-like world."""
    scores, features = scored
    wl = make_list(
        dataset, model, scores, features, datetime(2024, 11, 1), PolicySettings(seed=5),
        budget=150.0, lapsed_after_days=180,
    )  # fmt: skip
    dictionary = model.bundle.dictionary(FeatureSettings()).set_index("name")
    sides = dictionary["risk_when"]
    # make_list explains against the whole scoring, as here.
    reference = reason_reference(model.bundle.model_inputs(features))
    rows = features.drop_duplicates("customer_id").set_index("customer_id")
    inputs = model.bundle.model_inputs(rows.loc[wl.frame["customer_id"]])
    reasons = [
        (customer, r) for customer, text in zip(wl.frame["customer_id"], wl.frame["reasons"],
                                                strict=True)
        for r in json.loads(text)
    ]  # fmt: skip
    assert len(reasons) > 2 * len(wl.frame)
    sided = 0
    for customer, reason in reasons:
        side = sides[reason["feature"]]
        assert side in ("high", "low", "level"), reason
        value = inputs.at[customer, reason["feature"]]
        if side in ("high", "low") and not pd.isna(value):
            sided += 1
            median = reference.at[reason["feature"], "p50"]
            assert (value >= median) if side == "high" else (value <= median), reason
        text = reason["sentence"]
        if side == "level" and reason["value"] is not None:
            text = text.replace(str(reason["value"]), "")  # a category's level is data
        assert not INTERNAL.search(text), reason
    assert sided > len(reasons) / 2
    # The summary names reasons in plain words too; offer and action names are the catalog's.
    catalog = {o.name for o in wl.settings.offers} | {"win_back"}
    lines = "\n".join(summary_lines(wl))
    assert "most common reasons:" in lines
    assert set(INTERNAL.findall(lines)) <= catalog, lines
    assert not set(dictionary.index) & set(re.findall(r"[a-z0-9_]+", lines))
    page = write_list_summary(wl, tmp_path / "summary.html").read_text(encoding="utf-8")
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|head)>.*?</\1>", "", page, flags=re.S))
    visible = re.sub(r'src="[^"]*"', "", visible)
    for customer in wl.frame["customer_id"].head(20):
        visible = visible.replace(str(customer), "")
    levels = {str(r["value"]) for _, r in reasons if sides[r["feature"]] == "level" and r["value"]}
    leftover = set(INTERNAL.findall(visible)) - catalog - levels
    assert not leftover, leftover
