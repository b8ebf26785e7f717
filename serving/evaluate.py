"""Judge a win-back list once its horizon has passed: did the offers work, and did they pay.

The list's random ``control`` customers got no offer, so treated against control within the same
list is a fair experiment: realised churn in each group over ``[as_of, as_of + horizon)``, the
lift (control churn − treated churn), the CRM margin per customer in each group, the margin the
offers saved, and how well the churn probabilities used were calibrated. Groups are compared as
listed (intention to treat), whatever share of the offers was actually sent.

Every realised figure carries a 95% confidence interval, by the normal approximation: the lift's
from the two proportions' variances, the margin's from the two groups' sample variances
(Welch's standard error of a difference of means, scaled by the treated count for the margin
saved). CRM margin already pays the offer costs the campaigns table records, so the margin saved
is net of them; the list's own expected offer cost is shown beside it, not subtracted again.

There is nothing to measure before the horizon has passed (:class:`HorizonNotPassedError`) or
when the campaigns table records the list's offers sent to its treated customers (same customer,
same offer, within the horizon) not more often than to its control customers beyond chance
(:class:`ListNotSentError`): a list that was never sent saves nothing, and comparing its "treated"
with its control would measure only chance. Other offers the customers received do not make the
list sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact

from winback.common import WinbackError
from winback.common.timestamps import local_day
from winback.features import Dataset, LabelSettings, build_labels
from winback.features.snapshots import data_end
from winback.serving.effect_intervals import Z_95
from winback.training.metrics import classification_metrics, reliability_table


class HorizonNotPassedError(WinbackError):
    """The list's outcome window has not closed in the data yet."""


class ListNotSentError(WinbackError):
    """The data records no offer sent to the list's customers: there is nothing to measure."""


@dataclass
class ListEvaluation:
    """Outcomes of a list: the figures and the per-customer table they come from."""

    as_of: datetime
    horizon_days: int
    figures: dict[str, float]
    outcomes: pd.DataFrame
    reliability: pd.DataFrame
    #: The business's time zone: the list is as of the start of its day there.
    timezone: str = "UTC"

    @property
    def day(self) -> date:
        """The business's day the list is as of."""
        return local_day(self.as_of, self.timezone)

    def lines(self) -> list[str]:
        """A short printed summary; every realised figure with its 95% interval."""
        f = self.figures
        treated, control = int(f["treated"]), int(f["control"])
        return [
            f"list as of {self.day}, outcomes over {self.horizon_days} days: "
            f"{treated:,} treated, {control:,} control",
            f"offers recorded as sent: {int(f['sent']):,} of {treated:,} treated customers "
            f"({f['sent'] / treated:.0%}); {int(f['control_sent']):,} control customers were "
            "sent one anyway (groups compared as listed)",
            f"churn: treated {f['churn_treated']:.1%}, control {f['churn_control']:.1%}; "
            f"lift {f['lift']:+.1%} "
            f"{_interval(f['lift_ci_low'], f['lift_ci_high'], '{:+.1%}')}",
            f"margin per customer: treated {f['margin_treated']:,.2f}, control "
            f"{f['margin_control']:,.2f}; difference {f['margin_difference']:+,.2f} "
            f"{_interval(f['margin_difference_ci_low'], f['margin_difference_ci_high'])}",
            f"margin saved {f['margin_saved']:,.2f} "
            f"{_interval(f['margin_saved_ci_low'], f['margin_saved_ci_high'])}, net of the "
            f"{f['offer_cost_recorded']:,.2f} of offer costs the campaigns data records; the list "
            f"expected offer costs of {f['offer_cost']:,.2f}",
            f"scores used: Brier {f['brier']:.3f}, ECE {f['ece']:.3f}, mean predicted "
            f"{f['mean_predicted']:.1%} vs realised {f['base_rate']:.1%}",
        ]


