"""Coverage of ``winback evaluate --campaign``'s 95% intervals on campaigns with a known effect.

    python bench/bench_campaign_coverage.py [--seeds 50] [--customers 2000]

Each seed builds one campaign through the data contract (``load_dataset``) and judges it with
:func:`winback.serving.campaign_eval.evaluate_campaign`, as the CLI does. The campaign is built
here, not taken from the simulator: the simulator's ground truth holds each customer's effect
on drop-out over 90 days, not a campaign's true effect on response within 14 days (its treated
customers also place redemption orders whose rate depends on hidden classes and on who is
still alive), so it gives no clean per-campaign number to cover.

The campaign: ``--customers`` customers, each with one order 30–300 days before the send day
(2024-05-14, sends spread over three hours); half drawn at random as control; every contact
planned for one offer (cost 2.0 per treated contact). A control contact orders within the
14-day response window with probability 0.08, a treated one with 0.11: the true incremental
response is +0.03 (+3 points), the true incremental spend per contact 0.03 × 40 = 1.20 (orders
of 40 on average, log-normal) and the true incremental margin 1.20 − 2.00 = −0.80 (no product
cost). An order after the window closes the data. An interval covers when it holds the true
value; the response interval's coverage must be at least 90% (the issue's acceptance), and
the script exits 1 below it. Spend and margin coverage are printed too.

Measured 2026-12-05 (``python bench/bench_campaign_coverage.py``, 50 seeds, 2,000 customers):
see docs/2026-12-05-campaign-evaluation.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from winback.features import load_dataset
from winback.serving.campaign_eval import evaluate_campaign

SEND_DAY = pd.Timestamp("2024-05-14 09:00")
P_CONTROL, EFFECT = 0.08, 0.03
MEAN_ORDER, OFFER_COST = 40.0, 2.0
TRUE = {
    "response": EFFECT,
    "spend": EFFECT * MEAN_ORDER,
    "margin": EFFECT * MEAN_ORDER - OFFER_COST,
}
REQUIRED = 0.90


def campaign_tables(seed: int, customers: int) -> dict[str, pd.DataFrame]:
    """Transactions and campaigns of one simulated campaign (see the module docstring)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:05d}" for i in range(customers)])
    sent = SEND_DAY + pd.to_timedelta(rng.uniform(0, 3 * 3600, customers), unit="s")
    treated = rng.permutation(np.arange(customers) < customers // 2)
    before = SEND_DAY - pd.to_timedelta(rng.uniform(30, 300, customers), unit="D")
    responds = rng.random(customers) < np.where(treated, P_CONTROL + EFFECT, P_CONTROL)
    after = sent + pd.to_timedelta(rng.uniform(0, 13.9, customers), unit="D")
    # Log-normal orders of mean MEAN_ORDER: exp(mu + sigma^2 / 2) = MEAN_ORDER.
    sigma = 0.6
    amount = rng.lognormal(np.log(MEAN_ORDER) - sigma**2 / 2, sigma, customers).round(2)
    transactions = pd.concat(
        [
            pd.DataFrame({"customer_id": ids, "timestamp": before, "amount": 30.0}),
            pd.DataFrame(
                {
                    "customer_id": ids[responds],
                    "timestamp": after[responds],
                    "amount": amount[responds],
                }
            ),
            pd.DataFrame(
                {
                    "customer_id": [ids[0]],
                    "timestamp": [SEND_DAY + pd.Timedelta(days=40)],
                    "amount": [30.0],
                }
            ),
        ],
        ignore_index=True,
    )
    transactions["order_id"] = [f"O{i}" for i in range(len(transactions))]
    campaigns = pd.DataFrame(
        {
            "customer_id": ids,
            "timestamp": sent,
            "offer": "discount_10",
            "treated": treated,
            "cost": np.where(treated, OFFER_COST, 0.0),
        }
    )
    return {"transactions": transactions, "campaigns": campaigns}


@dataclass
class Coverage:
    """How many seeds' intervals held the true value, per figure."""

    seeds: int
    covered: dict[str, int]
    widths: dict[str, float]

    def share(self, figure: str = "response") -> float:
        return self.covered[figure] / self.seeds


def coverage(seeds: range, customers: int, shrink: float = 1.0) -> Coverage:
    """Judge one campaign per seed; count the intervals that hold the truth.

    ``shrink`` scales each interval's half-widths around the estimate (1.0 = as computed): a
    test uses it to show that a too-narrow interval fails the coverage bound.
    """
    covered = dict.fromkeys(TRUE, 0)
    widths = dict.fromkeys(TRUE, 0.0)
    for seed in seeds:
        dataset = load_dataset(frames=campaign_tables(seed, customers))
        row = evaluate_campaign(dataset, f"{SEND_DAY:%Y-%m-%d}").table.loc["all"]
        for figure, truth in TRUE.items():
            key = f"incremental_{figure}"
            estimate = row[key]
            low = estimate - shrink * (estimate - row[f"{key}_ci_low"])
            high = estimate + shrink * (row[f"{key}_ci_high"] - estimate)
            covered[figure] += int(low <= truth <= high)
            widths[figure] += (high - low) / len(seeds)
    return Coverage(len(seeds), covered, widths)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    started = time.perf_counter()
    result = coverage(range(args.seeds), args.customers)
    for figure, truth in TRUE.items():
        print(
            f"{figure:<9} true {truth:+.3f}: 95% interval covers it in "
            f"{result.covered[figure]}/{result.seeds} seeds ({result.share(figure):.0%}); "
            f"mean width {result.widths[figure]:.3f}"
        )
    ok = result.share("response") >= REQUIRED
    print(
        f"response coverage {result.share('response'):.0%} "
        f"{'>=' if ok else '<'} {REQUIRED:.0%}: {'PASS' if ok else 'FAIL'} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
