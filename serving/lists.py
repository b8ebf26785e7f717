"""The win-back list: the policy applied to one scoring, with its summary and budget curve.

Its summary speaks to marketing: reasons by plain names ("time since last order"), and every
money figure that rests on an estimate says what it rests on ("expected margin saved 4,256.84
(assumed offer effects)"). The list and its summary page are published together
(:func:`publish_list`), and the page names the list file it describes and its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from winback.common import (
    DataSourceError,
    atomic_path,
    output_format,
    publish_together,
    write_frame_as,
)
from winback.common.figures import new_figure, save_figure
from winback.common.html import escape, key_figures, number, page, png_uri, section, table
from winback.common.timestamps import local_day
from winback.features import Dataset, FeatureSettings
from winback.serving.model import ServedModel
from winback.serving.output import is_database_url, write_output
from winback.serving.policy import (
    LIST_COLUMNS,
    EffectModel,
    best_offers,
    budget_curve,
    candidate_offers,
    recently_contacted,
    select,
)
from winback.serving.reasons import plain_names, reason_reference
from winback.serving.scoring import explain
from winback.serving.settings import PolicySettings
from winback.training.uplift import fit_uplift


@dataclass
class WinbackList:
    """A ranked list, what it is expected to achieve, and how it was made."""

    as_of: datetime
    frame: pd.DataFrame
    #: Cumulative cost and benefit down the whole ranking (not only what the budget took).
    curve: pd.DataFrame
    budget: float | None
    #: Customers left out before any offer was priced, by reason.
    excluded: dict[str, int]
    #: Where each offer's effect came from: "uplift" (campaign history) or "assumed".
    effect_sources: dict[str, str]
    settings: PolicySettings
    figures: dict[str, Any] = field(default_factory=dict)
    #: How the learned offer effects were learned and held out; empty when all are assumed.
    effect_note: str = ""
    #: Plain names of the features the reasons name ("time since last order"); a feature not
    #: here reads as its name with spaces.
    reason_names: dict[str, str] = field(default_factory=dict)
    #: The business's time zone (the data's): the list is as of the start of its day there.
    timezone: str = "UTC"

    @property
    def day(self) -> date:
        """The business's day the list is as of: what ``--as-of`` said."""
        return local_day(self.as_of, self.timezone)


def build_list(
    dataset: Dataset,
    scores: pd.DataFrame,
    features: pd.DataFrame,
    as_of: datetime,
    settings: PolicySettings,
    *,
    budget: float | None,
    lapsed_after_days: int,
    uplift: EffectModel | None = None,
    explain: Callable[[pd.DataFrame], list[str]] | None = None,
    dictionary: pd.DataFrame | None = None,
) -> WinbackList:
    """Price every eligible offer, keep each customer's best, select under the budget.

    The listed customers' reasons come from ``scores`` or, with ``explain`` (feature rows →
    reasons JSON), are computed for them alone: a scoring without reasons is then enough.
    ``dictionary`` (``bundle.dictionary(settings)``) gives the summary the reasons' plain names.
    """
    suppressed = recently_contacted(dataset, as_of, settings.suppression_days)
    candidates = candidate_offers(
        scores,
        features,
        settings,
        lapsed_after_days=lapsed_after_days,
        suppressed=suppressed,
        uplift=uplift,
    )
    best = best_offers(candidates.offers)
    chosen = select(
        best,
        budget=budget,
        max_contacts=settings.max_contacts,
        control_share=settings.control_share,
        seed=settings.seed,
    )
    if explain is not None:
        rows = features.drop_duplicates("customer_id").set_index("customer_id")
        listed = rows.loc[chosen["customer_id"]].reset_index()
        chosen["reasons"] = explain(listed) if len(listed) else []
    else:
        reasons = scores.set_index("customer_id")["reasons"]
        chosen["reasons"] = reasons.reindex(chosen["customer_id"]).fillna("[]").to_numpy()
    chosen["as_of"] = as_of
    chosen["reason_text"] = [
        "; ".join(r.get("sentence", "") for r in json.loads(text)) for text in chosen["reasons"]
    ]
    sources = (
        candidates.offers.drop_duplicates("offer").set_index("offer")["effect_source"].to_dict()
        if len(candidates.offers)
        else {}
    )
    result = WinbackList(
        as_of=as_of,
        frame=chosen,
        curve=budget_curve(best),
        budget=budget,
        excluded=candidates.excluded,
        effect_sources=sources,
        settings=settings,
        effect_note=uplift.describe() if uplift is not None else "",
        reason_names=plain_names(dictionary) if dictionary is not None else {},
        timezone=dataset.timezone,
    )
    result.figures = list_figures(result)
    result.frame = chosen[list(LIST_COLUMNS)]
    return result


