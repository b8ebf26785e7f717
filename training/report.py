"""One self-contained HTML page about a training: how it was judged, how it did, and why.

The page is for someone who never opens MLflow: it works offline (styles inline, every image a
base64 ``data:`` URI, no script, no link outside the page) and every text value is escaped.
Sections, each with an ``id`` to link to: ``summary`` (split, calibration, tuning, the headline
sentence), ``comparison`` (headline figures, ours against the baselines, the better value of
each row marked), ``plots``, ``features`` (the strongest features with their business meaning),
``segments`` (when segments are given) and ``metrics`` (every number the training recorded).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from winback.common.html import breakable, page
from winback.common.html import escape as _e
from winback.common.html import number as _number
from winback.common.html import png_uri as _png_uri
from winback.common.html import section as _section
from winback.common.html import table as _table
from winback.common.output import atomic_path
from winback.training.explain import global_importance, importance_plot, shap_summary_plot
from winback.training.metrics import HIGHER_IS_BETTER
from winback.training.pipeline import (
    HEADLINE,
    POPULATION_WORDS,
    SPEND_OBJECTIVES,
    TrainResult,
    comparison_table,
    measured_populations,
    verdict,
)
from winback.training.plots import (
    MODEL_NAMES,
    decile_plot,
    gains_plot,
    reliability_plot,
    roc_pr_plot,
)

#: Section ids of the page, in order (``segments`` only when segments are given).
SECTIONS = ("summary", "comparison", "plots", "features", "segments", "metrics")
#: Features listed in the ``features`` section.
TOP_FEATURES = 15
#: Segment columns summarised in the ``segments`` section, when present.
SEGMENT_COLUMNS = ("lifecycle_stage", "value_segment")

_TARGETS = {
    "active": "Ordering again in the horizon",
    "spend": "Spend in the horizon",
    "orders": "Orders in the horizon",
    "churn": "Churn (calibrated)",
}
_FIGURES = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC (average precision)",
    "brier": "Brier score",
    "mae": "mean absolute error",
    "spearman": "rank correlation (Spearman)",
    "top_decile_share": "share of actual in the top predicted decile",
    "aggregate_error": "total predicted vs actual (relative error)",
}


# --- small HTML helpers ------------------------------------------------------------------------


# --- sections ----------------------------------------------------------------------------------


def _baselines(metrics: dict[str, float], prefix: str = "") -> list[str]:
    return [w for w in MODEL_NAMES if w != "ours" and f"{prefix}test.{w}.active.roc_auc" in metrics]


def _versus(metrics: dict[str, float], target: str, name: str, prefix: str = "") -> str:
    ours = metrics.get(f"{prefix}test.ours.{target}.{name}", math.nan)
    others = [
        f"{_number(metrics[f'{prefix}test.{w}.{target}.{name}'])} for {MODEL_NAMES[w]}"
        for w in _baselines(metrics, prefix)
        if f"{prefix}test.{w}.{target}.{name}" in metrics
    ]
    if not others:
        return _number(ours)
    listed = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
    return f"{_number(ours)} vs {listed}"


def headline(metrics: dict[str, float]) -> str:
    """The one-sentence result, e.g. ``Churn ROC AUC 0.93 vs 0.88 for RFM rules …``.

    Ranking customers by churn and by ordering again are the same ranking, so the churn ROC AUC
    of a baseline is its ROC AUC for ordering again.
    """
    measured = [p for p in measured_populations(metrics) if p is not None]
    if measured:
        parts = [
            f"{_POPULATION_HEADS[p]} ({_number(metrics[f'{p}.test.rows'])} at the test cutoff): "
            f"churn ROC AUC {_versus(metrics, 'active', 'roc_auc', f'{p}.')}"
            for p in measured
        ]
    else:
        parts = [f"Churn ROC AUC {_versus(metrics, 'active', 'roc_auc')}"]
    if "test.ours.spend.mae" in metrics:
        whom = "everyone who ordered: " if measured else ""
        parts.append(f"{whom}spend MAE {_versus(metrics, 'spend', 'mae')}")
    return "; ".join(parts) + "."


def _summary(result: TrainResult) -> str:
    split = result.split
    rows = [
        (_e(name), _number(len(cuts)), _e(f"{cuts[0]:%Y-%m-%d}"), _e(f"{cuts[-1]:%Y-%m-%d}"))
        for name, cuts in (
            ("train", split.train),
            ("validation", split.validation),
            ("test", split.test),
        )
    ]
    metrics = result.metrics
    parts = [
        f'<p class="headline">{_e(headline(metrics))}</p>',
        "<p>"
        + _e(
            f"Judged on {_number(metrics.get('test.rows', len(result.test_predictions)))} test "
            f"rows ({_number(metrics.get('test.rows_compared', math.nan))} scored by every "
            f"model, which the comparison uses). Labels look {split.label_days} days ahead; "
            f"{split.method()}."
        )
        + "</p>",
        _populations(result),
        "<h3>Time split</h3>" if split.by == "time" else "<h3>Split by customer</h3>",
        _table(
            ["split", "cutoffs", "first", "last"],
            rows,
            numeric=[False, True, False, False],
        ),
        "<h3>Calibration</h3>",
        f"<p>Chosen on the validation cutoffs: <strong>{_e(result.calibration_method)}</strong>"
        + (
            f"; churn ECE on the test rows {_e(_number(metrics['test.ours.churn.ece']))}.</p>"
            if "test.ours.churn.ece" in metrics
            else ".</p>"
        ),
    ]
    if result.calibration:
        parts.append(
            _table(
                ["method", "Brier", "ECE"],
                [
                    (
                        _e(method) + (" (chosen)" if method == result.calibration_method else ""),
                        _number(scores.get("brier", math.nan)),
                        _number(scores.get("ece", math.nan)),
                    )
                    for method, scores in result.calibration.items()
                ],
                numeric=[False, True, True],
            )
        )
    parts += _value_choices(result)
    parts.append("<h3>Tuning</h3>")
    tuning = result.tuning
    if tuning is None:
        parts.append("<p>No tuning: the churn model used the configured hyperparameters.</p>")
    else:
        parts.append(
            f"<p>{_e(tuning.n_trials)} Optuna trials ({_e(tuning.n_pruned)} pruned) in study "
            f"<code>{_e(tuning.study_name)}</code>; best validation log loss "
            f"{_e(_number(tuning.best_value))}.</p>"
        )
        parts.append(
            _table(
                ["hyperparameter", "value"],
                [(_e(k), _e(v)) for k, v in sorted(tuning.best_params.items())],
            )
        )
    return _section("summary", "Summary", "\n".join(parts))


_METHODS = {
    "direct": "learned directly",
    "btyd_decay": "extrapolated: last learned period × BG/NBD decay",
    "retention_decay": "extrapolated: last learned period × (1 − P(churn)) per period",
}


def _value_choices(result: TrainResult) -> list[str]:
    """How spend was modelled and how each period's value was produced, with test figures."""
    choices, metrics = result.choices, result.metrics
    parts = ["<h3>Spend and value per period</h3>"]
    objective = choices.get("spend_objective")
    if objective:
        tried = [
            (_e(name) + (" (chosen)" if name == objective else ""),
             _number(choices[f"valid.spend.{name}.tweedie_deviance"]),
             _number(choices[f"valid.spend.{name}.mae"]),
             _number(choices.get(f"valid.spend.{name}.aggregate_error", float("nan"))))
            for name in SPEND_OBJECTIVES
            if f"valid.spend.{name}.tweedie_deviance" in choices
        ]  # fmt: skip
        parts.append("<p>Spend objective, chosen on the validation cutoffs:</p>")
        parts.append(
            _table(
                ["objective", "Tweedie deviance", "MAE", "aggregate error"],
                tried,
                numeric=[False, True, True, True],
            )
        )
    parts.append(f"<p>BG/NBD inputs: {_e(choices.get('btyd_features', 'off'))}.</p>")
    if "month_levels" in choices:
        parts.append(f"<p>Calendar month levels: {_e(choices['month_levels'])}.</p>")
    periods = result.bundle.periods
    if periods is not None:
        rows = []
        for k, method in sorted(periods.methods.items()):
            key = f"test.ours.period_{k}"
            rows.append(
                (
                    f"value_period_{k}",
                    _e(_METHODS.get(method, method)),
                    _number(metrics.get(f"{key}.mae", math.nan)),
                    _number(metrics.get(f"{key}.spearman", math.nan)),
                    _number(metrics.get(f"{key}.aggregate_error", math.nan)),
                )
            )
        parts.append(
            f"<p>CRM margin per {periods.horizon_days}-day period; CLV discounts them at "
            f"{periods.discount_rate:.0%} a year. Figures are on each period's own test cutoffs "
            "(none for an extrapolated period: no held-out cutoff has it observed).</p>"
        )
        parts.append(
            _table(
                ["output", "method", "MAE", "Spearman", "aggregate error"],
                rows,
                numeric=[False, False, True, True, True],
            )
        )
    return parts


