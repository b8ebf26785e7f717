"""Reason codes: the churn model's top pushes per customer, as data and as sentences people read."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import Trained
from winback.features import FeatureSettings
from winback.features.builder import FeaturePlan
from winback.features.definitions import FAMILIES
from winback.serving.reasons import (
    NOT_REASONS,
    REASON_KEYS,
    REASON_SIDES,
    REFERENCE_COLUMNS,
    Context,
    Reason,
    not_reasons,
    plain_names,
    reason_codes,
    reason_reference,
    reasons_json,
    reasons_text,
    sentence,
)
from winback.training.bundle import ModelBundle
from winback.training.models import ChurnModel, CountModel, SpendModel

# Leaks of the machinery into a sentence: template fields, SQL windows, raw floats, null words.
LEAKS = re.compile(r"(?i:\bnan\b|\binf\b)|\bNone\b|as_of|[\[\]{}]|\.\d{5,}|\de[-+]\d")


@pytest.fixture(scope="module")
def trained(small_trained: Trained) -> tuple[ModelBundle, pd.DataFrame, pd.DataFrame]:
    """The session's bundle (with BG/NBD inputs), its dictionary, and its latest 8 cutoffs' rows."""
    bundle = small_trained.result.bundle
    assert bundle.btyd is not None  # the BG/NBD family must be covered too
    frame = small_trained.snapshots.frame
    latest = sorted(frame["as_of"].unique())[-8:]
    rows = frame[frame["as_of"].isin(latest)].reset_index(drop=True)
    return bundle, bundle.dictionary(FeatureSettings()), rows


@pytest.fixture(scope="module")
def scored(trained) -> tuple[pd.DataFrame, pd.DataFrame, list[list[Reason]]]:
    """300 customer rows, labelled by a text id, a reference over all rows, and their reasons."""
    bundle, dictionary, frame = trained
    rows = frame.sample(n=300, random_state=1)
    rows.index = pd.Index([f"c{i:04d}" for i in range(len(rows))])
    reference = reason_reference(bundle.model_inputs(frame))
    return rows, reference, reason_codes(bundle, rows, dictionary, reference=reference)


def _entry(dictionary: pd.DataFrame, name: str) -> pd.Series:
    return dictionary.set_index("name", drop=False).loc[name]


# --- sentences ----------------------------------------------------------------------------------


def test_every_family_reads_as_a_sentence_with_its_number_formatted(trained) -> None:
    bundle, dictionary, frame = trained
    inputs = bundle.model_inputs(frame)
    families = dictionary.drop_duplicates("family")
    assert len(families) >= 35  # purchases, engagement, offers, profile, attributes, BG/NBD
    for _, entry in families.iterrows():
        column = inputs[entry["name"]]
        observed = column.dropna()
        if entry["unit"] == "category":
            values: list[Any] = sorted(set(observed))[:3]
        else:
            values = list(np.quantile(observed.to_numpy(dtype=float), [0.0, 0.5, 0.9, 1.0]))
        for value in [*values, np.nan]:
            text = sentence(entry, value)
            where = f"{entry['name']}={value!r}: {text!r}"
            assert text, where
            assert text[0].isupper() or text[0].isdigit(), where
            assert not LEAKS.search(text), where
            if entry["unit"] != "category":  # levels are data and may hold "_"
                assert "_" not in text, where
            if entry["unit"] == "currency" and not pd.isna(value):
                assert re.search(r"\d\.\d\d\b", text), where
            elif entry["unit"] not in ("category", "month") and not pd.isna(value):
                # A number, or its words: "No orders …" for 0, "less than a day".
                words = text.startswith("No ") if value == 0 else "less than a day" in text
                assert re.search(r"\d", text) or words, where


def test_a_days_feature_reads_as_recency_with_the_customers_usual_gap(trained) -> None:
    days = _entry(trained[1], "days_since_last_order")
    assert (
        sentence(days, 94.2, Context(usual=3.1)) == "No order for 94 days, about 3× their usual gap"
    )
    assert (
        sentence(days, 20.0, Context(usual=0.7)) == "Last order 20 days ago, within their usual gap"
    )
    assert sentence(days, 94.2, Context(below=0.857)) == (
        "No order for 94 days (longer than 85% of customers)"
    )
    assert sentence(days, 5.0, Context(above=0.8)) == (
        "Last order 5 days ago (more recent than 80% of customers)"
    )
    assert sentence(days, 94.2) == "Last order 94 days ago"
    assert sentence(days, 0.3, Context(usual=5.0)) == (
        "Last order less than a day ago, about 5× their usual gap"
    )
    assert sentence(days, 1000.0) == "Last order 2.7 years ago"


def test_a_trend_reads_as_a_percentage_change_over_its_window(trained) -> None:
    trend = _entry(trained[1], "session_trend_30d")
    assert sentence(trend, -0.43) == "Sessions down 60% in the last 30 days vs the 30 days before"
    assert sentence(trend, 0.6) == "Sessions up 4× in the last 30 days vs the 30 days before"
    assert sentence(trend, 0.2) == "Sessions up 50% in the last 30 days vs the 30 days before"
    assert sentence(trend, 0.0) == "Sessions flat in the last 30 days vs the 30 days before"
    assert sentence(trend, -1.0) == "Sessions stopped: none in the last 30 days, some before"
    assert sentence(trend, 1.0) == "Sessions started: some in the last 30 days, none before"
    spend = _entry(trained[1], "spend_trend_90d")
    # Net spend can be negative (refunds), which takes s outside [−1, 1].
    assert "refunds" in sentence(spend, -3.2)


def test_counts_money_shares_and_slopes_read_with_their_window(trained) -> None:
    dictionary = trained[1]
    assert sentence(_entry(dictionary, "session_90d"), 1.0) == "1 session in the last 90 days"
    assert sentence(_entry(dictionary, "session_90d"), 0.0) == "No sessions in the last 90 days"
    assert sentence(_entry(dictionary, "orders_lifetime"), 12.0) == "12 orders placed so far"
    assert sentence(_entry(dictionary, "spend_365d"), 12345.678) == (
        "Net spend in the last 365 days: 12,345.68"
    )
    assert sentence(_entry(dictionary, "discount_share_365d"), 0.123) == (
        "Discounts: 12% of the list price of orders in the last 365 days"
    )
    assert sentence(_entry(dictionary, "offer_redemption_share"), 0.5) == (
        "Retention offers redeemed: 50% of those received so far"
    )
    assert sentence(_entry(dictionary, "offers_redeemed_lifetime"), 1.0) == (
        "1 retention offer redeemed so far"
    )
    assert sentence(_entry(dictionary, "email_open_weekly_slope_12w"), -0.0034965) == (
        "Weekly email opens falling by 0.0035 each week over the last 12 weeks"
    )
    assert sentence(_entry(dictionary, "overdue_ratio"), 3.14) == (
        "Days since the last order is 3× their mean gap between orders"
    )
    assert sentence(_entry(dictionary, "as_of_month"), 7.0) == "Time of year: July"


def test_a_category_attribute_names_the_attribute_and_its_level(trained) -> None:
    plan = _entry(trained[1], "attr_plan")
    assert sentence(plan, "free") == "Plan is free"
    assert sentence(plan, None) == "Plan unknown"
    channel = _entry(trained[1], "attr_acquisition_channel")
    assert sentence(channel, "paid_search") == "Acquisition channel is paid_search"


def test_missing_values_say_what_is_missing(trained) -> None:
    dictionary = trained[1]
    expected = {
        "days_since_last_order": "No order yet",
        "days_since_app_open": "No app open yet",
        "days_since_last_offer": "No retention offer yet",
        "avg_order_value_30d": "No orders in the last 30 days",
        "avg_order_value_lifetime": "No orders yet",
        "orders_trend_90d": "No orders in the last 180 days",
        "gap_mean_days": "Fewer than two orders, so no usual gap yet",
        "gap_std_days": "Fewer than three orders, so no usual gap yet",
        "discount_share_365d": "No orders in the last 365 days",
        # Empty also for a customer whose only offers are too recent to judge.
        "offer_redemption_share": "No retention offer at least 30 days old yet",
        "btyd_p_alive": (
            "Probability the customer is still active, from a purchase-pattern model: "
            "no estimate (no orders yet)"
        ),
    }
    for name, text in expected.items():
        assert sentence(_entry(dictionary, name), np.nan) == text
        assert sentence(_entry(dictionary, name), None) == text


def test_marketers_read_plain_names_not_columns_or_model_names(trained) -> None:
    """Sentences and names say "a purchase-pattern model", never BG/NBD or a column name."""
    dictionary = trained[1]
    orders = _entry(dictionary, "btyd_expected_orders").copy()
    orders["meaning"] = orders["meaning"].replace("in the horizon", "in the next 90 days")
    assert sentence(orders, 0.63, Context(above=0.56)) == (
        "Orders expected in the next 90 days by a purchase-pattern model: 0.63 "
        "(lower than 56% of customers)"
    )
    names = plain_names(dictionary)
    assert set(names) == set(dictionary["name"])
    assert {
        k: names[k]
        for k in ("btyd_expected_orders", "btyd_p_alive", "days_since_last_order", "session_90d",
                  "email_open_trend_90d", "days_since_app_open", "gap_mean_days", "overdue_ratio",
                  "as_of_month", "attr_acquisition_channel", "tenure_days", "spend_365d")
    } == {
        "btyd_expected_orders": "expected orders (purchase-pattern model)",
        "btyd_p_alive": "chance they are still active (purchase-pattern model)",
        "days_since_last_order": "time since last order",
        "session_90d": "sessions in the last 90 days",
        "email_open_trend_90d": "change in email opens, last 90 days vs the 90 before",
        "days_since_app_open": "time since last app open",
        "gap_mean_days": "usual gap between orders",
        "overdue_ratio": "days since the last order relative to their mean gap between orders",
        "as_of_month": "time of year",
        "attr_acquisition_channel": "acquisition channel",
        "tenure_days": "time as a customer",
        "spend_365d": "net spend in the last 365 days",
    }  # fmt: skip
    for name, plain in names.items():
        assert not re.search(r"_|BG/NBD|btyd|as_of|\[", plain), (name, plain)
        assert (plain == plain.strip() and plain[:1].islower()) or plain.startswith("CRM"), plain
    # Every name is its own: two features that read alike would merge in a summary.
    assert len(set(names.values())) == len(names)


def test_a_dictionary_row_without_its_columns_is_refused(trained) -> None:
    row = _entry(trained[1], "orders_30d").drop("unit")
    with pytest.raises(ValueError, match="unit"):
        sentence(row, 1.0)


# --- risk sides -----------------------------------------------------------------------------------


def test_every_family_declares_which_values_signal_risk(trained) -> None:
    """Undeclared would mean never a reason: a new family must say which way it points."""
    assert all(f.risk in ("high", "low", "never") for f in FAMILIES), [
        f.template for f in FAMILIES if f.risk is None
    ]
    sides = trained[1].set_index("name")["risk_when"]
    assert set(sides) <= {"high", "low", "never", "level"}
    # From what each feature means: engagement is safe, silence and friction are risky.
    expected = {
        "days_since_last_order": "high",
        "orders_90d": "low",
        "session_365d": "low",  # "14 pageviews … (higher than 80%)" is no reason to leave
        "visit_trend_90d": "low",
        "days_since_visit": "high",
        "email_open_weekly_slope_12w": "low",
        "support_ticket_90d": "high",  # tickets pile up before people leave
        "days_since_support_ticket": "low",
        "gap_max_days": "high",
        "refunds_90d": "high",
        "tenure_days": "low",
        "avg_order_value_lifetime": "never",
        "offers_lifetime": "never",
        "as_of_month": "never",
        "attr_plan": "level",
    }
    assert {name: sides[name] for name in expected} == expected


def test_no_reason_points_the_safe_way(trained, scored) -> None:
    """Every reason's value sits on the risky side of the median, or has no side to sit on."""
    _, dictionary, _ = trained
    rows, reference, reasons = scored
    sides = dictionary.set_index("name")["risk_when"]
    found = [r for row in reasons for r in row]
    assert len(found) > 2 * len(rows)
    assert {sides[r.feature] for r in found} <= set(REASON_SIDES)
    sided = [r for r in found if sides[r.feature] in ("high", "low") and r.value is not None]
    assert len(sided) > len(found) / 2
    for reason in sided:
        median = reference.at[reason.feature, "p50"]
        assert isinstance(reason.value, float)
        if sides[reason.feature] == "high":
            assert reason.value >= median, reason
            assert not re.search(r"\((lower|shorter|more recent|newer) than", reason.sentence)
        else:
            assert reason.value <= median, reason
            assert not re.search(r"\((higher|longer|earlier) than", reason.sentence), reason
    # Per-event-type counts were the hole: they still give reasons, on the quiet side only.
    units = dictionary.set_index("name")["unit"]
    assert any(units[r.feature] == "events" for r in sided)


