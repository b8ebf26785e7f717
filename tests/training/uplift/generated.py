"""A randomised campaign generated directly, whose offer helps exactly whom it is built to help.

Each contact has a risk driver ``risk_driver`` (baseline P(lost) 0.3–0.7), a responsiveness
``affinity`` (uniform 0–1), a noise column and a text column. Half the contacts, drawn at random,
are sent the offer; it reduces P(lost) by ``0.4 × affinity``, and those sent it redeem it with
probability ``affinity``, as deal-seekers do. Thousands of rows and a strong effect: every
learner should find it in seconds, and none should find it once the treatment is shuffled.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from winback.training.uplift.base import Boosting, LearningSet
from winback.training.uplift.model import ContactEncoding

#: The true reduction in P(lost) per unit of affinity.
STRENGTH = 0.4
SEND_DAYS = 8


def campaign(
    n: int = 4000, seed: int = 0, shuffled: bool = False, per_offer: bool = False
) -> tuple[LearningSet, np.ndarray]:
    """The contacts as a learner reads them, and each contact's true effect."""
    rng = np.random.default_rng(seed)
    affinity = rng.uniform(0, 1, n)
    risk_driver = rng.uniform(0, 1, n)
    treated = rng.random(n) < 0.5
    effect = STRENGTH * affinity
    lost = rng.random(n) < 0.3 + 0.4 * risk_driver - treated * effect
    redeemed = treated & (rng.random(n) < affinity)
    if shuffled:
        treated = rng.permutation(treated)
    days = [datetime(2024, 1, 1) + timedelta(days=30 * k) for k in range(SEND_DAYS)]
    contacts = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "as_of": pd.to_datetime(np.sort(rng.choice(np.array(days), n))),
            "offer": "discount",
            "treated": treated,
            "lost": lost.astype(np.float64),
        }
    )
    features = pd.DataFrame(
        {
            "affinity": affinity,
            "risk_driver": risk_driver,
            "noise": rng.normal(size=n),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    if not per_offer:
        features["offer"] = contacts["offer"]
    data = LearningSet(
        contacts=contacts,
        x=ContactEncoding.learn(features).apply(features),
        offers=("discount",),
        boosting=Boosting(),
        per_offer=per_offer,
        redeemed=redeemed.astype(np.float64),
    )
    return data, effect


def everyone(data: LearningSet) -> np.ndarray:
    """A mask of every contact."""
    return np.ones(len(data.contacts), dtype=bool)
