"""A list explains its own customers: a scoring without reasons is enough, and nothing changes."""

from __future__ import annotations

from datetime import datetime

from winback.serving.lists import make_list
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