# --- reason codes from the real model -----------------------------------------------------------


def _reads_backwards(
    inputs: pd.DataFrame, dictionary: pd.DataFrame, reference: pd.DataFrame
) -> pd.DataFrame:
    """Values on the safe side of the median of a feature with a declared risk side."""
    sides = dictionary.set_index("name")["risk_when"]
    out = pd.DataFrame(False, index=inputs.index, columns=inputs.columns)
    for column in inputs.columns:
        median = reference.at[column, "p50"] if column in reference.index else np.nan
        if sides.get(column) == "high":
            out[column] = inputs[column] < median
        elif sides.get(column) == "low":
            out[column] = inputs[column] > median
    return out


def test_reasons_are_the_largest_positive_contributions_of_the_model(trained, scored) -> None:
    bundle, dictionary, _ = trained
    rows, reference, reasons = scored
    inputs = bundle.model_inputs(rows)
    contributions = bundle.churn_by_population.contributions(inputs)
    # The contributions of each row's population model add up to its score; the reasons are the
    # biggest positive ones, leaving out a value on the side of the median its definition calls
    # safe.
    lapsed = bundle.population(rows) == "winback"
    assert lapsed.any() and (~lapsed).any()
    np.testing.assert_allclose(
        contributions[~lapsed].sum(axis=1), bundle.churn.raw_score(inputs[~lapsed])
    )
    np.testing.assert_allclose(
        contributions[lapsed].sum(axis=1), bundle.winback_churn.raw_score(inputs[lapsed])
    )
    shap = contributions.drop(columns=["bias", *not_reasons(dictionary)])
    backwards = _reads_backwards(inputs, dictionary, reference)[shap.columns]
    assert backwards.to_numpy().any() and (~backwards).to_numpy().any()
    assert len(reasons) == len(rows)
    for (label, row), found in zip(shap.mask(backwards).iterrows(), reasons, strict=True):
        positive = row[row > 0].sort_values(ascending=False, kind="stable")
        assert [r.feature for r in found] == list(positive.index[:3]), label
        np.testing.assert_allclose([r.contribution for r in found], positive.to_numpy()[:3])
        assert sum(r.contribution for r in found) <= positive.sum() + 1e-12
        for reason in found:
            value = inputs.at[label, reason.feature]
            assert reason.value == (None if pd.isna(value) else value)
            assert reason.sentence