def make_list(
    dataset: Dataset,
    model: ServedModel,
    scores: pd.DataFrame,
    features: pd.DataFrame,
    as_of: datetime,
    settings: PolicySettings,
    *,
    budget: float | None,
    lapsed_after_days: int,
    on_skip: Callable[[str], object] | None = None,
    reasons: int = 3,
) -> WinbackList:
    """The list for a scoring: offer effects from campaign history, then the policy.

    Where the history has no control group (:func:`training.uplift.fit_uplift` says why through
    ``on_skip``), the catalog's assumed effects are used. Only the listed customers are
    explained (``reasons`` each), against the whole scoring's reference, so ``scores`` may come
    from a scoring with ``reasons=0``: on a large base that skips nearly all the SHAP work.
    """
    uplift = fit_uplift(
        dataset,
        as_of,
        model.bundle.horizon_days,
        plan=model.bundle.plan,
        learner=settings.uplift_learner,
        activity_events=settings.uplift_activity_events,
        on_skip=on_skip,
    )
    dictionary = model.bundle.dictionary(FeatureSettings())
    return build_list(
        dataset,
        scores,
        features,
        as_of,
        settings,
        budget=budget,
        lapsed_after_days=lapsed_after_days,
        uplift=uplift,
        explain=_explainer(model, features, reasons, dictionary),
        dictionary=dictionary,
    )


def _explainer(
    model: ServedModel, features: pd.DataFrame, k: int, dictionary: pd.DataFrame
) -> Callable[[pd.DataFrame], list[str]]:
    reference = reason_reference(model.bundle.model_inputs(features)) if k else None

    def run(rows: pd.DataFrame) -> list[str]:
        return explain(model, rows, k=k, reference=reference, dictionary=dictionary)

    return run


def list_figures(wl: WinbackList) -> dict[str, Any]:
    """Counts and money the summary reports; every count adds up to the list's length."""
    frame = wl.frame
    treated = frame[~frame["control"]]
    saved = treated["churn_reduction"] * treated["margin_kept"] if len(treated) else pd.Series()
    per = frame.groupby(["action", "offer", "control"]).size()
    reasons: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for text in frame["reasons"]:
        for reason in json.loads(text):
            reasons[reason["feature"]] += 1
            examples.setdefault(reason["feature"], reason.get("sentence", ""))
    return {
        "customers": len(frame),
        "treated": len(treated),
        "control": int(frame["control"].sum()),
        "by_action_offer": {
            f"{a} / {o} / {'control' if c else 'offer'}": int(n) for (a, o, c), n in per.items()
        },
        "budget_used": float(treated["offer_cost"].sum()),
        "expected_margin_saved": float(saved.sum()),
        "expected_net_benefit": float(treated["expected_net_benefit"].sum()),
        "top_reasons": [(f, n, examples[f]) for f, n in reasons.most_common(5)],
    }


def effect_footing(wl: WinbackList) -> str:
    """What the list's expected money rests on, said beside each such figure.

    The offers' effects on churn are assumed (the catalog's) or learned from campaign history;
    learned effects come without an interval yet, and the words say so.
    """
    sent = wl.frame.loc[~wl.frame["control"].astype(bool), "offer"]
    offers = sorted(set(sent)) or sorted(wl.effect_sources)
    learned = [o for o in offers if wl.effect_sources.get(o) == "uplift"]
    assumed = [o for o in offers if o not in learned]
    if not learned:
        return "assumed offer effects"
    if not assumed:
        return "learned offer effects, no interval"
    return (
        f"assumed effects for {', '.join(assumed)}; learned for {', '.join(learned)}, no interval"
    )


def reason_name(wl: WinbackList, feature: str) -> str:
    """The plain name of a reason's feature ("time since last order")."""
    return wl.reason_names.get(feature) or feature.replace("_", " ")


def summary_lines(wl: WinbackList) -> list[str]:
    """The short printed summary of a list; expected money says what it rests on."""
    f = wl.figures
    footing = effect_footing(wl)
    budget = "no budget limit" if wl.budget is None else f"budget {wl.budget:,.2f}"
    lines = [
        f"win-back list as of {wl.day}: {f['customers']:,} customers "
        f"({f['treated']:,} offers, {f['control']:,} control, seed {wl.settings.seed})",
        f"{budget}; used {f['budget_used']:,.2f} on offers (contact costs and expected "
        f"discounts; {footing})",
        f"expected margin saved {f['expected_margin_saved']:,.2f} ({footing}); expected net "
        f"benefit {f['expected_net_benefit']:,.2f} ({footing})",
    ]
    lines += [f"  {key}: {n:,}" for key, n in f["by_action_offer"].items()]
    if f["top_reasons"]:
        lines.append("most common reasons:")
        lines += [
            f"  {n:,} × {reason_name(wl, feature)}: e.g. {example}"
            for feature, n, example in f["top_reasons"]
        ]
    lines.append(
        "offer effects: "
        + (", ".join(f"{o} {s}" for o, s in sorted(wl.effect_sources.items())) or "none priced")
    )
    if wl.effect_note:
        lines.append(f"  learned by the {wl.effect_note}")
    left_out = ", ".join(f"{n:,} {why}" for why, n in wl.excluded.items() if n)
    if left_out:
        lines.append(f"left out: {left_out}")
    return lines