def _better(values: list[float], name: str) -> int | None:
    """Index of the better value of a row, direction-aware; None on a tie or too few values."""
    finite = [(i, v) for i, v in enumerate(values) if math.isfinite(v)]
    if len(finite) < 2 or name not in HIGHER_IS_BETTER:
        return None
    key: Callable[[float], float] = abs if name == "aggregate_error" else (lambda v: v)
    sign = 1.0 if HIGHER_IS_BETTER[name] and name != "aggregate_error" else -1.0
    scored = [(sign * key(v), i) for i, v in finite]
    best = max(scored)
    if sum(1 for s, _ in scored if s == best[0]) > 1:
        return None
    return best[1]


def _populations(result: TrainResult) -> str:
    """The activity rule and how many test rows each population holds."""
    rule = result.choices.get("populations")
    if not isinstance(rule, str) or "population" not in result.test_predictions:
        return ""
    counts = result.test_predictions["population"].value_counts()
    held = ", ".join(
        f"{_number(counts.get(p, 0))} {words}"
        for p, words in (("retention", "active"), ("winback", "lapsed"),
                         ("no_orders", "with no order yet"))
    )  # fmt: skip
    one = (
        ""
        if result.bundle.winback_churn is not None
        else (
            " Both populations were learned by one churn model: the lapsed rows held one outcome "
            "only in training or validation."
        )
    )
    return f"<p>Populations ({_e(rule)}): the test rows hold {_e(held)}.{_e(one)}</p>"


