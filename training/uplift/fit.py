"""Fit an uplift model at a cutoff: closed contacts → features → learner → held-out gate → model.

The time rule: the model used at ``as_of`` learns only from contacts whose outcome window closed
by ``as_of`` (``T + 2h ≤ as_of``). Closed contacts are split by time, whole send days together:
the latest ``holdout_share`` is held out and only reported on; the model judged there learned
from the days whose windows closed by the first held-out day. The model returned is then
refitted the same way on every closed contact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from winback.features import Dataset, FeaturePlan, FeatureSettings, build_features, plan_features
from winback.training.uplift.base import (
    Boosting,
    Learner,
    LearnerName,
    LearningSet,
    Mask,
    UpliftError,
    latest_days,
)
from winback.training.uplift.contacts import (
    contact_redemptions,
    contacts_problem,
    uplift_contacts,
)
from winback.training.uplift.gate import held_out_evidence
from winback.training.uplift.model import ContactEncoding, UpliftModel
from winback.training.uplift.r_learner import RLearner
from winback.training.uplift.t_learner import TLearner
from winback.training.uplift.x_learner import XLearner

#: The learners by name; ``r`` is the default.
LEARNERS: dict[LearnerName, Learner] = {"r": RLearner(), "t": TLearner(), "x": XLearner()}
KEYS = ("customer_id", "as_of")
#: Features the effect is never learned from: campaigns come a few times a year, so a calendar
#: month tells campaigns apart (and fits each one's noise), not customers.
EXCLUDED_FEATURES = frozenset({"as_of_month"})


def _split(
    contacts: pd.DataFrame,
    cutoff: datetime,
    horizon_days: int,
    holdout_share: float,
    min_control: int,
) -> tuple[Mask, Mask, str | None]:
    """Held-out rows, rows learned from before them, and why they are too few (or None)."""
    days = contacts["as_of"]
    control = ~contacts["treated"].to_numpy(dtype=bool)
    held_days = latest_days(days, holdout_share, days.unique())
    window = timedelta(days=2 * horizon_days)
    before = [d for d in days.unique() if d + window <= min(held_days)]
    held = days.isin(held_days).to_numpy()
    fit = days.isin(before).to_numpy()
    if len(before) < 2 or (fit & control).sum() < min_control or not (held & control).any():
        return (
            held,
            fit,
            (
                f"too few contacts: {len(contacts)} with an outcome known by {cutoff:%Y-%m-%d} "
                f"on {days.nunique()} send days, {int(control.sum())} of them control, "
                f"{int((fit & control).sum())} before the held-out days (at least {min_control} "
                "control contacts on two send days are needed to learn from)"
            ),
        )
    return held, fit, None


def fit_uplift(
    dataset: Dataset,
    as_of: date | datetime | str,
    horizon_days: int,
    plan: FeaturePlan | None = None,
    *,
    learner: LearnerName = "r",
    per_offer: bool = False,
    activity_events: Sequence[str] = (),
    holdout_share: float = 0.25,
    stopping_share: float = 0.2,
    min_control: int = 300,
    require_evidence: bool = True,
    seed: int = 0,
    n_jobs: int = 1,
    on_skip: Callable[[str], object] | None = None,
) -> UpliftModel | None:
    """Learn each customer's offer effect from the contacts whose outcome is known at ``as_of``.

    Returns None, after calling ``on_skip`` with a sentence saying why (e.g. ``on_skip=print``),
    when there is no campaigns table or control group, too few contacts, or (with
    ``require_evidence``) no held-out evidence that the estimates rank customers better than
    chance (:mod:`gate`). ``plan`` is the churn model's feature plan, so the model reads the
    features scoring builds (without it, a plan is chosen from the data and kept as
    ``model.plan``). ``activity_events`` are event types that show a customer is still there
    (:mod:`contacts`); ``min_control`` is the fewest control contacts worth learning from.
    """
    if learner not in LEARNERS:
        raise UpliftError(f"learner must be one of {list(LEARNERS)}, got {learner!r}")
    method = LEARNERS[learner]
    cutoff = dataset.cutoff(as_of)

    def skip(reason: str) -> None:
        if on_skip is not None:
            on_skip(f"uplift: {reason}; offer effects stay assumed")

    contacts = uplift_contacts(dataset, cutoff, horizon_days, activity_events)
    problem = contacts_problem(dataset, contacts, cutoff)
    if problem is None:
        held, fit, problem = _split(contacts, cutoff, horizon_days, holdout_share, min_control)
    if problem is not None:
        skip(problem)
        return None

    days = contacts["as_of"]
    cutoffs = sorted(days.unique())
    # Without the churn model's plan, choose one from the data before the latest contact, and
    # keep it: scoring must build the same columns.
    plan = plan or plan_features(dataset, FeatureSettings(), until=cutoffs[-1])
    table = build_features(dataset, cutoffs, plan=plan)
    table["as_of"] = table["as_of"].astype(days.dtype)
    rows = contacts.merge(table, on=list(KEYS), how="left", validate="one_to_one")
    names = [c for c in table.columns if c not in KEYS and c not in EXCLUDED_FEATURES]
    encoding = ContactEncoding.learn(rows[[*names, *([] if per_offer else ["offer"])]])
    offers = tuple(sorted(contacts["offer"][fit].unique()))
    data = LearningSet(
        contacts=contacts,
        x=encoding.apply(rows),
        offers=offers,
        boosting=Boosting(seed=seed, n_jobs=n_jobs),
        per_offer=per_offer,
        stopping_share=stopping_share,
        redeemed=(
            contact_redemptions(dataset, contacts, horizon_days)
            if method.reads_redemptions
            else None
        ),
    )

    judged = method.fit(data, fit)
    scored = held & contacts["offer"].isin(offers).to_numpy()
    estimate = np.zeros(len(contacts))
    for offer in offers:
        mine = scored & (contacts["offer"] == offer).to_numpy()
        estimate[mine] = judged.effect(data.x[mine].reset_index(drop=True), offer)
    evidence = held_out_evidence(contacts[scored], estimate[scored], seed=seed)
    if require_evidence and not evidence.passed:
        skip(evidence.refusal())
        return None
    return UpliftModel(
        offers=offers,
        learner=learner,
        per_offer=per_offer,
        as_of=cutoff,
        horizon_days=horizon_days,
        activity_events=tuple(activity_events),
        evaluation=evidence.evaluation,
        qini_lower=evidence.qini_lower,
        contacts={
            "closed": len(contacts),
            "evaluated_on": int(held.sum()),
            "learned_before_holdout": int(fit.sum()),
        },
        last_send_day=pd.Timestamp(days.max()).to_pydatetime(),
        plan=plan,
        _encoding=encoding,
        _learned=method.fit(data, np.ones(len(contacts), dtype=bool)),
    )


__all__ = ["EXCLUDED_FEATURES", "LEARNERS", "fit_uplift"]
