"""Statistical studies of the uplift learners on two large synthetic worlds, claim by claim.

    python bench/bench_uplift.py [--customers 60000] [--seed 2]

Two worlds of ``--customers`` customers over three years (2022-01-01 .. 2025-01-01), a 90-day
horizon, web visits, sessions and app opens counted as activity, features over 90- and 365-day
windows:

- *randomised*: every candidate contacted each quarter (``campaign_programme="everyone"``,
  about 145,000 closed contacts at 60,000 customers): the default R-learner with the evidence
  gate on, against targeting by the true drop-out risk;
- *informed*: the targeted programme (about 28,000 contacts) with the hidden response τ given as
  a customer attribute (a stand-in for real data whose attributes carry the effect strongly):
  the X-learner with the gate off; then the same data with the treatment shuffled among the
  contacts, which leaves no effect in the data, for the gate to refuse.

Each claim prints its measured value, the threshold it must meet and PASS or FAIL; the script
exits 1 if any claim fails. The thresholds are those tests/serving/test_uplift.py asserted for
seed 2 until 2026-12-05, when these studies left the test suite (the two worlds took about 430 s
of every CI run); the suite keeps small, fast versions (tests/training/uplift/). Other seeds and
the alternatives tried: docs/2026-12-05-uplift-learners.md.

Measured 2026-12-05 (seed 2): 25 of 25 claims hold; 340 s of CPU, 2.1 GB peak memory (40 minutes
of wall time on a shared 2-core machine running other work).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from winback.features import (
    Dataset,
    FeatureSettings,
    LabelSettings,
    build_features,
    build_labels,
    load_dataset,
    plan_features,
)
from winback.synthetic import SyntheticWorld, simulate
from winback.synthetic.campaigns import OFFER_STRENGTH, OFFERS
from winback.training.uplift import UpliftModel, fit_uplift, targeting_comparison, uplift_contacts

TABLES = ("transactions", "events", "customers", "campaigns")
START, END = datetime(2022, 1, 1), datetime(2025, 1, 1)
HORIZON = 90
#: Customer-initiated events: a customer still there is seen visiting even between orders.
ACTIVITY = ("visit", "session", "app_open")
#: Two feature windows instead of four: the same families, fewer columns, a faster study.
FEATURES = FeatureSettings(windows_days=(90, 365))
#: Assumed margin share of spend, to turn the world's expected spend into margin.
MARGIN_SHARE = 0.37


@dataclass
class Claims:
    """Each claim's verdict, printed as it is checked."""

    results: list[bool] = field(default_factory=list)

    def check(self, claim: str, ok: bool, measured: str, needs: str) -> None:
        self.results.append(bool(ok))
        print(f"{'PASS' if ok else 'FAIL'}  {claim}: {measured} (needs {needs})", flush=True)


def _dataset(world: SyntheticWorld, customers: pd.DataFrame | None = None) -> Dataset:
    frames = {t: getattr(world, t) for t in TABLES}
    if customers is not None:
        frames["customers"] = customers
    return load_dataset(frames=frames)