def budget_plot(wl: WinbackList, path: Path) -> Path:
    """Expected margin saved and net benefit against money spent down the ranking.

    Margin saved is net benefit plus what was spent; the chosen budget is marked, and the legend
    says what the expectations rest on (assumed or learned offer effects).
    """
    figure = new_figure(7.5, 4.0)
    ax = figure.add_subplot()
    curve = wl.curve
    footing = effect_footing(wl)
    if len(curve):
        saved = curve["expected_net_benefit"] + curve["cost"]
        ax.plot(curve["cost"], saved, color="#6b8e23", lw=1.6, label="expected margin saved")
        ax.plot(curve["cost"], curve["expected_net_benefit"], color="#1f5fa8", lw=2,
                label="expected net benefit (saved − spent)")  # fmt: skip
    if wl.budget is not None:
        ax.axvline(wl.budget, color="#b5472f", ls="--", lw=1.2, label=f"budget {wl.budget:,.0f}")
    if len(curve) or wl.budget is not None:
        ax.legend(loc="lower right", frameon=False, title=footing, title_fontsize=8, fontsize=8)
    ax.set_xlabel("money spent on offers (contact cost + expected discounts)")
    ax.set_ylabel("cumulative expected money")
    spent_all = len(curve) > 0 and wl.budget is not None and curve["cost"].max() <= wl.budget
    title = (
        "The budget is not binding: every offer that pays fits in it"
        if spent_all
        else "Where more budget stops paying: the curve flattens"
    )
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(alpha=0.3)
    return save_figure(figure, path)


def _why(reasons: str) -> str:
    """The reason sentences of one customer, one per line."""
    sentences = [escape(r.get("sentence") or r.get("feature", "")) for r in json.loads(reasons)]
    return '<td class="why"><ul>' + "".join(f"<li>{t}</li>" for t in sentences if t) + "</ul></td>"


def _money(value: float) -> str:
    return escape(f"{value:,.0f}")


def reasons_table(wl: WinbackList) -> str:
    """The list's most common reasons in plain words: how many customers, and an example."""
    f = wl.figures
    return table(
        ["reason", "customers", "example"],
        [(escape(reason_name(wl, k)), number(n), escape(e)) for k, n, e in f["top_reasons"]],
        numeric=[False, True, False],
    )


def top_table(wl: WinbackList, rows: int = 20) -> str:
    """The first ``rows`` of the list: rank, customer, offer, money (saying its footing), why."""
    footing = escape(effect_footing(wl))
    return table(
        ["rank", "customer", "action", "offer", f"expected net benefit ({footing})", "P(churn)",
         "CLV (forecast, no interval)", "why"],
        [
            (
                number(int(r.rank)),
                escape(r.customer_id),
                escape(str(r.action).replace("_", " ")),
                escape(r.offer) + (" <em>(control: no offer)</em>" if r.control else ""),
                number(r.expected_net_benefit),
                f"{r.churn_probability:.0%}",
                number(r.clv),
                _why(str(r.reasons)),
            )
            for r in wl.frame.head(rows).itertuples(index=False)
        ],
        numeric=[True, False, False, False, True, True, True, False],
    )  # fmt: skip


@dataclass(frozen=True)
class ListFile:
    """The list a summary page describes: its file name (or table) and the SHA-256 of its bytes."""

    name: str
    sha256: str | None = None