def test_a_value_that_reads_backwards_is_not_a_reason(trained, scored) -> None:
    """With a reference, a value on the side of the median its definition calls safe gives way.

    "Expects more orders than 57% of customers" is no reason to expect churn, true to the
    model's interactions as it may be.
    """
    bundle, dictionary, _ = trained
    rows, reference, reasons = scored
    inputs = bundle.model_inputs(rows)
    sides = dictionary.set_index("name")["risk_when"]
    assert sides["days_since_last_order"] == "high" and sides["btyd_expected_orders"] == "low"

    def on_risky_side(feature: str, value: object) -> bool:
        median = reference.at[feature, "p50"] if feature in reference.index else np.nan
        if value is None or pd.isna(value) or pd.isna(median) or sides[feature] == "level":
            return True  # a missing value is never blocked, a category has no side
        return value >= median if sides[feature] == "high" else value <= median

    assert all(on_risky_side(r.feature, r.value) for found in reasons for r in found)
    # Without a reference nothing is compared, and the model's own pushes show as they are.
    raw = reason_codes(bundle, rows, dictionary)
    turned = [
        (label, r.feature)
        for label, found in zip(rows.index, raw, strict=True)
        for r in found
        if not on_risky_side(r.feature, inputs.at[label, r.feature])
    ]
    assert len(turned) >= 5
    by_label = dict(zip(rows.index, reasons, strict=True))
    for label, feature in turned:
        assert feature not in [r.feature for r in by_label[label]]