#: How the headline sentence names each population.
_POPULATION_HEADS = {"retention": "Retention, active customers", "winback": "Win-back, lapsed"}


def _comparison(metrics: dict[str, float]) -> str:
    """One table of headline figures per population (retention first), then every test row."""
    populations = measured_populations(metrics)
    if len(populations) == 1:
        return _section("comparison", "Ours against the baselines", _population_table(metrics))
    parts = [
        "<p>Each population is judged on its own test rows: retention asks who among the "
        "customers active at the cutoff will lapse, win-back who among the lapsed will return. "
        "The last table mixes both, as the ranking of everyone does.</p>"
    ]
    for population in populations:
        rows = metrics.get(f"{population}.test.rows" if population else "test.rows_compared")
        parts.append(
            f"<h3>{_e(POPULATION_WORDS[population].capitalize())} ({_number(rows)} test rows)</h3>"
        )
        parts.append(_population_table(metrics, population))
    return _section("comparison", "Ours against the baselines", "\n".join(parts))


def _population_table(metrics: dict[str, float], population: str | None = None) -> str:
    table = comparison_table(metrics, population)
    who = list(table.columns)
    rows, attrs = [], []
    for (target, name), (label, values) in zip(HEADLINE, table.iterrows(), strict=True):
        numbers = [float(v) for v in values]
        best = _better(numbers, name)
        direction = (
            "closer to 0"
            if name == "aggregate_error"
            else ("higher" if HIGHER_IS_BETTER.get(name, True) else "lower")
        )
        cells = [
            _e(f"{_TARGETS.get(target, target)}: {_FIGURES.get(name, name)}"),
            _e(direction),
        ]
        cells += [
            f'<td class="num best">{_number(v)}</td>' if i == best else _number(v)
            for i, v in enumerate(numbers)
        ]
        rows.append(cells)
        attrs.append(f'data-figure="{_e(label)}"')
    body = (
        "<p>Headline test figures on the rows every model can score. The better value of "
        "each row is highlighted; <em>better</em> says which direction wins.</p>"
        + _table(
            ["figure", "better", *[_e(MODEL_NAMES.get(w, w)) for w in who]],
            rows,
            numeric=[False, False, *[True] * len(who)],
            row_attrs=attrs,
        )
    )
    if len(who) == 1:
        body += '<p class="note">No baseline was scored in this training.</p>'
    # Each gain's 95% interval comes from resampling the test customers (training.intervals).
    body += "".join(f'<p class="verdict">{_e(line)}</p>' for line in verdict(metrics, population))
    return body


