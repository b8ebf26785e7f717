"""Judge a past campaign by its random control group: did its offers bring customers back.

The data contract has no campaign name, so **a campaign is the contacts of one send day**, a day
in the business's time zone (``[data] timezone``) read as :mod:`training.uplift.contacts` reads
send days, and it is named by that day (``2024-05-14``). One customer is one contact per day:
treated if any of the day's rows is, sent at the day's first offer (else its first record),
with the day's offer (the planned one for a control contact) and the cost of the offers sent.
Every contact counts, whether or not they had ordered before (intention to treat: the random
draw makes treated and control alike either way).

The outcome is read over a response window of ``response_days`` (default
:data:`DEFAULT_RESPONSE_DAYS`) from each contact's own send time: ``responded`` (an order in
``[sent_at, sent_at + window)``), ``spend`` (net amount of orders and refunds in it) and
``margin`` (their amount − product cost, less the cost of the offers sent that day: CRM margin).
The window must have closed by the data's end.

Per offer, the contacts sent it are compared with the control contacts planned for it (or with
the whole control group where the offer has no control of its own, and the table says so); the
row ``all`` compares every treated contact with every control contact. Intervals are 95%:
Newcombe's hybrid score interval for the response difference, Welch's for spend and margin per
contact (:mod:`serving.effect_intervals`); totals are the per-contact figures times the treated
count. With a ranking (a model's scores as of the send day), :func:`rank_campaign` adds the
Qini curve and the uplift by decile of that ranking.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from winback.common import WinbackError
from winback.common.timestamps import local_day
from winback.features import Dataset
from winback.features.builder import prepare_orders
from winback.features.definitions import local_day_start
from winback.features.snapshots import data_end
from winback.serving.effect_intervals import newcombe_interval, welch_interval
from winback.training.uplift.metrics import qini_coefficient, qini_curve

#: Days after the send in which an order counts as a response: e-mail offers are answered
#: within a week or two, and two weeks cover a second reminder.
DEFAULT_RESPONSE_DAYS = 14
CONTACT_COLUMNS = ["customer_id", "sent_at", "offer", "treated", "cost", "responded", "spend",
                   "margin"]  # fmt: skip


class CampaignError(WinbackError, ValueError):
    """The campaign cannot be judged: unknown, no control group, or its window still open."""


@dataclass
class CampaignRanking:
    """How a ranking of the campaign's contacts sorted responders: Qini curve, deciles."""

    note: str
    scored: int
    unscored: int
    qini: float
    curve: pd.DataFrame
    deciles: pd.DataFrame


@dataclass
class CampaignEvaluation:
    """A campaign's outcome per offer and overall, and the contacts it was measured on."""

    name: str
    send_day: datetime
    response_days: int
    contacts: pd.DataFrame
    table: pd.DataFrame
    ranking: CampaignRanking | None = None

    def lines(self) -> list[str]:
        """The printed summary: one line per offer, then the totals and the ranking."""
        t = self.table
        overall = t.loc["all"]
        out = [
            f"campaign {self.name}: {int(overall['treated']):,} treated, "
            f"{int(overall['control']):,} control; response = an order within "
            f"{self.response_days} days of the send",
            f"{'offer':<16}{'treated':>8}{'control':>8}{'resp. T':>9}{'resp. C':>9}"
            f"  {'incremental response (95% CI)':<32}{'spend/contact (95% CI)':<28}"
            "margin/contact (95% CI)",
        ]
        for offer, row in t.iterrows():
            mark = "*" if row["control_of"] == "all control" else ""
            out.append(
                f"{str(offer) + mark:<16}{int(row['treated']):>8,}{int(row['control']):>8,}"
                f"{row['response_treated']:>9.1%}{row['response_control']:>9.1%}  "
                f"{_ci(row, 'incremental_response', '{:+.1%}'):<32}"
                f"{_ci(row, 'incremental_spend'):<28}{_ci(row, 'incremental_margin')}"
            )
        if (t["control_of"] == "all control").any():
            out.append("* no control planned for this offer: compared with the whole control group")
        out.append(
            f"in total: {overall['incremental_responses']:+,.1f} responses "
            f"(95% CI {overall['incremental_responses_ci_low']:+,.1f} … "
            f"{overall['incremental_responses_ci_high']:+,.1f}), margin "
            f"{overall['total_incremental_margin']:+,.2f} "
            f"(95% CI {overall['total_incremental_margin_ci_low']:+,.2f} … "
            f"{overall['total_incremental_margin_ci_high']:+,.2f}), net of "
            f"{overall['offer_cost']:,.2f} of offer costs"
        )
        if self.ranking is not None:
            r = self.ranking
            top = r.deciles.iloc[0]
            out.append(
                f"ranking: {r.note}; Qini coefficient {r.qini:+.4f} over {r.scored:,} contacts"
                + (f" ({r.unscored:,} unscored left out)" if r.unscored else "")
                + (
                    f"; top decile incremental response {top['incremental_response']:+.1%}"
                    if not math.isnan(top["incremental_response"])
                    else "; the top decile lacks a treated or a control contact"
                )
            )
        return out