def _interval(low: float, high: float, form: str = "{:+,.2f}") -> str:
    if math.isnan(low) or math.isnan(high):
        return "(no interval: a group of one customer)"
    return f"(95% CI {form.format(low)} … {form.format(high)})"


def evaluate_list(dataset: Dataset, frame: pd.DataFrame, labels: LabelSettings) -> ListEvaluation:
    """Outcomes of the list in ``frame`` (the win-back list file, with its ``as_of`` column).

    Refused before the horizon has passed in the data, and when the campaigns table records the
    list's offers sent to its treated customers not clearly more often than to its control
    customers.
    """
    missing = {"customer_id", "offer", "control", "churn_probability", "offer_cost", "as_of"} - set(
        frame.columns
    )
    if missing:
        raise WinbackError(f"the list lacks the column(s) {sorted(missing)}: is it a winback list?")
    stamps = pd.to_datetime(frame["as_of"]).dt.tz_localize(None).unique()
    if len(stamps) != 1:
        raise WinbackError(f"the list holds {len(stamps)} as_of dates; evaluate one list at a time")
    as_of = pd.Timestamp(stamps[0]).to_pydatetime()
    zone = dataset.timezone
    end = data_end(dataset)
    closes = as_of + timedelta(days=labels.horizon_days)
    day, closes_day, end_day = (local_day(m, zone) for m in (as_of, closes, end))
    if closes > end:
        raise HorizonNotPassedError(
            f"the list's outcomes run to {closes_day} ({labels.horizon_days} days after "
            f"{day}), but the data ends on {end_day}: evaluate it after that"
        )
    control = frame["control"].astype(bool).to_numpy()
    contacts = _contacts(dataset, as_of, closes)
    ids = frame["customer_id"].astype(str)
    listed = pd.MultiIndex.from_arrays([ids, frame["offer"].astype(str)])
    recorded = pd.MultiIndex.from_frame(contacts[["customer_id", "offer"]])
    sent = listed[~control].isin(recorded)
    contacted = set(contacts["customer_id"])
    if not sent.any():
        others = int(ids[~control].isin(contacted).sum())
        raise ListNotSentError(
            f"the campaigns data records none of the list's offers sent to its "
            f"{int((~control).sum()):,} treated customers from {day} to "
            f"{closes_day}"
            + (f" ({others:,} of them got other offers)" if others else "")
            + ": a list that was not sent has saved nothing. If it was sent, load its contacts "
            "into the campaigns table (customer_id, timestamp, offer as the list names it, "
            "treated, cost) and evaluate again"
        )
    # Offers of the same name reach some customers anyway (other campaigns): a list counts as
    # sent only when they reached its treated customers more often than its control customers,
    # beyond chance (one-sided Fisher exact test at 5%): one stray offer among 20 is not a send.
    reached_control = listed[control].isin(recorded)
    share_treated, share_control = sent.mean(), reached_control.mean()
    counts = [[int(sent.sum()), int((~sent).sum())],
             [int(reached_control.sum()), int((~reached_control).sum())]]  # fmt: skip
    if share_treated <= share_control or fisher_exact(counts, alternative="greater").pvalue >= 0.05:
        raise ListNotSentError(
            f"the campaigns data records the list's offers sent to {int(sent.sum()):,} of its "
            f"{sent.size:,} treated customers ({share_treated:.0%}), not clearly more often than "
            f"to its control customers ({share_control:.0%}) from {day} to "
            f"{closes_day}: "
            "a list that was not sent has saved nothing. If it was sent, load its contacts into "
            "the campaigns table and evaluate again"
        )
    keys = pd.DataFrame({"customer_id": frame["customer_id"].to_numpy(), "as_of": as_of})
    outcome = build_labels(dataset, keys, labels, end)
    table = frame.merge(
        outcome[["customer_id", "churned", "margin_next"]], on="customer_id", how="left"
    )
    # A listed customer has ordered before as_of, so churned is defined for every one of them.
    unknown = int(table["churned"].isna().sum())
    if unknown:
        raise WinbackError(
            f"{unknown} customers of the list have no order before {day} in this "
            "data: is it the data the list was made from?"
        )
    churned = table["churned"].to_numpy(dtype="float64")
    margin = table["margin_next"].fillna(0).to_numpy(dtype="float64")
    figures = _figures(churned, margin, control, table["offer_cost"].to_numpy(dtype="float64"))
    # Every recorded offer cost of a treated customer is in their CRM margin, whatever the offer.
    costs = contacts.groupby("customer_id")["cost"].sum()
    figures |= {
        "sent": float(sent.sum()),
        "control_sent": float(ids[control].isin(contacted).sum()),
        "offer_cost_recorded": float(costs.reindex(ids[~control]).sum()),
    }
    scored = classification_metrics(churned, table["churn_probability"].to_numpy(float))
    figures |= {k: scored[k] for k in ("brier", "ece", "mean_predicted", "base_rate", "roc_auc")}
    reliability = reliability_table(churned, table["churn_probability"].to_numpy(float))
    return ListEvaluation(
        as_of, labels.horizon_days, figures, table, reliability, timezone=dataset.timezone
    )


