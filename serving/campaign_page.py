"""The HTML page of a judged campaign: per-offer table, totals, Qini and uplift-by-decile plots.

One self-contained file like the list summary page (:mod:`common.html`: inline styles, images as
``data:`` URIs, no script), written atomically (:func:`common.output.atomic_path`).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from winback.common.errors import DataSourceError
from winback.common.figures import new_figure, save_figure
from winback.common.html import escape, key_figures, number, page, png_uri, section, table
from winback.common.output import atomic_path
from winback.serving.campaign_eval import CampaignEvaluation, CampaignRanking


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:+.1%}"


def _rate(value: float, form: str = "{:.1%}") -> str:
    return "—" if math.isnan(value) else form.format(value)


def _ci(low: float, high: float, pct: bool = False) -> str:
    if math.isnan(low):
        return "—"
    form = _pct if pct else (lambda v: f"{v:+,.2f}")
    return f"{form(low)} … {form(high)}"


def _offer_table(evaluation: CampaignEvaluation) -> str:
    header = ["offer", "compared with", "treated", "control", "response treated",
              "response control", "incremental response", "95% CI", "spend / contact",
              "95% CI", "margin / contact", "95% CI", "offer cost"]  # fmt: skip
    rows = [
        [
            escape(offer),
            escape(r["control_of"]),
            number(int(r["treated"])),
            number(int(r["control"])),
            f"{r['response_treated']:.1%}",
            f"{r['response_control']:.1%}",
            _pct(r["incremental_response"]),
            _ci(r["incremental_response_ci_low"], r["incremental_response_ci_high"], pct=True),
            f"{r['incremental_spend']:+,.2f}",
            _ci(r["incremental_spend_ci_low"], r["incremental_spend_ci_high"]),
            f"{r['incremental_margin']:+,.2f}",
            _ci(r["incremental_margin_ci_low"], r["incremental_margin_ci_high"]),
            number(float(r["offer_cost"])),
        ]
        for offer, r in evaluation.table.iterrows()
    ]
    return table(header, rows, numeric=[False, False] + [True] * 11)


def _plots(ranking: CampaignRanking, folder: Path) -> str:
    figure = new_figure(9.0, 3.6)
    qini, bars = figure.subplots(1, 2)
    curve = ranking.curve
    qini.plot(curve["share"], curve["qini"], color="#1f5fa8", lw=2, label="this ranking")
    qini.plot(curve["share"], curve["random"], color="#888", ls="--", lw=1.2, label="random")
    qini.set_xlabel("share of contacts, highest score first")
    qini.set_ylabel("incremental responses per contact")
    qini.set_title("Qini curve", loc="left", fontsize=11)
    qini.legend(frameon=False, fontsize=8)
    qini.grid(alpha=0.3)
    d = ranking.deciles
    if len(d):
        errors = [d["incremental_response"] - d["ci_low"], d["ci_high"] - d["incremental_response"]]
        bars.bar(d["decile"], d["incremental_response"], color="#6b8e23", yerr=errors,
                 capsize=3, ecolor="#444")  # fmt: skip
    bars.axhline(0, color="#444", lw=0.8)
    bars.set_xticks(range(1, 11))
    bars.set_xlabel("decile of the ranking (1 = highest score)")
    bars.set_ylabel("incremental response (95% CI)")
    bars.set_title("Uplift by decile", loc="left", fontsize=11)
    bars.grid(alpha=0.3, axis="y")
    path = save_figure(figure, folder / "ranking.png")
    return f'<figure><img alt="Qini curve and uplift by decile" src="{png_uri(path)}"></figure>'


def _ranking_section(ranking: CampaignRanking | None) -> str:
    if ranking is None:
        return section(
            "ranking",
            "Ranking",
            '<p class="note">No model was given and no champion is registered: the Qini curve '
            "and uplift by decile need a ranking of the contacts.</p>",
        )
    header = ["decile", "treated", "control", "mean score", "response treated",
              "response control", "incremental response", "95% CI"]  # fmt: skip
    rows = [
        [
            str(int(r["decile"])),
            number(int(r["treated"])),
            number(int(r["control"])),
            _rate(r["mean_score"], "{:.3f}"),
            _rate(r["response_treated"]),
            _rate(r["response_control"]),
            _pct(r["incremental_response"]),
            _ci(r["ci_low"], r["ci_high"], pct=True),
        ]
        for _, r in ranking.deciles.iterrows()
    ]
    left = f" ({ranking.unscored:,} contacts unknown to the model left out)"
    with tempfile.TemporaryDirectory() as folder:
        plots = _plots(ranking, Path(folder))
    body = (
        f"<p>{escape(ranking.note)}. Qini coefficient {ranking.qini:+.4f} over "
        f"{ranking.scored:,} contacts{left if ranking.unscored else ''}: above 0, the ranking "
        "put responders the offer brought in ahead of a random order.</p>"
        + plots
        + table(header, rows, numeric=[True] * 8)
    )
    return section("ranking", "Ranking", body)


def campaign_page_html(evaluation: CampaignEvaluation) -> str:
    """The whole page of a judged campaign."""
    overall = evaluation.table.loc["all"]
    headline = key_figures(
        [
            (number(int(overall["treated"])), "treated contacts"),
            (number(int(overall["control"])), "control contacts"),
            (_pct(overall["incremental_response"]), "incremental response"),
            (f"{overall['incremental_responses']:+,.1f}", "extra responses in total"),
            (f"{overall['total_incremental_margin']:+,.2f}", "incremental margin in total"),
        ]
    )
    totals = (
        f"<p>In total {overall['incremental_responses']:+,.1f} responses (95% CI "
        f"{overall['incremental_responses_ci_low']:+,.1f} … "
        f"{overall['incremental_responses_ci_high']:+,.1f}) and a margin of "
        f"{overall['total_incremental_margin']:+,.2f} (95% CI "
        f"{overall['total_incremental_margin_ci_low']:+,.2f} … "
        f"{overall['total_incremental_margin_ci_high']:+,.2f}), net of "
        f"{overall['offer_cost']:,.2f} of offer costs.</p>"
    )
    how = (
        '<p class="note">A campaign is the contacts of one send day. A response is an order '
        f"within {evaluation.response_days} days of the contact's send; spend is the net amount "
        "of orders in that window, margin its amount − product cost less the offers' cost. "
        "Each offer's treated contacts are compared with the control contacts planned for it "
        "(or with the whole control group where it has none). Intervals: Newcombe's hybrid "
        "score interval for response, Welch's for spend and margin per contact; totals are "
        "per-contact figures times the treated count.</p>"
    )
    sections = [
        headline,
        section("offers", "Per offer", _offer_table(evaluation) + totals + how),
        _ranking_section(evaluation.ranking),
    ]
    nav = '<a href="#offers">Per offer</a><a href="#ranking">Ranking</a>'
    subtitle = (
        f"Campaign sent on {evaluation.name}, judged by its random control group over "
        f"{evaluation.response_days} days"
    )
    meta = {"winback-campaign": evaluation.name}
    return page("winback campaign evaluation", subtitle, nav, sections, meta=meta)


def write_campaign_page(evaluation: CampaignEvaluation, path: Path) -> Path:
    """Write :func:`campaign_page_html` to ``path`` atomically; return the path."""
    document = campaign_page_html(evaluation)
    with atomic_path(path) as tmp:
        try:
            tmp.write_text(document, encoding="utf-8")
        except OSError as exc:
            raise DataSourceError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


__all__ = ["campaign_page_html", "write_campaign_page"]