def _ci(row: pd.Series, key: str, form: str = "{:+,.2f}") -> str:
    low, high = row[f"{key}_ci_low"], row[f"{key}_ci_high"]
    if math.isnan(low):
        return form.format(row[key]) + " (no CI)"
    return f"{form.format(row[key])} ({form.format(low)} … {form.format(high)})"


def campaign_names(dataset: Dataset) -> pd.DataFrame:
    """Every send day with a known ``treated``: name, send_day, treated and control contacts."""
    columns = ["name", "send_day", "treated", "control"]
    if not dataset.has("campaigns", "treated"):
        return pd.DataFrame(columns=columns)
    day = local_day_start('"timestamp"', dataset.timezone)
    days = dataset.con.execute(
        f"""SELECT day AS send_day, count(*) FILTER (WHERE treated) AS treated,
                   count(*) FILTER (WHERE NOT treated) AS control
            FROM (SELECT customer_id, {day} AS day, bool_or(treated) AS treated
                  FROM campaigns WHERE treated IS NOT NULL GROUP BY ALL)
            GROUP BY day ORDER BY day"""
    ).df()
    days.insert(0, "name", [str(local_day(d, dataset.timezone)) for d in days["send_day"]])
    return days[columns]


def _known(names: pd.DataFrame) -> str:
    shown = list(names["name"])
    more = f" and {len(shown) - 12} more" if len(shown) > 12 else ""
    return ", ".join(shown[:6] + (["…"] if more else []) + shown[-6:] if more else shown) + more


def find_campaign(dataset: Dataset, name: str) -> datetime:
    """The send day (naive UTC midnight) of the campaign ``name``; refused if unknown."""
    names = campaign_names(dataset)
    if names.empty:
        why = "no campaigns table" if not dataset.has("campaigns") else "no 'treated' column"
        raise CampaignError(
            f"campaign {name!r}: the data has {why}, so no campaign with a control group to judge"
        )
    hit = names[names["name"] == name.strip()]
    if hit.empty:
        raise CampaignError(
            f"unknown campaign {name!r}: campaigns are named by their send day (YYYY-MM-DD, in "
            f"the business's time zone); the data's are {_known(names)}"
        )
    row = hit.iloc[0]
    if row["control"] == 0:
        raise CampaignError(
            f"campaign {name} has no control group: all {int(row['treated']):,} contacts were "
            "sent an offer, so nothing shows what they would have done without it"
        )
    if row["treated"] == 0:
        raise CampaignError(
            f"campaign {name} sent no offer: all {int(row['control']):,} contacts are control"
        )
    return pd.Timestamp(row["send_day"]).to_pydatetime()