_CAPTIONS = {
    "roc_pr": "ROC and precision-recall for ordering again in the horizon. Curves further up "
    "and to the left (ROC) or up (PR) rank customers better; dashed lines are chance.",
    "gains": "Cumulative gains and lift for finding churners: targeting the top x % by "
    "predicted churn finds this share of all churners (left) at this multiple of the overall "
    "churn rate (right).",
    "reliability": "Calibration: points on the diagonal mean a predicted 30 % churn really "
    "churns 30 % of the time. Bars count the customers per bin.",
    "deciles": "Predicted against actual spend per decile of predicted spend: the bars should "
    "fall together from decile 1 to 10.",
    "shap": "Each dot is a test customer: how much a feature pushed their churn score up "
    "(right) or down (left); colour is the feature's value (red high, blue low).",
    "importance": "Mean absolute contribution of each feature to the churn score.",
}


def _figure_html(key: str, title: str, draw: Callable[[Path], Path], folder: Path) -> str:
    try:
        uri = _png_uri(draw(folder / f"{key}.png"))
    except ValueError as exc:
        return f'<p class="note">{_e(title)}: not drawn ({_e(exc)}).</p>'
    return (
        f'<figure id="plot-{key}"><img src="{uri}" alt="{_e(title)}">'
        f"<figcaption>{_e(_CAPTIONS[key])}</figcaption></figure>"
    )