def _compare(
    world: SyntheticWorld, dataset: Dataset, model: UpliftModel
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Who the list could target at END, what each rule scores them, and the truth."""
    features = build_features(dataset, END, plan=model.plan)
    pool = features[features["days_since_last_order"] <= 365].reset_index(drop=True)
    truth = world.ground_truth.set_index("customer_id").loc[pool["customer_id"]]
    alive = truth["dropout_date"].isna() | (truth["dropout_date"] > pd.Timestamp(END, tz="UTC"))
    # An offer cannot bring back a customer who has already dropped out.
    true_uplift = np.where(alive, truth["offer_uplift_90d"], 0.0)
    value = (truth["purchase_rate"] * 365 * truth["mean_spend"] * MARGIN_SHARE).to_numpy()
    risk = truth["dropout_probability_90d"].to_numpy()
    effect = model.effect(pool, "discount_20")
    scores = {"uplift": effect * value, "risk": risk, "risk_x_value": risk * value}
    table = targeting_comparison(true_uplift, value, scores, budget_contacts=len(pool) // 20)
    return table.set_index("rule"), effect, true_uplift


def _targeting(claims: Claims, world: str, table: pd.DataFrame) -> None:
    """Uplift targeting against the true risk at 5% of the customers."""
    captured = table["captured"]
    ratio = captured["uplift"] / captured["risk"]
    claims.check(
        f"{world}: uplift × value captures more margin than the true risk",
        ratio >= 1.3,
        f"{ratio:.2f}× risk's ({captured['uplift']:,.0f} against {captured['risk']:,.0f})",
        "≥ 1.30×",
    )
    claims.check(
        f"{world}: no rule captures more than the oracle",
        captured["uplift"] <= captured["oracle"],
        f"uplift {captured['uplift']:,.0f}, oracle {captured['oracle']:,.0f}",
        "uplift ≤ oracle",
    )
    claims.check(
        f"{world}: random captures less than risk and uplift",
        captured["random"] < min(captured["risk"], captured["uplift"]),
        f"random {captured['random']:,.0f}",
        f"< {min(captured['risk'], captured['uplift']):,.0f}",
    )


def _ranking(claims: Claims, world: str, effect: np.ndarray, true_uplift: np.ndarray) -> None:
    rho = float(spearmanr(effect, true_uplift).statistic)
    claims.check(
        f"{world}: estimates rank customers by their true effect",
        rho > 0.2,
        f"Spearman {rho:.3f}",
        "> 0.2",
    )


def study_randomised(claims: Claims, customers: int, seed: int) -> None:
    """The policy's own path: the default R-learner, gate on, on a randomised programme."""
    t0 = time.perf_counter()
    world = simulate(customers, START, END, seed=seed, campaign_programme="everyone")
    dataset = _dataset(world)
    plan = plan_features(dataset, FEATURES, until=END)
    reasons: list[str] = []
    model = fit_uplift(
        dataset, END, HORIZON, plan, activity_events=ACTIVITY, on_skip=reasons.append
    )
    print(f"randomised world: simulated and fitted in {time.perf_counter() - t0:.0f} s", flush=True)
    claims.check(
        "randomised: the gate passes the default learner",
        model is not None,
        reasons[0] if reasons else "passed",
        "a model",
    )
    if model is None:
        return
    print(f"  {model.describe()}", flush=True)
    claims.check("randomised: the default learner is the R-learner", model.learner == "r",
                 model.learner, "r")  # fmt: skip
    table, effect, true_uplift = _compare(world, dataset, model)
    _targeting(claims, "randomised", table)
    _ranking(claims, "randomised", effect, true_uplift)

    terms = model.coefficients
    names = [] if terms is None else list(terms.index[:4])
    expected = ["intercept", "risk", "propensity", "risk × propensity"]
    claims.check("randomised: the R-learner's first terms", names == expected, str(names),
                 str(expected))  # fmt: skip
    if terms is not None and "propensity" in terms.index:
        propensity = terms.loc["propensity"]
        claims.check(
            "randomised: offers work on those who redeem them (propensity term on P(lost))",
            propensity["estimate"] < -2 * propensity["std_error"],
            f"{propensity['estimate']:+.4f} ± {propensity['std_error']:.4f}",
            "estimate < −2 standard errors",
        )
    claims.check(
        "randomised: closed contacts",
        model.contacts["closed"] > 100_000,
        f"{model.contacts['closed']:,}",
        "> 100,000",
    )
    line = model.describe()
    claims.check(
        "randomised: the summary line says what was learned and how it held out",
        line.startswith(f"R-learner on {model.contacts['closed']:,} contacts sent up to ")
        and "held-out Qini" in line
        and re.search(r"an offer keeps \+[0-9.]+ ± [0-9.]+ percentage points", line) is not None,
        repr(line[:60] + "…"),
        "'R-learner on N contacts…held-out Qini…an offer keeps +x ± y percentage points'",
    )


def _outcome(claims: Claims, world: SyntheticWorld, dataset: Dataset) -> None:
    """Orders that redeem an offer make the plain churn label credit offers with a false effect."""
    contacts = uplift_contacts(dataset, END, HORIZON, ACTIVITY)
    labels = build_labels(dataset, contacts, LabelSettings(horizon_days=HORIZON), END)
    truth = world.ground_truth.set_index("customer_id").loc[contacts["customer_id"]]
    alive = truth["dropout_date"].isna().to_numpy() | (
        truth["dropout_date"].dt.tz_localize(None).to_numpy() > contacts["as_of"].to_numpy()
    )
    strength = contacts["offer"].map(dict(zip(OFFERS, OFFER_STRENGTH, strict=True))).to_numpy()
    uplift = truth["offer_uplift_90d"].to_numpy() * strength
    true_effect = float(np.mean(np.where(alive, uplift, 0.0)))
    sent = contacts["treated"].to_numpy(dtype=bool)

    def observed(y: np.ndarray) -> float:
        return float(y[~sent].mean() - y[sent].mean())

    lost = observed(contacts["lost"].to_numpy())
    label = observed(labels["churned"].to_numpy())
    claims.check(
        "informed: the outcome 'lost' measures the true mean effect",
        abs(lost - true_effect) < 0.015,
        f"lost shows {lost:+.4f}, truth {true_effect:+.4f}",
        "within 0.015",
    )
    claims.check(
        "informed: the churn label inflates it",
        label - true_effect > 0.025,
        f"label shows {label:+.4f}, {label - true_effect:+.4f} over the truth",
        "> +0.025 over",
    )


def _redemptions(
    claims: Claims, world: SyntheticWorld, dataset: Dataset, model: UpliftModel
) -> None:
    """On the contacts, the redemption share separates responders from the rest (plain data)."""
    contacts = uplift_contacts(dataset, END, HORIZON, ACTIVITY)
    features = build_features(dataset, sorted(contacts["as_of"].unique()), plan=model.plan)
    features["as_of"] = features["as_of"].astype(contacts["as_of"].dtype)
    rows = contacts.merge(features, on=["customer_id", "as_of"], validate="one_to_one")
    tau = world.ground_truth.set_index("customer_id").loc[rows["customer_id"], "offer_effect"]
    responder = tau.to_numpy() >= 0.15
    share = rows["offer_redemption_share"]
    high, none, overall = (
        responder[share > 0.4].mean(),
        responder[share == 0].mean(),
        responder.mean(),
    )
    claims.check(
        "informed: contacts who redeemed over 40% of earlier offers",
        (share > 0.4).sum() > 1000,
        f"{int((share > 0.4).sum()):,}",
        "> 1,000",
    )
    claims.check(
        "informed: responders among them",
        high > 1.5 * overall,
        f"{high:.0%} against {overall:.0%} overall",
        f"> {1.5 * overall:.0%}",
    )
    claims.check(
        "informed: responders among those who redeemed none",
        none < 0.8 * overall,
        f"{none:.0%}",
        f"< {0.8 * overall:.0%}",
    )


def study_informed(claims: Claims, customers: int, seed: int) -> None:
    """The X-learner on a world whose attributes carry the effect; then the gate on noise."""
    t0 = time.perf_counter()
    world = simulate(customers, START, END, seed=seed)
    truth = world.ground_truth
    if not (truth["customer_id"].to_numpy() == world.customers["customer_id"].to_numpy()).all():
        raise SystemExit("the ground truth and the customers table are not in the same order")
    customers_table = world.customers.assign(offer_affinity=truth["offer_effect"].to_numpy())
    dataset = _dataset(world, customers_table)
    plan = plan_features(dataset, FEATURES, until=END)
    model = fit_uplift(
        dataset, END, HORIZON, plan, learner="x", activity_events=ACTIVITY, require_evidence=False
    )
    print(f"informed world: simulated and fitted in {time.perf_counter() - t0:.0f} s", flush=True)
    if model is None:
        claims.check("informed: the X-learner fits", False, "no model", "a model")
        return
    print(f"  {model.describe()}", flush=True)
    _outcome(claims, world, dataset)

    pooled = model.evaluation.loc["all"]
    claims.check("informed: held-out Qini beats random", pooled["qini"] > 0,
                 f"{pooled['qini']:.4f}", "> 0")  # fmt: skip
    claims.check(
        "informed: held-out AUUC beats random",
        pooled["auuc"] > pooled["auuc_random"],
        f"{pooled['auuc']:.4f} against {pooled['auuc_random']:.4f}",
        "model > random",
    )
    claims.check(
        "informed: the evaluation covers the held-out contacts, per offer and pooled",
        pooled["contacts"] == model.contacts["evaluated_on"]
        and set(model.evaluation.index) == {*model.offers, "all"},
        f"{int(pooled['contacts']):,} contacts; rows {sorted(model.evaluation.index)}",
        f"{model.contacts['evaluated_on']:,}; every offer and 'all'",
    )

    table, effect, true_uplift = _compare(world, dataset, model)
    _ranking(claims, "informed", effect, true_uplift)
    _targeting(claims, "informed", table)
    claims.check(
        "informed: uplift targeting harms fewer customers than random",
        table.loc["uplift", "harmed"] < table.loc["random", "harmed"],
        f"{table.loc['uplift', 'harmed']:.0f} against {table.loc['random', 'harmed']:.0f}",
        "fewer",
    )
    _redemptions(claims, world, dataset, model)

    # Treated shuffled among the contacts: no true effect is left in the data, only noise.
    t0 = time.perf_counter()
    frames = {t: dataset.con.table(t).df() for t in TABLES}
    shuffled = np.random.default_rng(0).permutation(frames["campaigns"]["treated"].to_numpy())
    frames["campaigns"] = frames["campaigns"].assign(treated=shuffled)
    reasons: list[str] = []
    refused = fit_uplift(
        load_dataset(frames=frames), END, HORIZON, model.plan, learner=model.learner,
        activity_events=ACTIVITY, on_skip=reasons.append,
    )  # fmt: skip
    print(f"shuffled treatment: fitted in {time.perf_counter() - t0:.0f} s", flush=True)
    said = reasons[0] if reasons else ""
    claims.check(
        "shuffled: the gate refuses, saying why",
        refused is None and len(reasons) == 1 and "better than chance" in said,
        said or "a model was returned",
        "no model, one reason: not better than chance",
    )
    found = re.search(r"95% lower bound (-?[0-9.]+)", said)
    bound = float(found[1]) if found else float("nan")
    claims.check(
        "shuffled: weaker evidence than the real effects",
        bound < model.qini_lower,
        f"Qini lower bound {bound:.4f} against {model.qini_lower:.4f}",
        "lower",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=2, help="the thresholds are set for seed 2")
    args = parser.parse_args()
    claims = Claims()
    t0 = time.perf_counter()
    study_randomised(claims, args.customers, args.seed)
    study_informed(claims, args.customers, args.seed)
    failed = claims.results.count(False)
    print(
        f"{len(claims.results) - failed} of {len(claims.results)} claims hold "
        f"({args.customers:,} customers, seed {args.seed}; {time.perf_counter() - t0:.0f} s)"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