def campaign_contacts(dataset: Dataset, send_day: datetime, response_days: int) -> pd.DataFrame:
    """One row per contact of the send day with its outcome in the response window."""
    orders = prepare_orders(dataset)
    day = local_day_start('"timestamp"', dataset.timezone)
    cost = "coalesce(cost, 0)" if dataset.has("campaigns", "cost") else "0"
    window = f"INTERVAL {int(response_days)} DAY"
    return dataset.con.execute(
        f"""WITH sent AS (
            SELECT customer_id,
                   coalesce(min("timestamp") FILTER (WHERE treated), min("timestamp")) AS sent_at,
                   coalesce(min(offer) FILTER (WHERE treated), min(offer)) AS offer,
                   bool_or(treated) AS treated,
                   CAST(coalesce(sum({cost}) FILTER (WHERE treated), 0) AS DOUBLE) AS cost
            FROM campaigns WHERE treated IS NOT NULL AND {day} = ?
            GROUP BY customer_id
        )
        SELECT k.customer_id, k.sent_at, k.offer, k.treated, k.cost,
               CAST(coalesce(bool_or(o.is_order), FALSE) AS DOUBLE) AS responded,
               CAST(coalesce(sum(o.amount), 0) AS DOUBLE) AS spend,
               CAST(coalesce(sum(o.margin), 0) AS DOUBLE) - k.cost AS margin
        FROM sent k LEFT JOIN {orders} o ON o.customer_id = k.customer_id
             AND o."timestamp" >= k.sent_at AND o."timestamp" < k.sent_at + {window}
        GROUP BY k.customer_id, k.sent_at, k.offer, k.treated, k.cost
        ORDER BY k.customer_id""",
        [send_day],
    ).df()[CONTACT_COLUMNS]


def compare_groups(treated: pd.DataFrame, control: pd.DataFrame) -> dict[str, float]:
    """Response, spend and margin of ``treated`` against ``control`` contacts, with 95% CIs."""
    n_t, n_c = len(treated), len(control)
    r_t, r_c = int(treated["responded"].sum()), int(control["responded"].sum())
    low, high = newcombe_interval(r_t, n_t, r_c, n_c)
    row: dict[str, float] = {
        "treated": n_t,
        "control": n_c,
        "response_treated": r_t / n_t,
        "response_control": r_c / n_c,
        "incremental_response": r_t / n_t - r_c / n_c,
        "incremental_response_ci_low": low,
        "incremental_response_ci_high": high,
    }
    for key in ("spend", "margin"):
        a, b = treated[key].to_numpy(), control[key].to_numpy()
        low, high = welch_interval(a, b)
        row |= {
            f"incremental_{key}": float(a.mean() - b.mean()),
            f"incremental_{key}_ci_low": low,
            f"incremental_{key}_ci_high": high,
        }
    for total, key in (("incremental_responses", "incremental_response"),
                       ("total_incremental_margin", "incremental_margin")):  # fmt: skip
        for suffix in ("", "_ci_low", "_ci_high"):
            row[total + suffix] = row[key + suffix] * n_t
    row["offer_cost"] = float(treated["cost"].sum())
    return row


def evaluate_campaign(
    dataset: Dataset, name: str, response_days: int = DEFAULT_RESPONSE_DAYS
) -> CampaignEvaluation:
    """Judge the campaign ``name`` (a send day) per offer and overall; refused when it cannot be.

    Refused (:class:`CampaignError`) when the name is unknown, the campaign has no control
    group or sent nothing, or its response window has not closed by the data's end.
    """
    if response_days < 1:
        raise CampaignError(f"the response window must be at least 1 day, got {response_days}")
    send_day = find_campaign(dataset, name)
    contacts = campaign_contacts(dataset, send_day, response_days)
    end = data_end(dataset)
    closes = contacts["sent_at"].max().to_pydatetime() + timedelta(days=response_days)
    if closes > end:
        raise CampaignError(
            f"campaign {name}: its {response_days}-day response window runs to "
            f"{closes:%Y-%m-%d %H:%M} UTC but the data ends on {end:%Y-%m-%d}; judge it once "
            "the data covers the window, or pass a shorter --response-days"
        )
    treated = contacts["treated"].to_numpy(dtype=bool)
    control = contacts[~treated]
    rows = {}
    for offer, sent in contacts[treated].groupby("offer", sort=True):
        own = control[control["offer"] == offer]
        versus = own if len(own) else control
        rows[str(offer)] = compare_groups(sent, versus) | {
            "control_of": "same offer" if len(own) else "all control"
        }
    rows["all"] = compare_groups(contacts[treated], control) | {"control_of": "pooled"}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "offer"
    return CampaignEvaluation(name, send_day, response_days, contacts, table)