def list_summary_html(wl: WinbackList, describes: ListFile | None = None) -> str:
    """One self-contained HTML page: the figures, the budget curve, offers and reasons.

    ``describes`` names the list the page belongs to, in its header and in ``<meta>`` tags
    (``winback-list``, ``winback-list-sha256``) a program can check against the file.
    """
    f = wl.figures
    footing = escape(effect_footing(wl))
    budget = "no limit" if wl.budget is None else _money(wl.budget)
    headline = key_figures(
        [
            (number(f["customers"]), "customers on the list"),
            (number(f["treated"]), f"get an offer; {number(f['control'])} held out as control"),
            (
                _money(f["budget_used"]),
                f"spent on offers (contact costs and expected discounts; {footing}), of a "
                f"budget of {budget}",
            ),
            (_money(f["expected_margin_saved"]), f"expected margin saved ({footing})"),
            (_money(f["expected_net_benefit"]), f"expected net benefit, saved − cost ({footing})"),
        ]
    )
    overview = table(
        ["figure", "value"],
        [
            ("customers on the list", number(f["customers"])),
            ("offers sent", number(f["treated"])),
            (f"control (held out, seed {wl.settings.seed})", number(f["control"])),
            ("budget", "no limit" if wl.budget is None else number(wl.budget)),
            (f"budget used (contact costs and expected discounts; {footing})",
             number(f["budget_used"])),
            (f"expected margin saved ({footing})", number(f["expected_margin_saved"])),
            (f"expected net benefit ({footing})", number(f["expected_net_benefit"])),
        ],
        numeric=[False, True],
    )  # fmt: skip
    offers = table(
        ["action / offer / group", "customers"],
        [(escape(k), number(n)) for k, n in f["by_action_offer"].items()],
        numeric=[False, True],
    )
    reasons = reasons_table(wl)
    with tempfile.TemporaryDirectory() as tmp:
        image = png_uri(budget_plot(wl, Path(tmp) / "budget.png"))
    top = wl.frame.head(20)
    preview = top_table(wl, len(top))
    left_out = [(escape(k), number(v)) for k, v in wl.excluded.items()]
    sections = [
        section("summary", "Summary", headline + f'<div class="row">{overview}{offers}</div>'),
        section(
            "budget",
            "Budget curve",
            f'<figure id="plot-budget"><img src="{image}" alt="Budget curve">'
            "<figcaption>Each point adds the next customer down the ranking; where the curve "
            f"flattens, more budget buys little. Expected net benefit on {footing}."
            "</figcaption></figure>",
        ),
        section("reasons", "Most common reasons", reasons),
        section(
            "top",
            "Top of the list",
            f"<p>The first {len(top)} of {number(len(wl.frame))} customers, in the order "
            + (
                "the budget takes them: expected net benefit per unit of offer cost"
                if wl.budget is not None
                else "of expected net benefit"
            )
            + "; control customers are listed but get no offer.</p>"
            + preview,
        ),
        section(
            "excluded", "Left out", table(["reason", "customers"], left_out, numeric=[False, True])
        ),
    ]
    nav = "".join(f'<a href="#{s}">{s.capitalize()}</a>' for s in
                  ("summary", "budget", "reasons", "top", "excluded"))  # fmt: skip
    subtitle = f"As of {wl.day}; offer effects: " + (
        ", ".join(f"{o} {s}" for o, s in sorted(wl.effect_sources.items())) or "none"
    )
    meta: dict[str, str] = {}
    if describes is not None:
        meta["winback-list"] = describes.name
        subtitle += f". Describes the list {describes.name}"
        if describes.sha256 is not None:
            meta["winback-list-sha256"] = describes.sha256
            subtitle += f" (SHA-256 {describes.sha256[:12]}…)"
    return page("winback list summary", subtitle, nav, sections, meta=meta)


def write_list_summary(wl: WinbackList, path: Path, describes: ListFile | None = None) -> Path:
    """Write :func:`list_summary_html` to ``path`` atomically; return the path.

    On its own it describes no list file (``describes`` aside): :func:`publish_list` writes a
    list and its page together.
    """
    with atomic_path(path) as tmp:
        _write_page(tmp, list_summary_html(wl, describes), path)
    return path


def publish_list(
    wl: WinbackList,
    target: str,
    summary: Path,
    *,
    table: str | None = None,
    on_step: Callable[[str], object] | None = None,
) -> str:
    """Write the list to ``target`` and its summary page to ``summary``, together; say where.

    ``target`` is a ``.csv``/``.parquet`` file or a database URL (``table`` names the table, see
    :func:`serving.output.write_output`). A file and the page are published at once
    (:func:`common.output.publish_together`): a run that fails or is killed leaves the old
    pair or the new one, and the page names the list file and its SHA-256. A table is replaced
    in its own transaction before the page, which names it. ``on_step`` is the fault tests' hook.
    """
    if is_database_url(target):
        where = write_output(wl.frame, target, table)
        write_list_summary(wl, summary, ListFile(where))
        return where
    path = Path(target)
    fmt = output_format(path)
    with publish_together([path, summary], on_step=on_step) as (list_tmp, page_tmp):
        write_frame_as(wl.frame, list_tmp, fmt, shown=path)
        with list_tmp.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        _write_page(page_tmp, list_summary_html(wl, ListFile(path.name, digest)), summary)
    return str(path)


def _write_page(tmp: Path, document: str, shown: Path) -> None:
    try:
        tmp.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise DataSourceError(f"cannot write {shown}: {exc.strerror or exc}") from exc


__all__ = [
    "ListFile",
    "WinbackList",
    "budget_plot",
    "build_list",
    "effect_footing",
    "list_figures",
    "list_summary_html",
    "make_list",
    "publish_list",
    "reason_name",
    "reasons_table",
    "summary_lines",
    "top_table",
    "write_list_summary",
]