def test_features_left_out_of_reasons_give_way_to_the_next_strongest(
    trained, scored, monkeypatch
) -> None:
    """The time of year (NOT_REASONS) moves everyone's risk alike and nobody can act on it.

    The small model here barely uses the month, so the test leaves out its commonest first
    reason instead and checks that the next strongest take its place.
    """
    assert "as_of_month" in NOT_REASONS
    bundle, dictionary, _ = trained
    rows, reference, reasons = scored
    firsts = pd.Series([found[0].feature for found in reasons if found])
    common = firsts.value_counts().index[0]
    assert (firsts == common).sum() > 10
    monkeypatch.setattr("winback.serving.reasons.NOT_REASONS", (common,))
    without = reason_codes(bundle, rows, dictionary, reference=reference)
    for before, after in zip(reasons, without, strict=True):
        assert common not in [r.feature for r in after]
        kept = [r.feature for r in before if r.feature != common]
        assert [r.feature for r in after][: len(kept)] == kept


def test_reasons_follow_the_rows_whatever_their_order(trained, scored) -> None:
    bundle, dictionary, _ = trained
    rows, reference, reasons = scored
    shuffled = rows.sample(frac=1.0, random_state=3)
    again = reason_codes(bundle, shuffled, dictionary, reference=reference, chunk_size=64)
    by_label = dict(zip(rows.index, reasons_json(reasons), strict=True))
    assert reasons_json(again) == [by_label[label] for label in shuffled.index]
    assert reason_codes(bundle, rows.iloc[:0], dictionary) == []