def _contacts(dataset: Dataset, start: datetime, end: datetime) -> pd.DataFrame:
    """Offers sent in ``[start, end)``: customer_id and offer as text, and the recorded cost."""
    if not dataset.has("campaigns"):
        return pd.DataFrame({"customer_id": [], "offer": [], "cost": []}, dtype="object")
    treated = "coalesce(treated, TRUE)" if dataset.has("campaigns", "treated") else "TRUE"
    cost = "coalesce(cost, 0)" if dataset.has("campaigns", "cost") else "0"
    rows = dataset.con.execute(
        "SELECT CAST(customer_id AS VARCHAR) AS customer_id, CAST(offer AS VARCHAR) AS offer, "
        f'CAST({cost} AS DOUBLE) AS cost FROM campaigns WHERE {treated} AND "timestamp" >= ? '
        'AND "timestamp" < ?',
        [start, end],
    ).df()
    return rows.astype({"customer_id": "object", "offer": "object", "cost": "float64"})


def _figures(
    churned: np.ndarray, margin: np.ndarray, control: np.ndarray, cost: np.ndarray
) -> dict[str, float]:
    treated = ~control
    n_t, n_c = int(treated.sum()), int(control.sum())
    if n_t == 0 or n_c == 0:
        raise WinbackError(
            f"the list has {n_t} treated and {n_c} control customers: both groups are needed"
        )
    p_t, p_c = churned[treated].mean(), churned[control].mean()
    lift = p_c - p_t
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    m_t, m_c = margin[treated].mean(), margin[control].mean()
    difference = m_t - m_c
    # Welch: each group's own sample variance; undefined for a group of one.
    spread = (
        math.sqrt(margin[treated].var(ddof=1) / n_t + margin[control].var(ddof=1) / n_c)
        if min(n_t, n_c) > 1
        else math.nan
    )
    return {
        "treated": n_t,
        "control": n_c,
        "churn_treated": float(p_t),
        "churn_control": float(p_c),
        "lift": float(lift),
        "lift_ci_low": float(lift - Z_95 * se),
        "lift_ci_high": float(lift + Z_95 * se),
        "margin_treated": float(m_t),
        "margin_control": float(m_c),
        "margin_difference": float(difference),
        "margin_difference_ci_low": float(difference - Z_95 * spread),
        "margin_difference_ci_high": float(difference + Z_95 * spread),
        "margin_saved": float(difference * n_t),
        "margin_saved_ci_low": float((difference - Z_95 * spread) * n_t),
        "margin_saved_ci_high": float((difference + Z_95 * spread) * n_t),
        "offer_cost": float(cost[treated].sum()),
    }


__all__ = ["HorizonNotPassedError", "ListEvaluation", "ListNotSentError", "evaluate_list"]