def rank_campaign(evaluation: CampaignEvaluation, scores: pd.Series, note: str) -> CampaignRanking:
    """Qini and uplift by decile of ``scores`` (by customer_id; higher = contact first).

    Contacts without a score (unknown to the model on the send day) are left out and counted.
    Decile 1 holds the highest scores; each decile's incremental response has Newcombe's
    interval (NaN in a decile without treated or without control contacts).
    """
    contacts = evaluation.contacts
    score = contacts["customer_id"].astype(str).map(scores.groupby(level=0).first())
    known = score.notna().to_numpy()
    frame = contacts[known].assign(score=score[known].astype(float).to_numpy())
    if frame.empty or frame["treated"].all() or not frame["treated"].any():
        raise CampaignError(
            f"campaign {evaluation.name}: the ranking scores {len(frame):,} of its contacts, "
            "not both treated and control ones"
        )
    y, t, s = frame["responded"].to_numpy(), frame["treated"].to_numpy(bool), frame["score"]
    order = np.argsort(-s.to_numpy(), kind="stable")
    decile = np.empty(len(frame), dtype=np.int64)
    decile[order] = np.arange(len(frame)) * 10 // len(frame) + 1
    rows = []
    for d in range(1, 11):
        part = frame[decile == d]
        sent, held = part[part["treated"]], part[~part["treated"]]
        row = {"decile": d, "treated": len(sent), "control": len(held),
               "mean_score": float(part["score"].mean()) if len(part) else math.nan}  # fmt: skip
        rt, rc = sent["responded"].sum(), held["responded"].sum()
        rate_t = rt / len(sent) if len(sent) else math.nan
        rate_c = rc / len(held) if len(held) else math.nan
        # A decile without one of the groups has no difference: NaN, shown as "—".
        low, high = (
            newcombe_interval(int(rt), len(sent), int(rc), len(held))
            if len(sent) and len(held)
            else (math.nan, math.nan)
        )
        rows.append(row | {"response_treated": rate_t, "response_control": rate_c,
                           "incremental_response": rate_t - rate_c, "ci_low": low,
                           "ci_high": high})  # fmt: skip
    return CampaignRanking(
        note=note,
        scored=len(frame),
        unscored=int((~known).sum()),
        qini=qini_coefficient(y, t, s),
        curve=qini_curve(y, t, s),
        deciles=pd.DataFrame(rows),
    )


#: Characters MLflow refuses in a metric name.
_UNSAFE = re.compile(r"[^\w\-. /:]")


def campaign_metrics(evaluation: CampaignEvaluation) -> dict[str, float]:
    """The figures flat, ``<offer>.<figure>`` (offer names made MLflow-safe), finite ones only."""
    numbers = evaluation.table.drop(columns="control_of")
    metrics = {
        f"{_UNSAFE.sub('_', str(offer))}.{key}": float(value)
        for offer, row in numbers.iterrows()
        for key, value in row.items()
    }
    if evaluation.ranking is not None:
        metrics["ranking.qini"] = evaluation.ranking.qini
    return {k: v for k, v in metrics.items() if math.isfinite(v)}


__all__ = [
    "DEFAULT_RESPONSE_DAYS",
    "CampaignError",
    "CampaignEvaluation",
    "CampaignRanking",
    "campaign_contacts",
    "campaign_metrics",
    "campaign_names",
    "compare_groups",
    "evaluate_campaign",
    "find_campaign",
    "rank_campaign",
]