def test_json_is_compact_rounded_and_byte_stable(trained, scored) -> None:
    bundle, dictionary, _ = trained
    rows, reference, reasons = scored
    text = reasons_json(reasons)
    assert text == reasons_json(reason_codes(bundle, rows, dictionary, reference=reference))
    for line, found in zip(text, reasons, strict=True):
        parsed = json.loads(line)
        assert json.dumps(parsed, ensure_ascii=False, separators=(",", ":")) == line
        assert [tuple(item) for item in parsed] == [REASON_KEYS] * len(found)
        for item, reason in zip(parsed, found, strict=True):
            assert item["contribution"] == round(reason.contribution, 4)
            assert item["sentence"] == reason.sentence
            assert item["value"] is None or isinstance(item["value"], str | int | float)
    assert reasons_text(reasons)[0] == "; ".join(r.sentence for r in reasons[0])
    assert reasons_json([[]]) == ["[]"]
    assert reasons_text([[]]) == [""]
    missing = Reason("gap_mean_days", None, -0.0, "x")
    assert reasons_json([[missing]]) == [
        '[{"feature":"gap_mean_days","value":null,"contribution":0.0,"sentence":"x"}]'
    ]


def test_the_reference_puts_values_among_customers(trained, scored) -> None:
    bundle, dictionary, _ = trained
    rows, reference, reasons = scored
    assert list(reference.columns) == list(REFERENCE_COLUMNS)
    assert "attr_plan" not in reference.index  # categories have no percentiles
    assert {"spend_365d", "btyd_p_alive"} <= set(reference.index)
    assert (reference.diff(axis=1).iloc[:, 1:] >= 0).all().all()
    spend = _entry(dictionary, "spend_365d")
    # Silent for longer than anyone in the reference: a strong reason, and an extreme one.
    top = float(reference.loc["days_since_last_event", "p100"])
    quiet = rows.assign(days_since_last_event=top * 2)
    high = reason_codes(bundle, quiet, dictionary, reference=reference)
    silent = [r for row in high for r in row if r.feature == "days_since_last_event"]
    assert len(silent) > len(rows) / 2
    assert all(r.sentence.endswith("(longer than 99% of customers)") for r in silent)
    assert sentence(spend, 0.0, Context(above=0.62)) == (
        "Net spend in the last 365 days: 0.00 (lower than 62% of customers)"
    )
    with_context = sum("% of customers" in r.sentence for row in reasons for r in row)
    without = reason_codes(bundle, rows, dictionary)
    assert with_context > 0
    assert not any("% of customers" in r.sentence for row in without for r in row)


def test_inputs_the_dictionary_or_reference_cannot_explain_are_refused(trained, scored) -> None:
    bundle, dictionary, _ = trained
    rows, reference, _ = scored
    partial = dictionary[dictionary["name"] != "overdue_ratio"]
    with pytest.raises(ValueError, match="overdue_ratio"):
        reason_codes(bundle, rows, partial)
    with pytest.raises(ValueError, match="percentile"):
        reason_codes(bundle, rows, dictionary, reference=reference[["p0", "p50"]])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        reason_codes(bundle, rows, dictionary, k=0)


def test_a_row_with_no_push_towards_churn_gets_no_reasons(trained) -> None:
    # One input, so a customer's only contribution is towards churn or away from it.
    full, dictionary, frame = trained
    recency = next(f for f in full.plan.features if f.name == "days_since_last_order")
    plan = FeaturePlan(features=(recency,), event_types={}, attributes={})
    rows = frame[frame["churned"].notna()].sample(n=3000, random_state=0)
    x = rows[["days_since_last_order"]]
    small = {"n_estimators": 20, "n_jobs": 1, "early_stopping_rounds": None}
    bundle = ModelBundle(
        plan=plan,
        horizon_days=90,
        churn=ChurnModel(**small).fit(x, rows["churned"]),
        orders=CountModel(**small).fit(x, rows["orders_next"]),
        spend=SpendModel(**small).fit(x, rows["spend_next"].clip(lower=0)),
    )
    shap = bundle.churn.contributions(x)["days_since_last_order"].to_numpy()
    assert (shap <= 0).any()
    assert (shap > 0).any()
    reasons = reason_codes(bundle, rows, dictionary, k=3)
    assert [len(r) for r in reasons] == (shap > 0).astype(int).tolist()
