"""The marketer's page as HTML: sign-in, the list with its choices, and the send confirmation.

Server-rendered, no script: forms do the work (choices by GET, so a page's address is its list;
sign-in, sign-out and "mark as sent" by POST with the session's CSRF token). Styles are inline
and images are ``data:`` URIs: nothing is fetched from anywhere, so it works offline. Every money
figure that rests on an estimate says so: assumed or learned offer effects, forecasts without an
interval.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pandas as pd

from winback.common.html import escape, key_figures, number, page, png_uri, section, table
from winback.serving.lists import (
    WinbackList,
    budget_plot,
    effect_footing,
    reasons_table,
    top_table,
)
from winback.serving.settings import Offer, PolicySettings

#: Lifecycle stages and value segments in the order a marketer reads them.
STAGES = ("new", "growing", "stable", "declining", "churned", "prospect")
VALUE_SEGMENTS = ("strategic", "profit", "potential", "ordinary")
#: Rows of the list shown on the page.
PREVIEW_ROWS = 20

_CSS = """
form.choices { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr));
  gap: 14px 24px; padding: 14px 16px; border: 1px solid var(--line); background: var(--zebra); }
form.choices label { display: block; font-weight: 600; margin-bottom: 4px; }
form.choices input[type=number], form.choices input[type=date], form.signin input {
  font: inherit; padding: 5px 8px; width: 100%; max-width: 16em; border: 1px solid #aab2c0; }
form.choices .offers label { font-weight: 400; margin: 2px 0; }
form.choices .hint, .hint { color: var(--muted); font-size: 0.85em; font-weight: 400; }
.actions { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 0.6em 0 1em; }
button, a.button { font: inherit; padding: 7px 16px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; text-decoration: none; cursor: pointer; }
a.button.quiet, button.quiet { background: #fff; color: var(--accent); }
button.danger { background: #b5472f; border-color: #b5472f; }
.problems { border-left: 4px solid #b5472f; background: #fbeeea; padding: 8px 14px; }
.done { border-left: 4px solid #2e7d32; background: #e8f4ea; padding: 8px 14px; }
header nav form { margin-left: auto; }
header nav button { padding: 2px 10px; }
details { margin: 0.6em 0; } details pre { white-space: pre-wrap; font-size: 0.85em;
  background: var(--zebra); padding: 8px 10px; }
form.signin { max-width: 28em; padding: 16px; border: 1px solid var(--line); }
"""


@dataclass(frozen=True)
class Choice:
    """What a marketer chose for one list; None: the server's setting."""

    budget: float | None = None
    offers: tuple[str, ...] | None = None
    control_share: float | None = None
    as_of: date | None = None

    def query(self) -> str:
        """The choice as a query string: the page's address for this list."""
        pairs: list[tuple[str, str]] = [("chosen", "1")]
        if self.budget is not None:
            pairs.append(("budget", f"{self.budget:g}"))
        pairs += [("offer", o) for o in self.offers or ()]
        if self.control_share is not None:
            pairs.append(("control_share", f"{self.control_share:g}"))
        if self.as_of is not None:
            pairs.append(("as_of", self.as_of.isoformat()))
        return urlencode(pairs)


@dataclass(frozen=True)
class PageList:
    """A list as the API makes it, and what the page tells about its model, data and customers."""

    wl: WinbackList
    #: Everyone's scores at the list's cutoff (segments, P(churn), value at risk).
    base: pd.DataFrame
    model_name: str
    model_version: str
    model_created_at: datetime | None
    data_end: date
    #: Why offer effects were assumed, where they were.
    notes: list[str] = field(default_factory=list)
    #: Where the model was loaded from (``models:/winback@champion``, a folder).
    model_uri: str = ""


def _page(title: str, subtitle: str, nav: str, sections: Sequence[str]) -> str:
    return page(title, subtitle, nav, sections, style=_CSS)


def sign_in_page(message: str = "") -> str:
    """The sign-in form: the token is posted, never put in an address."""
    problem = f'<p class="problems">{escape(message)}</p>' if message else ""
    body = (
        f'{problem}<form class="signin" method="post" action="sign-in">'
        '<label for="token"><b>Access token</b></label><br>'
        '<input id="token" name="token" type="password" autocomplete="current-password" '
        'required autofocus><p class="hint">The same token as the API\'s (WINBACK_API_TOKEN); '
        "ask whoever runs <code>winback serve</code>.</p>"
        '<button type="submit" id="sign-in-button">Sign in</button></form>'
    )
    return _page(
        "winback: win-back lists",
        "Sign in to see who is slipping away and pull a list.",
        "",
        [section("sign-in", "Sign in", body)],
    )


def _offer_label(offer: Offer, sources: dict[str, str]) -> str:
    effect = (
        "effect learned from past campaigns"
        if sources.get(offer.name) == "uplift"
        else f"assumed to keep {offer.assumed_effect:.0%} of those at risk"
    )
    discount = f", {offer.discount:.0%} off" if offer.discount else ""
    return (
        f'{escape(offer.name.replace("_", " "))} <span class="hint">(contact '
        f"{offer.cost:,.2f}{discount}; {escape(effect)})</span>"
    )


def choices_form(
    choice: Choice, policy: PolicySettings, sources: dict[str, str], data_end: date
) -> str:
    """The form of the list's choices, submitted by GET: the address names the list."""
    allowed = set(choice.offers) if choice.offers is not None else {o.name for o in policy.offers}
    offers = "".join(
        f'<label><input type="checkbox" name="offer" value="{escape(o.name)}"'
        f"{' checked' if o.name in allowed else ''}> {_offer_label(o, sources)}</label>"
        for o in policy.offers
    )
    budget = "" if choice.budget is None else f"{choice.budget:g}"
    share = policy.control_share if choice.control_share is None else choice.control_share
    as_of = (choice.as_of or data_end).isoformat()
    return (
        '<form class="choices" method="get" action="./">'
        '<input type="hidden" name="chosen" value="1">'
        '<div><label for="budget">Budget</label>'
        f'<input id="budget" name="budget" type="text" inputmode="decimal" value="{budget}" '
        'placeholder="no limit"><div class="hint">Money for offers: contact costs and expected '
        "discounts. Empty: every offer that pays.</div></div>"
        f'<div class="offers"><label>Offers allowed</label>{offers}</div>'
        '<div><label for="control_share">Control share</label>'
        f'<input id="control_share" name="control_share" type="text" inputmode="decimal" '
        f'value="{share:g}"><div class="hint">Share of the list held out with no offer (0 to '
        f"0.99), drawn at random with seed {policy.seed}, so the campaign's effect can be "
        "measured.</div></div>"
        '<div><label for="as_of">Cutoff</label>'
        f'<input id="as_of" name="as_of" type="date" value="{as_of}" max="{data_end}">'
        f'<div class="hint">The day the list is made as of; the data ends {data_end}.</div></div>'
        '<div class="actions"><button type="submit" id="update">Update preview</button></div>'
        "</form>"
    )


def base_table(base: pd.DataFrame) -> str:
    """Customers by lifecycle stage and value segment, with how many are at risk and their value."""
    rows = []
    for stage in [*STAGES, *sorted(set(base["lifecycle_stage"].dropna()) - set(STAGES))]:
        part = base[base["lifecycle_stage"] == stage]
        if not len(part):
            continue
        counts = part["value_segment"].value_counts()
        rows.append(
            (
                escape(stage),
                number(len(part)),
                *(number(int(counts.get(v, 0))) for v in VALUE_SEGMENTS),
                number(int((part["churn_probability"] >= 0.5).sum())),
                number(float(part["value_at_risk"].fillna(0).sum())),
            )
        )
    header = ["lifecycle stage", "customers", *VALUE_SEGMENTS, "likely to churn (P ≥ 50%)",
              "value at risk (forecast, no interval)"]  # fmt: skip
    return table(header, rows, numeric=[False] + [True] * (len(header) - 1))


def _budget_figure(wl: WinbackList) -> str:
    with tempfile.TemporaryDirectory(prefix="winback-page-") as tmp:
        image = png_uri(budget_plot(wl, Path(tmp) / "budget.png"))
    return (
        f'<figure id="plot-budget"><img src="{image}" alt="Budget curve: expected margin saved '
        'and net benefit against money spent"><figcaption>Each point adds the next customer '
        "down the ranking; where the net benefit flattens, more budget buys little. Expected "
        f"money on {escape(effect_footing(wl))}.</figcaption></figure>"
    )


def reproduce(choice: Choice, wl: WinbackList) -> str:
    """How to get the same list from the API and the command line (same choices, same seed)."""
    body: dict[str, object] = {"budget": choice.budget}
    if choice.offers is not None:
        body["offers"] = list(choice.offers)
    if choice.control_share is not None:
        body["control_share"] = choice.control_share
    body["as_of"] = f"{wl.day}"
    cli = ["winback list --config winback.toml", f"--as-of {wl.day}"]
    if choice.budget is not None:
        cli.append(f"--budget {choice.budget:g}")
    cli += [f"--offer {o}" for o in choice.offers or ()]
    if choice.control_share is not None:
        cli.append(f"--control-share {choice.control_share:g}")
    cli.append("--out winback_list.csv")
    return (
        "<details><summary>The same list from the API or the command line</summary>"
        f"<p>Seed {wl.settings.seed}; the same data, model and choices give the same list.</p>"
        f"<pre>POST /list {escape(json.dumps(body))}</pre>"
        f"<pre>{escape(' '.join(cli))}</pre></details>"
    )


def _headline(wl: WinbackList) -> str:
    f = wl.figures
    footing = escape(effect_footing(wl))
    budget = "no limit" if wl.budget is None else escape(f"{wl.budget:,.0f}")
    return key_figures(
        [
            (number(f["customers"]), "customers on the list"),
            (number(f["treated"]), f"get an offer; {number(f['control'])} held out as control"),
            (escape(f"{f['budget_used']:,.0f}"), f"spent on offers, of a budget of {budget}"),
            (escape(f"{f['expected_margin_saved']:,.0f}"), f"expected margin saved ({footing})"),
            (escape(f"{f['expected_net_benefit']:,.0f}"),
             f"expected net benefit, saved − spent ({footing})"),
        ]
    )  # fmt: skip


def _nav(csrf: str) -> str:
    links = "".join(
        f'<a href="#{a}">{t}</a>'
        for a, t in (("choose", "Choose"), ("customers", "Customers"), ("reasons", "Reasons"),
                     ("budget", "Budget curve"), ("top", "Top of the list"))
    )  # fmt: skip
    return links + (
        '<form method="post" action="sign-out"><input type="hidden" name="csrf" '
        f'value="{escape(csrf)}"><button class="quiet" type="submit">Sign out</button></form>'
    )


def _subtitle(built: PageList) -> str:
    made = ""
    if built.model_created_at is not None:
        how = "saved" if built.model_version == "local" else "trained and registered"
        made = f", {how} {built.model_created_at:%Y-%m-%d %H:%M} UTC"
    return (
        f"{'Champion model' if '@champion' in built.model_uri else 'Model'} "
        f"{built.model_name} version {built.model_version}{made}. Data up to "
        f"{built.data_end:%Y-%m-%d}; this list as of {built.wl.day}. This page reads "
        "the model and the data; it never changes them."
    )


def list_page(
    built: PageList,
    choice: Choice,
    policy: PolicySettings,
    csrf: str,
    *,
    can_send: bool,
) -> str:
    """The page of one list: choices, figures, customers, reasons, budget curve, preview."""
    wl = built.wl
    query = escape(choice.query())
    send = (
        f'<a class="button quiet" id="send" href="send?{query}">Mark as sent…</a>'
        if can_send
        else '<span class="hint">Marking lists as sent is off: set [api] sent_lists_dir.</span>'
    )
    downloads = (
        '<div class="actions">'
        f'<a class="button" id="download-csv" href="list.csv?{query}" download>Download the list '
        "(CSV)</a>"
        f'<a class="button quiet" id="download-summary" href="list-summary.html?{query}" '
        f"download>Download the summary page</a>{send}</div>"
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in built.notes)
    notes_html = (
        f'<p class="note">Offer effects are assumed from the catalog because:</p><ul '
        f'class="note">{notes}</ul>'
        if notes
        else ""
    )
    base = built.base
    at_risk = float(base["value_at_risk"].fillna(0).sum())
    left_out = table(
        ["left out before pricing", "customers"],
        [(escape(k), number(v)) for k, v in wl.excluded.items()],
        numeric=[False, True],
    )
    sections = [
        section(
            "choose",
            "Choose the list",
            choices_form(choice, policy, wl.effect_sources, built.data_end)
            + _headline(wl)
            + downloads
            + reproduce(choice, wl),
        ),
        section(
            "customers",
            "Who is slipping away",
            f"<p>{number(len(base))} customers as of {wl.day}; value at risk "
            f"(P(churn) × forecast CLV, no interval) <b>{escape(f'{at_risk:,.0f}')}</b>.</p>"
            + base_table(base),
        ),
        section(
            "reasons",
            "Why: the most common reasons on this list",
            reasons_table(wl),
        ),
        section("budget", "Budget curve", _budget_figure(wl) + notes_html),
        section(
            "top",
            "Top of the list",
            f"<p>The first {min(PREVIEW_ROWS, len(wl.frame))} of {number(len(wl.frame))} "
            "customers with their offer and why; control customers are listed but get no "
            f'offer.</p><div id="preview">{top_table(wl, PREVIEW_ROWS)}</div>' + left_out,
        ),
    ]
    return _page("winback: win-back list", _subtitle(built), _nav(csrf), sections)


def problems_page(problems: Sequence[str], choice: Choice, policy: PolicySettings, csrf: str,
                  data_end: date) -> str:  # fmt: skip
    """The choices again, saying what is wrong with them."""
    items = "".join(f"<li>{escape(p)}</li>" for p in problems)
    body = f'<div class="problems" id="problems"><ul>{items}</ul></div>' + choices_form(
        choice, policy, {}, data_end
    )
    return _page(
        "winback: win-back list",
        "The list could not be made with these choices.",
        _nav(csrf),
        [section("choose", "Choose the list", body)],
    )


def confirm_page(built: PageList, choice: Choice, csrf: str, digest: str) -> str:
    """Before a list is recorded as sent: what it commits to, and an explicit confirmation."""
    wl, f = built.wl, built.wl.figures
    footing = escape(effect_footing(wl))
    facts = table(
        ["", ""],
        [
            ("customers on the list", number(f["customers"])),
            ("offers to send", number(f["treated"])),
            (f"held out as control (seed {wl.settings.seed})", number(f["control"])),
            ("money on offers", escape(f"{f['budget_used']:,.2f}")),
            (f"expected margin saved ({footing})", escape(f"{f['expected_margin_saved']:,.2f}")),
            ("list as of", f"{wl.day}"),
            ("model", escape(f"{built.model_name} version {built.model_version}")),
            ("list SHA-256", f"<code>{digest[:16]}…</code>"),
        ],
        numeric=[False, True],
    )
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in [*_pairs(choice), ("csrf", csrf), ("sha256", digest)]
    )
    body = (
        "<p>Marking this list as sent records it (the CSV, its summary page and these "
        "settings) in the service's sent-lists folder, so that <code>winback evaluate</code> "
        "can later measure it against its control group. It sends nothing to customers and "
        "changes no model and no data. Send the offers yourself, to the customers marked "
        "<em>offer</em>, and none to the control.</p>"
        + facts
        + f'<form method="post" action="send">{hidden}<div class="actions">'
        '<button class="danger" type="submit" id="confirm-send">Yes, record this list as '
        f'sent</button><a class="button quiet" href="./?{escape(choice.query())}">Cancel</a>'
        "</div></form>"
    )
    return _page(
        "winback: mark a list as sent",
        _subtitle(built),
        _nav(csrf),
        [section("confirm", "Mark this list as sent?", body)],
    )


def recorded_page(built: PageList, choice: Choice, csrf: str, where: str) -> str:
    """After the record is written: where it is and how it is evaluated."""
    body = (
        f'<p class="done" id="recorded">Recorded as <code>{escape(where)}</code>.</p>'
        f"<p>After the horizon, once the campaigns table records the offers: "
        f"<code>winback evaluate --list {escape(where)}/winback_list.csv</code>.</p>"
        f'<p><a href="./?{escape(choice.query())}">Back to the list</a></p>'
    )
    return _page("winback: list recorded", _subtitle(built), _nav(csrf),
                 [section("recorded", "Recorded as sent", body)])  # fmt: skip


def message_page(title: str, message: str, csrf: str | None = None) -> str:
    """A short page saying what went wrong and what to do."""
    body = f'<p class="problems">{escape(message)}</p><p><a href="./">Back to the list</a></p>'
    return _page("winback", title, _nav(csrf) if csrf else "", [section("message", title, body)])


def _pairs(choice: Choice) -> list[tuple[str, str]]:
    return parse_qsl(choice.query())


__all__ = [
    "PREVIEW_ROWS",
    "Choice",
    "PageList",
    "base_table",
    "choices_form",
    "confirm_page",
    "list_page",
    "message_page",
    "problems_page",
    "recorded_page",
    "reproduce",
    "sign_in_page",
]