def _importance(result: TrainResult, feature_rows: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """Feature importance, and the scale it is on: SHAP on the rows given, else LightGBM gain."""
    churn = result.bundle.churn
    if feature_rows is not None and len(feature_rows):
        rows = result.bundle.model_inputs(feature_rows)
        return global_importance(churn, rows), "mean |SHAP| on log-odds of churn"
    gain = np.asarray(churn.feature_importances_, dtype="float64")
    total = gain.sum()
    frame = pd.DataFrame(
        {
            "feature": pd.Series(churn.feature_names_, dtype="str"),
            "mean_abs_contribution": gain,
            "share": gain / total if total > 0 else np.zeros_like(gain),
        }
    ).sort_values(["mean_abs_contribution", "feature"], ascending=[False, True], kind="stable")
    return frame.reset_index(drop=True), "total split gain"


def _plots(
    result: TrainResult,
    importance: pd.DataFrame,
    scale: str,
    feature_rows: pd.DataFrame | None,
    folder: Path,
) -> str:
    test = result.test_predictions
    parts = [
        _figure_html("roc_pr", "ROC and precision-recall", lambda p: roc_pr_plot(test, p), folder),
        _figure_html("gains", "Cumulative gains and lift", lambda p: gains_plot(test, p), folder),
        _figure_html(
            "reliability", "Reliability diagram", lambda p: reliability_plot(test, p), folder
        ),
        _figure_html("deciles", "Spend by decile", lambda p: decile_plot(test, p), folder),
    ]
    if feature_rows is not None and len(feature_rows):
        rows = result.bundle.model_inputs(feature_rows)
        parts.append(
            _figure_html(
                "shap",
                "SHAP summary of the churn model",
                lambda p: shap_summary_plot(
                    result.bundle.churn, rows, p, max_rows=2_000, scale="log-odds of churn"
                ),
                folder,
            )
        )
    else:
        parts.append(
            '<p class="note">SHAP summary not drawn: no feature rows were given to explain '
            "(pass <code>feature_rows</code>).</p>"
        )
    parts.append(
        _figure_html(
            "importance",
            "Feature importance of the churn model",
            lambda p: importance_plot(importance, p, xlabel=scale),
            folder,
        )
    )
    return _section("plots", "Plots", "\n".join(parts))


def _features(importance: pd.DataFrame, scale: str, dictionary: pd.DataFrame) -> str:
    meanings = dictionary.drop_duplicates("name").set_index("name")
    rows = []
    for rank, item in enumerate(importance.head(TOP_FEATURES).itertuples(index=False), start=1):
        name = str(item.feature)
        known = name in meanings.index
        meaning = meanings.at[name, "meaning"] if known else "(not in the feature dictionary)"
        window = meanings.at[name, "window_days"] if known and "window_days" in meanings else None
        unit = meanings.at[name, "unit"] if known and "unit" in meanings else None
        rows.append(
            (
                _number(rank),
                f"<code>{_e(name)}</code>",
                _e(meaning),
                _e("—" if window is None or pd.isna(window) else f"{int(window)} days"),
                _e("—" if unit is None or pd.isna(unit) else unit),
                _e(f"{float(item.share):.1%}"),
            )
        )
    body = (
        f"<p>The {min(TOP_FEATURES, len(importance))} features that move the churn score most "
        f"({_e(scale)}), with what they mean.</p>"
        + _table(
            ["#", "feature", "meaning", "window", "unit", "share"],
            rows,
            numeric=[True, False, False, False, False, True],
        )
    )
    return _section("features", "What drives the churn score", body)


def _utc_naive(column: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(column)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[us]")


def segment_summary(
    test_predictions: pd.DataFrame, segments: pd.DataFrame, by: str
) -> pd.DataFrame:
    """Test rows per segment: customers, mean churn probability, churn rate, expected spend.

    Joined on ``customer_id`` and ``as_of``; rows without a segment are counted as ``(none)``.
    Columns: segment, customers, share, mean_churn_probability, churn_rate (of labelled rows),
    mean_expected_spend, total_expected_spend. Largest segment first.
    """
    keys = ["customer_id", "as_of"]
    left = test_predictions.assign(as_of=_utc_naive(test_predictions["as_of"]))
    right = segments[[*keys, by]].assign(as_of=_utc_naive(segments["as_of"]))
    joined = left.merge(right.drop_duplicates(keys), on=keys, how="left", validate="many_to_one")
    joined[by] = joined[by].astype("string").fillna("(none)")
    table = joined.groupby(by, sort=True).agg(
        customers=("customer_id", "size"),
        mean_churn_probability=("churn_probability", "mean"),
        churn_rate=("churned", "mean"),
        mean_expected_spend=("expected_spend", "mean"),
        total_expected_spend=("expected_spend", "sum"),
    )
    table.insert(1, "share", table["customers"] / table["customers"].sum())
    table = table.rename_axis("segment").reset_index()
    return table.sort_values(["customers", "segment"], ascending=[False, True], kind="stable")


def _segments(test_predictions: pd.DataFrame, segments: pd.DataFrame) -> str:
    parts = [
        "<p>Test rows by segment at their cutoff: how many, how likely to churn as predicted, "
        "how many actually churned, and what they are expected to spend in the horizon.</p>"
    ]
    present = [c for c in SEGMENT_COLUMNS if c in segments.columns]
    if not present:
        parts.append(
            f'<p class="note">The segments frame has none of the columns '
            f"{_e(', '.join(SEGMENT_COLUMNS))}.</p>"
        )
    for by in present:
        table = segment_summary(test_predictions, segments, by)
        parts.append(f"<h3>{_e(by.replace('_', ' ').capitalize())}</h3>")
        parts.append(
            _table(
                [
                    "segment",
                    "customers",
                    "share",
                    "predicted churn",
                    "actual churn rate",
                    "expected spend (mean)",
                    "expected spend (total)",
                ],
                [
                    (
                        _e(r.segment),
                        _number(int(r.customers)),
                        _e(f"{r.share:.1%}"),
                        _e(f"{r.mean_churn_probability:.1%}"),
                        _e("—" if pd.isna(r.churn_rate) else f"{r.churn_rate:.1%}"),
                        _number(r.mean_expected_spend),
                        _number(r.total_expected_spend),
                    )
                    for r in table.itertuples(index=False)
                ],
                numeric=[False, *[True] * 6],
            )
        )
    return _section("segments", "Segments", "\n".join(parts))


def _metrics(metrics: dict[str, float]) -> str:
    """Every metric, one table per group of scopes sharing the same figures."""
    scopes: dict[str, dict[str, float]] = {}
    for name in sorted(metrics):
        scope, _, figure = name.rpartition(".")
        scopes.setdefault(scope or "(run)", {})[figure] = metrics[name]
    groups: dict[tuple[str, ...], list[str]] = {}
    for scope, figures in scopes.items():
        groups.setdefault(tuple(figures), []).append(scope)
    parts = [
        f"<p>All {len(metrics)} metrics recorded for this training. Names read "
        "<code>test.&lt;model&gt;.&lt;target&gt;.&lt;figure&gt;</code> (<code>all</code>: every "
        "test row, not only those every model scores) and <code>vs_&lt;baseline&gt;</code>: our "
        "improvement, positive when ours is better.</p>"
    ]
    for names, members in groups.items():
        parts.append(
            _table(
                ["scope", *[breakable(f) for f in names]],
                [(_e(s), *[_number(scopes[s][f]) for f in names]) for s in members],
                numeric=[False, *[True] * len(names)],
            )
        )
    return _section("metrics", "All metrics", "\n".join(parts))


# --- the page ----------------------------------------------------------------------------------


def render_report(
    result: TrainResult,
    *,
    dictionary: pd.DataFrame,
    segments: pd.DataFrame | None = None,
    feature_rows: pd.DataFrame | None = None,
    title: str = "winback model report",
) -> str:
    """The report as one HTML string; see :func:`write_report`."""
    missing = [c for c in ("name", "meaning") if c not in dictionary.columns]
    if missing:
        raise ValueError(
            f"dictionary lacks columns {missing}; pass features.describe_features(settings, plan)"
        )
    importance, scale = _importance(result, feature_rows)
    with tempfile.TemporaryDirectory(prefix="winback-report-") as tmp:
        plots = _plots(result, importance, scale, feature_rows, Path(tmp))
    sections = [
        _summary(result),
        _comparison(result.metrics),
        plots,
        _features(importance, scale, dictionary),
    ]
    if segments is not None:
        sections.append(_segments(result.test_predictions, segments))
    sections.append(_metrics(result.metrics))
    shown = [s for s in SECTIONS if s != "segments" or segments is not None]
    nav = "".join(f'<a href="#{s}">{_e(s.capitalize())}</a>' for s in shown)
    test = result.split.test
    subtitle = (
        f"Test cutoffs {test[0]:%Y-%m-%d} … {test[-1]:%Y-%m-%d}; horizon "
        f"{result.split.label_days} days; {len(result.bundle.feature_columns)} features."
    )
    return page(title, subtitle, nav, sections)


def write_report(
    result: TrainResult,
    path: Path,
    *,
    dictionary: pd.DataFrame,
    segments: pd.DataFrame | None = None,
    feature_rows: pd.DataFrame | None = None,
    title: str = "winback model report",
) -> Path:
    """Write the training report as one self-contained HTML file at ``path``; returns the path.

    ``dictionary`` is ``features.describe_features(settings, plan)``; ``segments`` (optional)
    is ``features.build_segments`` for the test snapshots, joined on ``customer_id`` and
    ``as_of``; ``feature_rows`` (optional) are test snapshot rows with the model's feature
    columns: given, importance is mean |SHAP| over them (at most 2,000 drawn for the summary
    plot) and the SHAP summary is drawn; without them importance is LightGBM's split gain.
    The file is written to a temporary name beside ``path`` and moved into place, so a reader
    never sees half a page.
    """
    page = render_report(
        result, dictionary=dictionary, segments=segments, feature_rows=feature_rows, title=title
    )
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target


__all__ = [
    "SECTIONS",
    "TOP_FEATURES",
    "headline",
    "render_report",
    "segment_summary",
    "write_report",
]
