"""How well estimated offer effects rank customers: Qini, AUUC, and targeting against the truth.

Contacts are ranked by estimated effect; the observed incremental retention at the top of the
list is compared with a random ordering (:func:`qini_curve`, :func:`qini_coefficient`,
:func:`auuc`, per offer and pooled in :func:`evaluate_uplift`, with a bootstrap lower bound in
:func:`qini_lower_bound`, the evidence gate's statistic). Where the true effects are known (the
synthetic world), :func:`targeting_comparison` measures the incremental value a targeting rule
captures at a budget. Nothing here fits or tunes: it only scores rankings.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

_BOOTSTRAP = 200
_Array = npt.NDArray[np.float64]


def _ranked(
    outcome: npt.ArrayLike, treated: npt.ArrayLike, score: npt.ArrayLike
) -> tuple[_Array, _Array, _Array, _Array, _Array]:
    """Cumulative counts from the top of the ranking, at the end of each group of tied scores.

    Returns (k, n_t, n_c, r_t, r_c): contacts, treated, control, and successes among treated and
    control, each starting at 0. Interpolating between tie-group ends gives a tied group its
    expected value over every order of its rows, so row order cannot flatter a constant score.
    """
    y = np.asarray(outcome, dtype=np.float64)
    t = np.asarray(treated, dtype=bool)
    s = np.asarray(score, dtype=np.float64)
    if not (y.shape == t.shape == s.shape) or y.ndim != 1 or y.size == 0:
        raise ValueError(
            f"expected equal non-empty 1-D arrays, got {y.shape}, {t.shape}, {s.shape}"
        )
    if not (np.isfinite(y).all() and np.isfinite(s).all()):
        raise ValueError("outcome and score must be finite")
    order = np.argsort(-s, kind="stable")
    s, t, y = s[order], t[order], y[order]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    zero = np.zeros(1)
    return (
        np.r_[zero, ends + 1.0],
        np.r_[zero, np.cumsum(t)[ends]],
        np.r_[zero, np.cumsum(~t)[ends]],
        np.r_[zero, np.cumsum(y * t)[ends]],
        np.r_[zero, np.cumsum(y * ~t)[ends]],
    )


def qini_curve(
    outcome: npt.ArrayLike, treated: npt.ArrayLike, score: npt.ArrayLike, points: int = 101
) -> pd.DataFrame:
    """Incremental successes among the top of the list ranked by ``score``, against random.

    ``outcome`` is 1 for the desired result (the customer stayed), ``treated`` marks contacts
    sent the offer. At each ``share`` of the list, ``qini`` is the treated's successes minus the
    control's scaled to the treated count, per contact of the whole list; ``random`` is the
    straight line a random ordering gives in expectation.
    """
    k, n_t, n_c, r_t, r_c = _ranked(outcome, treated, score)
    n = k[-1]
    qini = r_t - r_c * np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c > 0)
    share = np.linspace(0.0, 1.0, points)
    curve = np.interp(share * n, k, qini) / n
    return pd.DataFrame({"share": share, "qini": curve, "random": share * curve[-1]})


def qini_coefficient(
    outcome: npt.ArrayLike, treated: npt.ArrayLike, score: npt.ArrayLike, points: int = 101
) -> float:
    """Area between the Qini curve and the random line: 0 for random, higher is better."""
    curve = qini_curve(outcome, treated, score, points)
    return float(np.trapezoid(curve["qini"] - curve["random"], curve["share"]))


def auuc(
    outcome: npt.ArrayLike, treated: npt.ArrayLike, score: npt.ArrayLike, points: int = 101
) -> tuple[float, float]:
    """Area under the uplift curve, and what a random ordering gets: (model, random).

    The uplift curve at share s is (success rate of the treated − of the control) among the top
    s of the list, times s; a random ordering gives the overall effect times s, area effect / 2.
    """
    k, n_t, n_c, r_t, r_c = _ranked(outcome, treated, score)
    both = (n_t > 0) & (n_c > 0)
    gap = np.zeros_like(k)
    gap[both] = r_t[both] / n_t[both] - r_c[both] / n_c[both]
    share = np.linspace(0.0, 1.0, points)
    curve = np.interp(share, k / k[-1], gap * k / k[-1])
    return float(np.trapezoid(curve, share)), float(gap[-1] / 2)


def evaluate_uplift(
    lost: npt.ArrayLike, treated: npt.ArrayLike, offer: npt.ArrayLike, effect: npt.ArrayLike
) -> pd.DataFrame:
    """Qini and AUUC of estimated effects per offer and pooled (row ``all``), against random.

    ``lost`` is the observed outcome (1 = lost), ``effect`` the estimated reduction in P(lost)
    for the contact's own offer (the planned one for control contacts). Columns: contacts,
    control, observed_effect (control's loss rate − treated's), mean_estimate, qini, auuc and
    auuc_random.
    """
    frame = pd.DataFrame(
        {
            "stayed": 1.0 - np.asarray(lost, dtype=np.float64),
            "treated": np.asarray(treated, dtype=bool),
            "offer": np.asarray(offer, dtype=object),
            "effect": np.asarray(effect, dtype=np.float64),
        }
    )
    groups = [(str(o), g) for o, g in frame.groupby("offer", sort=True)] + [("all", frame)]
    rows = []
    for name, g in groups:
        sent = g["treated"].to_numpy()
        if sent.all() or not sent.any():
            continue
        area, random = auuc(g["stayed"], sent, g["effect"])
        rows.append(
            {
                "offer": name,
                "contacts": len(g),
                "control": int((~sent).sum()),
                "observed_effect": g["stayed"][sent].mean() - g["stayed"][~sent].mean(),
                "mean_estimate": g["effect"].mean(),
                "qini": qini_coefficient(g["stayed"], sent, g["effect"]),
                "auuc": area,
                "auuc_random": random,
            }
        )
    return pd.DataFrame(rows).set_index("offer")


def qini_lower_bound(
    lost: npt.ArrayLike,
    treated: npt.ArrayLike,
    effect: npt.ArrayLike,
    level: float = 0.95,
    seed: int = 0,
) -> float:
    """One-sided lower confidence bound of the Qini coefficient (bootstrap over contacts)."""
    stayed = 1.0 - np.asarray(lost, dtype=np.float64)
    sent = np.asarray(treated, dtype=bool)
    score = np.asarray(effect, dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = [
        qini_coefficient(stayed[i], sent[i], score[i])
        for i in (rng.integers(0, stayed.size, stayed.size) for _ in range(_BOOTSTRAP))
    ]
    return float(np.quantile(draws, 1.0 - level))


def targeting_comparison(
    true_uplift: npt.ArrayLike,
    value: npt.ArrayLike,
    scores: Mapping[str, npt.ArrayLike],
    budget_contacts: int,
) -> pd.DataFrame:
    """True incremental value each targeting rule captures by contacting its top customers.

    Each rule in ``scores`` contacts the ``budget_contacts`` customers it scores highest (ties
    broken by row order) and captures Σ true uplift × value over them. ``oracle`` ranks by true
    uplift × value, the most any rule can capture; ``random`` is the expectation of a random
    pick. One row per rule, best first: ``captured``, ``share_of_oracle``, ``vs_random``
    (captured − random's, per contact), ``mean_true_uplift`` of the contacted and ``harmed``,
    how many of them the offer pushes away (true uplift < 0).
    """
    gain = np.asarray(true_uplift, dtype=np.float64)
    worth = np.asarray(value, dtype=np.float64) * gain
    n = gain.size
    if worth.shape != gain.shape or gain.ndim != 1 or n == 0:
        raise ValueError("true_uplift and value must be equal non-empty 1-D arrays")
    if not 0 < budget_contacts <= n:
        raise ValueError(f"budget_contacts must be in [1, {n}], got {budget_contacts}")
    rules = {name: np.asarray(s, dtype=np.float64) for name, s in scores.items()}
    rules["oracle"] = worth
    rows: list[tuple[str, float, float, float]] = []
    for name, score in rules.items():
        if score.shape != gain.shape:
            raise ValueError(f"score {name!r} has {score.size} values for {n} customers")
        top = np.argsort(-score, kind="stable")[:budget_contacts]
        rows.append((name, worth[top].sum(), gain[top].mean(), float((gain[top] < 0).sum())))
    share = budget_contacts / n
    rows.append(("random", worth.sum() * share, gain.mean(), float((gain < 0).sum() * share)))
    table = pd.DataFrame(rows, columns=["rule", "captured", "mean_true_uplift", "harmed"])
    oracle = float(table.loc[table["rule"] == "oracle", "captured"].iloc[0])
    table["share_of_oracle"] = table["captured"] / oracle
    table["vs_random"] = (table["captured"] - worth.sum() * share) / budget_contacts
    table.insert(1, "contacts", budget_contacts)
    columns = ["rule", "contacts", "captured", "share_of_oracle", "vs_random",
               "mean_true_uplift", "harmed"]  # fmt: skip
    return table[columns].sort_values("captured", ascending=False, ignore_index=True)


__all__ = [
    "auuc",
    "evaluate_uplift",
    "qini_coefficient",
    "qini_curve",
    "qini_lower_bound",
    "targeting_comparison",
]
